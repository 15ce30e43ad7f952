// Bitsliced, constant-time AES (assembly/aes-bs.ts over aes-bs-rounds.ts, WebAssembly SIMD): the rounds
// against node:crypto for 128/192/256-bit keys and every group fill (1..8 blocks and more), CBC
// decryption against node:crypto and the SP 800-38A / RFC 3602 vectors, and the 8-lane CBC encryption of
// many packets (lengths differing, lanes refilled) against node:crypto packet by packet.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AES_CTX_SIZE } from '../src/constants.js';
import { initSync } from '../src/index.js';
import { allocContext, freeContext, wasm } from '../src/internal/wasm.js';
import { cases, hex, loadVectors, unhex } from './helpers.js';

initSync();

function withKey<T>(key: Uint8Array, fn: (ctx: number) => T): T {
  const c = wasm();
  const ctx = allocContext(AES_CTX_SIZE);
  c.param.set(key, 0);
  c.x.aes_init(ctx, c.paramPtr, key.length);
  c.param.fill(0, 0, 32);
  try {
    return fn(ctx);
  } finally {
    freeContext(ctx, AES_CTX_SIZE);
  }
}

const ecbName = (key: Uint8Array): string => `aes-${key.length * 8}-ecb`;
const cbcName = (key: Uint8Array): string => `aes-${key.length * 8}-cbc`;

test('bitsliced rounds equal node:crypto AES-ECB, both directions, 128/192/256-bit keys, 1..40 blocks', () => {
  cases('aes-bs ecb', 60, (rng) => {
    const key = rng.bytes(rng.pick([16, 24, 32]));
    const n = 1 + rng.int(40);
    const data = rng.bytes(16 * n);
    const want = createCipheriv(ecbName(key), key, null).setAutoPadding(false).update(data);
    withKey(key, (ctx) => {
      const c = wasm();
      c.io.set(data, 0);
      c.x.aes_bs_ecb(ctx, c.ioPtr, c.ioPtr + 4096, data.length, 0);
      assert.is(hex(c.io.subarray(4096, 4096 + data.length)), want.toString('hex'), `encrypt, ${key.length}-byte key, ${n} blocks`);
      c.io.set(want, 0);
      c.x.aes_bs_ecb(ctx, c.ioPtr, c.ioPtr + 4096, data.length, 1);
      assert.is(hex(c.io.subarray(4096, 4096 + data.length)), hex(data), `decrypt, ${key.length}-byte key, ${n} blocks`);
    });
  });
});

// The S-box from its definition (FIPS 197 5.1.1: the inverse in GF(2^8), then the affine map), and the
// round keys (5.2), to aim the bitsliced S-box circuits at each of their 256 inputs.
const gmul = (a: number, b: number): number => {
  let r = 0;
  for (; b; b >>= 1, a = ((a << 1) ^ (a & 0x80 ? 0x11b : 0)) & 0xff) if (b & 1) r ^= a;
  return r;
};
const SBOX = Array.from({ length: 256 }, (_, x) => {
  let inv = 0;
  for (let y = 1; y < 256 && x !== 0; y++) if (gmul(x, y) === 1) inv = y;
  let s = 0x63;
  for (let i = 0; i < 5; i++) s ^= ((inv << i) | (inv >> (8 - i))) & 0xff;
  return s;
});
const INV_SBOX = new Array<number>(256);
SBOX.forEach((s, x) => { INV_SBOX[s] = x; });
/** Round keys 0 and Nr of `key` (16 bytes each). */
function firstLastRoundKeys(key: Uint8Array): [Uint8Array, Uint8Array] {
  const nk = key.length / 4, nr = nk + 6;
  const w = Array.from(key);
  for (let i = nk, rcon = 1; i < 4 * (nr + 1); i++) {
    let t = w.slice(4 * (i - 1), 4 * i);
    if (i % nk === 0) {
      t = [SBOX[t[1]!]! ^ rcon, SBOX[t[2]!]!, SBOX[t[3]!]!, SBOX[t[0]!]!];
      rcon = gmul(rcon, 2);
    } else if (nk > 6 && i % nk === 4) t = t.map((b) => SBOX[b]!);
    for (let j = 0; j < 4; j++) w.push(w[4 * (i - nk) + j]! ^ t[j]!);
  }
  return [Uint8Array.from(w.slice(0, 16)), Uint8Array.from(w.slice(16 * nr, 16 * nr + 16))];
}
/** 256 blocks, block x = the byte f(x) in all 16 positions XOR `k`. */
const allBytes = (f: (x: number) => number, k: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4096);
  for (let x = 0; x < 256; x++) for (let j = 0; j < 16; j++) out[16 * x + j] = f(x) ^ k[j]!;
  return out;
};

