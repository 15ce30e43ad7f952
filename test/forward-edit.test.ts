// The forwarding fast path (issue 17): a message an element parsed from bytes it owns, edited and sent on (a
// proxy's forward: its Via on top, Route and Max-Forwards changed, P-Asserted-Identity and the Security-*
// headers, a response's top Via taken off) is written by copying the lines nobody changed from the received
// bytes (SipHeaders.spliceHead) instead of writing every line anew. Held here to the old path (every line
// written anew, `spliceEnabled.on = false`):
// - the serialiser on its own: every RFC 4475 / RFC 5118 torture message, the SIPp scenarios' requests
//   (examples/sipp, bench/sipp), the messages UeClient, the P-CSCF and the core really send, and thousands
//   of mutations of them (test/fuzz/mutate.ts), each edited by a random sequence of the proxies' own edits:
//   parse(copied) must be parse(written anew) (start line, every header in order with its name and value,
//   body), or both refused the same way;
// - the P-CSCF itself: a network of UEs, P-CSCF and core runs every message serialised by copying through
//   the same comparison (spliceEnabled.check), and the corpus, injected over a UE's SA and from the core,
//   gets the same answers and forwards with the fast path on as with it off (refusals included).

import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initSync } from '../src/index.js';
import { MemoryNetwork, startNetwork, type ImsNetwork, type TraceEvent } from '../src/ims/index.js';
import { parseSipMessage, serializeSipMessage, spliceEnabled, type SipMessage } from '../src/sip/message.js';
import { apply, mutation } from './fuzz/mutate.js';

initSync();

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

// ---- the corpus ----

const TORTURE = new URL('./vectors/sip-torture/', import.meta.url);
const torture: Uint8Array[] = [];
for (const suite of readdirSync(TORTURE, { withFileTypes: true })) {
  if (!suite.isDirectory()) continue;
  for (const f of readdirSync(new URL(`${suite.name}/`, TORTURE))) torture.push(new Uint8Array(readFileSync(new URL(`${suite.name}/${f}`, TORTURE))));
}

/** The requests of a SIPp scenario, its fields filled in as SIPp would (lines trimmed, CRLF, [len] the body's). */
function sippRequests(file: URL): Uint8Array[] {
  const xml = readFileSync(file, 'utf8');
  const out: Uint8Array[] = [];
  for (const m of xml.matchAll(/<send[^>]*>\s*<!\[CDATA\[([\s\S]*?)\]\]>/g)) {
    const lines = m[1]!.split('\n').map((l) => l.trim());
    while (lines.length > 0 && lines[0] === '') lines.shift();
    const text = lines.join('\r\n')
      .replace(/\[authentication[^\]]*\]/g, 'Authorization: Digest username="alice@ims.example.org",realm="ims.example.org",nonce="3q2+7wABAgMEBQYHCAkKCw==",uri="sip:ims.example.org",response="0011223344556677",algorithm=AKAv1-MD5')
      .replace(/\[\$ss\]/g, 'ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=3333;spi-s=4444;port-c=5100;port-s=5101;q=0.1')
      .replace(/\[\$[a-z]+\]/g, 'x')
      .replace(/\[field0\]/g, 'alice').replace(/\[field1\]/g, 'ims.example.org').replace(/\[transport\]/g, 'UDP')
      .replace(/\[local_ip\]/g, '192.0.2.7').replace(/\[local_port\]/g, '5060').replace(/\[pid\]/g, '77')
      .replace(/\[call_number\]/g, '1').replace(/\[call_id\]/g, '1-77@192.0.2.7').replace(/\[branch\]/g, 'z9hG4bK-77-1-0');
    const [head, body = ''] = text.split('\r\n\r\n');
    out.push(bytes(`${head!.replace(/\[len\]/g, String(body.length))}\r\n\r\n${body}`));
  }
  return out;
}
const sipp = [
  ...sippRequests(new URL('../examples/sipp/register-aka.xml', import.meta.url)),
  ...sippRequests(new URL('../examples/sipp/register-aka-tampered.xml', import.meta.url)),
  ...sippRequests(new URL('../bench/sipp/register-digest.xml', import.meta.url)),
];

/** A network with alice and bob registered, timers slow enough that nothing is retransmitted during a test. */
async function network(trace: (e: TraceEvent) => void): Promise<{ n: ImsNetwork; impi: Map<string, string> }> {
  const impi = new Map<string, string>();
  const n = await startNetwork({ net: new MemoryNetwork(), record: 0, timers: { t1: 60_000 }, onTrace: trace, pcscfLimits: { unprotectedRegisterRate: false, unprotectedRegisterRatePerImpi: false } });
  const registered = n.pcscf.events.registered;
  n.pcscf.events.registered = (r) => {
    impi.set(r.key.split('@')[0]!, r.key);
    registered?.(r);
  };
  return { n, impi };
}

