// AES-GCM and GMAC (NIST SP 800-38D) as ESP uses them: RFC 4106 (ENCR_AES_GCM, `ealg=aes-gcm`) and
// RFC 4543 (ENCR_NULL_AUTH_AES_GMAC, `alg=aes-gmac`). Nonces are 12 bytes (salt 4 || explicit IV 8 in
// ESP); tags 8, 12 or 16 bytes. GMAC is GCM with all data as AAD and nothing encrypted.
//
// GHASH multiplies in GF(2^128) without tables or data-dependent branches: a 64x64 carry-less product is
// built from four integer multiplications on operands masked to every fourth bit (the carries of the
// integer products only ever land on bits of other residue classes, which are masked off); the high half
// comes from the same product on bit-reversed operands; 128x128 uses Karatsuba (three 64x64 products).
// Blocks are big-endian 128-bit numbers, so the polynomial is bit-reflected: the 255-bit product is
// shifted left by one and reduced modulo x^128 + x^7 + x^2 + x + 1 in that reflected form.
//
// Blocks are hashed four at a time with the powers H^4, H^3, H^2, H (aggregated reduction, as in Intel's
// CLMUL GCM white paper): Y' = (Y + X1) H^4 + X2 H^3 + X3 H^2 + X4 H, the four products summed unreduced,
// the high halves summed still bit-reversed, so that one bit reversal and one reduction serve four blocks.
// Each block is loaded once as a v128 and byte-swapped and bit-reversed with swizzles (one pshufb each).
//
// Context layout (GCM_CTX_SIZE bytes): AES context (encryption schedule only) at +0; at +256, in the
// AES context's decryption-schedule area that GCM never uses, H^2, H^3 and H^4; at +496 the hash key H.
// Each power as h0 (low 64 bits), h1 (high), their bit-reversals and the Karatsuba sums (6 x u64).
//
// Scratch: the counter block holds the nonce (in ESP, the salt derived from CK/IK, then the IV) and the
// keystream block a block of E_K output; both are zeroed before each function returns, and the tag
// buffer once its tag has been copied or compared, so nothing derived from a key outlives the call.

import { loadBE64, storeBE32, storeBE64, ct_equal, zero16, copySmall } from "./bytes";
import { aesExpand } from "./aes";
import { aesBsCtr, aesBsCtrPrefix, aesBsEncryptBlock, bsWipe } from "./aes-bs";
import { GB, ghLanesBegin, ghLanesEnd, ghLanesFeed } from "./ghash-lanes";

const GH: usize = 496; // H
const GH2: usize = 256; // H^2, then H^3 at +304 and H^4 at +352 (in AES_DK, unused by GCM)
const GH16: usize = 400; // H^16 as a block (wire order), for the lanes (ghash-lanes.ts)
/** GHASH inputs of at least this many blocks (AAD, C, lengths) go through the 16 lanes. */
const LANES_MIN: usize = 44;

const CB: usize = memory.data(16, 16); // counter block
const KS: usize = memory.data(16, 16); // keystream block
/** The tag computed by the last gcmComputeTag call (16 bytes). */
export const TAG: usize = memory.data(16, 16);
const LENS: usize = memory.data(16, 16); // len(A) || len(C) block
const EKJ0: usize = memory.data(16, 16); // E_K(J0), when computed with the keystream
const KS7: usize = memory.data(112, 16); // keystream of counters 2..8 computed before a tag check
let haveMask = false;

// GHASH accumulator (y1 = first 8 bytes, y0 = last 8 bytes).
let y0: u64 = 0;
let y1: u64 = 0;

@inline function bmul64(x: u64, y: u64): u64 {
  const m0: u64 = 0x1111111111111111;
  const m1: u64 = 0x2222222222222222;
  const m2: u64 = 0x4444444444444444;
  const m3: u64 = 0x8888888888888888;
  const x0 = x & m0, x1 = x & m1, x2 = x & m2, x3 = x & m3;
  const y0_ = y & m0, y1_ = y & m1, y2_ = y & m2, y3_ = y & m3;
  const z0 = (x0 * y0_) ^ (x1 * y3_) ^ (x2 * y2_) ^ (x3 * y1_);
  const z1 = (x0 * y1_) ^ (x1 * y0_) ^ (x2 * y3_) ^ (x3 * y2_);
  const z2 = (x0 * y2_) ^ (x1 * y1_) ^ (x2 * y0_) ^ (x3 * y3_);
  const z3 = (x0 * y3_) ^ (x1 * y2_) ^ (x2 * y1_) ^ (x3 * y0_);
  return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3);
}

