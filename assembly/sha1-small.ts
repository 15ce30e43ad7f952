// SHA-1 compression function (FIPS 180-4 6.1.2) with its rounds rolled, one loop per round function: the
// compact flavour of the split build (README "In the browser": `init({ algorithms, compact: true })` loads
// the `sha1-small` module in place of `sha1`), a quarter of the unrolled sha1.ts's bytes, 1.9x its
// instructions per block (the README gives the measured cost; a single loop of 80 rounds with a branch on
// the round is 0.5 kB smaller and 2.4x). Same results: test/wasm-split.test.ts holds it to node:crypto and to the
// official vectors. Constant time as sha1.ts: no branch or address depends on the data.
//
// The message schedule is a ring of 16 words in this module's static data (W); it may hold key-derived
// words (HMAC's padded key blocks), so every call zeroes it before returning.

import { loadBE32 } from "./bytes";

const W: usize = memory.data(64, 16);

/** W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]) for t >= 16, written over W[t-16] in the ring. */
// @ts-ignore: decorator
@inline function schedule(t: u32): u32 {
  const at = W + ((<usize>t & 15) << 2);
  const w = rotl<u32>(load<u32>(W + ((<usize>(t + 13) & 15) << 2)) ^ load<u32>(W + ((<usize>(t + 8) & 15) << 2))
    ^ load<u32>(W + ((<usize>(t + 2) & 15) << 2)) ^ load<u32>(at), 1);
  store<u32>(at, w);
  return w;
}

/** Processes the 64-byte block at `p` into the chaining state at `h` (5 words). */
export function sha1CompressSmall(h: usize, p: usize): void {
  for (let i: usize = 0; i < 64; i += 4) store<u32>(W + i, loadBE32(p + i));
  let a = load<u32>(h), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12), e = load<u32>(h, 16);
  // One loop per round function (FIPS 180-4 4.1.1), the first split where the schedule starts (t = 16).
  for (let t: u32 = 0; t < 16; t++) {
    const tmp = rotl<u32>(a, 5) + ((b & c) | (~b & d)) + e + 0x5a827999 + load<u32>(W + (<usize>t << 2));
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = tmp;
  }
  for (let t: u32 = 16; t < 20; t++) {
    const tmp = rotl<u32>(a, 5) + ((b & c) | (~b & d)) + e + 0x5a827999 + schedule(t);
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = tmp;
  }
  for (let t: u32 = 20; t < 40; t++) {
    const tmp = rotl<u32>(a, 5) + (b ^ c ^ d) + e + 0x6ed9eba1 + schedule(t);
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = tmp;
  }
  for (let t: u32 = 40; t < 60; t++) {
    const tmp = rotl<u32>(a, 5) + ((b & c) | (b & d) | (c & d)) + e + 0x8f1bbcdc + schedule(t);
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = tmp;
  }
  for (let t: u32 = 60; t < 80; t++) {
    const tmp = rotl<u32>(a, 5) + (b ^ c ^ d) + e + 0xca62c1d6 + schedule(t);
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = tmp;
  }
  store<u32>(h, load<u32>(h) + a);
  store<u32>(h, load<u32>(h, 4) + b, 4);
  store<u32>(h, load<u32>(h, 8) + c, 8);
  store<u32>(h, load<u32>(h, 12) + d, 12);
  store<u32>(h, load<u32>(h, 16) + e, 16);
  v128.store(W, i64x2.splat(0)); v128.store(W, i64x2.splat(0), 16);
  v128.store(W, i64x2.splat(0), 32); v128.store(W, i64x2.splat(0), 48);
}
