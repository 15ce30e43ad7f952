// DES (FIPS 46-3) and Triple-DES EDE (NIST SP 800-67), the block cipher under DES-EDE3-CBC (RFC 2451).
//
// The standard's tables (IP, P, S1..S8, PC-1, PC-2, shifts) are written below exactly as printed in
// FIPS 46-3; everything the fast path needs is computed from them at start-up:
//   * SP tables: each S-box's output already moved through P, indexed by the 6 expanded input bits, so a
//     round is two rotations, two XORs with the packed subkey and eight lookups;
//   * IP and IP^-1 as sixteen 16-entry tables (one per input nibble).
//
// Expansion E without a table: the eight 6-bit groups of E(R) are R's bits 4j..4j+5 (1-based, cyclic).
// rotl(R, 1) puts groups 7, 5, 3, 1 in the low six bits of bytes 0, 1, 2, 3 and rotr(R, 3) does the
// same for groups 6, 4, 2, 0; subkeys are stored packed the same way (two words per round).
//
// Caveat: the S-box lookups are indexed by secret data (cache timing), as in any table-based DES.
// Parity bits (the LSB of each key byte) are ignored, as the standard says.
//
// Context layout: one DES key schedule is 16 rounds x 2 words = 128 bytes; DES3_CTX_SIZE holds three
// (K1 at +0, K2 at +128, K3 at +256).

import { loadBE32, storeBE32 } from "./bytes";

function ipTable(): usize {
  return memory.data<u8>([
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
    62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
    57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
    61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
  ]);
}

function pTable(): usize {
  return memory.data<u8>([
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
    2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
  ]);
}

function sBoxes(): usize {
  return memory.data<u8>([
    // S1
    14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
    0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
    4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
    15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    // S2
    15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
    3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
    0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
    13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    // S3
    10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
    13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
    13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
    1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    // S4
    7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
    13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
    10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
    3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    // S5
    2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
    14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
    4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
    11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    // S6
    12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
    10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
    9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
    4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    // S7
    4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
    13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
    1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
    6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    // S8
    13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
    1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
    7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
    2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
  ]);
}

function pc1Table(): usize {
  return memory.data<u8>([
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
    10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
    63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
    14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
  ]);
}

function pc2Table(): usize {
  return memory.data<u8>([
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
    23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
    41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
    44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
  ]);
}

function shifts(): usize {
  return memory.data<u8>([1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1]);
}

// Computed tables.
const SP: usize = memory.data(8 * 64 * 4, 64); // SP{j} = SP + 256 * j
const FP_TABLE: usize = memory.data(64); // IP^-1 as positions, derived from IP
const IPT: usize = memory.data(16 * 16 * 8, 64); // [nibble][value] -> (hi, lo)
const FPT: usize = memory.data(16 * 16 * 8, 64);

/** Bit `pos` (1-based, 1 = most significant) of the 64-bit value hi:lo. */
@inline function bit64(hi: u32, lo: u32, pos: u32): u32 {
  return pos <= 32 ? (hi >>> (32 - pos)) & 1 : (lo >>> (64 - pos)) & 1;
}

/** Fills a nibble table for the bit permutation `perm` (out bit q = in bit perm[q-1]). */
function buildPermTable(table: usize, perm: usize): void {
  for (let n: u32 = 0; n < 16; n++) {
    for (let v: u32 = 0; v < 16; v++) {
      // The input word with only nibble n set to v.
      const inHi: u32 = n < 8 ? v << (28 - (n << 2)) : 0;
      const inLo: u32 = n < 8 ? 0 : v << (28 - ((n - 8) << 2));
      let hi: u32 = 0;
      let lo: u32 = 0;
      for (let q: u32 = 1; q <= 64; q++) {
        if (bit64(inHi, inLo, <u32>load<u8>(perm + q - 1))) {
          if (q <= 32) hi |= <u32>1 << (32 - q);
          else lo |= <u32>1 << (64 - q);
        }
      }
      const at = table + (((n << 4) + v) << 3);
      store<u32>(at, hi);
      store<u32>(at, lo, 4);
    }
  }
}

