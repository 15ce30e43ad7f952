// The split WASM build (issue 18 item 5, README "In the browser", assembly/link.ts): `init({ algorithms })`
// loads the ESP module and only the algorithm modules those algorithms need, sharing one memory.
// - Correctness: the official vector suites (test/vector-suites.ts) pass on the split build with every
//   module loaded; every alg/ealg pair of TS 33.203, loaded alone, opens what the single module sealed and
//   seals what it opens (random payloads of 0-1400 bytes, per packet and in batches, with the per-packet
//   ESP module, whose batch calls go packet by packet in the binding, and with the esp-batch module and the
//   4-lane modules: the batch path taken is checked through the SIMD counters); and the batch calls refuse
//   the same items with the same codes and statistics as the single module's (test/wasm-split-refusals.ts).
// - What is not loaded is refused with ALGORITHM_NOT_LOADED and nothing allocated or changed.
// - Wrong sources (the single module given as the ESP module, two modules swapped, one missing, a single
//   source where named modules are due) are typed errors that initialise nothing; a later init() works.
// - Keys: nothing of CK/IK is left in the shared memory once the SAs are destroyed.
// - The compact flavour (`compact: true`: sha1-small, SHA-1 with rolled rounds, in place of sha1; aes-small, the
//   constant-time AES one block at a time, in place of aes: CBC against node:crypto, contexts as aes's; esp-cbc,
//   the per-packet ESP module without AES-GCM/GMAC, in place of esp when those are not loaded): the vector
//   suites, SHA-1 and HMAC-SHA-1 against node:crypto at every message length 0..300 (each block boundary
//   and both padding cases) with random keys of 1..100 bytes (hashed above 64), the HMAC pairs against the
//   single module, the refusals, and esp-cbc's own refusal of GCM/GMAC and SHA-256 inside WASM.
// - Layout: the modules' static data do not overlap, and each module imports only the shared memory.
// Each case runs in a fresh process (test/wasm-split-probe.ts): the library holds one WASM instance.

import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as lib from '../src/index.js';
import { SPLIT_LAYOUT } from '../src/wasm/split.generated.js';
import { batchRefusals } from './wasm-split-refusals.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
lib.initSync();

function probe(arg: object, stdin?: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'wasm-split-probe.ts'), JSON.stringify(arg)],
    { cwd: root, encoding: 'utf8', input: stdin ?? '', maxBuffer: 64 << 20 });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

const ALL = ['hmac-md5-96', 'hmac-sha-1-96', 'aes-gmac', 'null', 'des-ede3-cbc', 'aes-cbc', 'aes-gcm'] as const;
const PAIRS: Array<[lib.IntegrityAlgorithm, lib.EncryptionAlgorithm]> = [
  ['hmac-md5-96', 'null'], ['hmac-md5-96', 'des-ede3-cbc'], ['hmac-md5-96', 'aes-cbc'],
  ['hmac-sha-1-96', 'null'], ['hmac-sha-1-96', 'des-ede3-cbc'], ['hmac-sha-1-96', 'aes-cbc'],
  ['aes-gmac', 'null'], ['null', 'aes-gcm'],
];

test('the official vector suites pass on the split build with every module loaded, per packet and with the batch modules', () => {
  const names = ['aes-cbc', 'aes-gcm', 'des-ede3-cbc', 'hmac', 'key-expansion', 'esp-packets', 'anti-replay', 'digest-aka', 'milenage'];
  for (const [source, batch] of [['embedded', false], ['assets', false], ['embedded', true], ['assets', true]] as const) {
    const at = `${source}${batch ? ', batch' : ''}`;
    const r = probe({ algorithms: ALL, batch, source, job: 'vectors', suites: names });
    assert.is(r['loaded'], 'ok', at);
    assert.equal(Object.keys(r['counts']), names, at);
    for (const n of names) assert.ok(r['counts'][n] > 0, `${at}: ${n} checked ${r['counts'][n]} vectors`);
    assert.is(r['counts']['esp-packets'], 6);
  }
});

