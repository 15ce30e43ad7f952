// Differential test of the WWW-Authenticate / Authorization parser and formatter (RFC 3261 25.1, RFC 2617 3.2,
// RFC 3310) against the pre-rewrite implementation (test/auth-header-reference.ts, the regex-per-character
// version): for every input both give the same AuthHeader, or both refuse it with the same error (class, code,
// message, position). Inputs: the fuzz target's seeds (a registration's real headers, the Digest AKA server's
// challenge and a genuine answer, sec-agree-headers.json's Authorization lines) and 10^4 of their mutations
// by the fuzzer's own operators (test/fuzz/mutate.ts); every header value of the RFC 4475 / RFC 5118 torture
// messages; the Authorization lines of the SIPp scenarios; headers captured from SIPp and Kamailio
// (test/vectors/auth-headers-equipment.json); 10^4 headers built from the grammar's pieces (LWS and folding
// variants, quoted-pairs, case variants and repeats of names, stray bytes, non-ASCII).

import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AkaDigestServer, Hss, akaAuthorization, initSync, formatAuthHeader, parseAkaChallenge, parseAuthHeader, parseSipMessage, serializeSipMessage, type AuthHeader } from '../src/index.js';
import { MemoryNetwork, runScenario } from '../src/ims/index.js';
import { referenceFormatAuthHeader, referenceParseAuthHeader } from './auth-header-reference.js';
import { applyText, mutation } from './fuzz/mutate.js';
import { cases, type Rng } from './helpers.js';

type Outcome = { ok: AuthHeader; text: string } | { error: string };

function run(parse: (v: string) => AuthHeader, format: (h: AuthHeader) => string, v: string): Outcome {
  try {
    const h = parse(v);
    return { ok: h, text: format(h) };
  } catch (e) {
    const x = e as Error & { code?: string; position?: number };
    return { error: `${x.constructor.name} ${x.code} ${x.position} ${x.message}` };
  }
}

let compared = 0;
let refused = 0;
/** Asserts the same outcome from both parsers (and, for a parse, from both formatters). */
function same(v: string, where: string): void {
  const want = run(referenceParseAuthHeader, referenceFormatAuthHeader, v);
  const got = run(parseAuthHeader, formatAuthHeader, v);
  assert.equal(got, want, `${where}: ${JSON.stringify(v)}`);
  compared++;
  if ('error' in want) refused++;
}

const url = (p: string): URL => new URL(p, import.meta.url);
const latin1 = (p: URL): string => new TextDecoder('latin1').decode(readFileSync(p));

/** Header values of a message's text, continuation lines kept (folded) as they are. */
function headerValues(text: string): string[] {
  const head = text.split(/\r?\n\r?\n/)[0]!;
  const out: string[] = [];
  for (const m of head.matchAll(/^[^\s:]+[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)/gm)) out.push(m[1]!.replace(/^[ \t]+/, ''));
  return out;
}

const IMPI = '001010000000001@ims.mnc001.mcc001.3gppnetwork.org';
const REALM = 'ims.mnc001.mcc001.3gppnetwork.org';

async function fuzzSeeds(): Promise<string[]> {
  initSync();
  const r = await runScenario({ net: new MemoryNetwork(), address: '10.0.0.1', notifies: 1 });
  const out: string[] = [];
  for (const e of r.trace) {
    const m = parseSipMessage(serializeSipMessage(e.message));
    out.push(...m.headers.getAll('www-authenticate'), ...m.headers.getAll('authorization'));
  }
  const ip = JSON.parse(readFileSync(url('vectors/sec-agree-headers.json'), 'utf8')).authorization_integrity_protected as Array<{ line?: string }>;
  out.push(...ip.filter((v) => typeof v.line === 'string').map((v) => v.line!.replace(/^Authorization: /, '')));
  const hss = new Hss();
  hss.addSubscriber({ impi: IMPI, k: new Uint8Array(16).fill(0x46), op: new Uint8Array(16).fill(0xcd) });
  const c = new AkaDigestServer({ realm: REALM, hss }).challenge(IMPI);
  out.push(c.wwwAuthenticate, akaAuthorization({ username: IMPI, uri: `sip:${REALM}`, method: 'REGISTER', challenge: parseAkaChallenge(c.wwwAuthenticate), outcome: { res: c.av.xres }, nc: 1 }));
  return out;
}

