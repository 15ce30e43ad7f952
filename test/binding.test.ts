// The WASM binding: loading (async and sync), the NOT_INITIALIZED error, no memory growth on hot paths,
// context reuse, and key hygiene (keys wiped from WASM memory on destroy, never in JSON or strings).

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AesCbc, AesGcm, AesGmac, Des3Cbc, Hmac, Ipsec3gppError, expandKeys, init, initSync, memoryStats, sha1,
} from '../src/index.js';
import { contextOf } from '../src/internal/context.js';
import { rawMemory } from '../src/internal/wasm.js';
import { contains, hex } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('before init, every operation throws NOT_INITIALIZED (fresh process)', () => {
  const script = `import('./src/index.ts').then((m) => { try { m.sha1(new Uint8Array(1)); console.log('no error'); } catch (e) { console.log(e.name, e.code); } })`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.is(r.stdout.trim(), 'Ipsec3gppError NOT_INITIALIZED', r.stderr);
});

test('init() is async, idempotent and shares one instance with initSync()', async () => {
  await Promise.all([init(), init()]);
  initSync();
  await init();
  assert.is(sha1(new Uint8Array(0)).length, 20);
});

test('no memory growth on hot paths: 100 000 operations of each kind', () => {
  const ck = randomBytes(16);
  const ik = randomBytes(16);
  const cbc = new AesCbc(ck);
  const gcm = new AesGcm(ck);
  const des = new Des3Cbc(expandKeys({ alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck, ik }).encKey);
  const mac = new Hmac('sha1', ik);
  const before = memoryStats();
  const iv = new Uint8Array(16);
  const nonce = new Uint8Array(12);
  const data = new Uint8Array(608);
  const out = new Uint8Array(640);
  for (let i = 0; i < 100_000; i++) {
    cbc.encrypt(iv, data, out);
    des.decrypt(iv.subarray(0, 8), data, out);
    gcm.seal(nonce, data, undefined, out);
    mac.mac96(data, out);
  }
  const after = memoryStats();
  assert.is(after.memoryBytes, before.memoryBytes);
  assert.is(after.liveContexts, before.liveContexts);
  for (const k of [cbc, gcm, des, mac]) k.destroy();
});

test('contexts are reused after destroy: 20 000 create/destroy cycles do not grow memory', () => {
  // Warm up one context of each size class.
  for (const k of [new AesCbc(randomBytes(16)), new AesGcm(randomBytes(16)), new Hmac('sha1', randomBytes(20))]) k.destroy();
  const before = memoryStats();
  for (let i = 0; i < 20_000; i++) {
    new AesCbc(randomBytes(16)).destroy();
    new AesGcm(randomBytes(16)).destroy();
    new Hmac('sha1', randomBytes(20)).destroy();
  }
  const after = memoryStats();
  assert.is(after.memoryBytes, before.memoryBytes);
  assert.is(after.liveContexts, before.liveContexts);
});

test('destroy() zeroes the key schedule in WASM memory (AES, GCM, GMAC, 3DES, HMAC)', () => {
  const key = randomBytes(16);
  const keys = [
    new AesCbc(key),
    new AesGcm(key),
    new AesGmac(key),
    new Des3Cbc(randomBytes(24)),
    new Hmac('sha1', randomBytes(20)),
  ];
  // The AES schedule starts with the key bytes themselves (round key 0): findable before destroy, so this test can fail...
  assert.ok(contains(rawMemory(), key), 'key schedule present while the key is live');
  for (const k of keys) {
    const { ptr, size } = contextOf(k);
    const region = () => rawMemory().subarray(ptr, ptr + size);
    assert.ok(region().some((b) => b !== 0), `${k.constructor.name} context holds key material`);
    k.destroy();
    // The first word becomes the free-list link; everything else must be zero.
    assert.ok(region().subarray(8).every((b) => b === 0), `${k.constructor.name} context zeroed`);
  }
  // ...and gone afterwards, anywhere in memory (schedules and the parameter window alike).
  assert.not.ok(contains(rawMemory(), key), 'AES key gone from WASM memory');
});

test('expandKeys leaves no CK, IK or KDF output in WASM memory', () => {
  const ck = randomBytes(16);
  const ik = randomBytes(16);
  const gcm = expandKeys({ alg: 'null', ealg: 'aes-gcm', ck, ik });
  const gmac = expandKeys({ alg: 'aes-gmac', ck, ik });
  const des = expandKeys({ alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck, ik, desParity: true });
  const mem = rawMemory();
  for (const [name, secret] of [['CK', ck], ['IK', ik], ['GCM salt', gcm.salt!], ['GMAC salt', gmac.salt!], ['3DES key', des.encKey.subarray(0, 8)]] as const) {
    assert.not.ok(contains(mem, secret), `${name} left in WASM memory`);
  }
});

test('keys never appear in JSON, strings or error messages', () => {
  const key = randomBytes(16);
  const cbc = new AesCbc(key);
  const text = JSON.stringify({ cbc }) + String(cbc);
  assert.not.ok(text.includes(hex(key)));
  assert.ok(text.includes('AesCbc'));
  try {
    cbc.encrypt(key, new Uint8Array(3));
  } catch (e) {
    assert.instance(e, Ipsec3gppError);
    const err = e as Ipsec3gppError;
    assert.not.ok(JSON.stringify(err).includes(hex(key)));
    assert.not.ok(err.message.includes(hex(key)));
    assert.equal(Object.keys(err.toJSON()).sort(), ['code', 'message', 'name']);
  }
  cbc.destroy();
  assert.is(JSON.stringify(cbc), '{"type":"AesCbc","destroyed":true}');
});

test.run();
