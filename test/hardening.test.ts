// Hardening (issue 9): one constant-time comparison helper per language, used for every ICV, MAC, tag,
// AUTN/AUTS MAC and digest response, and no other way of comparing them; keys gone from WASM memory
// when SA sets are deleted; no key in JSON, strings or inspection of the objects that hold them; the
// P-CSCF's per-source limit on unprotected REGISTERs.

import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AkaDigestServer, EspSa, Hss, Ipsec3gppError, Milenage, SaDatabase, Usim, equalBytes, expandKeys, initSync, parseSipMessage, serializeSipMessage,
} from '../src/index.js';
import { MemoryNetwork, RateLimiter, startNetwork } from '../src/ims/index.js';
import { makeRequest } from '../src/ims/sip-node.js';
import { rawMemory } from '../src/internal/wasm.js';
import { contains } from './helpers.js';

initSync();
const root = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.generated.ts') ? [p] : [];
  });
}
const sources = [...files(join(root, 'src')), ...files(join(root, 'assembly'))].map((p) => ({ path: relative(root, p), code: readFileSync(p, 'utf8') }));

/** An initial REGISTER from `address` (no Authorization: the P-CSCF answers 400 when under the limit). */
const makeRequestForTest = (address: string, i: number) => makeRequest({
  method: 'REGISTER', uri: 'sip:ims.example', from: '<sip:flood@ims.example>;tag=1', to: '<sip:flood@ims.example>',
  callId: `flood-${address}-${i}`, cseq: 1, via: `SIP/2.0/UDP ${address}:5060;branch=z9hG4bK${address.replace(/\./g, '')}x${i}`,
});

test('constant time: XOR-accumulating comparisons exist only in the two helpers (src/ct.ts, assembly/bytes.ts)', () => {
  const loops = sources.filter((s) => /(\bdiff|\bacc)\s*\|=[^;\n]*\^/.test(s.code)).map((s) => s.path).sort();
  assert.equal(loops, ['assembly/bytes.ts', 'src/ct.ts']);
  const other = sources.filter((s) => /timingSafeEqual|Buffer\.compare|\.equals\(/.test(s.code)).map((s) => s.path);
  assert.equal(other, [], 'another comparison primitive is in use');
});

test('constant time: no ===/!== on ICVs, MACs, tags, RES or digest responses anywhere in src/ or assembly/', () => {
  // Every comparison between two expressions (literals, lengths and status codes are not secrets).
  const secret = /\b(?:response|xres|res|macA|macS|xmac|mac|icv|tag|digest|expected|autn|auts)\b/i;
  const cmp = /([\w.[\]!()]+)\s*(?:===|!==|==|!=)(?!>)\s*([\w.[\]!()'"-]+)/g;
  const literal = (x: string): boolean => /^['"\d-]|^\(*(?:null|undefined|true|false)\)*$|\.(?:length|status|code|size|byteLength)\)*$/.test(x);
  const allowed = new Set(['src/cli/selfcheck.ts: const ok = got === k.expected;']); // known-answer results, public
  const hits: string[] = [];
  for (const s of sources) {
    s.code.split('\n').forEach((line) => {
      if (/^\s*(\/\/|\*)/.test(line)) return;
      for (const m of line.matchAll(cmp)) {
        const [, a, b] = m as unknown as [string, string, string];
        if (literal(a) || literal(b) || !(secret.test(a) || secret.test(b))) continue;
        const hit = `${s.path}: ${line.trim()}`;
        if (!allowed.has(hit)) hits.push(hit);
      }
    });
  }
  assert.equal(hits, []);
  // And the checks that compare secrets use the helper.
  const uses = (path: string, helper: string): boolean => sources.find((s) => s.path === path)!.code.includes(helper);
  for (const p of ['src/aka/usim.ts', 'src/aka/hss.ts', 'src/aka/digest-aka.ts', 'src/des.ts']) assert.ok(uses(p, 'equalBytes('), `${p} does not use equalBytes`);
  for (const p of ['assembly/esp.ts', 'assembly/gcm.ts']) assert.ok(uses(p, 'ct_equal('), `${p} does not use ct_equal`);
  assert.ok(uses('src/hmac.ts', 'ct_equal('), 'Hmac.verify does not use ct_equal');
  assert.ok(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2)) && !equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3)) && !equalBytes(Uint8Array.of(1), Uint8Array.of(1, 2)));
});

