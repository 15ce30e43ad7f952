// GHASH (NIST SP 800-38D 6.4) in 16 lanes with 4-bit tables looked up by i8x16.swizzle (pshufb): a
// constant-time design for long inputs, used by gcm.ts from LANES_MIN (44) blocks on.
//
// Multiplication by a fixed K in GF(2^128) is GF(2)-linear, so for a block X cut into its 32 nibbles n_i,
// X K = XOR_i T_i[n_i] with T_i[n] = K times the block whose only nonzero nibble is n at position i. The
// 16 byte lanes of a v128 run 16 independent Horner chains: the state is kept transposed, 16 vectors s_j
// (vector j holds byte j of each lane's 128-bit state), and V[i][j], the 16 bytes T_i[0..15][j], is one
// v128, so i8x16.swizzle(V[i][j], nib_i) is byte j of T_i[n_i] in every lane at once: the table index is
// a lane of a register, never an address, and no branch depends on data (constant time).
// One product of all 16 lanes is 32 x 16 swizzles; the 16 output vectors are made in two halves of 8, so
// that they, the index and the swizzle's scratch fit in x86's 16 vector registers.
//
// One GHASH input is cut across the lanes with stride 16: lane m takes blocks m, m + 16, m + 32, ... and
// multiplies by K = H^16 between them, so with S_m its final state (no product after the last block),
// GHASH = sum_m S_m H^(16 - m): the aggregated path of gcm.ts (ghashBlocks over the 16 S_m from y = 0).
// The stream is AAD || C || len(A) || len(C), each zero-padded to whole blocks (6.4), preceded by z zero
// blocks so that it fills whole groups of 16: zero blocks at the start of a GHASH from 0 change nothing.
//
// Blocks and table entries are in the wire's byte order: byte b, bit q (value 1 << q) of a block is the
// coefficient of x^(8b + 7 - q) (the reflected order of 6.3), and the tables absorb that order, so no
// byte or bit reversal is done per block. The tables are built per call from H^16 (gcm.ts keeps it in
// the context) and, with the transposed state and every buffer below, zeroed before the call returns
// (ghLanesEnd); nothing key-derived outlives the call.

import { copy16, zero16 } from "./bytes";

const TBL: usize = memory.data(8192, 16); // V[i][j] at (16 i + j) x 16, lane n = byte j of T_i[n]
const ST: usize = memory.data(256, 16); // the transposed state s_0..s_15
const NIB: usize = memory.data(512, 16); // the 32 nibble vectors of the state: (2 b) low, (2 b + 1) high
const TD: usize = memory.data(256, 16); // a transposed group of 16 blocks
/** 16 blocks: a group being assembled, and ghLanesEnd's output. */
export const GB: usize = memory.data(256, 16);
// 0x0f and 0xf0 in every byte; the bytes 0 and 1 of r x^128 for the nibble r (ghLanesBegin)
const MASKS: usize = memory.data<u8>([
  0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
  0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0,
  0, 28, 56, 36, 112, 108, 72, 84, 225, 253, 217, 197, 145, 141, 169, 181,
  0, 32, 64, 96, 128, 160, 192, 224, 0, 32, 64, 96, 128, 160, 192, 224,
], 16);
let fill: usize = 0; // blocks in GB
let started = false; // a group was added (the next one multiplies first)

/** Zeroes `len` bytes at p (a multiple of 64), four v128 stores an iteration. */
function wipe(p: usize, len: usize): void {
  const z = i64x2.splat(0);
  for (let i: usize = 0; i < len; i += 64) {
    v128.store(p + i, z); v128.store(p + i, z, 16); v128.store(p + i, z, 32); v128.store(p + i, z, 48);
  }
}