function buildTables(): void {
  for (let j: u32 = 0; j < 8; j++) {
    for (let v: u32 = 0; v < 64; v++) {
      const row = (((v >> 5) & 1) << 1) | (v & 1);
      const col = (v >> 1) & 15;
      const s = <u32>load<u8>(sBoxes() + (j << 6) + (row << 4) + col);
      const pre = s << (28 - (j << 2));
      let out: u32 = 0;
      for (let i: u32 = 1; i <= 32; i++) {
        const from = <u32>load<u8>(pTable() + i - 1);
        out |= ((pre >>> (32 - from)) & 1) << (32 - i);
      }
      store<u32>(SP + (j << 8) + (v << 2), out);
    }
  }
  for (let q: u32 = 1; q <= 64; q++) store<u8>(FP_TABLE + <u32>load<u8>(ipTable() + q - 1) - 1, <u8>q);
  buildPermTable(IPT, ipTable());
  buildPermTable(FPT, FP_TABLE);
}
// Built on the first key schedule (every DES computation starts with one), not at start: a module that
// imports this file without using DES (the split build's ESP and AES modules reach it through cbc.ts and
// link.ts) has neither the code nor the work, and the DES module builds them in its own memory.
let tablesBuilt = false;

// Results of the two permutations (two words each), kept in globals since AS has no tuples.
let permHi: u32 = 0;
let permLo: u32 = 0;

@inline function permute(table: usize, hi: u32, lo: u32): void {
  let h: u32 = 0;
  let l: u32 = 0;
  for (let n: u32 = 0; n < 8; n++) {
    const a = table + (((n << 4) + ((hi >>> (28 - (n << 2))) & 15)) << 3);
    const b = table + ((((n + 8) << 4) + ((lo >>> (28 - (n << 2))) & 15)) << 3);
    h ^= load<u32>(a) ^ load<u32>(b);
    l ^= load<u32>(a, 4) ^ load<u32>(b, 4);
  }
  permHi = h;
  permLo = l;
}

/** The round function f(R, K) with K the packed subkey at `k` (even groups word, odd groups word). */
@inline function f(r: u32, k: usize): u32 {
  const e = rotr<u32>(r, 3) ^ load<u32>(k);
  const o = rotl<u32>(r, 1) ^ load<u32>(k, 4);
  return load<u32>(SP + ((e >>> 22) & 0xfc))
    ^ load<u32>(SP + ((o >>> 22) & 0xfc), 256)
    ^ load<u32>(SP + ((e >>> 14) & 0xfc), 512)
    ^ load<u32>(SP + ((o >>> 14) & 0xfc), 768)
    ^ load<u32>(SP + ((e >>> 6) & 0xfc), 1024)
    ^ load<u32>(SP + ((o >>> 6) & 0xfc), 1280)
    ^ load<u32>(SP + ((e << 2) & 0xfc), 1536)
    ^ load<u32>(SP + ((o << 2) & 0xfc), 1792);
}

/** Computes the 16 packed subkeys of the 8-byte DES key at `key` into `ks` (128 bytes). */
export function desKeySchedule(ks: usize, key: usize): void {
  if (!tablesBuilt) {
    buildTables();
    tablesBuilt = true;
  }
  const khi = loadBE32(key);
  const klo = loadBE32(key + 4);
  // C and D as 28-bit values (bit 27 = first bit).
  let c: u32 = 0;
  let d: u32 = 0;
  for (let i: u32 = 0; i < 28; i++) {
    c = (c << 1) | bit64(khi, klo, <u32>load<u8>(pc1Table() + i));
    d = (d << 1) | bit64(khi, klo, <u32>load<u8>(pc1Table() + 28 + i));
  }
  for (let round: u32 = 0; round < 16; round++) {
    const s = <u32>load<u8>(shifts() + round);
    c = ((c << s) | (c >>> (28 - s))) & 0x0fffffff;
    d = ((d << s) | (d >>> (28 - s))) & 0x0fffffff;
    // CD as a 56-bit value: hi = C (28 bits), lo = D. PC-2 positions 1..28 read C, 29..56 read D.
    let even: u32 = 0;
    let odd: u32 = 0;
    for (let g: u32 = 0; g < 8; g++) {
      let six: u32 = 0;
      for (let b: u32 = 0; b < 6; b++) {
        const pos = <u32>load<u8>(pc2Table() + g * 6 + b);
        const bitv = pos <= 28 ? (c >>> (28 - pos)) & 1 : (d >>> (56 - pos)) & 1;
        six = (six << 1) | bitv;
      }
      // Groups 0, 2, 4, 6 go to bytes 3, 2, 1, 0 of `even`; groups 1, 3, 5, 7 likewise of `odd`.
      const shift = (3 - (g >> 1)) << 3;
      if (g & 1) odd |= six << shift;
      else even |= six << shift;
    }
    store<u32>(ks + (round << 3), even);
    store<u32>(ks + (round << 3), odd, 4);
  }
}

