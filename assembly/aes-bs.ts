// Constant-time AES (FIPS 197) for CBC (NIST SP 800-38A 6.2, RFC 3602), bitsliced over 8 blocks with
// WebAssembly SIMD (aes-bs-rounds.ts): no table lookups, so no cache-timing leak of keys or data, unlike
// the T-table AES of aes.ts.
//
// - CBC decryption: the blocks of one packet are independent, 8 at a time.
// - CBC encryption: each block depends on the previous one, so 8 packets of one SA go through at once,
//   one per block lane (multi-buffer, after ipsec-mb): a lane whose packet ends takes the next packet of
//   the list; idle lanes encrypt a zero block whose result is dropped.
//
// Round keys: the SA's expanded encryption key (aes.ts layout, bytes in state order), each round key
// in the planes' byte order (row-major, as bsTranspose puts the blocks) replicated to the 8 blocks as
// bit planes, with 0x63 added for rounds 1..Nr (the S-box circuits leave out the affine constant).
// Converted once per key within an exported call, kept in BS_RK, zeroed by bsWipe().

import { AES_RK } from "./aes";
import { aesBsEncryptPlanes, aesBsCbcDecrypt8, bsTranspose } from "./aes-bs-rounds";
import { zero16, copy16 } from "./bytes";

const BS_RK: usize = memory.data(15 * 128, 16); // up to 15 round keys x 8 planes
const ST: usize = memory.data(128, 16); // 8 blocks, or their 8 planes
const ST2: usize = memory.data(128, 16); // aesBsEcb's decrypted blocks
const ZIV: usize = memory.data(16, 16); // aesBsEcb's chaining value (zero, then a ciphertext block)
const CHAIN: usize = memory.data(8 * 16, 16); // per lane: CBC chaining value
const LANE: usize = memory.data(8 * 8, 16); // per lane: u32 address of the next block, u32 blocks left
let keysOf: usize = 0; // the AES context whose round keys are in BS_RK (0: none)
let keysLen: usize = 0; // bytes of BS_RK written for it
/** 8-lane CBC encryption passes run since instantiation (simd_counters). */
export let lanePasses: u32 = 0;

/** Lane job record (AES_JOB_SIZE bytes): u32 data address, u32 length (a multiple of 16), u32 IV address. */
export const AES_JOB_SIZE: usize = 16;