test('the compact flavour (sha1-small): the vector suites, SHA-1 and HMAC-SHA-1 as node:crypto at every length 0..300', () => {
  const names = ['aes-cbc', 'hmac', 'key-expansion', 'esp-packets', 'anti-replay'];
  for (const [source, batch] of [['embedded', false], ['assets', false], ['assets', true]] as const) {
    const at = `compact, ${source}${batch ? ', batch' : ''}`;
    const r = probe({ algorithms: ALL, batch, compact: true, source, job: 'vectors', suites: names });
    assert.is(r['loaded'], 'ok', at);
    assert.equal(r['modules'], [batch ? 'esp-batch' : 'esp', ...(batch ? ['aes8'] : []), 'gcm', 'des', 'md5', 'sha256', ...(batch ? ['md5x4', 'sha1x4'] : []), 'sha1-small', 'aes-small'], at);
    for (const n of names) assert.ok(r['counts'][n] > 0, `${at}: ${n} checked ${r['counts'][n]} vectors`);
  }
  // Without GCM/GMAC: the esp-cbc module (the suites that need no GCM; key expansion and packets: the pairs below).
  const cbc = ['aes-cbc', 'hmac', 'anti-replay', 'des-ede3-cbc', 'digest-aka'];
  for (const source of ['embedded', 'assets']) {
    const r = probe({ algorithms: ['hmac-md5-96', 'hmac-sha-1-96', 'null', 'des-ede3-cbc', 'aes-cbc'], compact: true, source, job: 'vectors', suites: cbc });
    assert.equal(r['modules'], ['esp-cbc', 'des', 'md5', 'sha1-small', 'aes-small'], source);
    for (const n of cbc) assert.ok(r['counts'][n] > 0, `esp-cbc, ${source}: ${n} checked ${r['counts'][n]} vectors`);
  }
  const messages = Array.from({ length: 301 }, (_, n) => randomBytes(n));
  const keys = messages.map(() => randomBytes(1 + Math.floor(Math.random() * 100)));
  const r = probe({ algorithms: ['hmac-sha-1-96'], compact: true, source: 'assets', job: 'sha1' },
    JSON.stringify({ messages: messages.map(hex), keys: keys.map(hex) }));
  assert.equal(r['modules'], ['esp-cbc', 'sha1-small']);
  assert.equal(r['digests'], messages.map((m) => createHash('sha1').update(m).digest('hex')));
  assert.equal(r['macs'], messages.map((m, i) => createHmac('sha1', keys[i]!).update(m).digest('hex')));
  assert.equal(r['scratch'], { bytes: 64, zero: true }, 'the message schedule is zeroed after use');
});