/**
 * 16 DES rounds on (l, r) after IP, with the schedule `ks` forwards (encrypt) or backwards (decrypt).
 * Leaves the pre-output block (R16, L16) in permHi/permLo.
 */
@inline function rounds16(ks: usize, l: u32, r: u32, decrypt: bool): void {
  if (!decrypt) {
    for (let i: usize = 0; i < 128; i += 16) {
      l ^= f(r, ks + i);
      r ^= f(l, ks + i + 8);
    }
  } else {
    for (let i: isize = 120; i >= 0; i -= 16) {
      l ^= f(r, ks + <usize>i);
      r ^= f(l, ks + <usize>i - 8);
    }
  }
  permHi = r;
  permLo = l;
}

/**
 * Triple-DES EDE on one block: E_K3(D_K2(E_K1(x))) to encrypt, D_K1(E_K2(D_K3(x))) to decrypt.
 * `hi`/`lo` are the block's big-endian words; the result is left in permHi/permLo.
 * The inner IP^-1/IP pairs cancel, leaving only the half swap between stages.
 */
@inline export function des3Block(ctx: usize, hi: u32, lo: u32, decrypt: bool): void {
  permute(IPT, hi, lo);
  if (!decrypt) {
    rounds16(ctx, permHi, permLo, false);
    rounds16(ctx + 128, permHi, permLo, true);
    rounds16(ctx + 256, permHi, permLo, false);
  } else {
    rounds16(ctx + 256, permHi, permLo, true);
    rounds16(ctx + 128, permHi, permLo, false);
    rounds16(ctx, permHi, permLo, true);
  }
  permute(FPT, permHi, permLo);
}

@inline export function des3ResultHi(): u32 {
  return permHi;
}

@inline export function des3ResultLo(): u32 {
  return permLo;
}

/** Single-DES block (used by the block API and by tests). */
function desBlock(ks: usize, hi: u32, lo: u32, decrypt: bool): void {
  permute(IPT, hi, lo);
  rounds16(ks, permHi, permLo, decrypt);
  permute(FPT, permHi, permLo);
}

// ---- Exports ----

/** Key schedule for a single 8-byte DES key into a 128-byte context. */
export function des_init(ctx: usize, key: usize): void {
  desKeySchedule(ctx, key);
}

/** Key schedules for K1 || K2 || K3 (24 bytes at `key`). The weak-key rule is checked by the caller. */
export function des3_init(ctx: usize, key: usize): void {
  desKeySchedule(ctx, key);
  desKeySchedule(ctx + 128, key + 8);
  desKeySchedule(ctx + 256, key + 16);
}

export function des_ecb(ctx: usize, src: usize, dst: usize, len: usize, decrypt: bool): void {
  for (let off: usize = 0; off + 8 <= len; off += 8) {
    desBlock(ctx, loadBE32(src + off), loadBE32(src + off + 4), decrypt);
    storeBE32(dst + off, permHi);
    storeBE32(dst + off + 4, permLo);
  }
}

export function des3_ecb(ctx: usize, src: usize, dst: usize, len: usize, decrypt: bool): void {
  for (let off: usize = 0; off + 8 <= len; off += 8) {
    des3Block(ctx, loadBE32(src + off), loadBE32(src + off + 4), decrypt);
    storeBE32(dst + off, permHi);
    storeBE32(dst + off + 4, permLo);
  }
}
