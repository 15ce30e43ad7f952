// The SIP layer's fast paths (issue 17) against the code they replaced (test/sip-reference.ts): the same
// results on every header value of the RFC 4475 / RFC 5118 torture messages and on random mutations of
// them (characters that matter to the grammar inserted, deleted, replaced).

import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addressFault, headerFault, headerFaultAt, headerParam, parseSipUri, requestUriFault, requestUriFaultAt, sipUriHop } from '../src/sip/grammar.js';
import { referenceAddressFault, referenceHeaderFault, referenceRequestUriFault } from './sip-grammar-reference.js';
import { parseSipMessage, serializeSipMessage, SipHeaders, spliceEnabled, viaBranch, viaHostEnd, type SipMessage, type SipRequest } from '../src/sip/message.js';
import { inviteKey } from '../src/sip/transaction.js';
import { referenceHeaderParam, referenceParse, referenceParseSipUri, referenceSerialize, referenceServerKey, referenceViaBranch } from './sip-reference.js';

const DIR = new URL('./vectors/sip-torture/', import.meta.url);
/** Every file of the torture suites, as bytes. */
const torture: Uint8Array[] = [];
for (const suite of readdirSync(DIR, { withFileTypes: true })) {
  if (!suite.isDirectory()) continue;
  for (const f of readdirSync(new URL(`${suite.name}/`, DIR))) torture.push(new Uint8Array(readFileSync(new URL(`${suite.name}/${f}`, DIR))));
}
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
/** Header values of the torture messages (one per line after the start line, up to the empty line). */
const values: string[] = [];
for (const m of torture) {
  const head = latin1(m).split(/\r?\n\r?\n/)[0]!;
  for (const line of head.split(/\r?\n/).slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) values.push(line.slice(c + 1));
  }
}

let seed = 0x2545f491;
const rand = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
const ALPHABET = ['"', '\\', ';', ',', '=', ' ', '\t', '<', '>', ';tag=', ';TAG = "x\\"y"', ';branch=z9hG4bK1', ';lr', 'é', '\u{1F600}', '[', ']', ':', 'x', '',
  '\r\n', '\r\n ', '\r\n\t', '\r', '\n', '\r\n\r\n', '\u00a0', '\u2028', '\ufeff', '\u000b', '\u3000', 'Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n', 'CSeq: 1 OPTIONS\r\n'];
/** A UTF-16 surrogate without its other half (mutations can split a pair). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
function mutate(v: string): string {
  for (let k = rand(4) - 1; k >= 0; k--) {
    const at = rand(v.length + 1);
    const op = rand(3);
    const ins = ALPHABET[rand(ALPHABET.length)]!;
    v = op === 0 ? v.slice(0, at) + ins + v.slice(at) : op === 1 ? v.slice(0, at) + v.slice(at + 1) : v.slice(0, at) + ins + v.slice(at + 1);
  }
  return v;
}

test('headerParam returns what the character-by-character reference does, on torture header values and mutations', () => {
  assert.ok(values.length > 300, `${values.length} header values`);
  const names = ['tag', 'TAG', 'branch', 'received', 'rport', 'lr', 'expires', 'q', 'boundary', 'maddr', 'x', '', ' tag', 'unknown'];
  let found = 0;
  let n = 0;
  for (let round = 0; round < 20000; round++) {
    const v = round < values.length ? values[round]! : mutate(values[rand(values.length)]!);
    // Half the time a name the value has (what follows one of its ";"), else one from the list.
    const semis = v.split(';');
    const name = rand(2) === 0 && semis.length > 1 ? semis[1 + rand(semis.length - 1)]!.split('=')[0]!.trim() : names[rand(names.length)]!;
    const mine = headerParam(v, name);
    assert.is(mine, referenceHeaderParam(v, name), `${JSON.stringify(v)} ${name}`);
    if (mine !== undefined) found++;
    n++;
  }
  // Both outcomes exercised.
  assert.ok(found > 1000 && found < n - 1000, `${found} found of ${n}`);
});

/** Torture messages and mutations of their bytes (whole lines duplicated, dropped, characters changed). */
function mutateBytes(m: Uint8Array): Uint8Array {
  const s = latin1(m);
  const lines = s.split('\r\n');
  const k = rand(4);
  if (k === 0 && lines.length > 2) lines.splice(1 + rand(lines.length - 1), 0, lines[1 + rand(lines.length - 1)]!);
  else if (k === 1 && lines.length > 2) lines.splice(1 + rand(lines.length - 1), 1);
  const joined = lines.join('\r\n');
  const out = Buffer.from(k >= 2 ? mutate(joined) : joined, 'latin1');
  return new Uint8Array(out);
}

