// DES, DES-EDE3 and DES-EDE3-CBC (FIPS 46-3, SP 800-67, RFC 2451): vectors, differential checks against
// node:crypto, the RFC 2451 weak-key rule, and negative cases.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Des, Des3, Des3Cbc, initSync } from '../src/index.js';
import { cases, hex, loadVectors, throwsCode, unhex } from './helpers.js';

initSync();

interface DesVector {
  id: string;
  source: string;
  mode?: 'ecb';
  key: string;
  iv: string | null;
  plaintext: string;
  ciphertext: string;
}

const file = loadVectors<DesVector>('des-ede3-cbc');

test('des-ede3-cbc.json: every CBC and ECB vector, both directions', () => {
  assert.is(file.vectors.length, 6);
  for (const v of file.vectors) {
    const key = unhex(v.key);
    if (v.mode === 'ecb') {
      const d = new Des3(key);
      assert.is(hex(d.encryptBlocks(unhex(v.plaintext))), v.ciphertext, `${v.id} (${v.source})`);
      assert.is(hex(d.decryptBlocks(unhex(v.ciphertext))), v.plaintext, v.id);
      d.destroy();
    } else {
      const d = new Des3Cbc(key);
      assert.is(hex(d.encrypt(unhex(v.iv!), unhex(v.plaintext))), v.ciphertext, `${v.id} (${v.source})`);
      assert.is(hex(d.decrypt(unhex(v.iv!), unhex(v.ciphertext))), v.plaintext, v.id);
      d.destroy();
    }
  }
});

test('single DES: the worked example of "The DES Algorithm Illustrated" (J. Orlin Grabbe)', () => {
  const d = new Des(unhex('133457799bbcdff1'));
  assert.is(hex(d.encryptBlocks(unhex('0123456789abcdef'))), '85e813540f0ab405');
  assert.is(hex(d.decryptBlocks(unhex('85e813540f0ab405'))), '0123456789abcdef');
  d.destroy();
});

test('single DES: 1000 random blocks against node:crypto (EDE3 with K2 == K3 is single DES under K1)', () => {
  cases('des ecb', 1000, (rng) => {
    const k = rng.bytes(8);
    const x = rng.bytes(8);
    const ede = new Uint8Array(24);
    ede.set(k, 0);
    ede.set(x, 8);
    ede.set(x, 16);
    const data = rng.bytes(8 * (1 + rng.int(8)));
    const c = createCipheriv('des-ede3', ede, null).setAutoPadding(false);
    const expected = Buffer.concat([c.update(data), c.final()]).toString('hex');
    const d = new Des(k);
    const ct = d.encryptBlocks(data);
    assert.is(hex(ct), expected);
    assert.is(hex(d.decryptBlocks(ct)), hex(data));
    d.destroy();
  });
});

test('des-ede3-cbc: 1000 random cases per direction against node:crypto', () => {
  cases('des-ede3-cbc encrypt', 1000, (rng) => {
    const key = rng.bytes(24);
    const iv = rng.bytes(8);
    const data = rng.bytes(8 * rng.int(200));
    const c = createCipheriv('des-ede3-cbc', key, iv).setAutoPadding(false);
    const expected = Buffer.concat([c.update(data), c.final()]);
    const d = new Des3Cbc(key);
    assert.is(hex(d.encrypt(iv, data)), expected.toString('hex'));
    d.destroy();
  });
  cases('des-ede3-cbc decrypt', 1000, (rng) => {
    const key = rng.bytes(24);
    const iv = rng.bytes(8);
    const data = rng.bytes(8 * rng.int(200));
    const c = createDecipheriv('des-ede3-cbc', key, iv).setAutoPadding(false);
    const expected = Buffer.concat([c.update(data), c.final()]);
    const d = new Des3Cbc(key);
    assert.is(hex(d.decrypt(iv, data)), expected.toString('hex'));
    d.destroy();
  });
});

test('des-ede3 block API (ECB): 1000 random cases per direction against node:crypto des-ede3', () => {
  cases('des-ede3 ecb', 1000, (rng) => {
    const key = rng.bytes(24);
    const data = rng.bytes(8 * (1 + rng.int(20)));
    const c = createCipheriv('des-ede3', key, null).setAutoPadding(false);
    const ct = Buffer.concat([c.update(data), c.final()]);
    const d = createDecipheriv('des-ede3', key, null).setAutoPadding(false);
    const pt = Buffer.concat([d.update(data), d.final()]);
    const des3 = new Des3(key);
    assert.is(hex(des3.encryptBlocks(data)), ct.toString('hex'));
    assert.is(hex(des3.decryptBlocks(data)), pt.toString('hex'));
    des3.destroy();
  });
});

test('des-ede3-cbc: parity bits are ignored', () => {
  cases('parity', 100, (rng) => {
    const key = rng.bytes(24);
    const flipped = key.map((b) => b ^ 1);
    const iv = rng.bytes(8);
    const data = rng.bytes(64);
    const a = new Des3Cbc(key);
    const b = new Des3Cbc(flipped);
    assert.is(hex(a.encrypt(iv, data)), hex(b.encrypt(iv, data)));
    a.destroy();
    b.destroy();
  });
});

test('des-ede3: RFC 2451 weak keys (K1 == K2 or K2 == K3, parity ignored) are refused; K1 == K3 is allowed', () => {
  const k1 = unhex('0123456789abcdef');
  const k2 = unhex('fedcba9876543210');
  const cat = (...ks: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(24);
    ks.forEach((k, i) => out.set(k, i * 8));
    return out;
  };
  throwsCode(() => new Des3Cbc(cat(k1, k1, k2)), 'WEAK_KEY');
  throwsCode(() => new Des3Cbc(cat(k1, k2, k2)), 'WEAK_KEY');
  throwsCode(() => new Des3(cat(k1, k1, k1)), 'WEAK_KEY');
  throwsCode(() => new Des3Cbc(cat(k1, k1.map((b) => b ^ 1), k2)), 'WEAK_KEY'); // differs only in parity
  const ok = new Des3Cbc(cat(k1, k2, k1)); // the TS 33.203 Annex I keying option
  ok.destroy();
});

test('des: negative cases', () => {
  throwsCode(() => new Des3Cbc(new Uint8Array(16)), 'KEY_LENGTH');
  throwsCode(() => new Des(new Uint8Array(7)), 'KEY_LENGTH');
  const d = new Des3Cbc(unhex('0123456789abcdeffedcba987654321089abcdef01234567'));
  throwsCode(() => d.encrypt(new Uint8Array(16), new Uint8Array(8)), 'IV_LENGTH');
  throwsCode(() => d.encrypt(new Uint8Array(8), new Uint8Array(12)), 'NOT_BLOCK_ALIGNED');
  throwsCode(() => d.decrypt(new Uint8Array(8), new Uint8Array(9)), 'NOT_BLOCK_ALIGNED');
  throwsCode(() => d.decrypt(new Uint8Array(8), new Uint8Array(16), new Uint8Array(8)), 'OUTPUT_TOO_SMALL');
  d.destroy();
  throwsCode(() => d.encrypt(new Uint8Array(8), new Uint8Array(8)), 'DESTROYED');
});

test.run();