@inline function rev64(x: u64): u64 {
  x = ((x & 0x5555555555555555) << 1) | ((x >> 1) & 0x5555555555555555);
  x = ((x & 0x3333333333333333) << 2) | ((x >> 2) & 0x3333333333333333);
  x = ((x & 0x0f0f0f0f0f0f0f0f) << 4) | ((x >> 4) & 0x0f0f0f0f0f0f0f0f);
  return bswap<u64>(x);
}

/** Address of the power H^k (k = 1..4) of the hash key in `ctx`. */
@inline function hPow(ctx: usize, k: usize): usize {
  return k == 1 ? ctx + GH : ctx + GH2 + (k - 2) * 48;
}

/** Stores the 128-bit element h1:h0 with its precomputed forms at `at` (6 x u64). */
function storePow(at: usize, h0: u64, h1: u64): void {
  store<u64>(at, h0);
  store<u64>(at, h1, 8);
  store<u64>(at, rev64(h0), 16);
  store<u64>(at, rev64(h1), 24);
  store<u64>(at, h0 ^ h1, 32);
  store<u64>(at, rev64(h0) ^ rev64(h1), 40);
}

// Karatsuba partial products of a group, summed over its blocks: lo* the low halves of the three 64x64
// products, r* the bit-reversed products whose reversal gives the high halves.
let lo0: u64 = 0, lo1: u64 = 0, lo2: u64 = 0, r0: u64 = 0, r1: u64 = 0, r2: u64 = 0;

/** Adds the three 64x64 products (a1:a0) * (the element at hp) to the group sums; a*r are the reversals. */
@inline function mulAcc(a0: u64, a1: u64, a0r: u64, a1r: u64, hp: usize): void {
  lo0 ^= bmul64(a0, load<u64>(hp));
  lo1 ^= bmul64(a1, load<u64>(hp, 8));
  lo2 ^= bmul64(a0 ^ a1, load<u64>(hp, 32));
  r0 ^= bmul64(a0r, load<u64>(hp, 16));
  r1 ^= bmul64(a1r, load<u64>(hp, 24));
  r2 ^= bmul64(a0r ^ a1r, load<u64>(hp, 40));
}

/** y = the reduced sum of the group's products; the sums are cleared. */
@inline function groupEnd(): void {
  const hi0 = rev64(r0) >> 1, hi1 = rev64(r1) >> 1, hi2 = rev64(r2) >> 1;
  const mlo = lo2 ^ lo0 ^ lo1;
  const mhi = hi2 ^ hi0 ^ hi1;
  // 256-bit product z3:z2:z1:z0, then shifted left by one bit (bit reflection).
  const z3 = hi1, z2 = lo1 ^ mhi, z1 = hi0 ^ mlo, z0 = lo0;
  const x3 = (z3 << 1) | (z2 >> 63);
  const x2 = (z2 << 1) | (z1 >> 63);
  const x1 = (z1 << 1) | (z0 >> 63);
  const x0 = z0 << 1;
  // Reduction: fold the low 128 bits (coefficients of x^128..x^255) back with x^128 = x^7 + x^2 + x + 1.
  const d = x1 ^ (x0 << 63) ^ (x0 << 62) ^ (x0 << 57);
  y1 = x3 ^ d ^ (d >> 1) ^ (d >> 2) ^ (d >> 7);
  y0 = x2 ^ x0 ^ ((x0 >> 1) | (d << 63)) ^ ((x0 >> 2) | (d << 62)) ^ ((x0 >> 7) | (d << 57));
  lo0 = 0; lo1 = 0; lo2 = 0; r0 = 0; r1 = 0; r2 = 0;
}

/**
 * Adds the block at `p` times the element at `hp` to the group sums, with y (when `first`) added to
 * the block first. The block is loaded once: its two big-endian halves by a byte swap, their
 * bit-reversals by reversing the bits of each byte (two nibble lookups in registers: i8x16.swizzle).
 */
