// GHASH in 16 lanes (assembly/ghash-lanes.ts): inputs of 44 blocks and more (AAD, ciphertext and the
// lengths block together) go through 4-bit tables of H^16 in the lanes, the stream preceded by
// -blocks mod 16 zero blocks and folded with H^16..H at the end. Held to node:crypto on every payload
// length 0..2100 (so every count of leading zero blocks, every group count and every partial block, on
// both sides of the lanes' threshold), with ESP's AAD of 8 and 12 bytes and other AAD lengths, every key
// and tag length, GMAC over long data, and ESP SAs (aes-gcm and aes-gmac) against the node:crypto ESP
// of test/esp-reference.ts, forged tags refused with nothing written.

import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AesGcm, AesGmac, EspSa, initSync } from '../src/index.js';
import { expandKeys } from '../src/keys.js';
import { refOpen, refSeal, type RefSa } from './esp-reference.js';
import { allMemory as rawMemory } from '../src/internal/wasm.js';
import { Rng, contains, hex, seed, throwsCode } from './helpers.js';

initSync();

const TAGS = [8, 12, 16] as const;

function nodeSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array, tagLen: number): string {
  const c = createCipheriv(`aes-${key.length * 8}-gcm` as 'aes-128-gcm', key, nonce, { authTagLength: tagLen });
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(pt), c.final()]);
  return ct.toString('hex') + c.getAuthTag().toString('hex');
}

test('aes-gcm: every payload length 0..2100 with AAD of 8, 12 and other lengths, seal and open against node:crypto', () => {
  const s = seed();
  const rng = new Rng(s);
  const keys = [16, 24, 32].map((n) => rng.bytes(n));
  const gcms = keys.map((k) => TAGS.map((tagLength) => new AesGcm(k, { tagLength })));
  try {
    for (let n = 0; n <= 2100; n++) {
      const ki = n % 3;
      const ti = rng.int(3);
      const key = keys[ki]!;
      const gcm = gcms[ki]![ti]!;
      const tagLen = TAGS[ti]!;
      const aadLen = n % 4 === 3 ? rng.int(300) : n % 2 === 0 ? 8 : 12;
      const nonce = rng.bytes(12);
      const aad = rng.bytes(aadLen);
      const pt = rng.bytes(n);
      const want = nodeSeal(key, nonce, aad, pt, tagLen);
      const sealed = gcm.seal(nonce, pt, aad);
      assert.is(hex(sealed), want, `seed ${s}: key ${key.length}, aad ${aadLen}, payload ${n}, tag ${tagLen}`);
      assert.is(hex(gcm.open(nonce, sealed, aad)), hex(pt), `seed ${s}: open, payload ${n}`);
      // A forged tag (one bit) is refused and nothing is written.
      const bad = sealed.slice();
      bad[bad.length - 1 - rng.int(tagLen)]! ^= 1 << rng.int(8);
      const out = new Uint8Array(n).fill(0xa5);
      throwsCode(() => gcm.open(nonce, bad, aad, out), 'TAG_MISMATCH');
      assert.ok(out.every((b) => b === 0xa5), `seed ${s}: payload ${n}: output untouched`);
      // A flipped ciphertext bit in the lanes' range: refused too.
      if (n > 0) {
        const bad2 = sealed.slice();
        bad2[rng.int(n)]! ^= 1 << rng.int(8);
        throwsCode(() => gcm.open(nonce, bad2, aad), 'TAG_MISMATCH');
      }
    }
  } finally {
    for (const row of gcms) for (const g of row) g.destroy();
  }
});

test('aes-gcm: long AAD with short and long payloads (the lanes across the AAD / ciphertext boundary)', () => {
  const s = seed();
  const rng = new Rng(s);
  for (let i = 0; i < 600; i++) {
    const key = rng.bytes(rng.pick([16, 24, 32]));
    const tagLen = rng.pick(TAGS);
    const nonce = rng.bytes(12);
    const aad = rng.bytes(rng.int(2100));
    const pt = rng.bytes(rng.int(i % 2 === 0 ? 40 : 2100));
    const gcm = new AesGcm(key, { tagLength: tagLen });
    const sealed = gcm.seal(nonce, pt, aad);
    assert.is(hex(sealed), nodeSeal(key, nonce, aad, pt, tagLen), `seed ${s}: aad ${aad.length}, payload ${pt.length}`);
    assert.is(hex(gcm.open(nonce, sealed, aad)), hex(pt));
    gcm.destroy();
  }
});

test('aes-gmac: every data length 0..2100 against node:crypto (GCM over AAD only), forged tags refused', () => {
  const s = seed();
  const rng = new Rng(s);
  const key = rng.bytes(16);
  const gmac = new AesGmac(key);
  try {
    for (let n = 0; n <= 2100; n++) {
      const nonce = rng.bytes(12);
      const data = rng.bytes(n);
      const tag = gmac.tag(nonce, data);
      assert.is(hex(tag), nodeSeal(key, nonce, data, new Uint8Array(0), 16), `seed ${s}: gmac ${n}`);
      const bad = tag.slice();
      bad[rng.int(16)]! ^= 1 << rng.int(8);
      assert.not.ok(gmac.verify(nonce, data, bad), `seed ${s}: forged tag, data ${n}`);
    }
  } finally {
    gmac.destroy();
  }
});