test('deleting an SA set zeroes its keys: the AES key is findable in WASM memory while live, nowhere after', () => {
  const db = new SaDatabase({ role: 'pcscf' });
  const ck = randomBytes(16);
  const ik = randomBytes(16);
  const set = db.create({ key: 'k', ueAddress: '10.0.0.2', pcscfAddress: '10.0.0.1', ue: { spiC: 1000, spiS: 1001, portC: 1, portS: 2 }, pcscf: { spiC: db.spis.allocate(), spiS: db.spis.allocate(), portC: 3, portS: 4 }, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
  const { encKey } = expandKeys({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
  assert.ok(contains(rawMemory(), encKey), 'round key 0 present while the set lives (so the scan can find keys)');
  assert.not.ok(contains(rawMemory(), ik), 'IK_IM never stays in WASM memory');
  db.delete(set);
  assert.not.ok(contains(rawMemory(), encKey), 'key left in WASM memory after the set was deleted');
  assert.not.ok(contains(rawMemory(), ck));
});

test('no key material in JSON, String() or util.inspect of the objects that hold keys', () => {
  const k = randomBytes(16);
  const op = randomBytes(16);
  const ck = randomBytes(16);
  const ik = randomBytes(16);
  const hss = new Hss();
  hss.addSubscriber({ impi: 'u@x', k, op });
  const server = new AkaDigestServer({ realm: 'x', hss });
  const c = server.challenge('u@x');
  const db = new SaDatabase({ role: 'ue' });
  const set = db.create({ key: 'k', ueAddress: '10.0.0.2', pcscfAddress: '10.0.0.1', ue: { spiC: db.spis.allocate(), spiS: db.spis.allocate(), portC: 1, portS: 2 }, pcscf: { spiC: 7001, spiS: 7002, portC: 3, portS: 4 }, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
  const holders: Record<string, unknown> = {
    hss, server, usim: new Usim({ k, op }), milenage: new Milenage({ k, op }), esp: EspSa.outbound({ spi: 300, alg: 'hmac-md5-96', ealg: 'aes-cbc', ck, ik }), set, db,
  };
  const secrets = [k, op, ck, ik, c.av.xres, c.av.ck, c.av.ik];
  for (const [name, o] of Object.entries(holders)) {
    const texts = [JSON.stringify(o) ?? '', String(o), inspect(o, { depth: 6, showHidden: true })];
    for (const t of texts) {
      for (const s of secrets) {
        const forms = [Buffer.from(s).toString('hex'), Buffer.from(s).toString('base64').slice(0, 20), Array.from(s.subarray(0, 6)).join(', ')];
        for (const f of forms) assert.not.ok(t.toLowerCase().includes(f.toLowerCase()), `${name} reveals a key (${f.slice(0, 8)}...)`);
      }
    }
  }
  db.delete(set);
});

test('rate limiter: a burst, then the sustained rate; sources are independent; the table is bounded', () => {
  let now = 0;
  const rl = new RateLimiter({ perSecond: 2, burst: 5, maxSources: 3 }, () => now);
  assert.equal(Array.from({ length: 7 }, () => rl.take('a')), [true, true, true, true, true, false, false]);
  assert.is(rl.retryAfter('a'), 1);
  assert.ok(rl.take('b'));
  now += 500;
  assert.ok(rl.take('a'));
  assert.not.ok(rl.take('a'));
  for (const s of ['c', 'd', 'e']) rl.take(s);
  assert.is(rl.sources, 3);
});

test('the P-CSCF answers 503 with Retry-After past the limit of unprotected REGISTERs from one address, and only there', async () => {
  const net = new MemoryNetwork();
  // A burst of 50 and a refill too slow to add a token during the test (0.01/s), so that exactly 10 of the 60
  // are refused however long the machine takes to send them (at the default 10/s a loaded machine refilled some).
  const n = await startNetwork({ net, address: '10.0.0.1', pcscfLimits: { unprotectedRegisterRate: { perSecond: 0.01, burst: 50 } } });
  try {
    const sock = await net.bind('10.0.0.66', 5060);
    const other = await net.bind('10.0.0.67', 5060);
    const answers: number[] = [];
    const otherAnswers: number[] = [];
    let retryAfter: string | undefined;
    sock.onMessage((d) => {
      const m = parseSipMessage(d.data);
      if (m.type === 'response') { answers.push(m.status); if (m.status === 503) retryAfter = m.headers.get('retry-after'); }
    });
    other.onMessage((d) => { const m = parseSipMessage(d.data); if (m.type === 'response') otherAnswers.push(m.status); });
    for (let i = 0; i < 60; i++) sock.send(serializeSipMessage(makeRequestForTest('10.0.0.66', i)), n.pcscf.port, '10.0.0.1');
    other.send(serializeSipMessage(makeRequestForTest('10.0.0.67', 0)), n.pcscf.port, '10.0.0.1');
    await new Promise((r) => setTimeout(r, 300));
    assert.is(answers.filter((s) => s === 503).length, 10);
    assert.is(answers.length, 60);
    assert.ok(Number(retryAfter) >= 1);
    assert.is(n.pcscf.rateLimited, 10);
    assert.is.not(otherAnswers[0], 503);
  } finally {
    n.close();
  }
});


test('limits: each bound refuses with its typed error just past it, and accepts at it', async () => {
  const { parseSecurityHeader, parseAuthHeader, SECAGREE_LIMITS, SIP_LIMITS, AUTH_HEADER_LIMIT } = await import('../src/index.js');
  const code = (fn: () => unknown): string | undefined => { try { fn(); return undefined; } catch (e) { return (e as { code?: string }).code; } };
  const mech = 'ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1000;spi-s=1001;port-c=5062;port-s=5064';
  assert.is(parseSecurityHeader(Array(SECAGREE_LIMITS.mechanisms).fill('digest').join(', ')).length, SECAGREE_LIMITS.mechanisms);
  assert.is(code(() => parseSecurityHeader(Array(SECAGREE_LIMITS.mechanisms + 1).fill('digest').join(', '))), 'SECAGREE_PARSE');
  assert.is(code(() => parseSecurityHeader(`${mech}${';x=1'.repeat(SECAGREE_LIMITS.params)}`)), 'SECAGREE_PARSE');
  assert.is(code(() => parseSecurityHeader(`${mech};x="${'a'.repeat(SECAGREE_LIMITS.headerLength)}"`)), 'SECAGREE_PARSE');
  assert.is(code(() => parseAuthHeader(`Digest username="${'a'.repeat(AUTH_HEADER_LIMIT)}"`)), 'AUTH_PARSE');
  const sip = (extra: string): Uint8Array => new TextEncoder().encode(`OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n${extra}\r\n`);
  assert.is(parseSipMessage(sip('')).type, 'request');
  assert.is(code(() => parseSipMessage(sip(`X-A: 1\r\n`.repeat(SIP_LIMITS.headers)))), 'SIP_PARSE');
  assert.is(code(() => parseSipMessage(sip(`X-A: ${'a'.repeat(SIP_LIMITS.lineLength)}\r\n`))), 'SIP_PARSE');
  assert.is(code(() => parseSipMessage(new Uint8Array(SIP_LIMITS.messageBytes + 1).fill(0x41))), 'SIP_PARSE');
  const tx = EspSa.outbound({ spi: 300, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: randomBytes(16), ik: randomBytes(16) });
  const rx = EspSa.inbound({ spi: 300, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: randomBytes(16), ik: randomBytes(16) });
  assert.ok(tx.seal(new Uint8Array(tx.maxPayload)).length <= 65535);
  assert.is(code(() => tx.seal(new Uint8Array(tx.maxPayload + 16))), 'ESP_TOO_LARGE');
  assert.ok(['ESP_TOO_LARGE', 'ESP_MALFORMED'].includes(code(() => rx.open(new Uint8Array(65536)))!));
  tx.delete();
  rx.delete();
});

test('bad arguments to the rate limiter and a taken in-memory port are typed errors', async () => {
  for (const o of [{ perSecond: 0, burst: 5 }, { perSecond: 1, burst: 0 }, { perSecond: Number.NaN, burst: 1 }]) {
    try { new RateLimiter(o); assert.unreachable(`RateLimiter(${JSON.stringify(o)})`); } catch (e) {
      assert.instance(e, Ipsec3gppError); assert.is((e as Ipsec3gppError).code, 'INVALID_ARGUMENT');
    }
  }
  const net = new MemoryNetwork();
  const a = await net.bind('10.0.0.1', 5060);
  try { await net.bind('10.0.0.1', 5060); assert.unreachable('second bind'); } catch (e) {
    assert.instance(e, Ipsec3gppError); assert.is((e as Ipsec3gppError).code, 'INVALID_ARGUMENT');
    assert.match((e as Error).message, /5060 on 10\.0\.0\.1 is in use/);
  }
  a.close();
  (await net.bind('10.0.0.1', 5060)).close();
});

test.run();