test('every S-box input in every byte position, in the first and the last round, both directions (128/192/256-bit keys)', () => {
  assert.is(hex(Uint8Array.from(SBOX.slice(0, 4))), '637c777b'); // FIPS 197 Figure 7
  cases('aes-bs sbox inputs', 6, (rng, i) => {
    const key = rng.bytes([16, 24, 32][i % 3]!);
    const [k0, kn] = firstLastRoundKeys(key);
    const ecb = (data: Uint8Array, decrypt: boolean): string => withKey(key, (ctx) => {
      const c = wasm();
      c.io.set(data, 0);
      c.x.aes_bs_ecb(ctx, c.ioPtr, c.ioPtr + 4096, data.length, decrypt ? 1 : 0);
      return hex(c.io.subarray(4096, 4096 + data.length));
    });
    const enc = (d: Uint8Array): Buffer => createCipheriv(ecbName(key), key, null).setAutoPadding(false).update(d);
    const dec = (d: Uint8Array): Buffer => createDecipheriv(ecbName(key), key, null).setAutoPadding(false).update(d);
    // Encryption: round 1's SubBytes sees x everywhere (plaintext x XOR K0); the last round's sees x
    // everywhere when the ciphertext is S(x) XOR K_Nr (ShiftRows moves equal bytes).
    const p1 = allBytes((x) => x, k0);
    assert.is(ecb(p1, false), enc(p1).toString('hex'), `first round, ${key.length}-byte key`);
    const cn = allBytes((x) => SBOX[x]!, kn);
    assert.is(ecb(dec(cn), false), hex(cn), `last round, ${key.length}-byte key`);
    // Decryption: the first InvSubBytes sees x everywhere (ciphertext x XOR K_Nr), the last sees x when
    // the plaintext is S^-1(x) XOR K0.
    const c1 = allBytes((x) => x, kn);
    assert.is(ecb(c1, true), dec(c1).toString('hex'), `first inverse round, ${key.length}-byte key`);
    const pn = allBytes((x) => INV_SBOX[x]!, k0);
    assert.is(ecb(enc(pn), true), hex(pn), `last inverse round, ${key.length}-byte key`);
  });
});

test('aes-cbc.json: SP 800-38A and RFC 3602 vectors decrypt with the bitsliced CBC and encrypt through the lanes', () => {
  const { vectors } = loadVectors<{ id: string; source: string; key: string; iv: string; plaintext?: string; plaintext_to_encrypt?: string; ciphertext: string }>('aes-cbc');
  assert.is(vectors.length, 11);
  for (const v of vectors) {
    const key = unhex(v.key);
    const pt = unhex(v.plaintext ?? v.plaintext_to_encrypt!);
    withKey(key, (ctx) => {
      const c = wasm();
      c.io.set(unhex(v.ciphertext), 0);
      c.io.set(unhex(v.iv), 8192);
      c.x.aes_bs_cbc_decrypt(ctx, c.ioPtr + 8192, c.ioPtr, c.ioPtr, pt.length);
      assert.is(hex(c.io.subarray(0, pt.length)), hex(pt), `${v.id} decrypt (${v.source})`);
      // The same vector in lane 0, 1 and 2 of one lane call, next to other packets.
      const jobs = c.ioPtr + 16384;
      for (let k = 0; k < 3; k++) {
        c.io.set(pt, 2048 * k);
        c.io.set(unhex(v.iv), 8192 + 16 * k);
        c.u32.set([c.ioPtr + 2048 * k, pt.length, c.ioPtr + 8192 + 16 * k, 0], (jobs >>> 2) + 4 * k);
      }
      c.x.aes_bs_cbc_encrypt_lanes(ctx, jobs, 3);
      for (let k = 0; k < 3; k++) assert.is(hex(c.io.subarray(2048 * k, 2048 * k + pt.length)), v.ciphertext, `${v.id} encrypt, lane ${k}`);
    });
  }
});