/** `p`, or a failure after `ms` (a broken serialiser makes every peer refuse, and T1 is long here). */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

/**
 * Runs `f` with every message written by copying compared with the same message written anew (noted, not
 * thrown: a throw inside a send would only show as a peer that never answers); the first mismatch fails
 * the test, whether `f` succeeded or not. Returns what `f` did and how many were compared.
 */
async function watching<T>(f: () => Promise<T>): Promise<[T, number]> {
  let compared = 0;
  const mismatches: Array<[unknown, unknown, string]> = [];
  spliceEnabled.check = (copied, anew) => {
    compared++;
    const [a, b] = [parsed(copied), parsed(anew)];
    if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push([a, b, latin1(anew).slice(0, 300)]);
  };
  let out: T;
  try {
    out = await f();
  } finally {
    spliceEnabled.check = undefined;
    if (mismatches.length > 0) assert.equal(mismatches[0]![0], mismatches[0]![1], `${mismatches.length} mismatches; ${mismatches[0]![2]}`);
  }
  return [out, compared];
}

/** What UeClient, the P-CSCF and the core send in a registration, a MESSAGE, a PUBLISH and a SUBSCRIBE, as bytes. */
async function realShapes(): Promise<Uint8Array[]> {
  const seen: Uint8Array[] = [];
  const { n } = await network((e) => seen.push(serializeSipMessage(e.message)));
  await watching(flow).finally(() => n.close());
  return seen;
  async function flow(): Promise<void> {
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: 'lte' });
    for (const ue of [alice, bob]) assert.is((await within(10_000, ue.register(), 'register')).status, 200);
    assert.is((await within(10_000, alice.message(`sip:bob@${n.realm}`, 'hello'), 'MESSAGE')).status, 200);
    await within(10_000, alice.publish('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@x"><tuple id="t"><status><basic>open</basic></status></tuple></presence>'), 'PUBLISH');
    await within(10_000, bob.subscribe(`sip:alice@${n.realm}`), 'SUBSCRIBE');
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- comparing ----

/** A parse as plain data (start line, headers in order as [name, value], body), or the refusal. */
function parsed(b: Uint8Array): unknown {
  let m: SipMessage;
  try {
    m = parseSipMessage(b);
  } catch (e) {
    const x = e as { code?: string; message: string; status?: number };
    return { refused: [x.code, x.message, x.status] };
  }
  const start = m.type === 'request' ? [m.method, m.uri] : [m.status, m.reason];
  return { start, headers: [...m.headers], body: latin1(m.body) };
}

let seed = 0x1badb002;
const rand = (k: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % k; };
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;

/** The proxies' own edits (pcscf-proxy.ts, proxy.ts, core.ts), in a random order and number. */
const EDITS: Array<(m: SipMessage) => void> = [
  (m) => m.headers.prepend('Via', `SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK${rand(1e9)}`),
  (m) => m.headers.set('Max-Forwards', String(rand(70))),
  (m) => { const r = m.headers.values('route').slice(1); m.headers.remove('route'); for (const v of r) m.headers.add('Route', v); },
  (m) => { for (const h of ['security-client', 'security-server', 'security-verify']) m.headers.remove(h); },
  (m) => { m.headers.remove('p-asserted-identity'); m.headers.remove('p-preferred-identity'); },
  (m) => m.headers.add('P-Asserted-Identity', '<sip:alice@ims.example.org>'),
  (m) => m.headers.set('P-Gm-Confidentiality', 'esp;ealg=aes-cbc'),
  (m) => { m.headers.shift('via'); },
  (m) => m.headers.prepend('Path', '<sip:term@10.0.0.1:5060;lr>'),
  (m) => m.headers.prepend('Record-Route', '<sip:10.0.0.1:5061;lr>'),
  (m) => m.headers.set('Require', 'path'),
  (m) => m.headers.set('Authorization', 'Digest username="a", integrity-protected="yes"'),
  (m) => m.headers.add('Security-Server', 'ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1;spi-s=2;port-c=3;port-s=4'),
  (m) => m.headers.remove('www-authenticate'),
  (m) => m.headers.add('X-Non-Ascii', 'caf\u00e9 \u65e5\u672c'),
  (m) => { if (m.type === 'request') m.uri = 'sip:bob@10.0.0.2:5064'; else m.reason = 'Fine'; },
  (m) => { m.body = bytes(rand(2) === 0 ? '' : 'another body'); },
];

