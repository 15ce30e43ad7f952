// Keys in the clear after use (issue 13, item 4): what the demo network leaves in the JavaScript heap and
// in WASM memory once it is closed, and the redaction of AKA secrets in every trace, ladder and capture.
//
// The heap scan runs in a child process (test/heap-keys-probe.ts, with --expose-gc): a whole registration,
// presence and de-registration of two UEs over real UDP, close(), a garbage collection, then WASM memory,
// every ArrayBuffer and typed array, and a V8 heap snapshot's strings searched for K, OP, OPc, CK, IK, RES
// (raw, hex in both cases, base64) and the GCM nonces. The other tests look at one mechanism each.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AkaDigestServer, EspSa, Hss, Milenage, akaAuthorization, digestResponse, espSpi, expandKeys, initSync, md5, parseAkaChallenge, parseIp,
  parseSipMessage, parseUdp, serializeSipMessage, type SipMessage,
} from '../src/index.js';
import { MemoryNetwork, capturePcap, serializeTrace, startNetwork, summary, type TraceEvent, type WireRecord } from '../src/ims/index.js';
import { REDACTED, redactAuthValue, redactDatagram, redactMessage } from '../src/ims/redact.js';
import { formatAuthHeader, parseAuthHeader, authParam, type AuthParam } from '../src/sip/auth-header.js';
import { allMemory as rawMemory } from '../src/internal/wasm.js'; // the core's and the AKA module's
import { readPcap } from '../src/pcap.js';
import { contains, hex, cases } from './helpers.js';

initSync();
const here = fileURLToPath(new URL('.', import.meta.url));
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** Every form of `secret` a string could hold it in. */
function forms(secret: Uint8Array): string[] {
  const h = hex(secret);
  const b64 = Buffer.from(secret).toString('base64');
  return [h, h.toUpperCase(), b64, b64.replace(/=+$/, ''), Buffer.from(secret).toString('latin1')];
}

test('after registration, presence, de-registration and close(): no key in WASM memory, in JS arrays or in any string of a heap snapshot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipsec3gpp-heap-'));
  try {
    const snapshot = join(dir, 'probe.heapsnapshot');
    const run = spawnSync(process.execPath, ['--expose-gc', '--heap-snapshot-string-limit=1048576', '--import', 'tsx', join(here, 'heap-keys-probe.ts'), snapshot], { encoding: 'utf8', timeout: 120_000 });
    assert.is(run.status, 0, `probe failed: ${run.stderr}`);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      needles: Record<string, { mask: number[]; masked: number[] }>; wasmLive: string[]; wasm: string[]; js: string[]; jsWhere: Record<string, string[]>;
    };
    const names = Object.keys(out.needles);
    for (const n of ['K', 'OP', 'OPc', 'CK#0', 'IK#0', 'RES#0', 'CK#1', 'IK#1', 'RES#1', 'GCM nonce SA1', 'GCM nonce SA4']) assert.ok(names.includes(n), `needle ${n}`);
    // Controls: the searches find what is there.
    for (const n of ['K', 'OPc', 'CK#0', 'CK#1']) assert.ok(out.wasmLive.includes(n), `${n} is in WASM memory while the network lives`);
    assert.ok(out.js.includes('canary'), 'the typed-array search finds the canary kept on purpose');
    // The findings.
    assert.equal(out.wasm.filter((n) => n !== 'canary'), [], 'left in WASM memory after close()');
    assert.equal(out.js.filter((n) => n !== 'canary'), [], `left in JS arrays after close(): ${JSON.stringify(out.jsWhere)}`);
    const strings = (JSON.parse(readFileSync(snapshot, 'utf8')) as { strings: string[] }).strings;
    const inStrings = (secret: Uint8Array): string[] => forms(secret).filter((f) => strings.some((s) => s.includes(f)));
    const secrets = Object.fromEntries(Object.entries(out.needles).map(([n, m]) => [n, Uint8Array.from(m.masked, (b, i) => b ^ m.mask[i]!)]));
    assert.ok(inStrings(secrets['canary']!).includes(hex(secrets['canary']!)), 'the snapshot search finds the canary\'s hex string');
    const found = Object.entries(secrets).filter(([n]) => n !== 'canary').flatMap(([n, s]) => inStrings(s).map((f) => `${n} as ${JSON.stringify(f.slice(0, 12))}...`));
    assert.equal(found, [], 'a string of the heap snapshot holds a key');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A network on memory with one registered UE, and what it sent: trace, wire, and raw datagrams. */