test('server transaction keys and Via branches (Vias read by position) are what the regular expression gave, on generated Vias, torture Vias and mutations', () => {
  const outcome = (f: () => unknown): string => {
    try {
      return `= ${String(f())}`;
    } catch (e) {
      return `! ${(e as { code?: string }).code} ${(e as Error).message}`;
    }
  };
  const pick = <T>(a: readonly T[]): T => a[rand(a.length)]!;
  const protos = ['SIP/2.0/UDP', 'SIP/2.0/TCP', 'SIP/2.0/tls-sctp', 'SIP / 2.0 / UDP', 'sip/2.0/UDP', 'SIP/2.0/', 'SIP/2.0/UD\u00e9P', 'SIP/2.0/U<DP', 'SIP/2.1/UDP'];
  const seps = [' ', ' ', ' ', '  ', '\t', '', ' \u00a0'];
  const hosts = ['pcscf.IMS.example.org', '10.0.0.1', '[2001:db8::1]', '[2001:db8::1', 'h[x]', 'ex\u00e9.com', '', 'a<b', 'h\x7f', 'Host'];
  const ports = ['', '', ':5060', ':05060', ': 5060', ' :5060', ':', ':99999999999999999999', ':12ab', ':;', ':,'];
  const params = [';branch=z9hG4bK776asdhds', ';BRANCH = z9hG4bKx', ';branch=abc', ';rport;branch=z9hG4bK1', '', ';branch', ',SIP/2.0/UDP other;branch=z9hG4bK2', ';branch="z9hG4bKq"', ' ;branch=z9hG4bK3'];
  const vias: string[] = [];
  for (let i = 0; i < 6000; i++) vias.push(pick(protos) + pick(seps) + pick(hosts) + pick(ports) + pick(params));
  // The common form (what every element here and SIPp write), with its variations of case, port and parameters.
  for (let i = 0; i < 4000; i++) vias.push(pick(protos.slice(0, 3)) + ' ' + pick(['pcscf.IMS.example.org', '10.0.0.1', 'Host', 'h[x]']) + pick(['', ':5060', ':05060', ':65535']) + pick(params));
  for (const v of values) if (/^\s*SIP/i.test(v)) vias.push(v.trim());
  for (let i = 0; i < 6000; i++) vias.push(mutate(pick(vias)));
  let fast = 0;
  for (const via of vias) {
    const h = new SipHeaders([['Via', via], ['From', '<sip:a@x>;tag=1'], ['To', '<sip:b@x>'], ['Call-ID', 'c1'], ['CSeq', '7 INVITE']]);
    const req: SipRequest = { type: 'request', method: 'INVITE', uri: 'sip:b@x', headers: h, body: new Uint8Array(0) };
    assert.is(outcome(() => inviteKey(req)), outcome(() => referenceServerKey(req, 'INVITE')), JSON.stringify(via));
    const top = h.first('via');
    if (top !== undefined) {
      assert.is(outcome(() => viaBranch(top)), outcome(() => referenceViaBranch(top)), JSON.stringify(top));
      if (viaHostEnd(top) >= 0) fast++;
    }
  }
  // Most are of the form read by position (the fast path is exercised, not only the fallback).
  assert.ok(fast > 4000, `${fast} of ${vias.length} in the common form`);
});

test('serializeSipMessage writes the bytes the string-then-encode reference does (with the copying of received lines off; test/forward-edit.test.ts holds that one to this)', () => {
  spliceEnabled.on = false;
  try {
    serializeLikeReference();
  } finally {
    spliceEnabled.on = true;
  }
});

