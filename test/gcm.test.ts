// AES-GCM and AES-GMAC (SP 800-38D, as RFC 4106 / RFC 4543 use them): published test cases, differential
// checks against node:crypto's aes-*-gcm on random keys, nonces, AAD and lengths with 8/12/16-byte tags,
// and the rule that a bad tag gives an error and no plaintext.

import { createCipheriv } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AesGcm, AesGmac, initSync } from '../src/index.js';
import { Rng, cases, hex, loadVectors, seed, throwsCode, unhex } from './helpers.js';

initSync();

interface GcmVector {
  id: string;
  source: string;
  key: string;
  iv: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

test('aes-gcm.json: GCM specification test cases 1-4', () => {
  const { vectors } = loadVectors<GcmVector>('aes-gcm');
  assert.is(vectors.length, 4);
  for (const v of vectors) {
    const gcm = new AesGcm(unhex(v.key));
    const sealed = gcm.seal(unhex(v.iv), unhex(v.plaintext), unhex(v.aad));
    assert.is(hex(sealed), v.ciphertext + v.tag, `${v.id} (${v.source})`);
    assert.is(hex(gcm.open(unhex(v.iv), sealed, unhex(v.aad))), v.plaintext, v.id);
    gcm.destroy();
  }
});

const TAGS = [8, 12, 16] as const;

function nodeSeal(keyLen: number, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array, tagLen: number): string {
  const c = createCipheriv(`aes-${keyLen * 8}-gcm` as 'aes-128-gcm', key, nonce, { authTagLength: tagLen });
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(pt), c.final()]);
  return ct.toString('hex') + c.getAuthTag().toString('hex');
}

for (const keyLen of [16, 24, 32]) {
  test(`aes-${keyLen * 8}-gcm: 1000 random cases per direction against node:crypto`, () => {
    cases(`gcm-${keyLen} seal`, 1000, (rng) => {
      const key = rng.bytes(keyLen);
      const nonce = rng.bytes(12);
      const aad = rng.bytes(rng.int(48));
      const pt = rng.bytes(rng.int(1500));
      const tagLength = rng.pick(TAGS);
      const gcm = new AesGcm(key, { tagLength });
      assert.is(hex(gcm.seal(nonce, pt, aad)), nodeSeal(keyLen, key, nonce, aad, pt, tagLength));
      gcm.destroy();
    });
    cases(`gcm-${keyLen} open`, 1000, (rng) => {
      const key = rng.bytes(keyLen);
      const nonce = rng.bytes(12);
      const aad = rng.bytes(rng.int(48));
      const pt = rng.bytes(rng.int(1500));
      const tagLength = rng.pick(TAGS);
      const sealed = unhex(nodeSeal(keyLen, key, nonce, aad, pt, tagLength));
      const gcm = new AesGcm(key, { tagLength });
      assert.is(hex(gcm.open(nonce, sealed, aad)), hex(pt));
      gcm.destroy();
    });
  });
}

test('aes-gmac: 1000 random tags and verifications against node:crypto (GCM over AAD only)', () => {
  cases('gmac', 1000, (rng) => {
    const keyLen = rng.pick([16, 24, 32]);
    const key = rng.bytes(keyLen);
    const nonce = rng.bytes(12);
    const data = rng.bytes(rng.int(1500));
    const tagLength = rng.pick(TAGS);
    const expected = nodeSeal(keyLen, key, nonce, data, new Uint8Array(0), tagLength);
    const gmac = new AesGmac(key, { tagLength });
    const tag = gmac.tag(nonce, data);
    assert.is(hex(tag), expected);
    assert.ok(gmac.verify(nonce, data, tag));
    const bad = tag.slice();
    bad[rng.int(bad.length)]! ^= 1 << rng.int(8);
    assert.not.ok(gmac.verify(nonce, data, bad));
    if (data.length > 0) {
      const changed = data.slice();
      changed[rng.int(changed.length)]! ^= 0x80;
      assert.not.ok(gmac.verify(nonce, changed, tag));
    }
    gmac.destroy();
  });
});