async function registered(record?: number) {
  const net = new MemoryNetwork();
  const raw: WireRecord[] = [];
  net.tap((r) => raw.push(r));
  const all: TraceEvent[] = [];
  const n = await startNetwork({ net, address: '10.0.0.1', onTrace: (e) => all.push(e), autoRefresh: false, ...(record === undefined ? {} : { record }) });
  const keys: Uint8Array[] = [];
  const vector = n.hss.vector.bind(n.hss);
  n.hss.vector = (impi, rand) => {
    const av = vector(impi, rand);
    keys.push(av.ck.slice(), av.ik.slice());
    return av;
  };
  const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
  const reg = await ue.register();
  assert.is(reg.status, 200);
  return { n, raw, all, keys, reg };
}

const mentions = (s: string, keys: Uint8Array[]): boolean => keys.some((k) => forms(k).slice(0, 2).some((f) => s.includes(f)));

test('traces, the ladder, their JSON and the recorded wire show ck/ik as "<redacted>"; the datagram itself carried them', async () => {
  const { n, raw, all, keys } = await registered();
  try {
    assert.is(keys.length, 2);
    // Control: the core's 401 crossed the wire with CK and IK.
    assert.ok(raw.some((w) => mentions(text(w.data), keys)), 'the core hop carries ck/ik');
    for (const e of [...n.trace, ...all]) {
      const sip = text(serializeSipMessage(e.message));
      assert.not.ok(mentions(sip, keys), `trace of ${e.from} -> ${e.to} reveals a key`);
      assert.not.ok(mentions(JSON.stringify(serializeTrace(e)), keys));
      assert.not.ok(mentions(summary(e), keys));
    }
    const sm4 = n.trace.find((e) => e.from === 'core' && e.message.type === 'response' && e.message.status === 401)!;
    const www = parseAuthHeader(sm4.message.headers.get('www-authenticate')!);
    assert.is(authParam(www, 'ck'), REDACTED);
    assert.is(authParam(www, 'ik'), REDACTED);
    assert.ok(authParam(www, 'nonce')!.length > 20, 'the rest of the challenge is intact');
    assert.match(summary(sm4), /AKA challenge with ik\/ck/, 'the ladder still says the challenge carried them');
    assert.ok(n.wire.length > 0);
    for (const w of n.wire) assert.not.ok(mentions(text(w.data), keys), 'a recorded datagram reveals a key');
  } finally {
    n.close();
  }
});

test('pcap export: the clear 401 with ck/ik redacted unless keys: true; ESP frames byte for byte', async () => {
  const { n, raw, keys } = await registered();
  try {
    const spis = new Set(n.created.flatMap((s) => s.sas.map((sa) => sa.spi)));
    const payloads = (pcap: Uint8Array): string[] => readPcap(pcap).map((r) => {
      const ip = parseIp(r.packet);
      return text(ip.protocol === 50 ? ip.payload : parseUdp(ip.payload, ip.src, ip.dst).payload);
    });
    const redacted = payloads(capturePcap(raw, spis));
    assert.is(redacted.length, raw.length);
    assert.not.ok(redacted.some((p) => mentions(p, keys)));
    assert.ok(redacted.some((p) => p.includes(`ck="${REDACTED}"`)));
    assert.ok(payloads(capturePcap(raw, spis, { keys: true })).some((p) => mentions(p, keys)), 'keys: true keeps them');
    let esp = 0;
    raw.forEach((w, i) => { if (spis.has(espSpi(w.data))) { esp++; assert.is(redacted[i], text(w.data)); } });
    assert.ok(esp > 0);
  } finally {
    n.close();
  }
});

