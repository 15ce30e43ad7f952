// Multi-buffer HMAC (RFC 2104) for HMAC-SHA-1-96 (RFC 2404) and HMAC-MD5-96 (RFC 2403): the MACs of many
// messages computed four at a time, one message per i32x4 lane of WebAssembly SIMD (sha1x4.ts, md5x4.ts),
// after the model of Intel's ipsec-mb "multi-buffer" managers. The ESP batch calls (esp.ts) use it.
//
// Every lane runs a job: the inner hash from the SA's precomputed H(K xor ipad) state (hmac.ts) over the
// message, then the outer hash, one block, from H(K xor opad). Messages of different lengths finish at
// different blocks: a lane whose inner hash ends switches to its outer block; a lane whose outer hash
// ends writes its MAC and takes the next job from the list; an idle lane hashes a zero block whose result
// is ignored. When one job is left and nothing is queued it finishes with the scalar functions (a 4-lane
// step costs more than one scalar block). Fewer than two jobs in all take the scalar path of hmac.ts.
//
// Full blocks are read in place from the message; the last partial block (and ESN's Seq-high, RFC 4303
// 2.2.1, appended to the ICV input) is copied with its Merkle-Damgard padding into a per-lane tail
// buffer. Timing depends on message lengths only (public), not on keys or data.
//
// Job record (JOB_SIZE bytes), written by the caller:
//   +0  u32 HMAC context (hmac.ts)   +4  u32 message address   +8  u32 message length
//   +12 u32 Seq-high, appended big-endian when +16 has JOB_APPEND_SEQHI
//   +24 u64 free for the caller       +32 full MAC out (20 bytes for SHA-1, 16 for MD5)

import { HASH_SHA1 } from "../src/constants";
import { storeBE32, storeBE64, zero16, copySmall } from "./bytes";
import { sha1x4Compress, md5x4Compress, sha1Compress, md5Compress } from "./link";
import { hmacBegin, hmacEnd } from "./hmac";
import { hashUpdate } from "./hash";

export const JOB_SIZE: usize = 64;
export const JOB_CTX: usize = 0;
export const JOB_MSG: usize = 4;
export const JOB_LEN: usize = 8;
export const JOB_SEQHI: usize = 12;
export const JOB_FLAGS: usize = 16;
export const JOB_USER: usize = 24;
export const JOB_MAC: usize = 32;
export const JOB_APPEND_SEQHI: u32 = 1;

/** 4-lane steps run since instantiation (tests check which path a batch took: simd_counters). */
export let steps: u32 = 0;

const HMAC_INNER: usize = 16; // hmac.ts context layout
const HMAC_OUTER: usize = 48;

const ST: usize = memory.data(80, 16); // lane-interleaved chaining state (sha1x4.ts / md5x4.ts layout)
const TAIL: usize = memory.data(4 * 128, 16); // per lane: the inner message's padded last block(s)
const OUTER: usize = memory.data(4 * 64, 16); // per lane: the outer block (inner digest, padded)
const ZERO: usize = memory.data(64, 16); // the block an idle lane hashes
const H: usize = memory.data(32, 16); // scalar chaining state of the last lane
const SCALAR: usize = memory.data(112, 16); // hash state (hash.ts) of the scalar path

// Per-lane bookkeeping (LANE_SIZE bytes per lane).
const LANE: usize = memory.data(4 * 32, 16);
const LANE_SIZE: usize = 32;
const L_JOB: usize = 0; // job address, 0 = idle
const L_PHASE: usize = 4; // 0 inner, 1 outer
const L_NEXT: usize = 8; // next block index
const L_FULL: usize = 12; // blocks read in place from the message
const L_BLOCKS: usize = 16; // blocks in all
const L_MSG: usize = 20;
const L_TAIL: usize = 24; // where blocks L_FULL.. are

@inline function words(alg: u32): usize {
  return alg == HASH_SHA1 ? 5 : 4;
}

@inline function lane(k: usize): usize {
  return LANE + k * LANE_SIZE;
}

/** Puts the chaining words at `src` into lane k of ST. */
function laneSetState(alg: u32, k: usize, src: usize): void {
  const n = words(alg);
  for (let j: usize = 0; j < n; j++) store<u32>(ST + (j << 4) + (k << 2), load<u32>(src + (j << 2)));
}