test('the compact AES (aes-small): CBC as node:crypto for every key length, in place and not, and contexts byte for byte as the aes module expands them', () => {
  // Each module on a memory of its own (both only import it): the context layout is shared with aes8.
  const instance = (name: string): { x: Record<string, (...a: number[]) => number>; m: Uint8Array } => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const i = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(join(root, 'dist', 'wasm', `${name}.wasm`))), { env: { memory } });
    return { x: i.exports as Record<string, (...a: number[]) => number>, m: new Uint8Array(memory.buffer) };
  };
  const small = instance('aes-small'), full = instance('aes');
  const CTX = 200_000, KEY = 201_000, IV = 201_100, SRC = 202_000, DST = 210_000;
  for (let n = 0; n < 240; n++) {
    const keyLen = [16, 24, 32][n % 3]!, len = 16 * (n % 40), inPlace = n % 2 === 0;
    const key = randomBytes(keyLen), iv = randomBytes(16), plain = randomBytes(len);
    for (const o of [small, full]) { o.m.fill(0xa5, CTX, CTX + 512); o.m.set(key, KEY); assert.ok(o.x['aes_init']!(CTX, KEY, keyLen)); }
    assert.equal(hex(small.m.subarray(CTX, CTX + 512)), hex(full.m.subarray(CTX, CTX + 512)), `context, ${keyLen}-byte key`);
    const cipher = createCipheriv(`aes-${keyLen * 8}-cbc`, key, iv).setAutoPadding(false).update(plain);
    const run = (fn: string, input: Uint8Array): [string, string] => {
      const dst = inPlace ? SRC : DST;
      small.m.set(iv, IV); small.m.set(input, SRC); small.x[fn]!(CTX, IV, SRC, dst, len);
      return [hex(small.m.subarray(dst, dst + len)), hex(small.m.subarray(IV, IV + 16))];
    };
    const chain = len ? hex(cipher.subarray(len - 16)) : hex(iv);
    for (const fn of ['aes_cbc_encrypt', 'aes_cbc_encrypt_tt']) assert.equal(run(fn, plain), [hex(cipher), chain], `${fn}, ${keyLen}-byte key, ${len} bytes`);
    for (const fn of ['aes_cbc_decrypt', 'aes_cbc_decrypt_bs']) assert.equal(run(fn, cipher), [hex(plain), chain], `${fn}, ${keyLen}-byte key, ${len} bytes`);
  }
  assert.is(small.x['aes_init']!(CTX, KEY, 20), 0, 'a 20-byte key is refused');
  // FIPS 197 Appendix C.1 (AES-128), as a known answer.
  small.m.set(unhex('000102030405060708090a0b0c0d0e0f'), KEY); small.x['aes_init']!(CTX, KEY, 16);
  small.m.fill(0, IV, IV + 16); small.m.set(unhex('00112233445566778899aabbccddeeff'), SRC); small.x['aes_cbc_encrypt']!(CTX, IV, SRC, SRC, 16);
  assert.is(hex(small.m.subarray(SRC, SRC + 16)), '69c4e0d86a7b0430d8cdb78070b4c55a');
});

test('each alg/ealg pair, loaded alone, interoperates with the single module (per packet and in batches)', () => {
  for (const [alg, ealg] of PAIRS) {
    for (const [batch, compact] of [[false, false], [true, false], ...(alg.startsWith('hmac-') ? [[false, true]] : [])] as Array<[boolean, boolean]>) {
      const ck = randomBytes(16), ik = randomBytes(16);
      if (ealg === 'des-ede3-cbc') ck[0]! ^= ck[8]! ^ ck[0]! ^ 0x80; // CK1 != CK2 (RFC 2451 2.4)
      const o = { alg, ealg, ck, ik };
      const tx = lib.EspSa.outbound({ spi: 0x2000, ...o });
      const rx = lib.EspSa.inbound({ spi: 0x3000, ...o, replayWindow: 1024 });
      const rxBatch = lib.EspSa.inbound({ spi: 0x3000, ...o, replayWindow: 1024 });
      const plain = Array.from({ length: 24 }, (_, i) => randomBytes(i === 0 ? 0 : Math.floor(Math.random() * 1401)));
      const packets = plain.map((p) => hex(tx.seal(p, 17)));
      const payloads = plain.map((p) => hex(p));
      const r = probe({ algorithms: [alg, ealg], batch, compact, source: batch ? 'assets' : 'embedded', job: 'esp' },
        JSON.stringify({ sas: [{ alg, ealg, ck: hex(ck), ik: hex(ik), packets, payloads }] }));
      const at = `${alg}/${ealg}${batch ? ' batch' : ''}${compact ? ' compact' : ''}`;
      assert.is(r['loaded'], 'ok', at);
      // batch: false loads the per-packet ESP module, whose batch calls seal and open packet by packet.
      assert.is(r['batchCalls'], batch, `${at}: the ESP module loaded`);
      const res = r['results'][0];
      // The same refusals, item by item, and the same statistics as the single module's one-call batches.
      assert.equal(res.refusals, batchRefusals(lib, o), `${at}: batch refusals`);
      assert.equal(res.opened, payloads, `${at}: opened`);
      assert.equal(res.openedBatch, payloads, `${at}: openBatch`);
      // What the split build sealed, the single module opens, in order (sequence numbers 1..24, then 25..48).
      const back = [...res.sealed, ...res.sealedBatch].map((p: string) => { try { return hex(rx.open(unhex(p))!.payload); } catch (e) { throw new Error(`${at}: ${(e as Error).message}`); } });
      assert.equal(back, [...payloads, ...payloads], `${at}: sealed`);
      const backBatch = lib.openBatch([...res.sealed, ...res.sealedBatch].map((p: string) => ({ sa: rxBatch, packet: unhex(p) })))
        .map((x) => (x instanceof lib.Ipsec3gppError || x === null ? 'error' : hex(x.payload)));
      assert.equal(backBatch, [...payloads, ...payloads], `${at}: sealed, opened in a batch`);
      // 4-lane HMAC only with the md5x4/sha1x4 modules (batch: true) and an HMAC algorithm.
      const hmac = alg === 'hmac-md5-96' || alg === 'hmac-sha-1-96';
      assert.is(r['simd'][0] > 0, batch && hmac, `${at}: 4-lane HMAC steps ${r['simd'][0]}`);
      for (const sa of [tx, rx, rxBatch]) sa.destroy();
    }
  }
});

