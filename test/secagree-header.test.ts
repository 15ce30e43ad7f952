// RFC 3329 headers and the ipsec-3gpp mechanism (TS 33.203 Annex H): every case of
// sec-agree-headers.json (captured real-world lines included), repeated headers, white space, positions
// of syntax errors, serialisation round trips, and the Security-Verify comparison.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkIpsec3gpp, formatIpsec3gpp, formatSecurityHeader, ipsec3gppEntries, parseSecurityHeader, sameMechanisms,
} from '../src/index.js';
import { cases, loadVectors } from './helpers.js';
import { parseSecurityHeader as referenceParse } from './secagree-header-reference.js';
import { ipsec3gppEntries as referenceEntries } from './secagree-ipsec3gpp-reference.js';

interface Expected {
  mechanism: string;
  params: Record<string, string | number>;
  errors: string[];
  effective?: { alg: string | null; ealg: string; prot: string; mod: string; spi_c: number | string; spi_s: number | string; port_c: number | string; port_s: number | string; q: string | null };
  valid: boolean;
}
interface HeaderVector {
  id: string;
  source: string;
  header: string;
  value: string;
  line: string;
  expected: Expected[];
}

const { vectors } = loadVectors<HeaderVector>('sec-agree-headers');

/** Which parameter a vector's error message is about. */
function paramOf(message: string): string {
  if (message.includes('qvalue')) return 'q';
  return /^(alg|ealg|prot|mod|spi-c|spi-s|port-c|port-s)\b/.exec(message)?.[1] ?? message;
}

test('sec-agree-headers.json: every case parses to the expected mechanisms, parameters, errors and defaults', () => {
  assert.is(vectors.length, 14);
  for (const v of vectors) {
    assert.ok(v.line.startsWith(`${v.header}: `), v.id);
    const mechs = parseSecurityHeader(v.value);
    assert.is(mechs.length, v.expected.length, v.id);
    mechs.forEach((m, i) => {
      const e = v.expected[i]!;
      const at = `${v.id} #${i} (${v.source})`;
      assert.is(m.mechanism, e.mechanism, at);
      assert.equal(m.params.map((p) => p.name), Object.keys(e.params), at);
      for (const p of m.params) assert.is(p.value, String(e.params[p.name]), `${at} ${p.name}`);
      if (m.mechanism.toLowerCase() !== 'ipsec-3gpp') {
        assert.equal(e.errors, [], at);
        return;
      }
      const c = checkIpsec3gpp(m);
      assert.is(c.valid, e.valid, at);
      assert.equal(c.issues.map((x) => x.param).sort(), e.errors.map(paramOf).sort(), at);
      const eff = e.effective!;
      assert.is(c.params.alg ?? null, eff.alg, at);
      assert.is(c.params.ealg, eff.ealg, at);
      assert.is(c.params.prot, eff.prot, at);
      assert.is(c.params.mod, eff.mod, at);
      for (const [mine, theirs] of [['spiC', eff.spi_c], ['spiS', eff.spi_s], ['portC', eff.port_c], ['portS', eff.port_s]] as const) {
        assert.is(c.params[mine], typeof theirs === 'number' ? theirs : undefined, `${at} ${mine}`);
      }
      if (eff.q === null) assert.is(c.params.q, undefined, at);
      else if (c.valid) assert.is(c.params.q, Number(eff.q), at);
    });
  }
});

test('repeated headers equal one comma-separated header; LWS and folded lines are allowed', () => {
  const one = parseSecurityHeader('ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1;spi-s=2;port-c=5062;port-s=5064, digest;q=0.1');
  const two = parseSecurityHeader(['ipsec-3gpp ; ALG = hmac-sha-1-96 ;\r\n\tspi-c=1; spi-s=2;port-c=5062;port-s=5064', '  digest ; q=0.1 ']);
  assert.ok(sameMechanisms(one, two));
  assert.is(two[1]!.line, 1);
  assert.is(two[0]!.params[0]!.name, 'alg');
});