/** Writes lane k's digest (or the scalar state H when k is 4) to `out`: big-endian words for SHA-1. */
function digestOut(alg: u32, k: usize, out: usize): void {
  const n = words(alg);
  for (let j: usize = 0; j < n; j++) {
    const w = k < 4 ? load<u32>(ST + (j << 4) + (k << 2)) : load<u32>(H + (j << 2));
    if (alg == HASH_SHA1) storeBE32(out + (j << 2), w);
    else store<u32>(out + (j << 2), w);
  }
}

/**
 * Appends the Merkle-Damgard padding at `blk` + `fill` for a message of `bytes` bytes; returns the blocks
 * used. The bytes after `fill` must be zero already (the callers zero the whole buffer first: v128 stores
 * instead of a memory.fill runtime call per packet).
 */
function pad(alg: u32, blk: usize, fill: usize, bytes: u64): usize {
  store<u8>(blk + fill, 0x80);
  const blocks: usize = fill + 9 <= 64 ? 1 : 2;
  const end = blk + (blocks << 6);
  if (alg == HASH_SHA1) storeBE64(end - 8, bytes << 3);
  else store<u64>(end - 8, bytes << 3);
  return blocks;
}

/** Starts the inner hash of `job` in lane k. */
function laneStart(alg: u32, k: usize, job: usize): void {
  const l = lane(k);
  const ctx = <usize>load<u32>(job + JOB_CTX);
  const msg = <usize>load<u32>(job + JOB_MSG);
  const len = <usize>load<u32>(job + JOB_LEN);
  const full = len >> 6;
  const rem = len & 63;
  const tail = TAIL + (k << 7);
  zero16(tail, 128);
  copySmall(tail, msg + (full << 6), rem);
  let fill = rem;
  let total = <u64>len;
  if ((load<u32>(job + JOB_FLAGS) & JOB_APPEND_SEQHI) != 0) {
    storeBE32(tail + rem, load<u32>(job + JOB_SEQHI));
    fill += 4;
    total += 4;
  }
  const tailBlocks = pad(alg, tail, fill, 64 + total);
  laneSetState(alg, k, ctx + HMAC_INNER);
  store<u32>(l + L_JOB, <u32>job);
  store<u32>(l + L_PHASE, 0);
  store<u32>(l + L_NEXT, 0);
  store<u32>(l + L_FULL, <u32>full);
  store<u32>(l + L_BLOCKS, <u32>(full + tailBlocks));
  store<u32>(l + L_MSG, <u32>msg);
  store<u32>(l + L_TAIL, <u32>tail);
}

/** Lane k's inner hash is done: its digest, padded, becomes the one block of the outer hash. */
function laneToOuter(alg: u32, k: usize, fromScalar: bool): void {
  const l = lane(k);
  const job = <usize>load<u32>(l + L_JOB);
  const blk = OUTER + (k << 6);
  zero16(blk, 64);
  digestOut(alg, fromScalar ? 4 : k, blk);
  const dlen: usize = alg == HASH_SHA1 ? 20 : 16;
  pad(alg, blk, dlen, <u64>(64 + dlen));
  const ctx = <usize>load<u32>(job + JOB_CTX);
  if (fromScalar) memory.copy(H, ctx + HMAC_OUTER, words(alg) << 2);
  else laneSetState(alg, k, ctx + HMAC_OUTER);
  store<u32>(l + L_PHASE, 1);
  store<u32>(l + L_NEXT, 0);
  store<u32>(l + L_FULL, 0);
  store<u32>(l + L_BLOCKS, 1);
  store<u32>(l + L_TAIL, <u32>blk);
}

/** The block lane k hashes next. */
@inline function blockOf(k: usize): usize {
  const l = lane(k);
  if (load<u32>(l + L_JOB) == 0) return ZERO;
  const b = <usize>load<u32>(l + L_NEXT);
  const full = <usize>load<u32>(l + L_FULL);
  return b < full ? <usize>load<u32>(l + L_MSG) + (b << 6) : <usize>load<u32>(l + L_TAIL) + ((b - full) << 6);
}