// GHASH hashes four blocks per reduction with H^4..H (assembly/gcm.ts), the last 1..4 whole blocks of
// each of AAD and ciphertext as a shorter group, then a zero-padded partial block: every length 0..320
// bytes covers each group size, remainder and partial block (up to 20 blocks) on both inputs.
test('GHASH in groups of four blocks: every AAD and plaintext length 0..320 bytes against node:crypto', () => {
  const rng = new Rng(seed());
  for (let n = 0; n <= 320; n++) {
    const keyLen = rng.pick([16, 24, 32]);
    const key = rng.bytes(keyLen);
    const nonce = rng.bytes(12);
    const gcm = new AesGcm(key);
    const gmac = new AesGmac(key);
    const aad = rng.bytes(n), pt = rng.bytes(rng.int(321));
    assert.is(hex(gcm.seal(nonce, pt, aad)), nodeSeal(keyLen, key, nonce, aad, pt, 16), `aad ${n}, plaintext ${pt.length}`);
    const aad2 = rng.bytes(rng.int(321)), pt2 = rng.bytes(n);
    assert.is(hex(gcm.seal(nonce, pt2, aad2)), nodeSeal(keyLen, key, nonce, aad2, pt2, 16), `aad ${aad2.length}, plaintext ${n}`);
    assert.is(hex(gmac.tag(nonce, aad)), nodeSeal(keyLen, key, nonce, aad, new Uint8Array(0), 16), `gmac ${n}`);
    gcm.destroy();
    gmac.destroy();
  }
});

test('aes-gcm: any flipped bit (tag, ciphertext, AAD, nonce) gives TAG_MISMATCH and no plaintext', () => {
  cases('gcm tamper', 300, (rng) => {
    const key = rng.bytes(16);
    const nonce = rng.bytes(12);
    const aad = rng.bytes(8 + rng.int(16));
    const pt = rng.bytes(1 + rng.int(200));
    const gcm = new AesGcm(key);
    const sealed = gcm.seal(nonce, pt, aad);
    const out = new Uint8Array(pt.length).fill(0xee);
    const which = rng.int(3);
    const s = sealed.slice();
    const a = aad.slice();
    const n = nonce.slice();
    if (which === 0) s[rng.int(s.length)]! ^= 1 << rng.int(8);
    else if (which === 1) a[rng.int(a.length)]! ^= 1 << rng.int(8);
    else n[rng.int(n.length)]! ^= 1 << rng.int(8);
    throwsCode(() => gcm.open(n, s, a, out), 'TAG_MISMATCH');
    assert.ok(out.every((b) => b === 0xee), 'output untouched');
    gcm.destroy();
  });
});

test('aes-gcm: writes into caller buffers', () => {
  const gcm = new AesGcm(new Uint8Array(16).fill(3));
  const nonce = new Uint8Array(12).fill(1);
  const pt = new Uint8Array(40).fill(9);
  const out = new Uint8Array(100);
  assert.is(gcm.seal(nonce, pt, undefined, out), out);
  const expected = gcm.seal(nonce, pt);
  assert.is(hex(out.subarray(0, 56)), hex(expected));
  const back = new Uint8Array(40);
  assert.is(gcm.open(nonce, expected, undefined, back), back);
  assert.is(hex(back), hex(pt));
  gcm.destroy();
});

test('aes-gcm / gmac: negative cases', () => {
  throwsCode(() => new AesGcm(new Uint8Array(17)), 'KEY_LENGTH');
  throwsCode(() => new AesGcm(new Uint8Array(16), { tagLength: 4 as 8 }), 'TAG_LENGTH');
  const gcm = new AesGcm(new Uint8Array(16));
  throwsCode(() => gcm.seal(new Uint8Array(8), new Uint8Array(4)), 'IV_LENGTH');
  throwsCode(() => gcm.open(new Uint8Array(12), new Uint8Array(15)), 'TAG_LENGTH');
  throwsCode(() => gcm.seal(new Uint8Array(12), new Uint8Array(200_000)), 'INPUT_TOO_LARGE');
  throwsCode(() => gcm.seal(new Uint8Array(12), new Uint8Array(16), undefined, new Uint8Array(20)), 'OUTPUT_TOO_SMALL');
  const gmac = new AesGmac(new Uint8Array(16), { tagLength: 12 });
  throwsCode(() => gmac.verify(new Uint8Array(12), new Uint8Array(4), new Uint8Array(16)), 'TAG_LENGTH');
  gcm.destroy();
  gmac.destroy();
  throwsCode(() => gcm.seal(new Uint8Array(12), new Uint8Array(4)), 'DESTROYED');
});

test.run();