function equipment(): string[] {
  const out: string[] = [];
  for (const dir of ['../examples/sipp/', '../bench/sipp/']) {
    for (const f of readdirSync(url(dir)).filter((n) => n.endsWith('.xml'))) {
      for (const m of readFileSync(url(dir + f), 'utf8').matchAll(/^\s*(?:Authorization|WWW-Authenticate|Proxy-Authenticate|Proxy-Authorization):[ \t]*(.*)$/gim)) {
        out.push(m[1]!.replace(/\[field0\]/g, 'sipp').replace(/\[field1\]/g, 'ims.example.org'));
      }
    }
  }
  const captured = JSON.parse(readFileSync(url('vectors/auth-headers-equipment.json'), 'utf8')).headers as Array<{ value: string }>;
  return [...out, ...captured.map((h) => h.value)];
}

test('the fuzz seeds, the SIPp scenarios and SIPp / Kamailio captures: the same as the pre-rewrite parser', async () => {
  const seeds = await fuzzSeeds();
  const eq = equipment();
  assert.ok(seeds.length >= 10 && eq.length >= 8, `${seeds.length} seeds, ${eq.length} equipment headers`);
  for (const v of [...seeds, ...eq]) {
    same(v, 'seed');
    assert.ok(!('error' in run(parseAuthHeader, formatAuthHeader, v)), `refused: ${v}`);
  }
});

test('RFC 4475 / RFC 5118 torture messages: every header value', () => {
  let auth = 0;
  let n = 0;
  for (const d of ['rfc4475/', 'rfc5118/']) {
    const base = url(`vectors/sip-torture/${d}`);
    for (const f of readdirSync(base)) {
      const text = latin1(new URL(f, base));
      for (const v of headerValues(text)) { same(v, f); n++; }
      for (const m of text.matchAll(/^(?:Authorization|WWW-Authenticate|Proxy-Authenticate|Proxy-Authorization)[ \t]*:/gim)) auth += m ? 1 : 0;
    }
  }
  assert.ok(n > 500 && auth >= 1, `${n} header values, ${auth} auth headers`);
});

test('10^4 mutations of the fuzz seeds (the fuzzer\'s operators)', async () => {
  const seeds = [...await fuzzSeeds(), ...equipment()];
  const before = compared;
  fc.assert(fc.property(mutation, (m) => { same(applyText(m, seeds), 'mutation'); }), { numRuns: 10_000, seed: 0x3310 });
  assert.is(compared - before, 10_000);
});

