// MD5, SHA-1, SHA-256 and HMAC (RFC 1321, FIPS 180-4, RFC 2104, RFC 2202, RFC 2403/2404 truncation):
// official vectors, differential checks against node:crypto, streaming across the I/O window, and
// negative cases.

import { createHash, createHmac } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Hmac, digest, initSync, md5, sha1, sha256, type HashName } from '../src/index.js';
import { cases, hex, loadVectors, throwsCode, unhex } from './helpers.js';

initSync();

interface HmacVector {
  id: string;
  source: string;
  algorithm: 'hmac-md5' | 'hmac-sha1';
  key: string;
  alt_key?: string;
  data: string;
  digest: string;
  digest_96: string;
}

const HASH_OF = { 'hmac-md5': 'md5', 'hmac-sha1': 'sha1' } as const;

test('hmac.json: RFC 2202 HMAC-MD5 / HMAC-SHA-1 cases 1-7 and their -96 truncations', () => {
  const { vectors } = loadVectors<HmacVector>('hmac');
  assert.is(vectors.length, 15);
  for (const v of vectors) {
    const h = new Hmac(HASH_OF[v.algorithm], unhex(v.key));
    const data = unhex(v.data);
    assert.is(hex(h.mac(data)), v.digest, `${v.id} (${v.source})`);
    assert.is(hex(h.mac96(data)), v.digest_96, v.id);
    assert.ok(h.verify(data, unhex(v.digest_96)), v.id);
    assert.ok(h.verify(data, unhex(v.digest)), v.id);
    h.destroy();
    if (v.alt_key !== undefined) {
      // IK_IM || 0^32 and IK_IM give the same HMAC-SHA-1 (TS 33.203 Annex I, RFC 2104 key padding).
      const alt = new Hmac(HASH_OF[v.algorithm], unhex(v.alt_key));
      assert.is(hex(alt.mac(data)), v.digest, `${v.id} alt_key`);
      alt.destroy();
    }
  }
});

const NAMES: HashName[] = ['md5', 'sha1', 'sha256'];

test('md5 / sha1 / sha256: every length 0..300 and 1000 random lengths against node:crypto', () => {
  cases('hash lengths', 301, (rng, i) => {
    const data = rng.bytes(i);
    for (const name of NAMES) assert.is(hex(digest(name, data)), createHash(name).update(data).digest('hex'), `${name} len ${i}`);
  });
  cases('hash random', 1000, (rng) => {
    const data = rng.bytes(rng.int(5000));
    const name = rng.pick(NAMES);
    assert.is(hex(digest(name, data)), createHash(name).update(data).digest('hex'), name);
  });
  assert.is(hex(md5(new Uint8Array(0))), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.is(hex(sha1(new TextEncoder().encode('abc'))), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.is(hex(sha256(new TextEncoder().encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('hashes and HMAC stream inputs larger than the I/O window', () => {
  cases('large', 3, (rng) => {
    const data = rng.bytes(131072 * 2 + rng.int(100000));
    const key = rng.bytes(20);
    for (const name of NAMES) {
      assert.is(hex(digest(name, data)), createHash(name).update(data).digest('hex'), name);
      const h = new Hmac(name, key);
      assert.is(hex(h.mac(data)), createHmac(name, key).update(data).digest('hex'), `hmac-${name}`);
      h.destroy();
    }
  });
});

for (const name of NAMES) {
  test(`hmac-${name}: 1000 random keys (0..150 bytes) and messages against node:crypto`, () => {
    cases(`hmac-${name}`, 1000, (rng) => {
      const key = rng.bytes(rng.int(151));
      const data = rng.bytes(rng.int(2000));
      const expected = createHmac(name, key).update(data).digest();
      const h = new Hmac(name, key);
      assert.is(hex(h.mac(data)), expected.toString('hex'));
      assert.is(hex(h.mac96(data)), expected.subarray(0, 12).toString('hex'));
      assert.ok(h.verify(data, expected.subarray(0, 12)));
      const bad = new Uint8Array(expected.subarray(0, 12));
      bad[rng.int(12)]! ^= 1 << rng.int(8);
      assert.not.ok(h.verify(data, bad));
      h.destroy();
    });
  });
}

test('hmac: the precomputed key state is reused across messages', () => {
  cases('reuse', 20, (rng) => {
    const key = rng.bytes(20);
    const h = new Hmac('sha1', key);
    for (let i = 0; i < 50; i++) {
      const data = rng.bytes(rng.int(1500));
      assert.is(hex(h.mac96(data)), createHmac('sha1', key).update(data).digest('hex').slice(0, 24));
    }
    h.destroy();
  });
});

test('hmac: writes into a caller buffer', () => {
  const h = new Hmac('md5', new Uint8Array(16).fill(1));
  const out = new Uint8Array(32);
  assert.is(h.mac96(new Uint8Array(10), out), out);
  assert.is(hex(out.subarray(0, 12)), hex(h.mac96(new Uint8Array(10))));
  assert.ok(out.subarray(12).every((b) => b === 0));
  h.destroy();
});

test('hash / hmac: negative cases', () => {
  throwsCode(() => new Hmac('sha512' as HashName, new Uint8Array(16)), 'UNKNOWN_ALGORITHM');
  throwsCode(() => new Hmac('sha1', [1, 2, 3] as unknown as Uint8Array), 'INVALID_ARGUMENT');
  throwsCode(() => sha1('abc' as unknown as Uint8Array), 'INVALID_ARGUMENT');
  throwsCode(() => sha256(new Uint8Array(3), new Uint8Array(31)), 'OUTPUT_TOO_SMALL');
  const h = new Hmac('sha1', new Uint8Array(20));
  throwsCode(() => h.verify(new Uint8Array(1), new Uint8Array(11)), 'TAG_LENGTH');
  throwsCode(() => h.verify(new Uint8Array(1), new Uint8Array(21)), 'TAG_LENGTH');
  throwsCode(() => h.mac96(new Uint8Array(4), new Uint8Array(11)), 'OUTPUT_TOO_SMALL');
  h.destroy();
  throwsCode(() => h.mac(new Uint8Array(1)), 'DESTROYED');
});

test.run();