/** Finishes lane k's job with the scalar compression function. */
function laneFinishScalar(alg: u32, k: usize): void {
  const l = lane(k);
  const n = words(alg);
  for (let j: usize = 0; j < n; j++) store<u32>(H + (j << 2), load<u32>(ST + (j << 4) + (k << 2)));
  for (let phase = load<u32>(l + L_PHASE); phase < 2; phase++) {
    while (load<u32>(l + L_NEXT) < load<u32>(l + L_BLOCKS)) {
      const p = blockOf(k);
      if (alg == HASH_SHA1) sha1Compress(H, p);
      else md5Compress(H, p);
      store<u32>(l + L_NEXT, load<u32>(l + L_NEXT) + 1);
    }
    if (phase == 0) laneToOuter(alg, k, true);
  }
  digestOut(alg, 4, <usize>load<u32>(l + L_JOB) + JOB_MAC);
  store<u32>(l + L_JOB, 0);
}

/** One job with the scalar HMAC of hmac.ts (the path single packets take). */
function scalarJob(job: usize): void {
  const ctx = <usize>load<u32>(job + JOB_CTX);
  hmacBegin(ctx, SCALAR);
  hashUpdate(SCALAR, <usize>load<u32>(job + JOB_MSG), <usize>load<u32>(job + JOB_LEN));
  if ((load<u32>(job + JOB_FLAGS) & JOB_APPEND_SEQHI) != 0) {
    storeBE32(H, load<u32>(job + JOB_SEQHI));
    hashUpdate(SCALAR, H, 4);
  }
  hmacEnd(ctx, SCALAR, job + JOB_MAC);
}

/**
 * Computes the full MACs of `count` jobs whose addresses (u32) are at `list`, all with HMAC contexts of
 * hash `alg` (HASH_SHA1 or HASH_MD5), into each job's JOB_MAC. Scratch holding key-derived state is
 * zeroed before returning.
 */
export function hmacX4(alg: u32, list: usize, count: u32): void {
  if (count < 2) {
    for (let i: u32 = 0; i < count; i++) scalarJob(<usize>load<u32>(list + (<usize>i << 2)));
    memory.fill(SCALAR, 0, 112);
    memory.fill(H, 0, 32);
    return;
  }
  let next: u32 = 0;
  let active: u32 = 0;
  for (let k: usize = 0; k < 4; k++) {
    if (next < count) {
      laneStart(alg, k, <usize>load<u32>(list + (<usize>next << 2)));
      next++;
      active++;
    } else {
      store<u32>(lane(k) + L_JOB, 0);
    }
  }
  while (active > 0) {
    if (active == 1 && next == count) {
      for (let k: usize = 0; k < 4; k++) if (load<u32>(lane(k) + L_JOB) != 0) laneFinishScalar(alg, k);
      break;
    }
    const p0 = blockOf(0), p1 = blockOf(1), p2 = blockOf(2), p3 = blockOf(3);
    steps++;
    if (alg == HASH_SHA1) sha1x4Compress(ST, p0, p1, p2, p3);
    else md5x4Compress(ST, p0, p1, p2, p3);
    for (let k: usize = 0; k < 4; k++) {
      const l = lane(k);
      const job = <usize>load<u32>(l + L_JOB);
      if (job == 0) continue;
      const b = load<u32>(l + L_NEXT) + 1;
      store<u32>(l + L_NEXT, b);
      if (b < load<u32>(l + L_BLOCKS)) continue;
      if (load<u32>(l + L_PHASE) == 0) {
        laneToOuter(alg, k, false);
        continue;
      }
      digestOut(alg, k, job + JOB_MAC);
      if (next < count) {
        laneStart(alg, k, <usize>load<u32>(list + (<usize>next << 2)));
        next++;
      } else {
        store<u32>(l + L_JOB, 0);
        active--;
      }
    }
  }
  // Chaining states from the ipad/opad states and the inner digests are key-derived.
  zero16(ST, 80);
  zero16(OUTER, 4 * 64);
  zero16(TAIL, 4 * 128);
  zero16(H, 32);
}

// ---- Export (tests: the lanes checked directly against node:crypto) ----

export function hmac_x4(alg: u32, list: usize, count: u32): void {
  hmacX4(alg, list, count);
}