// Pieces of the grammar and of its near misses.
const GOOD_LWS = [' ', '  ', '\t', '\r\n ', '\r\n\t', '\n ', '\n\n ', ''];
const BAD_LWS = ['\r\n', '\r', '\n', '\r\r', '\r\n\r\n', '\r\n\r\n '];
const NAMES = ['realm', 'Realm', 'NONCE', 'nonce', 'uri', 'response', 'algorithm', 'qop', 'nc', 'cnonce', 'opaque', 'integrity-protected', 'ik', 'ck', 'x-a.b!%*_+`\'~', 'a'];
const STRAY = ['"', '\\', ',', '=', ';', ':', '(', ')', '<', '>', '@', '[', ']', '/', '?', '{', '}', '\u0000', '\u007f', 'é', '\u20ac', '\ud83d', '\ude00', '😀', 'ÿ'];
function piece(rng: Rng, from: readonly string[]): string { return rng.pick(from); }
const lws = (rng: Rng): string => piece(rng, rng.int(40) === 0 ? BAD_LWS : GOOD_LWS);
function quoted(rng: Rng): string {
  let q = '"';
  for (let k = rng.int(8); k > 0; k--) {
    const r = rng.int(30);
    q += r < 15 ? 'abc xyz=,;'.slice(rng.int(5), 5 + rng.int(5)) : r < 29 ? `\\${piece(rng, ['"', '\\', 'a', '\r', '\n', 'é', ''])}` : piece(rng, STRAY);
  }
  return rng.int(30) === 0 ? q : `${q}"`;
}
function header(rng: Rng): string {
  let s = rng.int(8) === 0 ? lws(rng) : '';
  s += rng.int(10) === 0 ? piece(rng, ['', 'Di"gest', 'Digest,']) : piece(rng, ['Digest', 'digest', 'DIGEST', 'Basic', 'AKAv1-MD5']);
  const repeats = rng.int(6) === 0; // otherwise names differ (a repeat, in any case, is refused)
  const names = NAMES.filter((_, k) => k % 2 === rng.int(2) || repeats);
  const n = rng.int(6);
  for (let k = 0; k < n; k++) {
    s += k === 0 ? piece(rng, [' ', ' ', '\t', '\r\n ', ' ', '  ', ' ', '']) : `${lws(rng)}${rng.int(15) === 0 ? piece(rng, [';', '', ',,']) : ','}${lws(rng)}`;
    s += (repeats ? piece(rng, names) : names.splice(rng.int(names.length), 1)[0] ?? 'z') + lws(rng) + (rng.int(15) === 0 ? piece(rng, ['', ':', '==']) : '=') + lws(rng);
    const r = rng.int(20);
    s += r < 10 ? quoted(rng) : r < 19 ? piece(rng, ['auth', 'AKAv1-MD5', '00000001', 'yes', 'ip-assoc-pending', 'tls-yes', '0a1b']) : piece(rng, STRAY);
    if (rng.int(40) === 0) s += piece(rng, STRAY);
  }
  if (rng.int(6) === 0) s += lws(rng);
  if (rng.int(200) === 0) s = s.padEnd(8193, ' ');
  return s;
}

test('10^4 headers built from the grammar\'s pieces and near misses', () => {
  const before = compared;
  const refusedBefore = refused;
  cases('auth-header differential', 10_000, (rng) => same(header(rng), 'built'));
  const n = compared - before;
  const r = refused - refusedBefore;
  // Both branches exercised: many accepted, many refused.
  console.log(`  built headers: ${r} of ${n} refused by both`);
  assert.ok(r > n / 10 && r < n - n / 10, `${r} of ${n} refused`);
});

test('formatter: values with quotes and backslashes anywhere, quoted and not', () => {
  cases('auth-format differential', 3000, (rng) => {
    const params = Array.from({ length: rng.int(5) }, (_, k) => ({
      name: NAMES[k % NAMES.length]!.toLowerCase(),
      value: Array.from({ length: rng.int(6) }, () => piece(rng, ['"', '\\', 'a', ' ', 'é', '\\\\', '""', ''])).join(''),
      quoted: rng.int(4) !== 0,
    }));
    const h = { scheme: piece(rng, ['Digest', 'x']), params };
    const text = formatAuthHeader(h);
    assert.is(text, referenceFormatAuthHeader(h));
    same(text, 'formatted');
  });
  assert.throws(() => formatAuthHeader({ scheme: 'Digest', params: [{ name: 'a', value: 1 as unknown as string, quoted: true }] }), (e: Error) => e instanceof TypeError);
  assert.is(formatAuthHeader({ scheme: 'Digest', params: [{ name: 'a', value: 1 as unknown as string, quoted: false }] }), referenceFormatAuthHeader({ scheme: 'Digest', params: [{ name: 'a', value: 1 as unknown as string, quoted: false }] }));
});

test('refusals: not a string, too long', () => {
  for (const v of [undefined, null, 5, {}] as unknown as string[]) assert.equal(run(parseAuthHeader, formatAuthHeader, v), run(referenceParseAuthHeader, referenceFormatAuthHeader, v));
  same('Digest a="'.padEnd(8192, 'x'), 'long');
  same('Digest a="'.padEnd(8193, 'x'), 'long');
});

test.after(() => console.log(`  auth-header differential: ${compared} inputs compared, ${refused} refused by both`));

test.run();