test('syntax errors are typed and name the position', () => {
  const bad: Array<[string, number]> = [
    ['', 0],
    ['ipsec-3gpp;', 11],
    ['ipsec-3gpp;alg=', 15],
    ['ipsec-3gpp;alg=hmac-sha-1-96;;', 29],
    ['ipsec-3gpp alg=x', 11],
    ['ipsec-3gpp;alg="x', 15],
    ['ipsec-3gpp;alg=x;ALG=y', 17],
    ['ipsec-3gpp,', 11],
    ['ipsec-3gpp;alg=a/b', 16],
  ];
  for (const [value, position] of bad) {
    try {
      parseSecurityHeader(value);
      assert.unreachable(value);
    } catch (e) {
      const err = e as { code: string; position: number; message: string };
      assert.is(err.code, 'SECAGREE_PARSE', value);
      assert.is(err.position, position, `${value}: ${err.message}`);
    }
  }
  try {
    parseSecurityHeader(['tls', 'digest;;']);
  } catch (e) {
    assert.match((e as Error).message, /line 2/);
  }
  const long = `ipsec-3gpp${';x=1'.repeat(3000)}`;
  try { parseSecurityHeader(long); assert.unreachable(); } catch (e) { assert.is((e as { code: string }).code, 'SECAGREE_PARSE'); }
  try { parseSecurityHeader(Array.from({ length: 70 }, () => 'tls').join(',')); assert.unreachable(); } catch (e) { assert.is((e as { code: string }).code, 'SECAGREE_PARSE'); }
});

test('quoted strings, unknown mechanisms and parameters are kept; formatting round-trips', () => {
  const v = 'sdes-srtp;mediasec;x-foo="a \\"b\\" c", ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=3759706211;spi-s=1;port-c=1;port-s=65535;vendor=9, ipsec-man';
  const m = parseSecurityHeader(v);
  assert.is(m.length, 3);
  assert.is(m[0]!.params[1]!.value, 'a "b" c');
  assert.is(m[0]!.params[0]!.value, null);
  const again = parseSecurityHeader(formatSecurityHeader(m));
  assert.ok(sameMechanisms(m, again));
  const [entry] = ipsec3gppEntries(m);
  assert.ok(entry!.valid && entry!.supported);
  assert.is(entry!.params.spiC, 3759706211);
  assert.is(m[1]!.raw, 'ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=3759706211;spi-s=1;port-c=1;port-s=65535;vendor=9');
});

test('random ipsec-3gpp entries: format -> parse -> check gives the values back', () => {
  const algs = ['hmac-md5-96', 'hmac-sha-1-96', 'aes-gmac', 'null'];
  const ealgs = ['des-ede3-cbc', 'aes-cbc', 'aes-gcm', 'null'];
  cases('secagree format', 1000, (rng) => {
    const e = { alg: rng.pick(algs), ealg: rng.pick(ealgs), spiC: rng.u32(), spiS: rng.u32(), portC: 1 + rng.int(65535), portS: 1 + rng.int(65535), q: rng.int(2) ? rng.int(1001) / 1000 : undefined, mod: rng.pick(['trans', 'UDP-enc-tun']) };
    const [m] = parseSecurityHeader(formatIpsec3gpp(e));
    const c = checkIpsec3gpp(m!);
    assert.ok(c.valid, formatIpsec3gpp(e));
    assert.is(c.params.spiC, e.spiC);
    assert.is(c.params.spiS, e.spiS);
    assert.is(c.params.portC, e.portC);
    assert.is(c.params.q, e.q);
    assert.is(c.params.mod, e.mod);
  });
});

test('Security-Verify comparison: equal when copied, unequal on any changed parameter, mechanism or order', () => {
  const server = 'ipsec-3gpp;q=0.5;alg=hmac-sha-1-96;prot=esp;mod=trans;ealg=aes-cbc;spi-c=3759706211;spi-s=2594505554;port-c=7807;port-s=7777';
  const s = parseSecurityHeader(server);
  assert.ok(sameMechanisms(s, parseSecurityHeader(server)));
  assert.ok(sameMechanisms(s, parseSecurityHeader('ipsec-3gpp; ealg=AES-CBC; q=0.500; alg=hmac-sha-1-96;prot=esp;mod=trans;spi-c=3759706211;spi-s=2594505554;port-c=7807;port-s=7777')));
  for (const changed of [
    server.replace('aes-cbc', 'null'),
    server.replace('hmac-sha-1-96', 'hmac-md5-96'),
    server.replace('7807', '7808'),
    server.replace(';mod=trans', ''),
    `${server};x=1`,
    `${server}, tls`,
  ]) {
    assert.not.ok(sameMechanisms(s, parseSecurityHeader(changed)), changed);
  }
  const two = parseSecurityHeader(`${server}, ${server.replace('aes-cbc', 'null')}`);
  const swapped = parseSecurityHeader(`${server.replace('aes-cbc', 'null')}, ${server}`);
  assert.not.ok(sameMechanisms(two, swapped));
});