/** Puts the round keys of the AES context `ctx` in BS_RK as bit planes (if not already there). */
function bsKeys(ctx: usize): void {
  if (keysOf == ctx) return;
  const rounds = load<u32>(ctx);
  for (let r: u32 = 0; r <= rounds; r++) {
    // In the planes' byte order (row-major: 4 * row + column; bsTranspose does the same to the blocks).
    let k = i8x16.swizzle(v128.load(ctx + AES_RK + (<usize>r << 4)), i8x16(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    if (r != 0) k = v128.xor(k, i8x16.splat(0x63));
    for (let i: u32 = 0; i < 8; i++) {
      const bit = i8x16.splat(<i8>(<u32>1 << i));
      v128.store(BS_RK + (<usize>r << 7) + (<usize>i << 4), i8x16.eq(v128.and(k, bit), bit));
    }
  }
  keysOf = ctx;
  keysLen = <usize>(rounds + 1) << 7;
}

/** Zeroes the round-key planes and the block scratch (call at the end of every exported call). */
export function bsWipe(): void {
  if (keysOf == 0) return;
  zero16(BS_RK, keysLen);
  zero16(ST, 128);
  zero16(CHAIN, 128);
  keysOf = 0;
}

/** CBC decryption of `len` bytes (a multiple of 16) from `src` to `dst` (may be the same); `iv` (not within them) updated. */
export function aesBsCbcDecrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  if (len == 0) return;
  bsKeys(ctx);
  const rounds = load<u32>(ctx);
  // Whole passes in registers (aesBsCbcDecrypt8 chains through `iv`); a last partial pass through ST,
  // zero-padded, its n bytes copied out, `iv` then set to its last ciphertext block (read first: in place,
  // src is overwritten). One pass function only, so the module has no other decryption code.
  let off: usize = 0;
  for (; off + 128 <= len; off += 128) aesBsCbcDecrypt8(src + off, dst + off, BS_RK, rounds, iv);
  if (off == len) return;
  const n = len - off;
  const next = v128.load(src + len - 16);
  memory.copy(ST, src + off, n); memory.fill(ST + n, 0, 128 - n);
  aesBsCbcDecrypt8(ST, ST, BS_RK, rounds, iv);
  memory.copy(dst + off, ST, n);
  v128.store(iv, next);
}

/**
 * CTR keystream of GCM (SP 800-38D 6.5, 7.1): XORs E_K(nonce || c) for c = `counter`, counter + 1, ...
 * over `len` bytes from `src` into `dst` (may be the same), 8 counter blocks per pass. With `ekj0`
 * non-zero, E_K(J0) (the counter block 1, which masks the tag) is computed too, in lane 0 of the first
 * pass, and written to `ekj0`.
 */
export function aesBsCtr(ctx: usize, nonce: usize, counter: u32, src: usize, dst: usize, len: usize, ekj0: usize): void {
  bsKeys(ctx);
  const rounds = load<u32>(ctx);
  let off: usize = 0;
  let first = ekj0 != 0;
  // The counter blocks are built in registers: the 12 nonce bytes (a 16-byte load; lane 3 is replaced),
  // then the counter in lane 3, big-endian.
  const nb = i32x4.replace_lane(v128.load(nonce), 3, 0);
  while (off < len || first) {
    const lead: usize = first ? 1 : 0;
    for (let k: usize = 0; k < 8; k++) {
      const c = first && k == 0 ? 1 : counter + <u32>(k - lead);
      v128.store(ST + (k << 4), i32x4.replace_lane(nb, 3, bswap<u32>(c)));
    }
    bsTranspose(ST);
    aesBsEncryptPlanes(ST, BS_RK, rounds);
    bsTranspose(ST);
    if (first) v128.store(ekj0, v128.load(ST));
    const n = min<usize>((8 - lead) << 4, len - off);
    const ks = ST + (lead << 4);
    let i: usize = 0;
    for (; i + 16 <= n; i += 16) v128.store(dst + off + i, v128.xor(v128.load(src + off + i), v128.load(ks + i)));
    for (; i < n; i++) store<u8>(dst + off + i, load<u8>(src + off + i) ^ load<u8>(ks + i));
    off += n;
    counter += 8 - <u32>lead;
    first = false;
  }
}

/**
 * The first pass of a GCM decryption, before the tag is checked: E_K(J0) to `ekj0` and the keystream of
 * counters 2..8 (112 bytes) to `ks`; the data is decrypted after the check (aesBsCtr from counter 9).
 */
export function aesBsCtrPrefix(ctx: usize, nonce: usize, ekj0: usize, ks: usize): void {
  bsKeys(ctx);
  const nb = i32x4.replace_lane(v128.load(nonce), 3, 0);
  for (let k: usize = 0; k < 8; k++) v128.store(ST + (k << 4), i32x4.replace_lane(nb, 3, bswap<u32>(<u32>k + 1)));
  bsTranspose(ST);
  aesBsEncryptPlanes(ST, BS_RK, load<u32>(ctx));
  bsTranspose(ST);
  v128.store(ekj0, v128.load(ST));
  copy16(ks, ST + 16, 112);
}

/** One block, E_K(src) to `dst`, by a whole bitsliced pass (the GCM hash key, a tag mask). */
export function aesBsEncryptBlock(ctx: usize, src: usize, dst: usize): void {
  bsKeys(ctx);
  v128.store(ST, v128.load(src));
  zero16(ST + 16, 112);
  bsTranspose(ST);
  aesBsEncryptPlanes(ST, BS_RK, load<u32>(ctx));
  bsTranspose(ST);
  v128.store(dst, v128.load(ST));
}

/** ECB over `len` bytes (groups of 8 blocks), for the tests of the rounds against the T-table AES. */
export function aesBsEcb(ctx: usize, src: usize, dst: usize, len: usize, decrypt: bool): void {
  bsKeys(ctx);
  const rounds = load<u32>(ctx);
  if (decrypt) {
    // Through the CBC pass (the only decryption code): ST to ST + 128 chained from zero, then each
    // block's chaining XOR (the ciphertext block before it, kept in ST) undone.
    const out = ST2;
    for (let off: usize = 0; off < len; off += 128) {
      const n = min<usize>(128, len - off);
      memory.copy(ST, src + off, n); memory.fill(ST + n, 0, 128 - n);
      zero16(ZIV, 16);
      aesBsCbcDecrypt8(ST, out, BS_RK, rounds, ZIV);
      for (let k: usize = 16; k < 128; k += 16) v128.store(out + k, v128.xor(v128.load(out + k), v128.load(ST + k - 16)));
      memory.copy(dst + off, out, n);
    }
    zero16(ST2, 128);
    zero16(ZIV, 16);
    return;
  }
  for (let off: usize = 0; off < len; off += 128) {
    const n = min<usize>(128, len - off);
    if (n == 128) copy16(ST, src + off, 128);
    else { memory.copy(ST, src + off, n); memory.fill(ST + n, 0, 128 - n); }
    bsTranspose(ST);
    aesBsEncryptPlanes(ST, BS_RK, rounds);
    bsTranspose(ST);
    if (n == 128) copy16(dst + off, ST, 128);
    else memory.copy(dst + off, ST, n);
  }
}

@inline function laneStart(k: usize, job: usize): void {
  store<u32>(LANE + (k << 3), load<u32>(job));
  store<u32>(LANE + (k << 3), load<u32>(job, 4) >> 4, 4);
  v128.store(CHAIN + (k << 4), v128.load(<usize>load<u32>(job, 8)));
}

/**
 * While all 8 lanes are busy: the passes before the first lane ends, without the per-lane bookkeeping
 * of the general pass (which runs the pass in which a lane ends and refills it). The chaining values stay
 * in ST (each block's ciphertext is the next block's chaining value) and go back to CHAIN and the lane
 * records at the end. Lane lengths are public: so is the number of passes.
 */
function fullLanes(rounds: u32): void {
  let run: u32 = 0xffffffff;
  for (let k: usize = 0; k < 8; k++) run = min<u32>(run, load<u32>(LANE + (k << 3), 4));
  if (run < 2) return;
  const passes = run - 1;
  copy16(ST, CHAIN, 128);
  for (let s: u32 = 0; s < passes; s++) {
    const off = <usize>s << 4;
    for (let k: usize = 0; k < 8; k++) {
      const at = ST + (k << 4);
      v128.store(at, v128.xor(v128.load(at), v128.load(<usize>load<u32>(LANE + (k << 3)) + off)));
    }
    bsTranspose(ST);
    aesBsEncryptPlanes(ST, BS_RK, rounds);
    bsTranspose(ST);
    for (let k: usize = 0; k < 8; k++) v128.store(<usize>load<u32>(LANE + (k << 3)) + off, v128.load(ST + (k << 4)));
  }
  lanePasses += passes;
  copy16(CHAIN, ST, 128);
  for (let k: usize = 0; k < 8; k++) {
    const l = LANE + (k << 3);
    store<u32>(l, load<u32>(l) + (passes << 4));
    store<u32>(l, load<u32>(l, 4) - passes, 4);
  }
}

/**
 * CBC encryption in place of `count` jobs (records of AES_JOB_SIZE bytes at `jobs`), all under the AES
 * context `ctx`, 8 jobs at a time, one per lane.
 */
export function aesBsCbcEncryptLanes(ctx: usize, jobs: usize, count: u32): void {
  bsKeys(ctx);
  const rounds = load<u32>(ctx);
  let next: u32 = 0;
  let active: u32 = 0;
  for (let k: usize = 0; k < 8; k++) {
    store<u32>(LANE + (k << 3), 0, 4);
    while (next < count) {
      const job = jobs + <usize>next * AES_JOB_SIZE;
      next++;
      if (load<u32>(job, 4) >= 16) { laneStart(k, job); active++; break; }
    }
  }
  while (active > 0) {
    if (active == 8) fullLanes(rounds);
    lanePasses++;
    for (let k: usize = 0; k < 8; k++) {
      const left = load<u32>(LANE + (k << 3), 4);
      const p = <usize>load<u32>(LANE + (k << 3));
      v128.store(ST + (k << 4), left != 0 ? v128.xor(v128.load(p), v128.load(CHAIN + (k << 4))) : i8x16.splat(0));
    }
    bsTranspose(ST);
    aesBsEncryptPlanes(ST, BS_RK, rounds);
    bsTranspose(ST);
    for (let k: usize = 0; k < 8; k++) {
      const l = LANE + (k << 3);
      const left = load<u32>(l, 4);
      if (left == 0) continue;
      const p = <usize>load<u32>(l);
      const c = v128.load(ST + (k << 4));
      v128.store(p, c);
      v128.store(CHAIN + (k << 4), c);
      store<u32>(l, <u32>(p + 16));
      store<u32>(l, left - 1, 4);
      if (left > 1) continue;
      active--;
      while (next < count) {
        const job = jobs + <usize>next * AES_JOB_SIZE;
        next++;
        if (load<u32>(job, 4) >= 16) { laneStart(k, job); active++; break; }
      }
    }
  }
}

// ---- Exports ----

/** The AES block API (ECB over whole blocks, `len` a multiple of 16), constant time. */
export function aes_encrypt_blocks(ctx: usize, src: usize, dst: usize, len: usize): void {
  if (len >= 16) aesBsEcb(ctx, src, dst, len & ~15, false);
  bsWipe();
}

export function aes_decrypt_blocks(ctx: usize, src: usize, dst: usize, len: usize): void {
  if (len >= 16) aesBsEcb(ctx, src, dst, len & ~15, true);
  bsWipe();
}

// (Tests.)

export function aes_bs_ecb(ctx: usize, src: usize, dst: usize, len: usize, decrypt: bool): void {
  aesBsEcb(ctx, src, dst, len, decrypt);
  bsWipe();
}

export function aes_bs_cbc_decrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesBsCbcDecrypt(ctx, iv, src, dst, len);
  bsWipe();
}

export function aes_bs_cbc_encrypt_lanes(ctx: usize, jobs: usize, count: u32): void {
  aesBsCbcEncryptLanes(ctx, jobs, count);
  bsWipe();
}