test('sealBatch gives packets that open under every SIMD path mask (the split build without md5x4/sha1x4 runs mask 6)', async () => {
  // Found by the interop case above: with the AES lanes but not the 4-lane HMAC (masks 2 and 6) the ICVs
  // were computed before the deferred encryption, over the plaintext.
  const { wasm } = await import('../src/internal/wasm.js');
  const x = wasm().x;
  for (const alg of ['hmac-md5-96', 'hmac-sha-1-96'] as const) {
    for (let mask = 0; mask < 8; mask++) {
      const ck = randomBytes(16), ik = randomBytes(16);
      const tx = lib.EspSa.outbound({ spi: 0x10, alg, ealg: 'aes-cbc', ck, ik });
      const rx = lib.EspSa.inbound({ spi: 0x10, alg, ealg: 'aes-cbc', ck, ik, replayWindow: 256 });
      const plain = Array.from({ length: 20 }, () => randomBytes(Math.floor(Math.random() * 1401)));
      x.esp_simd_paths!(mask);
      let sealed: Array<Uint8Array | lib.Ipsec3gppError>;
      try { sealed = lib.sealBatch(plain.map((payload) => ({ sa: tx, payload }))); } finally { x.esp_simd_paths!(7); }
      const opened = sealed.map((p) => hex(rx.open(p as Uint8Array)!.payload));
      assert.equal(opened, plain.map(hex), `${alg} mask ${mask}`);
      tx.destroy(); rx.destroy();
    }
  }
});

test('an algorithm that was not loaded is refused (ALGORITHM_NOT_LOADED) and nothing changes; what was loaded works', () => {
  for (const compact of [false, true]) {
    const r = probe({ algorithms: ['aes-cbc', 'hmac-sha-1-96'], compact, source: 'embedded', job: 'refuse' });
    assert.is(r['loaded'], 'ok');
    const { unknown, ...codes } = r['codes'];
    assert.is(unknown, 'ok');
    for (const [k, v] of Object.entries(codes)) assert.is(v, 'ALGORITHM_NOT_LOADED', k);
    assert.is(Object.keys(codes).length, 10);
    assert.ok(r['unchanged'], 'contexts and memory as before the refusals');
    assert.is(r['roundTrip'], '010203');
    assert.is(r['sha1'], hex(lib.digest('sha1', new TextEncoder().encode('abc'))));
    // esp-cbc refuses GCM/GMAC and SHA-256 itself too, below the binding's checks (status 3: bad algorithm;
    // hash/HMAC init: 0, refused); the full esp module goes on into the GCM/SHA-256 code and meets the
    // modules not loaded (control).
    const N = 'ALGORITHM_NOT_LOADED';
    assert.equal(r['wasm'], compact ? { keys: [3, 3], sa: [3, 3], expand: [3, 3], hash: 0, hmac: 0 } : { keys: [N, N], sa: [0, 0], expand: [N, N], hash: 1, hmac: N }, `compact ${compact}`);
  }
});