/** The parse result, or the error's code, message and position, as plain data. */
function outcome(parse: (v: string | readonly string[]) => unknown, v: readonly string[]): unknown {
  try {
    return { ok: parse(v) };
  } catch (e) {
    const x = e as { code?: string; message: string; detail?: unknown };
    return { code: x.code, message: x.message, detail: x.detail };
  }
}

test('the table-driven parser accepts, rejects and reports exactly what the reference (pre-issue-17) parser does', () => {
  // Inputs: every vector, and random mutations of them (characters inserted, deleted, replaced with ones
  // that matter to the grammar: quotes, backslashes, separators, white space, line breaks, non-ASCII).
  const seeds = [...vectors.map((v) => v.value), 'ipsec-3gpp; q="a\\"b\\\\c"; x=[::1]:5, digest ;\r\n\tq=0.1', 'a;b;c=d, e'];
  const alphabet = ['"', '\\', ';', ',', '=', ' ', '\t', '\r\n ', '\n\t', '\r', '\n', 'é', '\u{1F600}', '[', ']', ':', 'x', '0', '', '.'];
  let seed = 0x9e3779b9;
  const rand = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
  let n = 0;
  let errors = 0;
  for (let round = 0; round < 6000; round++) {
    let v = seeds[rand(seeds.length)]!;
    for (let k = rand(3) - 1; k >= 0; k--) {
      const at = rand(v.length + 1);
      const op = rand(3);
      const ins = alphabet[rand(alphabet.length)]!;
      v = op === 0 ? v.slice(0, at) + ins + v.slice(at) : op === 1 ? v.slice(0, at) + v.slice(at + 1) : v.slice(0, at) + ins + v.slice(at + 1);
    }
    const lines = rand(4) === 0 ? [v, seeds[rand(seeds.length)]!] : [v];
    const mine = outcome(parseSecurityHeader, lines);
    assert.equal(mine, outcome(referenceParse, lines), JSON.stringify(lines));
    n++;
    if ((mine as { code?: string }).code !== undefined) errors++;
  }
  assert.is(n, 6000);
  // Both branches exercised: many mutations are errors, many are not.
  assert.ok(errors > 500 && errors < n - 500, `${errors} errors of ${n}`);
});

test('the ipsec-3gpp check (precompiled digit patterns) finds exactly the values, issues and verdicts of the reference (pre-change) check', () => {
  const seeds = [
    ...vectors.map((v) => v.value),
    formatIpsec3gpp({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', spiC: 4294967295, spiS: 65536, portC: 65535, portS: 1, q: 0.5 }),
    'ipsec-3gpp; alg=hmac-md5-96; spi-c=0000000001; spi-s=12345678901; port-c=00080; port-s=123456; q=1.000',
    'ipsec-3gpp;alg=AES-GMAC;ealg=NULL;mod=udp-ENC-tun;prot=ESP;spi-c="1";spi-s=2;port-c=3;port-s',
  ];
  const alphabet = ['0', '1', '9', '"', ';', '=', ' ', 'a', '-', '.', '4294967296', '65536', 'spi-c=', 'port-s=', 'q=', 'alg=', 'ealg=null', 'mod=trans', ''];
  let seed = 0x1b873593;
  const rand = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  let checked = 0;
  let valid = 0;
  let invalid = 0;
  for (let round = 0; round < 6000; round++) {
    let v = seeds[rand(seeds.length)]!;
    for (let k = rand(4); k > 0; k--) {
      const at = rand(v.length + 1);
      const ins = alphabet[rand(alphabet.length)]!;
      const op = rand(3);
      v = op === 0 ? v.slice(0, at) + ins + v.slice(at) : op === 1 ? v.slice(0, at) + v.slice(at + 1) : v.slice(0, at) + ins + v.slice(at + 1);
    }
    let mechanisms;
    try { mechanisms = parseSecurityHeader(v); } catch { continue; }
    const mine = ipsec3gppEntries(mechanisms);
    assert.equal(mine, referenceEntries(mechanisms), v);
    checked++;
    for (const c of mine) if (c.valid) valid++; else invalid++;
  }
  assert.ok(checked > 3000 && valid > 1000 && invalid > 1000, `${checked} checked, ${valid} valid and ${invalid} invalid entries`);
});

test.run();