test('trace and wire are bounded rings (record), off with record: 0, and released by close()', async () => {
  const a = await registered(4);
  assert.is(a.n.trace.length, 4);
  a.all.slice(-4).forEach((e, i) => assert.is(a.n.trace[i], e, 'the newest four, oldest first'));
  assert.is(a.n.wire.length, 4);
  assert.is(text(a.n.wire[3]!.data), text(a.raw.at(-1)!.data));
  assert.ok(a.n.created.length > 0);
  a.n.close();
  assert.equal([a.n.trace.length, a.n.wire.length, a.n.created.length], [0, 0, 0]);
  assert.not.ok(a.n.hss.has(`alice@${a.n.realm}`), 'close() destroyed the subscribers');

  const b = await registered(0);
  try {
    const registration = a.all.filter((e) => (e.message.headers.get('cseq') ?? '').endsWith(' REGISTER'));
    assert.is(registration.length, 8, 'SM1 ... SM12: eight messages');
    assert.is(b.all.filter((e) => (e.message.headers.get('cseq') ?? '').endsWith(' REGISTER')).length, registration.length, 'onTrace still sees every message');
    assert.equal([b.n.trace.length, b.n.wire.length], [0, 0]);
  } finally {
    b.n.close();
  }
});

test('redactAuthValue: the real challenge and a resynchronising Authorization; idempotent; parseable', () => {
  const hss = new Hss();
  hss.addSubscriber({ impi: 'u@x', k: randomBytes(16), op: randomBytes(16) });
  const server = new AkaDigestServer({ realm: 'x', hss });
  const c = server.challenge('u@x');
  const red = redactAuthValue(c.wwwAuthenticate);
  assert.not.ok(mentions(red, [c.av.ck, c.av.ik]));
  assert.is(redactAuthValue(red), red, 'idempotent');
  const parsed = parseAuthHeader(red);
  assert.equal(parsed.params.map((p) => p.name), parseAuthHeader(c.wwwAuthenticate).params.map((p) => p.name));
  assert.is(authParam(parsed, 'ck'), REDACTED);
  assert.is(authParam(parsed, 'nonce'), c.nonce);
  const auts = randomBytes(14);
  const resync = akaAuthorization({ username: 'u@x', uri: 'sip:x', method: 'REGISTER', challenge: parseAkaChallenge(c.wwwAuthenticate), outcome: { auts } });
  const r2 = redactAuthValue(resync);
  assert.is(authParam(parseAuthHeader(r2), 'auts'), REDACTED);
  assert.not.ok(r2.includes(auts.toString('base64')));
  assert.is(authParam(parseAuthHeader(r2), 'response'), authParam(parseAuthHeader(resync), 'response'), 'response (an MD5, not RES) kept');
  // A parameter-like text inside another parameter's quoted value is not a parameter.
  assert.is(redactAuthValue('Digest realm="a, ck=1", ik=abc'), `Digest realm="a, ck=1", ik="${REDACTED}"`);
  hss.destroy();
});

const NAMES = ['realm', 'nonce', 'ck', 'IK', 'auts', 'Res', 'xres', 'qop', 'opaque', 'response', 'cnonce', 'nc', 'x-ck', 'ckx', 'kc', 'username'];
const CHARS = 'abcXYZ019 ,;=:"\\ck=ik=<>\t/+';
const TOKEN_CHARS = 'abcdefXYZ0123456789-.!%*_+`\'~';