function serializeLikeReference(): void {
  const texts = ['é', '\u{1F600}', '\uD800', 'a\uDC00b', 'x'.repeat(5000), '日本語 text', '', ' ;tag=1'];
  let n = 0;
  for (let round = 0; round < 4000; round++) {
    const bytes = round < torture.length ? torture[round]! : mutateBytes(torture[rand(torture.length)]!);
    let m: SipMessage;
    try {
      m = parseSipMessage(bytes);
    } catch {
      continue;
    }
    // Headers added and set with non-ASCII, lone surrogates, long values (the scratch buffer grows).
    if (rand(2) === 0) m.headers.add('X-Test', texts[rand(texts.length)]!);
    if (rand(3) === 0) m.headers.set('Subject', texts[rand(texts.length)]! + texts[rand(texts.length)]!);
    if (rand(5) === 0 && m.type === 'response') m.reason = texts[rand(texts.length)]!;
    if (rand(5) === 0 && m.type === 'request') m.uri = `sip:${texts[rand(texts.length)]!}@x`;
    assert.equal(serializeSipMessage(m), referenceSerialize(m), latin1(bytes).slice(0, 200));
    n++;
  }
  assert.ok(n > 500, `${n} messages serialised`);
  const built: SipMessage = { type: 'request', method: 'MESSAGE', uri: 'sip:b@x', headers: new SipHeaders([['Via', 'SIP/2.0/UDP h;branch=z9hG4bK1'], ['l', '99'], ['Content-Length', '7']]), body: new Uint8Array([1, 2, 3]) };
  assert.equal(serializeSipMessage(built), referenceSerialize(built));
}

/** The parse result as plain data, or the refusal's code, message, line, status and request as framed. */
function parsed(parse: (b: Uint8Array) => SipMessage, b: Uint8Array): unknown {
  const plain = (m: SipMessage | undefined): unknown => (m === undefined ? undefined : { ...m, headers: [...m.headers], body: Array.from(m.body) });
  try {
    return { ok: plain(parse(b)) };
  } catch (e) {
    const x = e as { code?: string; message: string; detail?: unknown; status?: number; request?: SipMessage };
    return { code: x.code, message: x.message, detail: x.detail, status: x.status, request: plain(x.request) };
  }
}

test('parseSipMessage accepts, refuses and reports what the split-into-lines reference does, on torture messages and mutations', () => {
  let n = 0;
  let refused = 0;
  const enc = new TextEncoder();
  for (let round = 0; round < 12000; round++) {
    let bytes = round < torture.length ? torture[round]! : mutateBytes(torture[rand(torture.length)]!);
    // Non-Latin-1 text is mutated as UTF-8 (mutateBytes works on Latin-1), sometimes.
    if (round >= torture.length && rand(4) === 0) bytes = enc.encode(mutate(new TextDecoder().decode(bytes)));
    // Without the final empty line, sometimes (the head then runs to the end).
    if (rand(10) === 0) bytes = bytes.subarray(0, Math.max(0, bytes.length - rand(8)));
    const mine = parsed(parseSipMessage, bytes);
    assert.equal(mine, parsed(referenceParse, bytes), JSON.stringify(latin1(bytes).slice(0, 300)));
    n++;
    if ((mine as { code?: string }).code !== undefined) refused++;
  }
  assert.ok(refused > 1000 && refused < n - 1000, `${refused} refused of ${n}`);
});

test('parseSipUri returns and refuses what the reference does, on the URIs of the torture messages and mutations', () => {
  const uris: string[] = [];
  for (const v of values) for (const m of v.matchAll(/(?:sips?|SIP|tel):[^\s<>,]*/g)) uris.push(m[0]);
  uris.push('sipx', 'SIPS', 'sip', 'sips:', 'Sip:a@[::1]:5060;lr?x=y', 's:a', 'sIpS:@x', 'sip:a@b:65536', 'sip:a@b:0x',
    'sip:pcscf.example;lr', 'sip:10.0.0.1:5060;LR', 'sip:[2001:db8::1];lr=on?x=y', 'sip:a@b; lr;x', 'sip:h;lrx', 'sip:h;x=lr', 'sip:h?a=;lr', 'sip:h;lr?');
  assert.ok(uris.length > 100, `${uris.length} URIs`);
  const outcome = (f: (u: string) => unknown, u: string): unknown => {
    try {
      return { ok: f(u) };
    } catch (e) {
      return { code: (e as { code?: string }).code, message: (e as Error).message };
    }
  };
  let ok = 0;
  let lr = 0;
  for (let round = 0; round < 20000; round++) {
    const u = round < uris.length ? uris[round]! : mutate(uris[rand(uris.length)]!);
    const mine = outcome(parseSipUri, u);
    const want = outcome(referenceParseSipUri, u);
    // A lone surrogate is U+FFFD to the byte checks: the same outcome, a fault text that may name it so.
    if (LONE_SURROGATE.test(u) && 'message' in (want as object)) assert.is((mine as { code?: string }).code, (want as { code?: string }).code, JSON.stringify(u));
    else assert.equal(mine, want, JSON.stringify(u));
    if ('ok' in (mine as object)) ok++;
    // What routing takes of it (hop.ts) is what parseSipUri gives, without the other parts.
    const hop = outcome(sipUriHop, u);
    const fromParts = outcome((x) => {
      const p = parseSipUri(x);
      return { host: p.host, port: p.port, lr: /;\s*lr(?:[;=]|$)/i.test(p.params) };
    }, u);
    assert.equal(hop, fromParts, `hop of ${JSON.stringify(u)}`);
    if ((hop as { ok?: { lr: boolean } }).ok?.lr === true) lr++;
  }
  assert.ok(ok > 2000 && ok < 18000, `${ok} accepted`);
  assert.ok(lr > 100, `${lr} with lr`);
});