@inline function blockAcc(p: usize, hp: usize, first: bool): void {
  const raw = v128.load(p);
  const be = i8x16.swizzle(raw, i8x16(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8));
  const nib = i8x16.splat(0x0f);
  // rev4(n) << 4 for the low nibble n (bytes 0x00, 0x80, 0x40, 0xc0, ... as little-endian words), and
  // rev4(n) for the high nibble.
  const revLo = i32x4(0xc0408000, 0xe060a020, 0xd0509010, 0xf070b030);
  const revHi = i8x16(0x0, 0x8, 0x4, 0xc, 0x2, 0xa, 0x6, 0xe, 0x1, 0x9, 0x5, 0xd, 0x3, 0xb, 0x7, 0xf);
  const rv = v128.or(i8x16.swizzle(revLo, v128.and(raw, nib)), i8x16.swizzle(revHi, v128.and(i16x8.shr_u(raw, 4), nib)));
  let a1 = i64x2.extract_lane(be, 0), a0 = i64x2.extract_lane(be, 1);
  let a1r = i64x2.extract_lane(rv, 0), a0r = i64x2.extract_lane(rv, 1);
  if (first) {
    a1 ^= y1; a0 ^= y0;
    a1r ^= rev64(y1); a0r ^= rev64(y0);
  }
  mulAcc(a0, a1, a0r, a1r, hp);
}

/** Absorbs the `n` whole blocks at `p` into y, in groups of four (the last group of 1..4). */
function ghashBlocks(ctx: usize, p: usize, n: usize): void {
  while (n != 0) {
    const m = min<usize>(n, 4);
    blockAcc(p, hPow(ctx, m), true);
    for (let j: usize = 1; j < m; j++) blockAcc(p + (j << 4), hPow(ctx, m - j), false);
    groupEnd();
    p += m << 4; n -= m;
  }
}

/** Absorbs `len` bytes at `p` into y; a final partial block is zero-padded (SP 800-38D 6.4). */
function ghash(ctx: usize, p: usize, len: usize): void {
  ghashBlocks(ctx, p, len >> 4);
  const rest = len & 15;
  if (rest != 0) {
    v128.store(KS, i64x2.splat(0));
    copySmall(KS, p + (len & ~15), rest);
    ghashBlocks(ctx, KS, 1);
  }
}

/** Sets up the key schedule and H = E_K(0^128). Returns false for a bad key length. */
export function gcmInit(ctx: usize, key: usize, keyLen: u32): bool {
  if (!aesExpand(ctx, key, keyLen, false)) return false;
  memory.fill(KS, 0, 16);
  aesBsEncryptBlock(ctx, KS, KS);
  bsWipe();
  const h1 = loadBE64(KS), h0 = loadBE64(KS + 8);
  storePow(hPow(ctx, 1), h0, h1);
  // H^2, H^3, H^4: y = H, then y = y * H by the one-block path.
  y0 = h0; y1 = h1;
  for (let k: usize = 2; k <= 4; k++) {
    store<u64>(KS, bswap<u64>(y1));
    store<u64>(KS, bswap<u64>(y0), 8);
    y0 = 0; y1 = 0;
    ghashBlocks(ctx, KS, 1);
    storePow(hPow(ctx, k), y0, y1);
  }
  // H^16 = H^4 H^4 H^4 H^4: y = y H^4 three times, as the four blocks y, 0, 0, 0 hashed from 0.
  zero16(KS7, 64);
  for (let k = 0; k < 3; k++) {
    store<u64>(KS7, bswap<u64>(y1));
    store<u64>(KS7, bswap<u64>(y0), 8);
    y0 = 0; y1 = 0;
    ghashBlocks(ctx, KS7, 4);
  }
  storeBE64(ctx + GH16, y1);
  storeBE64(ctx + GH16 + 8, y0);
  y0 = 0; y1 = 0;
  zero16(KS7, 64);
  memory.fill(KS, 0, 16);
  return true;
}

/** CTR keystream from J0 + 1 (inc32) over `len` bytes, src -> dst (may alias); bitsliced (aes-bs.ts). */
export function gcmCtr(ctx: usize, nonce: usize, src: usize, dst: usize, len: usize): void {
  if (len != 0) aesBsCtr(ctx, nonce, 2, src, dst, len, 0);
}

/** The seal path: CTR over `len` bytes and E_K(J0) into EKJ0 in the same passes. */
function gcmCtrAndMask(ctx: usize, nonce: usize, src: usize, dst: usize, len: usize): void {
  aesBsCtr(ctx, nonce, 2, src, dst, len, EKJ0);
  haveMask = true;
}

/**
 * The open path, before the tag check: E_K(J0) (for gcmComputeTag) and the first 7 keystream blocks in
 * one pass; gcmCtrAfterBegin then decrypts, or gcmWipeOpen discards them when the tag does not verify.
 */
export function gcmOpenBegin(ctx: usize, nonce: usize): void {
  aesBsCtrPrefix(ctx, nonce, EKJ0, KS7);
  haveMask = true;
}

