// AES block and AES-CBC (FIPS 197, SP 800-38A, RFC 3602): official vectors, differential checks against
// node:crypto on random keys/IVs/lengths, and negative cases.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Aes, AesCbc, initSync } from '../src/index.js';
import { cases, hex, loadVectors, throwsCode, unhex } from './helpers.js';

initSync();

interface CbcVector {
  id: string;
  source: string;
  key: string;
  iv: string;
  plaintext?: string;
  plaintext_to_encrypt?: string;
  ciphertext: string;
  key_bits: number;
}

const file = loadVectors<CbcVector>('aes-cbc');

test('aes-cbc.json: every vector encrypts and decrypts', () => {
  assert.ok(file.vectors.length >= 11);
  for (const v of file.vectors) {
    const pt = unhex(v.plaintext ?? v.plaintext_to_encrypt!);
    const cbc = new AesCbc(unhex(v.key));
    assert.is(cbc.keyLength * 8, v.key_bits, v.id);
    assert.is(hex(cbc.encrypt(unhex(v.iv), pt)), v.ciphertext, `${v.id} encrypt (${v.source})`);
    assert.is(hex(cbc.decrypt(unhex(v.iv), unhex(v.ciphertext))), hex(pt), `${v.id} decrypt`);
    cbc.destroy();
  }
});

test('block API: one block equals the first CBC block of the SP 800-38A vectors', () => {
  // CBC with an all-zero IV on one block is the bare block cipher: check the block API against it.
  for (const v of file.vectors.filter((x) => x.id.startsWith('sp800-38a'))) {
    const aes = new Aes(unhex(v.key));
    const first = unhex(v.plaintext!).subarray(0, 16);
    const iv = unhex(v.iv);
    const x = first.map((b, i) => b ^ iv[i]!);
    assert.is(hex(aes.encryptBlocks(x)), v.ciphertext.slice(0, 32), v.id);
    assert.is(hex(aes.decryptBlocks(unhex(v.ciphertext.slice(0, 32)))), hex(x), v.id);
    aes.destroy();
  }
});

for (const keyLen of [16, 24, 32]) {
  const name = `aes-${keyLen * 8}-cbc`;
  test(`${name}: 1000 random cases per direction against node:crypto`, () => {
    cases(`${name} encrypt`, 1000, (rng) => {
      const key = rng.bytes(keyLen);
      const iv = rng.bytes(16);
      const data = rng.bytes(16 * rng.int(130));
      const c = createCipheriv(name, key, iv).setAutoPadding(false);
      const expected = Buffer.concat([c.update(data), c.final()]);
      const cbc = new AesCbc(key);
      assert.is(hex(cbc.encrypt(iv, data)), expected.toString('hex'));
      cbc.destroy();
    });
    cases(`${name} decrypt`, 1000, (rng) => {
      const key = rng.bytes(keyLen);
      const iv = rng.bytes(16);
      const data = rng.bytes(16 * rng.int(130));
      const d = createDecipheriv(name, key, iv).setAutoPadding(false);
      const expected = Buffer.concat([d.update(data), d.final()]);
      const cbc = new AesCbc(key);
      assert.is(hex(cbc.decrypt(iv, data)), expected.toString('hex'));
      cbc.destroy();
    });
  });
}

test('aes block API (ECB): 1000 random cases per direction against node:crypto aes-*-ecb', () => {
  cases('aes ecb', 1000, (rng) => {
    const keyLen = rng.pick([16, 24, 32]);
    const key = rng.bytes(keyLen);
    const data = rng.bytes(16 * (1 + rng.int(20)));
    const c = createCipheriv(`aes-${keyLen * 8}-ecb`, key, null).setAutoPadding(false);
    const ct = Buffer.concat([c.update(data), c.final()]);
    const d = createDecipheriv(`aes-${keyLen * 8}-ecb`, key, null).setAutoPadding(false);
    const pt = Buffer.concat([d.update(data), d.final()]);
    const aes = new Aes(key);
    assert.is(hex(aes.encryptBlocks(data)), ct.toString('hex'));
    assert.is(hex(aes.decryptBlocks(data)), pt.toString('hex'));
    aes.destroy();
  });
});

test('aes-cbc: inputs larger than the I/O window are chained across chunks', () => {
  cases('aes-cbc large', 4, (rng) => {
    const key = rng.bytes(16);
    const iv = rng.bytes(16);
    const data = rng.bytes(16 * (8192 + rng.int(30000))); // 128 KiB .. 600 KiB
    const c = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
    const expected = Buffer.concat([c.update(data), c.final()]);
    const cbc = new AesCbc(key);
    const ct = cbc.encrypt(iv, data);
    assert.is(hex(ct), expected.toString('hex'));
    assert.is(hex(cbc.decrypt(iv, ct)), hex(data));
    cbc.destroy();
  });
});

test('aes-cbc: writes into a caller buffer, in place too', () => {
  cases('aes-cbc out', 50, (rng) => {
    const key = rng.bytes(16);
    const iv = rng.bytes(16);
    const data = rng.bytes(64);
    const cbc = new AesCbc(key);
    const expected = cbc.encrypt(iv, data);
    const out = new Uint8Array(80);
    const r = cbc.encrypt(iv, data, out);
    assert.is(r, out);
    assert.is(hex(out.subarray(0, 64)), hex(expected));
    const inPlace = data.slice();
    cbc.encrypt(iv, inPlace, inPlace);
    assert.is(hex(inPlace), hex(expected));
    cbc.decrypt(iv, inPlace, inPlace);
    assert.is(hex(inPlace), hex(data));
    cbc.destroy();
  });
});

test('aes: negative cases', () => {
  throwsCode(() => new AesCbc(new Uint8Array(15)), 'KEY_LENGTH');
  throwsCode(() => new AesCbc(new Uint8Array(20)), 'KEY_LENGTH');
  throwsCode(() => new AesCbc('0123456789abcdef' as unknown as Uint8Array), 'INVALID_ARGUMENT');
  const cbc = new AesCbc(new Uint8Array(16).fill(7));
  throwsCode(() => cbc.encrypt(new Uint8Array(8), new Uint8Array(16)), 'IV_LENGTH');
  throwsCode(() => cbc.encrypt(new Uint8Array(16), new Uint8Array(17)), 'NOT_BLOCK_ALIGNED');
  throwsCode(() => cbc.decrypt(new Uint8Array(16), new Uint8Array(15)), 'NOT_BLOCK_ALIGNED');
  throwsCode(() => cbc.encrypt(new Uint8Array(16), new Uint8Array(32), new Uint8Array(16)), 'OUTPUT_TOO_SMALL');
  throwsCode(() => new Aes(new Uint8Array(16)).encryptBlocks(new Uint8Array(5)), 'NOT_BLOCK_ALIGNED');
  cbc.destroy();
  throwsCode(() => cbc.encrypt(new Uint8Array(16), new Uint8Array(16)), 'DESTROYED');
  cbc.destroy(); // idempotent
});

test.run();