test('the byte checks of header values and Request-URIs accept and refuse what the string checks they replaced do, with the same fault text, and read nothing past the value', () => {
  const keys = ['via', 'from', 'to', 'contact', 'content-type', 'route', 'cseq'];
  const enc = new TextEncoder();
  let valid = 0;
  let refused = 0;
  let nonAscii = 0;
  const buf = new Uint8Array(1 << 16);
  /** `v` encoded at a random offset of `buf`, between bytes that would change a verdict if they were read. */
  const embedded = (v: string): [number, number] => {
    const at = rand(8);
    for (let i = 0; i < at; i++) buf[i] = '";<,@:['.charCodeAt(i % 7);
    const n = enc.encodeInto(v, buf.subarray(at)).written;
    const tail = ['"', ';', ':', '>', ']', '@x', ',', '=', 'a'][rand(9)]!;
    for (let i = 0; i < 8; i++) buf[at + n + i] = tail.charCodeAt(i % tail.length);
    return [at, at + n];
  };
  for (let round = 0; round < 12000; round++) {
    const v = round < values.length ? values[round]!.trim() : mutate(values[rand(values.length)]!.trim());
    // Positions in the fault text are characters in the string checks and bytes here: the same where
    // every character is one byte, and for well-formed UTF-16 the text is taken by characters too.
    const sameText = !LONE_SURROGATE.test(v);
    if (/[^\x00-\x7f]/.test(v)) nonAscii++;
    const [i, n] = embedded(v);
    for (const k of keys) {
      const want = referenceHeaderFault(k, v);
      const verdict = (f: string | undefined): string => (f === undefined ? 'ok' : 'fault');
      const mine = headerFault(k, v);
      const at = headerFaultAt(k, v, buf, i, n);
      if (sameText) {
        assert.is(mine, want, `${k}: ${JSON.stringify(v)}`);
        assert.is(at, want, `${k} in bytes: ${JSON.stringify(v)}`);
      } else {
        assert.is(verdict(mine), verdict(want), `${k}: ${JSON.stringify(v)}`);
        assert.is(verdict(at), verdict(want), `${k} in bytes: ${JSON.stringify(v)}`);
      }
      if (want === undefined) valid++;
      else refused++;
    }
    const a = referenceAddressFault(v);
    if (sameText) assert.is(addressFault(v), a, JSON.stringify(v));
    // The value's URIs, and the value itself, as Request-URIs.
    for (const u of [v, ...[...v.matchAll(/(?:sips?|SIP|tel):[^\s<>,]*/g)].map((m) => m[0])]) {
      const want = referenceRequestUriFault(u);
      const [ui, un] = embedded(u);
      if (!LONE_SURROGATE.test(u)) {
        assert.is(requestUriFault(u), want, JSON.stringify(u));
        assert.is(requestUriFaultAt(buf, ui, un), want, `in bytes: ${JSON.stringify(u)}`);
      } else assert.is(requestUriFault(u) === undefined, want === undefined, JSON.stringify(u));
    }
  }
  assert.ok(valid > 3000 && refused > 3000 && nonAscii > 500, `${valid} valid, ${refused} refused, ${nonAscii} values with non-ASCII characters`);
});

test.run();