test('ESP aes-gcm and aes-gmac SAs: payloads 0..2100 against the node:crypto ESP both ways, forged ICVs refused', () => {
  const s = seed();
  const rng = new Rng(s);
  for (const [alg, ealg] of [['null', 'aes-gcm'], ['aes-gmac', 'null']] as const) {
    const ck = rng.bytes(16), ik = rng.bytes(16);
    const spi = 256 + rng.int(2 ** 31);
    const opts = { spi, alg, ealg, ck, ik, replayWindow: 64 } as const;
    const k = expandKeys({ alg, ealg, ck, ik });
    const ref: RefSa = { spi, alg, ealg, encKey: k.encKey, authKey: k.authKey };
    if (k.salt) ref.salt = k.salt;
    const tx = EspSa.outbound(opts), rx = EspSa.inbound(opts), rx2 = EspSa.inbound(opts);
    try {
      let refSeq = 0;
      for (let n = 0; n <= 2100; n += 1 + rng.int(7)) {
        const payload = rng.bytes(n);
        const packet = tx.seal(payload, 17);
        const r = refOpen(ref, packet);
        assert.is(hex(r.payload), hex(payload), `seed ${s}: ${ealg}+${alg}: ours opens in node:crypto, payload ${n}`);
        // A forged ICV is refused and the caller's buffer left as it was.
        const forged = packet.slice();
        forged[forged.length - 1 - rng.int(16)]! ^= 1 << rng.int(8);
        const out = new Uint8Array(packet.length).fill(0x5a);
        throwsCode(() => rx.open(forged, out), 'ESP_INTEGRITY');
        assert.ok(out.every((b) => b === 0x5a), `seed ${s}: ${ealg}+${alg}: nothing written, payload ${n}`);
        const got = rx.open(packet);
        assert.is(hex(got!.payload), hex(payload), `seed ${s}: ${ealg}+${alg}: opens, payload ${n}`);
        // node:crypto's packet opens in ours.
        const theirs = new Uint8Array(refSeal(ref, ++refSeq, payload, 17, rng.bytes(8)));
        assert.is(hex(rx2.open(theirs)!.payload), hex(payload), `seed ${s}: ${ealg}+${alg}: node:crypto's opens, payload ${n}`);
      }
    } finally {
      tx.destroy();
      rx.destroy();
      rx2.destroy();
    }
  }
});

// GF(2^128) in the wire's byte order (SP 800-38D 6.3), as a big-endian BigInt: times x is a right shift.
const R = 0xe1n << 120n;
const timesX = (v: bigint): bigint => ((v & 1n) !== 0n ? (v >> 1n) ^ R : v >> 1n);
function gfMul(a: bigint, b: bigint): bigint {
  let z = 0n;
  for (let i = 127n; i >= 0n; i--) {
    if (((a >> i) & 1n) !== 0n) z ^= b;
    b = timesX(b);
  }
  return z;
}
const toBytes = (v: bigint): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => Number((v >> BigInt(8 * (15 - i))) & 0xffn));
const fromBytes = (b: Uint8Array): bigint => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);

test('wipe: after a seal and an open through the lanes no table of H^16 is left in WASM memory; H^16 goes with the SA', () => {
  const ck = randomBytes(16), ik = randomBytes(16);
  const { encKey } = expandKeys({ alg: 'null', ealg: 'aes-gcm', ck, ik });
  const e = createCipheriv('aes-128-ecb', encKey, null).setAutoPadding(false);
  const h = fromBytes(Buffer.concat([e.update(Buffer.alloc(16)), e.final()]));
  let k = h;
  for (let i = 1; i < 16; i++) k = gfMul(k, h);
  // The first nibble's table (the high nibble of byte 0: bits 3..0 are K x^0..x^3) as the lanes store
  // it, transposed: vector j holds byte j of the 16 entries; and the basis elements it is built from.
  const basis = [0, 1, 2, 3].map((t) => { let v = k; for (let i = 0; i < t; i++) v = timesX(v); return v; });
  const entry = (n: number): bigint => [0, 1, 2, 3].reduce((v, b) => ((n >> b) & 1 ? v ^ basis[3 - b]! : v), 0n);
  const entries = Array.from({ length: 16 }, (_, n) => toBytes(entry(n)));
  const needles = [0, 5, 15].map((j) => Uint8Array.from(entries, (row) => row[j]!));
  const tx = EspSa.outbound({ spi: 0x2002, alg: 'null', ealg: 'aes-gcm', ck, ik });
  const rx = EspSa.inbound({ spi: 0x2002, alg: 'null', ealg: 'aes-gcm', ck, ik });
  assert.ok(contains(rawMemory(), toBytes(k)), 'control: H^16 is in the SA context while it lives');
  const packet = tx.seal(randomBytes(1400));
  assert.ok(rx.open(packet));
  for (const [i, n] of needles.entries()) assert.not.ok(contains(rawMemory(), n), `table vector ${i} left after seal and open`);
  for (const t of [1, 2]) assert.not.ok(contains(rawMemory(), toBytes(basis[t]!)), `basis K x^${t} left after seal and open`);
  tx.delete();
  rx.delete();
  assert.not.ok(contains(rawMemory(), toBytes(k)), 'H^16 left after the SA was deleted');
});

test.run();