/**
 * A line-level mutation that keeps most messages parseable: a header line duplicated, dropped, moved, its
 * name in a compact form or another case, white space around its colon or at its end, folded, or a Via
 * with two values on one line.
 */
const COMPACT_OF: Record<string, string> = { via: 'v', from: 'f', to: 't', 'call-id': 'i', contact: 'm', 'content-length': 'l', 'content-type': 'c', supported: 'k', subject: 's', event: 'o' };
function mutateLines(b: Uint8Array): Uint8Array {
  const text = latin1(b);
  const cut = text.indexOf('\r\n\r\n');
  if (cut < 0) return b;
  const lines = text.slice(0, cut).split('\r\n');
  const body = text.slice(cut);
  for (let k = 1 + rand(3); k > 0 && lines.length > 2; k--) {
    const i = 1 + rand(lines.length - 1);
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    const value = colon > 0 ? line.slice(colon + 1) : '';
    switch (rand(9)) {
      case 0: lines.splice(1 + rand(lines.length - 1), 0, line); break;
      case 1: lines.splice(i, 1); break;
      case 2: lines.splice(i, 1); lines.splice(1 + rand(lines.length - 1), 0, line); break;
      case 3: if (COMPACT_OF[name.toLowerCase()]) lines[i] = `${COMPACT_OF[name.toLowerCase()]}:${value}`; break;
      case 4: lines[i] = `${rand(2) === 0 ? name.toUpperCase() : name.toLowerCase()}:${value}`; break;
      case 5: lines[i] = `${name}${pick(['', ' ', '\t', '  '])}:${pick(['', ' ', '\t  '])}${value.trim()}${pick(['', ' ', '\t'])}`; break;
      case 6: { const sp = line.indexOf(' ', colon + 2); if (sp > 0) lines[i] = `${line.slice(0, sp)}\r\n${pick([' ', '\t', '   '])}${line.slice(sp + 1)}`; break; }
      case 7: if (/^via$/i.test(name)) lines[i] = `${line}, SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bK${rand(1e6)}`; break;
      default: lines.splice(i, 0, `${pick(['X-Extra', 'Subject', 'Route', 'Record-Route', 'Supported'])}: ${pick(['a', '<sip:10.0.0.9;lr>', 'path, sec-agree', ''])}`);
    }
  }
  return bytes(lines.join('\r\n') + body);
}

/** Parses `b` as an element that owns it does; edits a copy both ways; compares. Returns whether a line was copied. */
function check(b: Uint8Array): boolean {
  let m: SipMessage;
  try {
    m = parseSipMessage(b, true);
  } catch {
    return false; // refused on arrival: nothing to forward
  }
  const script = Array.from({ length: rand(6) }, () => pick(EDITS));
  const edited = (): SipMessage => ({ ...m, headers: m.headers.clone() });
  // The same random choices inside the edits for both copies.
  const s0 = seed;
  const a = edited();
  for (const e of script) e(a);
  seed = s0;
  const o = edited();
  for (const e of script) e(o);
  const copied = serializeSipMessage(a);
  spliceEnabled.on = false;
  let anew: Uint8Array;
  try {
    anew = serializeSipMessage(o);
  } finally {
    spliceEnabled.on = true;
  }
  assert.equal(parsed(copied), parsed(anew), latin1(b).slice(0, 300));
  return latin1(copied) !== latin1(anew);
}

test('the serialiser: copying the unchanged lines gives the message writing them anew gives, on torture messages, SIPp requests, real shapes and mutations, under random proxy edits', async () => {
  const shapes = await realShapes();
  assert.ok(shapes.length > 30, `${shapes.length} real messages`);
  const seeds = [...torture, ...sipp, ...shapes];
  assert.ok(torture.length > 50 && sipp.length >= 8, `${torture.length} torture, ${sipp.length} SIPp`);
  let differs = 0;
  let n = 0;
  let copied = 0;
  spliceEnabled.check = () => { copied++; };
  try {
    for (let round = 0; round < 5; round++) for (const b of seeds) { if (check(b)) differs++; n++; }
    for (const mu of fc.sample(mutation, { numRuns: 4000, seed: 17 })) { if (check(apply(mu, seeds))) differs++; n++; }
    for (let k = 0; k < 6000; k++) { if (check(mutateLines(pick(seeds)))) differs++; n++; }
  } finally {
    spliceEnabled.check = undefined;
  }
  // The copying path was taken for most, and for some wrote other bytes than the string path (whitespace
  // and compact forms kept as received) that parse the same.
  assert.ok(copied > 3000, `${copied} of ${n} written by copying`);
  assert.ok(differs > 100, `${differs} of ${n} messages written differently (and parsed the same)`);
  if (process.env['P_DEBUG']) console.log({ copied, differs, n, shapes: shapes.length, sipp: sipp.length, torture: torture.length });
});