test('wrong sources are typed errors that initialise nothing, and a later init() works', () => {
  for (const [source, code] of [['single-as-esp', 'WASM_LOAD'], ['swapped', 'WASM_LOAD'], ['missing', 'INVALID_ARGUMENT'], ['single-source', 'INVALID_ARGUMENT']]) {
    const r = probe({ algorithms: ['aes-cbc', 'hmac-sha-1-96'], source, job: 'none' });
    assert.equal(r, { loaded: code, after: 'NOT_INITIALIZED', retry: 'ok' }, source);
  }
  const r = probe({ algorithms: ['aes-cbc', 'hmac-sha-1-97'], source: 'embedded', job: 'none' });
  assert.is(r['loaded'], 'UNKNOWN_ALGORITHM');
});

test('no trace of CK or IK in the shared memory once the SAs are destroyed (the scan sees the AES key while they live)', () => {
  for (const [alg, ealg] of [['hmac-sha-1-96', 'aes-cbc'], ['null', 'aes-gcm']]) {
    const r = probe({ algorithms: [alg, ealg], source: 'assets', job: 'wipe', sa: { alg, ealg } });
    assert.equal(r, { loaded: 'ok', liveKey: true, afterKey: false, contexts: 0 }, `${alg}/${ealg}`);
  }
});

test('wasmModules() names the modules per algorithm; the layout does not overlap; modules import only the memory', () => {
  assert.equal(lib.wasmModules(['aes-cbc', 'hmac-sha-1-96']), ['esp', 'aes', 'sha1']);
  assert.equal(lib.wasmModules(['aes-cbc', 'hmac-sha-1-96'], { batch: true }), ['esp-batch', 'aes', 'aes8', 'sha1', 'sha1x4']);
  assert.equal(lib.wasmModules(['aes-gcm', 'null']), ['esp', 'gcm', 'sha256']);
  assert.equal(lib.wasmModules(['hmac-md5-96', 'des-ede3-cbc'], { batch: true }), ['esp-batch', 'des', 'md5', 'md5x4']);
  assert.equal(lib.wasmModules([]), ['esp']);
  assert.equal(lib.wasmModules(['aes-cbc', 'hmac-sha-1-96'], { compact: true }), ['esp-cbc', 'sha1-small', 'aes-small']);
  assert.equal(lib.wasmModules(['aes-cbc'], { compact: true, batch: true }), ['esp-batch', 'aes8', 'aes-small']);
  assert.equal(lib.wasmModules(['aes-gcm', 'null'], { compact: true }), ['esp', 'gcm', 'sha256']);
  assert.equal(lib.wasmModules(['hmac-sha-1-96'], { batch: true, compact: true }), ['esp-batch', 'sha1x4', 'sha1-small']);
  assert.throws(() => lib.wasmModules(['rot13' as 'null']), (e: lib.Ipsec3gppError) => e.code === 'UNKNOWN_ALGORITHM');
  const all = Object.entries(SPLIT_LAYOUT).map(([name, [base, end]]) => ({ name, base, end }));
  // The algorithm modules one after the other, then the three ESP modules at one base (one of them is loaded).
  const spans = all.slice(0, -2);
  assert.equal(all.slice(-3).map((m) => m.name), ['esp', 'esp-batch', 'esp-cbc']);
  assert.ok(all.length === 14 && all.slice(-3).every((m) => m.base === spans.at(-1)!.base));
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]!.base >= spans[i - 1]!.end && spans[i]!.end >= spans[i]!.base, spans[i]!.name);
  assert.ok(spans[0]!.base >= 1024, 'nothing at low addresses');
  for (const { name } of all) {
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(join(root, 'dist', 'wasm', `${name}.wasm`))));
    const memory = imports.filter((i) => i.kind === 'memory');
    assert.equal(memory.map((i) => `${i.module}.${i.name}`), ['env.memory'], name);
    if (!name.startsWith('esp')) assert.is(imports.length, 1, `${name} imports only the memory`);
    else assert.ok(imports.every((i) => i.kind === 'memory' || SPLIT_LAYOUT[i.module] !== undefined), 'the ESP module imports only from algorithm modules');
  }
});

test.run();