test('redaction against the Authorization parser on random headers: secret parameters become "<redacted>", every other one is unchanged; datagrams alike, folded lines included', () => {
  cases('redact', 2000, (rng) => {
    const names = NAMES.filter(() => rng.int(3) === 0);
    const params: AuthParam[] = names.map((name) => {
      const quoted = rng.int(2) === 0;
      const pool = quoted ? CHARS : TOKEN_CHARS;
      const len = quoted ? rng.int(40) : 1 + rng.int(20);
      const value = Array.from({ length: len }, () => pool[rng.int(pool.length)]!).join('');
      return { name, value, quoted }; // names as written, in any case
    });
    const value = formatAuthHeader({ scheme: 'Digest', params });
    const red = parseAuthHeader(redactAuthValue(value));
    const secret = new Set(['ck', 'ik', 'auts', 'res', 'xres']);
    assert.equal(red.params.map((p) => [p.name, p.value, p.quoted]),
      params.map((p) => (secret.has(p.name.toLowerCase()) ? [p.name.toLowerCase(), REDACTED, true] : [p.name.toLowerCase(), p.value, p.quoted])));
    // The same header in a datagram, possibly folded after a comma (RFC 3261 7.3.1).
    const fold = rng.int(2) === 0;
    const headerText = fold ? value.replace(/",(?=[a-z])/g, (m) => (rng.int(2) ? `${m}\r\n ` : m)) : value;
    const msg = `SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: ${headerText}\r\nContent-Length: 3\r\n\r\nabc`;
    const bytes = Uint8Array.from(msg, (ch) => ch.charCodeAt(0));
    const out = redactDatagram(bytes);
    const original = parseSipMessage(bytes);
    const viaMessage = redactMessage(original);
    const viaBytes = parseSipMessage(out);
    assert.is(viaBytes.headers.get('www-authenticate'), viaMessage.headers.get('www-authenticate'));
    assert.is(text(viaBytes.body), 'abc');
    if (params.some((p) => secret.has(p.name.toLowerCase()))) assert.is.not(viaMessage, original, 'a copy, the original untouched');
    else assert.is(out, bytes, 'nothing to redact: the same bytes');
  });
});

test('redactDatagram leaves ESP and other binary datagrams alone; redactMessage leaves the original message untouched', () => {
  const sa = EspSa.outbound({ spi: 4242, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: randomBytes(16), ik: randomBytes(16) });
  const wire = sa.seal(new TextEncoder().encode('REGISTER sip:x SIP/2.0\r\nAuthorization: Digest ck="00"\r\n\r\n'));
  assert.is(redactDatagram(wire), wire);
  sa.delete();
  const junk = randomBytes(300);
  assert.is(redactDatagram(junk), junk);
  const m: SipMessage = parseSipMessage(new TextEncoder().encode('SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@x>\r\nTo: <sip:a@x>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: Digest nonce="n", ck="0011", ik="2233"\r\n\r\n'));
  const r = redactMessage(m);
  assert.is(m.headers.get('www-authenticate'), 'Digest nonce="n", ck="0011", ik="2233"');
  assert.is(r.headers.get('www-authenticate'), `Digest nonce="n", ck="${REDACTED}", ik="${REDACTED}"`);
});

/** The nonce of the packet just sealed or opened: salt || explicit IV. */
const gcmNonce = (salt: Uint8Array, packet: Uint8Array): Uint8Array => Uint8Array.from([...salt, ...packet.subarray(8, 16)]);

test('AES-GCM and GMAC: no nonce (salt || IV) left in WASM scratch after seal and open, nor after the SA is deleted', () => {
  for (const [alg, ealg] of [['null', 'aes-gcm'], ['aes-gmac', 'null']] as const) {
    const ck = randomBytes(16);
    const ik = randomBytes(16);
    const { salt, encKey, authKey } = expandKeys({ alg, ealg, ck, ik });
    const tx = EspSa.outbound({ spi: 0x1001, alg, ealg, ck, ik });
    const rx = EspSa.inbound({ spi: 0x1001, alg, ealg, ck, ik });
    assert.ok(contains(rawMemory(), ealg === 'aes-gcm' ? encKey : authKey), 'control: the key is found while the SA lives');
    const packet = tx.seal(randomBytes(100));
    assert.not.ok(contains(rawMemory(), gcmNonce(salt!, packet)), `${alg}/${ealg}: nonce left after seal`);
    rx.open(packet);
    assert.not.ok(contains(rawMemory(), gcmNonce(salt!, packet)), `${alg}/${ealg}: nonce left after open`);
    tx.delete();
    rx.delete();
    assert.not.ok(contains(rawMemory(), gcmNonce(salt!, packet)));
  }
});

test('HMAC-SHA-1-96 and -MD5-96: neither the inner hash nor the untransmitted tail of the MAC stays in WASM scratch', () => {
  for (const [alg, hash, pad] of [['hmac-sha-1-96', 'sha1', 4], ['hmac-md5-96', 'md5', 0]] as const) {
    const ck = randomBytes(16);
    const ik = randomBytes(16);
    const key = Buffer.concat([ik, Buffer.alloc(pad)]);
    const tx = EspSa.outbound({ spi: 0x2002, alg, ealg: 'aes-cbc', ck, ik });
    const rx = EspSa.inbound({ spi: 0x2002, alg, ealg: 'aes-cbc', ck, ik });
    const packet = tx.seal(randomBytes(77));
    const authenticated = packet.subarray(0, packet.length - 12);
    const mac = createHmac(hash, key).update(authenticated).digest();
    assert.is(hex(mac.subarray(0, 12)), hex(packet.subarray(packet.length - 12)), 'control: the ICV is this HMAC');
    const ipad = Buffer.alloc(64, 0x36);
    for (let i = 0; i < key.length; i++) ipad[i]! ^= key[i]!;
    const inner = createHash(hash).update(ipad).update(authenticated).digest();
    for (const what of ['seal', 'open'] as const) {
      if (what === 'open') rx.open(packet);
      assert.not.ok(contains(rawMemory(), inner), `${alg}: inner hash left after ${what}`);
      assert.not.ok(contains(rawMemory(), mac.subarray(12)), `${alg}: MAC tail left after ${what}`);
    }
    tx.delete();
    rx.delete();
  }
});

test('Milenage and Digest AKA leave no RAND, SQN, RES or H(A1) in the WASM windows', () => {
  const m = new Milenage({ k: randomBytes(16), op: randomBytes(16) });
  const rand = randomBytes(16);
  const sqn = randomBytes(6);
  const out = m.run({ rand, sqn, amf: Uint8Array.of(0x80, 0) });
  for (const [name, v] of [['RAND', rand], ['SQN', sqn], ['RES', out.res], ['CK', out.ck], ['IK', out.ik]] as const) {
    assert.not.ok(contains(rawMemory(), v), `${name} left in WASM memory`);
  }
  m.destroy();
  // The hash primitive Digest AKA uses: neither its input (A1 holds RES) nor its output stays.
  const secret = randomBytes(40);
  const d = md5(secret);
  assert.is(hex(d), createHash('md5').update(secret).digest('hex'));
  assert.not.ok(contains(rawMemory(), secret), 'md5 input left in the I/O window');
  assert.not.ok(contains(rawMemory(), d), 'md5 output left in WASM memory');
  const res = randomBytes(8);
  const input = { username: 'alice@ims.example', realm: 'ims.example', password: res, nonce: 'bm9uY2U=', method: 'REGISTER', uri: 'sip:ims.example', qop: 'auth' as const, nc: '00000001', cnonce: 'c0ffee' };
  const response = digestResponse(input);
  const a1 = Buffer.concat([Buffer.from(`${input.username}:${input.realm}:`), res]);
  const ha1 = createHash('md5').update(a1).digest();
  assert.is(response.length, 32);
  assert.not.ok(contains(rawMemory(), res), 'RES (the Digest password) left in the I/O window');
  assert.not.ok(contains(rawMemory(), ha1), 'H(A1) left in WASM memory');
});

test('Hss.destroy() and AkaDigestServer.destroy(): every subscriber\'s K schedule and every vector zeroed', () => {
  const hss = new Hss();
  const ks = [randomBytes(16), randomBytes(16)];
  ks.forEach((k, i) => hss.addSubscriber({ impi: `u${i}@x`, k, op: randomBytes(16) }));
  for (const k of ks) assert.ok(contains(rawMemory(), k), 'control: AES round key 0 is K');
  const server = new AkaDigestServer({ realm: 'x', hss });
  const { av, wwwAuthenticate } = server.challenge('u0@x');
  const copies = [av.xres.slice(), av.ck.slice(), av.ik.slice()];
  server.destroy();
  hss.destroy();
  for (const k of ks) assert.not.ok(contains(rawMemory(), k), 'K left in WASM memory');
  assert.not.ok(hss.has('u0@x'));
  for (const b of [av.xres, av.ck, av.ik]) assert.ok(b.every((x) => x === 0), 'vector zeroed');
  assert.ok(copies.every((c) => c.some((x) => x !== 0)));
  const answer = akaAuthorization({ username: 'u0@x', uri: 'sip:x', method: 'REGISTER', challenge: parseAkaChallenge(wwwAuthenticate), outcome: { res: copies[0]! } });
  assert.is(server.verify({ authorization: answer, method: 'REGISTER' }).result, 'stale', 'the nonce is gone');
  hss.destroy(); // idempotent
});

test.run();