test('CBC decryption in place equals node:crypto for 1..100 blocks (every tail group fill), IV updated', () => {
  cases('aes-bs cbc decrypt', 100, (rng) => {
    const key = rng.bytes(rng.pick([16, 24, 32]));
    const iv = rng.bytes(16);
    const ct = rng.bytes(16 * (1 + rng.int(100)));
    const want = createDecipheriv(cbcName(key), key, iv).setAutoPadding(false).update(ct);
    withKey(key, (ctx) => {
      const c = wasm();
      c.io.set(ct, 0);
      c.io.set(iv, 65536);
      c.x.aes_bs_cbc_decrypt(ctx, c.ioPtr + 65536, c.ioPtr, c.ioPtr, ct.length);
      assert.is(hex(c.io.subarray(0, ct.length)), want.toString('hex'));
      assert.is(hex(c.io.subarray(65536, 65536 + 16)), hex(ct.subarray(ct.length - 16)), 'chaining value out');
    });
  });
});

test('8-lane CBC encryption of 1..40 packets of 16..1504 bytes (lanes finish apart, refilled) equals node:crypto', () => {
  cases('aes-bs cbc lanes', 100, (rng) => {
    const key = rng.bytes(rng.pick([16, 24, 32]));
    const n = 1 + rng.int(40);
    const c = wasm();
    const jobs = c.ioPtr + 120 * 1024;
    const packets: Array<{ at: number; pt: Uint8Array; iv: Uint8Array }> = [];
    let at = 0;
    for (let i = 0; i < n; i++) {
      const pt = rng.bytes(16 * (rng.int(10) === 0 ? 0 : 1 + rng.int(94))); // a few zero-length jobs too
      const iv = rng.bytes(16);
      packets.push({ at, pt, iv });
      at += pt.length + 16;
    }
    withKey(key, (ctx) => {
      packets.forEach((p, i) => {
        c.io.set(p.pt, p.at);
        c.io.set(p.iv, 100 * 1024 + 16 * i);
        c.u32.set([c.ioPtr + p.at, p.pt.length, c.ioPtr + 100 * 1024 + 16 * i, 0], (jobs >>> 2) + 4 * i);
      });
      c.x.aes_bs_cbc_encrypt_lanes(ctx, jobs, n);
      packets.forEach((p, i) => {
        const want = createCipheriv(cbcName(key), key, p.iv).setAutoPadding(false).update(p.pt);
        assert.is(hex(c.io.subarray(p.at, p.at + p.pt.length)), want.toString('hex'), `packet ${i} of ${n}, ${p.pt.length} bytes`);
      });
    });
  });
});

test('8-lane CBC encryption while every lane is busy (8, 9, 16 or 24 packets of close lengths: the passes without bookkeeping) equals node:crypto, pass count unchanged', () => {
  cases('aes-bs cbc full lanes', 60, (rng) => {
    const key = rng.bytes(rng.pick([16, 24, 32]));
    const n = rng.pick([8, 9, 16, 24]);
    const base = 1 + rng.int(90);
    const c = wasm();
    const jobs = c.ioPtr + 120 * 1024;
    const counters = c.ioPtr + 119 * 1024;
    const packets: Array<{ at: number; pt: Uint8Array; iv: Uint8Array }> = [];
    let at = 0;
    for (let i = 0; i < n; i++) {
      const pt = rng.bytes(16 * (base + rng.int(4))); // lanes end 0..3 passes apart
      const iv = rng.bytes(16);
      packets.push({ at, pt, iv });
      at += pt.length + 16;
    }
    // The passes the lane schedule takes (a lane that ends takes the next packet): simulated here.
    const end = new Array<number>(8).fill(0);
    for (const p of packets) {
      const lane = end.indexOf(Math.min(...end));
      end[lane]! += p.pt.length / 16;
    }
    const passes = Math.max(...end);
    withKey(key, (ctx) => {
      packets.forEach((p, i) => {
        c.io.set(p.pt, p.at);
        c.io.set(p.iv, 100 * 1024 + 16 * i);
        c.u32.set([c.ioPtr + p.at, p.pt.length, c.ioPtr + 100 * 1024 + 16 * i, 0], (jobs >>> 2) + 4 * i);
      });
      c.x.simd_counters!(counters);
      const before = c.u32[(counters >>> 2) + 1]!;
      c.x.aes_bs_cbc_encrypt_lanes(ctx, jobs, n);
      c.x.simd_counters!(counters);
      assert.is(c.u32[(counters >>> 2) + 1]! - before, passes, `${n} packets: passes`);
      packets.forEach((p, i) => {
        const want = createCipheriv(cbcName(key), key, p.iv).setAutoPadding(false).update(p.pt);
        assert.is(hex(c.io.subarray(p.at, p.at + p.pt.length)), want.toString('hex'), `packet ${i} of ${n}, ${p.pt.length} bytes`);
      });
    });
  });
});

test.run();