/** CTR decryption after gcmOpenBegin: the saved keystream, then from counter 9. */
export function gcmCtrAfterBegin(ctx: usize, nonce: usize, src: usize, dst: usize, len: usize): void {
  const n = min<usize>(112, len);
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(dst + i, v128.xor(v128.load(src + i), v128.load(KS7 + i)));
  for (; i < n; i++) store<u8>(dst + i, load<u8>(src + i) ^ load<u8>(KS7 + i));
  if (len > 112) aesBsCtr(ctx, nonce, 9, src + 112, dst + 112, len - 112, 0);
  zero16(KS7, 112);
}

/** Zeroes what gcmOpenBegin kept (keystream, tag mask), whether or not it was used. */
export function gcmWipeOpen(): void {
  zero16(KS7, 112);
  memory.fill(EKJ0, 0, 16);
  haveMask = false;
}

/** The full 16-byte tag over AAD and ciphertext into TAG. */
export function gcmComputeTag(ctx: usize, nonce: usize, aad: usize, aadLen: usize, ct: usize, len: usize): void {
  y0 = 0;
  y1 = 0;
  storeBE64(LENS, <u64>aadLen << 3);
  storeBE64(LENS + 8, <u64>len << 3);
  const blocks = ((aadLen + 15) >> 4) + ((len + 15) >> 4) + 1;
  if (blocks >= LANES_MIN) {
    ghLanesBegin(ctx + GH16, blocks);
    ghLanesFeed(aad, aadLen);
    ghLanesFeed(ct, len);
    ghLanesFeed(LENS, 16);
    ghLanesEnd();
    ghashBlocks(ctx, GB, 16); // sum_m S_m H^(16 - m)
    zero16(GB, 256);
  } else {
    ghash(ctx, aad, aadLen);
    ghash(ctx, ct, len);
    ghash(ctx, LENS, 16);
  }
  if (haveMask) {
    memory.copy(TAG, EKJ0, 16);
  } else {
    memory.copy(CB, nonce, 12);
    storeBE32(CB + 12, 1);
    aesBsEncryptBlock(ctx, CB, TAG);
  }
  haveMask = false;
  memory.fill(EKJ0, 0, 16);
  storeBE64(TAG, loadBE64(TAG) ^ y1);
  storeBE64(TAG + 8, loadBE64(TAG + 8) ^ y0);
  y0 = 0;
  y1 = 0;
  memory.fill(CB, 0, 16);
  memory.fill(KS, 0, 16);
}

/** Zeroes the tag buffer (after its tag was copied out or compared). */
export function gcmWipeTag(): void {
  memory.fill(TAG, 0, 16);
}

/** Encrypts `len` bytes src -> dst and writes a `tagLen`-byte tag at `tag`. */
export function gcmSeal(ctx: usize, nonce: usize, aad: usize, aadLen: usize, src: usize, dst: usize, len: usize, tag: usize, tagLen: usize): void {
  gcmCtrAndMask(ctx, nonce, src, dst, len);
  gcmComputeTag(ctx, nonce, aad, aadLen, dst, len);
  copySmall(tag, TAG, tagLen);
  gcmWipeTag();
}

/**
 * Checks the tag in constant time and only then decrypts. Returns 1 on success; 0 when the tag does not
 * match, in which case nothing is written to dst.
 */
export function gcmOpen(ctx: usize, nonce: usize, aad: usize, aadLen: usize, src: usize, dst: usize, len: usize, tag: usize, tagLen: usize): i32 {
  if (len != 0) gcmOpenBegin(ctx, nonce);
  gcmComputeTag(ctx, nonce, aad, aadLen, src, len);
  const ok = ct_equal(TAG, tag, tagLen);
  gcmWipeTag();
  if (!ok) {
    gcmWipeOpen();
    return 0;
  }
  if (len != 0) gcmCtrAfterBegin(ctx, nonce, src, dst, len);
  return 1;
}

// ---- Exports ----

export function gcm_init(ctx: usize, key: usize, keyLen: u32): bool {
  return gcmInit(ctx, key, keyLen);
}
// (Each export below zeroes the bitsliced round keys it used: bsWipe.)

export function gcm_seal(ctx: usize, nonce: usize, aad: usize, aadLen: usize, src: usize, dst: usize, len: usize, tag: usize, tagLen: usize): void {
  gcmSeal(ctx, nonce, aad, aadLen, src, dst, len, tag, tagLen);
  bsWipe();
}

export function gcm_open(ctx: usize, nonce: usize, aad: usize, aadLen: usize, src: usize, dst: usize, len: usize, tag: usize, tagLen: usize): i32 {
  const ok = gcmOpen(ctx, nonce, aad, aadLen, src, dst, len, tag, tagLen);
  bsWipe();
  return ok;
}
