// Anti-replay window (RFC 4303 3.4.3) kept as an RFC 6479 block ring, with ESN inference (RFC 4303
// Appendix A2.2).
//
// Semantics: a window of size W accepts the W sequence numbers T-W+1 .. T, T being the highest number
// that passed integrity verification (the classic window of RFC 4303 3.4.3 / Appendix A). Numbers above
// T are accepted; numbers at or below T - W are too old; numbers in the window are accepted once.
// (An RFC 6479 ring of n 32-bit blocks described as "W = (n-1) * 32" accepts one more position,
// T - W .. T: it equals a window of size W + 1 here.)
//
// Representation: a ring of N 32-bit blocks, N a power of two with N >= ceil(W / 32) + 1, so every
// position of the window has its bit and no block being reused still holds one. Sequence number s lives
// in block (s >> 5) & (N - 1), bit s & 31. Advancing T zeroes the blocks between the old and the new top
// block (all N at most; a memset when the jump is larger) and never shifts bits: O(1) per packet for any
// window size.
//
// The check (before the ICV) and the commit (after it) are separate, so a packet with a bad ICV never
// touches the window (RFC 4303 3.4.3).
//
// Layout (REPLAY_HDR_SIZE + 4 * N bytes):
//   +0  u64 T (highest authenticated sequence number; 0 before the first packet)
//   +8  u32 W
//   +12 u32 N - 1
//   +16 u32 flags (SA_ESN)
//   +32 N blocks

import {
  REPLAY_HDR_SIZE, SA_ESN, ST_OK, ST_REPLAY_DUPLICATE, ST_REPLAY_TOO_OLD,
} from "../src/constants";

/** Blocks in the ring for window `w`. */
export function ringBlocks(w: u32): u32 {
  const need = ((w + 31) >> 5) + 1;
  return <u32>1 << (32 - clz<u32>(need - 1));
}

export function replayInit(rw: usize, w: u32, flags: u32): void {
  const n = ringBlocks(w);
  memory.fill(rw, 0, <usize>REPLAY_HDR_SIZE + (<usize>n << 2));
  store<u32>(rw, w, 8);
  store<u32>(rw, n - 1, 12);
  store<u32>(rw, flags, 16);
}

/**
 * The full sequence number of a packet whose low 32 bits are `seql` (RFC 4303 A2.2). Without ESN it is
 * `seql`. Returns 0 (never valid) when the inferred number would precede the first subspace.
 */
@inline export function replayInfer(rw: usize, seql: u32): u64 {
  if ((load<u32>(rw, 16) & SA_ESN) == 0) return <u64>seql;
  const t = load<u64>(rw);
  const tl = <u32>t;
  const th = <u32>(t >> 32);
  const w = load<u32>(rw, 8);
  const bottom = tl - w + 1; // wraps modulo 2^32 in case B, as the RFC intends
  let seqh: u32;
  if (tl >= w - 1) {
    // Case A: the window lies within one subspace.
    seqh = seql >= bottom ? th : th + 1;
  } else {
    // Case B: the window spans two subspaces.
    if (seql >= bottom) {
      if (th == 0) return 0;
      seqh = th - 1;
    } else {
      seqh = th;
    }
  }
  return (<u64>seqh << 32) | <u64>seql;
}

/** Pre-check of a (full) sequence number: ST_OK, ST_REPLAY_TOO_OLD (incl. 0) or ST_REPLAY_DUPLICATE. */
@inline export function replayCheck(rw: usize, seq: u64): i32 {
  if (seq == 0) return ST_REPLAY_TOO_OLD;
  const t = load<u64>(rw);
  if (seq > t) return ST_OK;
  if (t - seq >= <u64>load<u32>(rw, 8)) return ST_REPLAY_TOO_OLD;
  const block = rw + REPLAY_HDR_SIZE + ((<usize>(seq >> 5) & <usize>load<u32>(rw, 12)) << 2);
  return (load<u32>(block) >> (<u32>seq & 31)) & 1 ? ST_REPLAY_DUPLICATE : ST_OK;
}

/** Marks `seq` as received; call only after replayCheck said ST_OK and the ICV verified. */
@inline export function replayCommit(rw: usize, seq: u64): void {
  const t = load<u64>(rw);
  const mask = <usize>load<u32>(rw, 12);
  const ring = rw + REPLAY_HDR_SIZE;
  if (seq > t) {
    const from = (t >> 5) + 1;
    const to = seq >> 5;
    if (to >= from) {
      if (to - from > <u64>mask) {
        memory.fill(ring, 0, (mask + 1) << 2);
      } else {
        for (let b = from; b <= to; b++) store<u32>(ring + ((<usize>b & mask) << 2), 0);
      }
    }
    store<u64>(rw, seq);
  }
  const block = ring + ((<usize>(seq >> 5) & mask) << 2);
  store<u32>(block, load<u32>(block) | (<u32>1 << (<u32>seq & 31)));
}

// ---- Exports (standalone windows for users who bring their own ESP) ----

export function replay_size(w: u32): u32 {
  return REPLAY_HDR_SIZE + (ringBlocks(w) << 2);
}

export function replay_init(rw: usize, w: u32, flags: u32): void {
  replayInit(rw, w, flags);
}

/** Full sequence number for the wire value `seql` (ESN inference); 0 means "cannot be valid". */
export function replay_infer(rw: usize, seql: u32): u64 {
  return replayInfer(rw, seql);
}

export function replay_check(rw: usize, seq: u64): i32 {
  return replayCheck(rw, seq);
}

export function replay_commit(rw: usize, seq: u64): void {
  replayCommit(rw, seq);
}

/**
 * Batch form: for each of `n` wire sequence numbers (u32 at `seqs`), infer (ESN), check, and commit when
 * accepted (the caller has verified the packets' ICVs). Writes one status byte per number to `results`.
 * Returns the number accepted.
 */
export function replay_accept_batch(rw: usize, seqs: usize, n: u32, results: usize): u32 {
  let accepted: u32 = 0;
  for (let i: usize = 0; i < <usize>n; i++) {
    const seq = replayInfer(rw, load<u32>(seqs + (i << 2)));
    const st = replayCheck(rw, seq);
    if (st == ST_OK) {
      replayCommit(rw, seq);
      accepted++;
    }
    store<u8>(results + i, <u8>st);
  }
  return accepted;
}

/** T, the highest sequence number committed so far. */
export function replay_highest(rw: usize): u64 {
  return load<u64>(rw);
}