/** The P-CSCF's outputs for one injected message, as far as they do not depend on random branches and tags. */
function summary(e: TraceEvent): string {
  const m = e.message;
  const first = m.type === 'request' ? `${m.method} ${m.uri}` : `${m.status} ${m.reason}`;
  return `${e.from} -> ${e.to}: ${first} [${m.headers.getAll('warning').join(' | ')}] ${m.body.length}`;
}

/** Runs the corpus through a P-CSCF (over alice's SA, and from the core to alice's contact); what it sent per message. */
async function throughPcscf(corpus: readonly Uint8Array[], splice: boolean): Promise<{ outcomes: string[][]; compared: number; forwarded: number }> {
  let events: TraceEvent[] = [];
  const { n, impi } = await network((e) => events.push(e));
  spliceEnabled.on = splice;
  try {
    const [r, compared] = await watching(run);
    return { ...r, compared };
  } finally {
    spliceEnabled.on = true;
    n.close();
  }
  async function run(): Promise<{ outcomes: string[][]; forwarded: number }> {
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: 'lte' });
    for (const ue of [alice, bob]) assert.is((await within(10_000, ue.register(), 'register')).status, 200);
    assert.is((await within(10_000, alice.message(`sip:bob@${n.realm}`, 'warm-up'), 'MESSAGE')).status, 200);
    const set = n.pcscf.db.sets(impi.get('alice')!).find((s) => s.state === 'established')!;
    const overSa = { kind: 'protected' as const, port: n.pcscf.portS, sa: set.sa('SA3') };
    const fromCore = { kind: 'plain' as const, socket: n.pcscf.coreSocket, address: n.address, port: n.core.port };
    const contact = `sip:alice@${set.ueAddress}:${set.ue.portS}`;
    const outcomes: string[][] = [];
    let forwarded = 0;
    for (const [i, b] of corpus.entries()) {
      // A branch of its own for each (else most would be retransmissions of the first); alice's From for
      // half of them (else the identity check refuses nearly all); the other half from the core to alice.
      let text = latin1(b).replace(/z9hG4bK/g, `z9hG4bK${i}x`);
      const core = i % 2 === 1;
      if (!core) text = text.replace(/^(From|f)[ \t]*:[^\r\n]*/im, `From: <sip:alice@${n.realm}>;tag=t${i}`);
      else text = text.replace(/^([A-Z]+) \S+ SIP\/2\.0/, `$1 ${contact} SIP/2.0`);
      events = [];
      n.pcscf.node.receive(bytes(text), core ? fromCore : overSa);
      for (let k = 0; k < 4; k++) await new Promise((r) => setTimeout(r, 0));
      const mine = events.filter((e) => e.from === 'P-CSCF').map(summary);
      if (mine.some((s) => (!core && / -> core: [A-Z]+ /.test(s)) || (core && / -> UE alice: [A-Z]+ /.test(s)))) forwarded++;
      outcomes.push(mine);
    }
    return { outcomes, forwarded };
  }
}

test('the P-CSCF: every message it, the core and the UEs write by copying parses as written anew; the corpus gets the same answers and forwards with the fast path off', async () => {
  const shapes = await realShapes();
  const seeds = [...torture, ...sipp, ...shapes];
  const corpus = [...seeds, ...fc.sample(mutation, { numRuns: 300, seed: 29 }).map((mu) => apply(mu, shapes)), ...Array.from({ length: 600 }, () => mutateLines(pick(shapes)))];
  const on = await throughPcscf(corpus, true);
  const off = await throughPcscf(corpus, false);
  if (process.env['P_DEBUG']) console.log({ n: corpus.length, compared: on.compared, forwarded: on.forwarded, refusals: on.outcomes.flat().filter((s) => /: [45]\d\d /.test(s)).length, silent: on.outcomes.filter((o) => o.length === 0).length });
  assert.ok(on.compared > 500, `${on.compared} messages written by copying and compared`);
  assert.is(off.compared, 0, 'with the fast path off nothing is copied');
  assert.ok(on.forwarded > 150, `${on.forwarded} of ${corpus.length} forwarded`);
  assert.is(on.forwarded, off.forwarded);
  for (const [i, o] of on.outcomes.entries()) assert.equal(o, off.outcomes[i], `message ${i}: ${latin1(corpus[i]!).slice(0, 200)}`);
  // Refusals were among them (the same ones both times, checked above).
  assert.ok(on.outcomes.flat().filter((s) => /: [45]\d\d /.test(s)).length > 100, 'refusals');
});

test.run();