/** Transposes the 16 x 16 bytes at src into dst (row m, byte j -> row j, byte m): four perfect shuffles. */
function transpose16(src: usize, dst: usize): void {
  const r0 = v128.load(src, 0);
  const r1 = v128.load(src, 16);
  const r2 = v128.load(src, 32);
  const r3 = v128.load(src, 48);
  const r4 = v128.load(src, 64);
  const r5 = v128.load(src, 80);
  const r6 = v128.load(src, 96);
  const r7 = v128.load(src, 112);
  const r8 = v128.load(src, 128);
  const r9 = v128.load(src, 144);
  const r10 = v128.load(src, 160);
  const r11 = v128.load(src, 176);
  const r12 = v128.load(src, 192);
  const r13 = v128.load(src, 208);
  const r14 = v128.load(src, 224);
  const r15 = v128.load(src, 240);
  const t0_0 = i8x16.shuffle(r0, r8, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t0_1 = i8x16.shuffle(r0, r8, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t0_2 = i8x16.shuffle(r1, r9, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t0_3 = i8x16.shuffle(r1, r9, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t0_4 = i8x16.shuffle(r2, r10, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t0_5 = i8x16.shuffle(r2, r10, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t0_6 = i8x16.shuffle(r3, r11, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t0_7 = i8x16.shuffle(r3, r11, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t0_8 = i8x16.shuffle(r4, r12, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t0_9 = i8x16.shuffle(r4, r12, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t0_10 = i8x16.shuffle(r5, r13, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t0_11 = i8x16.shuffle(r5, r13, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t0_12 = i8x16.shuffle(r6, r14, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t0_13 = i8x16.shuffle(r6, r14, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t0_14 = i8x16.shuffle(r7, r15, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t0_15 = i8x16.shuffle(r7, r15, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t1_0 = i8x16.shuffle(t0_0, t0_8, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t1_1 = i8x16.shuffle(t0_0, t0_8, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t1_2 = i8x16.shuffle(t0_1, t0_9, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t1_3 = i8x16.shuffle(t0_1, t0_9, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t1_4 = i8x16.shuffle(t0_2, t0_10, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t1_5 = i8x16.shuffle(t0_2, t0_10, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t1_6 = i8x16.shuffle(t0_3, t0_11, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t1_7 = i8x16.shuffle(t0_3, t0_11, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t1_8 = i8x16.shuffle(t0_4, t0_12, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t1_9 = i8x16.shuffle(t0_4, t0_12, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t1_10 = i8x16.shuffle(t0_5, t0_13, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t1_11 = i8x16.shuffle(t0_5, t0_13, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t1_12 = i8x16.shuffle(t0_6, t0_14, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t1_13 = i8x16.shuffle(t0_6, t0_14, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t1_14 = i8x16.shuffle(t0_7, t0_15, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t1_15 = i8x16.shuffle(t0_7, t0_15, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t2_0 = i8x16.shuffle(t1_0, t1_8, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t2_1 = i8x16.shuffle(t1_0, t1_8, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t2_2 = i8x16.shuffle(t1_1, t1_9, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t2_3 = i8x16.shuffle(t1_1, t1_9, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t2_4 = i8x16.shuffle(t1_2, t1_10, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t2_5 = i8x16.shuffle(t1_2, t1_10, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t2_6 = i8x16.shuffle(t1_3, t1_11, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t2_7 = i8x16.shuffle(t1_3, t1_11, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t2_8 = i8x16.shuffle(t1_4, t1_12, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t2_9 = i8x16.shuffle(t1_4, t1_12, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t2_10 = i8x16.shuffle(t1_5, t1_13, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t2_11 = i8x16.shuffle(t1_5, t1_13, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t2_12 = i8x16.shuffle(t1_6, t1_14, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t2_13 = i8x16.shuffle(t1_6, t1_14, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t2_14 = i8x16.shuffle(t1_7, t1_15, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t2_15 = i8x16.shuffle(t1_7, t1_15, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t3_0 = i8x16.shuffle(t2_0, t2_8, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t3_1 = i8x16.shuffle(t2_0, t2_8, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t3_2 = i8x16.shuffle(t2_1, t2_9, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t3_3 = i8x16.shuffle(t2_1, t2_9, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t3_4 = i8x16.shuffle(t2_2, t2_10, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t3_5 = i8x16.shuffle(t2_2, t2_10, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t3_6 = i8x16.shuffle(t2_3, t2_11, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t3_7 = i8x16.shuffle(t2_3, t2_11, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t3_8 = i8x16.shuffle(t2_4, t2_12, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t3_9 = i8x16.shuffle(t2_4, t2_12, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t3_10 = i8x16.shuffle(t2_5, t2_13, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t3_11 = i8x16.shuffle(t2_5, t2_13, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t3_12 = i8x16.shuffle(t2_6, t2_14, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t3_13 = i8x16.shuffle(t2_6, t2_14, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const t3_14 = i8x16.shuffle(t2_7, t2_15, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const t3_15 = i8x16.shuffle(t2_7, t2_15, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  v128.store(dst, t3_0, 0);
  v128.store(dst, t3_1, 16);
  v128.store(dst, t3_2, 32);
  v128.store(dst, t3_3, 48);
  v128.store(dst, t3_4, 64);
  v128.store(dst, t3_5, 80);
  v128.store(dst, t3_6, 96);
  v128.store(dst, t3_7, 112);
  v128.store(dst, t3_8, 128);
  v128.store(dst, t3_9, 144);
  v128.store(dst, t3_10, 160);
  v128.store(dst, t3_11, 176);
  v128.store(dst, t3_12, 192);
  v128.store(dst, t3_13, 208);
  v128.store(dst, t3_14, 224);
  v128.store(dst, t3_15, 240);
}

/** out[0..7] = byte (8 h + k) of K times each lane's state, from the nibble vectors at NIB. */
@inline function mulHalf(h: usize, out: usize): void {
  const z = i64x2.splat(0);
  let o0 = z;
  let o1 = z;
  let o2 = z;
  let o3 = z;
  let o4 = z;
  let o5 = z;
  let o6 = z;
  let o7 = z;
  for (let i: usize = 0; i < 32; i++) {
    const idx = v128.load(NIB + (i << 4));
    const t = TBL + (i << 8) + (h << 7);
    o0 = v128.xor(o0, i8x16.swizzle(v128.load(t, 0), idx));
    o1 = v128.xor(o1, i8x16.swizzle(v128.load(t, 16), idx));
    o2 = v128.xor(o2, i8x16.swizzle(v128.load(t, 32), idx));
    o3 = v128.xor(o3, i8x16.swizzle(v128.load(t, 48), idx));
    o4 = v128.xor(o4, i8x16.swizzle(v128.load(t, 64), idx));
    o5 = v128.xor(o5, i8x16.swizzle(v128.load(t, 80), idx));
    o6 = v128.xor(o6, i8x16.swizzle(v128.load(t, 96), idx));
    o7 = v128.xor(o7, i8x16.swizzle(v128.load(t, 112), idx));
  }
  v128.store(out, o0, 0);
  v128.store(out, o1, 16);
  v128.store(out, o2, 32);
  v128.store(out, o3, 48);
  v128.store(out, o4, 64);
  v128.store(out, o5, 80);
  v128.store(out, o6, 96);
  v128.store(out, o7, 112);
}

/** s = s K for every lane. */
function mulK(): void {
  const m = i8x16.splat(0x0f);
  for (let j: usize = 0; j < 16; j++) {
    const s = v128.load(ST + (j << 4));
    v128.store(NIB + (j << 5), v128.and(s, m));
    v128.store(NIB + (j << 5) + 16, v128.and(i16x8.shr_u(s, 4), m));
  }
  mulHalf(0, ST);
  mulHalf(1, ST + 128);
}

/** Adds the 16 blocks at p (lane m gets block m) to the state, after s = s K unless it is the first. */
function group(p: usize): void {
  if (started) mulK();
  started = true;
  transpose16(p, TD);
  for (let j: usize = 0; j < 256; j += 16) v128.store(ST + j, v128.xor(v128.load(ST + j), v128.load(TD + j)));
}

/** The entries of bytes 4 q .. 4 q + 3 (w as in ghLanesBegin) to the four table vectors at `out`. */
@inline function tableBytes(w: v128, out: usize): void {
  const c01 = v128.xor(i8x16.swizzle(w, i8x16(-128, 0, 1, 1, -128, 4, 5, 5, -128, 8, 9, 9, -128, 12, 13, 13)), i8x16.swizzle(w, i8x16(-128, -128, -128, 0, -128, -128, -128, 4, -128, -128, -128, 8, -128, -128, -128, 12)));
  const c23 = v128.xor(i8x16.swizzle(w, i8x16(-128, 2, 3, 3, -128, 6, 7, 7, -128, 10, 11, 11, -128, 14, 15, 15)), i8x16.swizzle(w, i8x16(-128, -128, -128, 2, -128, -128, -128, 6, -128, -128, -128, 10, -128, -128, -128, 14)));
  v128.store(out, v128.xor(i8x16.swizzle(c01, i8x16(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3)), i8x16.swizzle(c23, i8x16(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3))), 0);
  v128.store(out, v128.xor(i8x16.swizzle(c01, i8x16(4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7)), i8x16.swizzle(c23, i8x16(4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7))), 16);
  v128.store(out, v128.xor(i8x16.swizzle(c01, i8x16(8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11)), i8x16.swizzle(c23, i8x16(8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11))), 32);
  v128.store(out, v128.xor(i8x16.swizzle(c01, i8x16(12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15)), i8x16.swizzle(c23, i8x16(12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15))), 48);
}

/**
 * Builds the tables of K (the element at `k` as 16 wire-order bytes) and clears the state for a stream of
 * `blocks` blocks, to which z = -blocks mod 16 leading zero blocks are added.
 */
export function ghLanesBegin(k: usize, blocks: usize): void {
  // Coefficient x^(4c + t) is bit 3 - t of nibble i = c ^ 1 (byte c >> 1, its high nibble for even c).
  // The first table (c = 0) from the basis K x^0..x^3; multiplying by x is a right shift of the
  // wire-order number, x^128 being x^7 + x^2 + x + 1 (0xe1 in the first byte), applied without a branch.
  let hi = bswap<u64>(load<u64>(k)), lo = bswap<u64>(load<u64>(k, 8));
  {
    const c: usize = 0;
    // TD rows: the four basis elements (bit b of the nibble at TD + 16 b).
    for (let t: usize = 0; t < 4; t++) {
      // (hi, lo) to wire order with one constant swizzle: WebAssembly has no byte swap instruction.
      const w = i64x2.replace_lane(i64x2.splat(hi), 1, lo);
      v128.store(TD + ((3 - t) << 4), i8x16.swizzle(w, i8x16(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8)));
      const carry = lo & 1;
      lo = (lo >> 1) | (hi << 63);
      hi = (hi >> 1) ^ (0xe100000000000000 & (0 - carry));
    }
    // The 16 entries of byte j are a linear function of the four basis bytes b_0..3[j]: the four basis
    // rows interleaved (w_q: lane 4 jj + b = byte 4 q + jj of basis b), then per byte j the entries of
    // bits 0-1 and of bits 2-3 (constant swizzles: no per-entry work), XORed.
    const b0 = v128.load(TD), b1 = v128.load(TD, 16), b2 = v128.load(TD, 32), b3 = v128.load(TD, 48);
    const u0 = i8x16.shuffle(b0, b1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), u1 = i8x16.shuffle(b0, b1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const u2 = i8x16.shuffle(b2, b3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), u3 = i8x16.shuffle(b2, b3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const w0 = i8x16.shuffle(u0, u2, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), w1 = i8x16.shuffle(u0, u2, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    const w2 = i8x16.shuffle(u1, u3, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), w3 = i8x16.shuffle(u1, u3, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    const out = TBL + ((c ^ 1) << 8);
    tableBytes(w0, out); tableBytes(w1, out + 64); tableBytes(w2, out + 128); tableBytes(w3, out + 192);
  }
  hi = 0; lo = 0;
  // Nibble c + 1's basis is nibble c's times x^4, so each table is the previous one with every entry
  // times x^4: in the transposed form, byte j = (byte j >> 4) | (byte j - 1 << 4) in all 16 entries at
  // once, and the nibble that leaves byte 15 (x^128..x^131) folded into bytes 0 and 1 by two constant
  // 16-entry tables (r x^128 = r (x^7 + x^2 + x + 1)), indexed in registers as in mulHalf.
  const m0f = v128.load(MASKS), mf0 = v128.load(MASKS, 16);
  const r0 = v128.load(MASKS, 32), r1 = v128.load(MASKS, 48);
  for (let c: usize = 1; c < 32; c++) {
    const src = TBL + (((c - 1) ^ 1) << 8), dst = TBL + ((c ^ 1) << 8);
    let v = v128.load(src), prev = v;
    v128.store(dst, v128.and(i16x8.shr_u(v, 4), m0f));
    v = v128.load(src, 16); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 16); prev = v;
    v = v128.load(src, 32); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 32); prev = v;
    v = v128.load(src, 48); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 48); prev = v;
    v = v128.load(src, 64); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 64); prev = v;
    v = v128.load(src, 80); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 80); prev = v;
    v = v128.load(src, 96); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 96); prev = v;
    v = v128.load(src, 112); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 112); prev = v;
    v = v128.load(src, 128); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 128); prev = v;
    v = v128.load(src, 144); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 144); prev = v;
    v = v128.load(src, 160); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 160); prev = v;
    v = v128.load(src, 176); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 176); prev = v;
    v = v128.load(src, 192); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 192); prev = v;
    v = v128.load(src, 208); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 208); prev = v;
    v = v128.load(src, 224); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 224); prev = v;
    v = v128.load(src, 240); v128.store(dst, v128.or(v128.and(i16x8.shr_u(v, 4), m0f), v128.and(i16x8.shl(prev, 4), mf0)), 240); prev = v;
    const r = v128.and(prev, m0f);
    v128.store(dst, v128.xor(v128.load(dst), i8x16.swizzle(r0, r)));
    v128.store(dst, v128.xor(v128.load(dst, 16), i8x16.swizzle(r1, r)), 16);
  }
  zero16(ST, 256);
  zero16(GB, 256);
  fill = (16 - (blocks & 15)) & 15;
  started = false;
}

/** Adds `len` bytes at p to the stream, a final partial block zero-padded. */
export function ghLanesFeed(p: usize, len: usize): void {
  let n = len >> 4;
  while (n != 0) {
    if (fill == 0 && n >= 16) {
      group(p);
      p += 256; n -= 16;
      continue;
    }
    const k = min<usize>(16 - fill, n);
    copy16(GB + (fill << 4), p, k << 4); // (memory.copy and memory.fill are calls out of the module)
    fill += k; p += k << 4; n -= k;
    if (fill == 16) { group(GB); fill = 0; }
  }
  const rest = len & 15;
  if (rest != 0) {
    const at = GB + (fill << 4);
    v128.store(at, i64x2.splat(0));
    for (let i: usize = 0; i < rest; i++) store<u8>(at + i, load<u8>(p + i));
    fill++;
    if (fill == 16) { group(GB); fill = 0; }
  }
}

/** Writes the 16 lane states S_0..S_15 as blocks to GB and zeroes the tables, the state and the scratch. */
export function ghLanesEnd(): void {
  transpose16(ST, GB);
  wipe(TBL, 8192);
  wipe(ST, 256);
  wipe(NIB, 512);
  wipe(TD, 256);
  fill = 0;
  started = false;
}
