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
// Context layout (GCM_CTX_SIZE bytes): AES context (encryption schedule only) at +0, then at +496 the
// hash key H as h0 (low 64 bits), h1 (high), their bit-reversals and the Karatsuba sums.
//
// Scratch: the counter block holds the nonce (in ESP, the salt derived from CK/IK, then the IV) and the
// keystream block a block of E_K output; both are zeroed before each function returns, and the tag
// buffer once its tag has been copied or compared, so nothing derived from a key outlives the call.

import { loadBE32, loadBE64, storeBE32, storeBE64, ct_equal } from "./bytes";
import { aesExpand } from "./aes";
import { aesBsCtr, aesBsCtrPrefix, aesBsEncryptBlock, bsWipe } from "./aes-bs";

const GH: usize = 496;

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

/** y = y * H for the hash key in `ctx`. */
@inline function gmulH(ctx: usize): void {
  const h0 = load<u64>(ctx + GH), h1 = load<u64>(ctx + GH, 8);
  const h0r = load<u64>(ctx + GH, 16), h1r = load<u64>(ctx + GH, 24);
  const h2 = load<u64>(ctx + GH, 32), h2r = load<u64>(ctx + GH, 40);
  const a0 = y0, a1 = y1, a2 = y0 ^ y1;
  const a0r = rev64(a0), a1r = rev64(a1), a2r = a0r ^ a1r;
  const lo0 = bmul64(a0, h0), lo1 = bmul64(a1, h1), lo2 = bmul64(a2, h2);
  const hi0 = rev64(bmul64(a0r, h0r)) >> 1;
  const hi1 = rev64(bmul64(a1r, h1r)) >> 1;
  const hi2 = rev64(bmul64(a2r, h2r)) >> 1;
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
}

/** Absorbs `len` bytes at `p` into y; a final partial block is zero-padded (SP 800-38D 6.4). */
function ghash(ctx: usize, p: usize, len: usize): void {
  while (len >= 16) {
    y1 ^= loadBE64(p);
    y0 ^= loadBE64(p + 8);
    gmulH(ctx);
    p += 16; len -= 16;
  }
  if (len != 0) {
    memory.fill(KS, 0, 16);
    memory.copy(KS, p, len);
    y1 ^= loadBE64(KS);
    y0 ^= loadBE64(KS + 8);
    gmulH(ctx);
  }
}

/** Sets up the key schedule and H = E_K(0^128). Returns false for a bad key length. */
export function gcmInit(ctx: usize, key: usize, keyLen: u32): bool {
  if (!aesExpand(ctx, key, keyLen, false)) return false;
  memory.fill(KS, 0, 16);
  aesBsEncryptBlock(ctx, KS, KS);
  bsWipe();
  const h1 = loadBE64(KS), h0 = loadBE64(KS + 8);
  store<u64>(ctx + GH, h0);
  store<u64>(ctx + GH, h1, 8);
  store<u64>(ctx + GH, rev64(h0), 16);
  store<u64>(ctx + GH, rev64(h1), 24);
  store<u64>(ctx + GH, h0 ^ h1, 32);
  store<u64>(ctx + GH, rev64(h0) ^ rev64(h1), 40);
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
  for (let i: usize = 0; i < n; i++) store<u8>(dst + i, load<u8>(src + i) ^ load<u8>(KS7 + i));
  if (len > 112) aesBsCtr(ctx, nonce, 9, src + 112, dst + 112, len - 112, 0);
  memory.fill(KS7, 0, 112);
}

/** Zeroes what gcmOpenBegin kept (keystream, tag mask), whether or not it was used. */
export function gcmWipeOpen(): void {
  memory.fill(KS7, 0, 112);
  memory.fill(EKJ0, 0, 16);
  haveMask = false;
}

/** The full 16-byte tag over AAD and ciphertext into TAG. */
export function gcmComputeTag(ctx: usize, nonce: usize, aad: usize, aadLen: usize, ct: usize, len: usize): void {
  y0 = 0;
  y1 = 0;
  ghash(ctx, aad, aadLen);
  ghash(ctx, ct, len);
  storeBE64(LENS, <u64>aadLen << 3);
  storeBE64(LENS + 8, <u64>len << 3);
  ghash(ctx, LENS, 16);
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
  memory.copy(tag, TAG, tagLen);
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
