// HMAC (RFC 2104) over MD5, SHA-1 and SHA-256, with the inner and outer chaining states computed once
// per key, so that a per-packet MAC costs no key setup: HMAC-MD5-96 (RFC 2403) and HMAC-SHA-1-96
// (RFC 2404) for ESP, HMAC-SHA-256 for the TS 33.220 KDF.
//
// The -96 truncations (leftmost 12 octets) are done by the caller reading 12 bytes of the output.
//
// Context layout (HMAC_CTX_SIZE bytes):
//   +0   u32 hash algorithm
//   +16  inner chaining state: H(K xor ipad) after one block (up to 8 words)
//   +48  outer chaining state: H(K xor opad) after one block

import { HASH_MD5, HASH_SHA256 } from "../src/constants";
import { hashInit, hashResume, hashUpdate, hashFinal, compress, digestLength } from "./hash";
import { zero16 } from "./bytes";
import { SHA256_BUILT } from "./link";

const INNER: usize = 16;
const OUTER: usize = 48;

const PAD: usize = memory.data(64, 16);
const DIGEST: usize = memory.data(32, 16);
const STATE: usize = memory.data(112, 16);

/** Precomputes the states for `key` (any length) into `ctx`. Returns false for an unknown algorithm. */
export function hmacInit(ctx: usize, alg: u32, key: usize, keyLen: usize): bool {
  if (alg < <u32>HASH_MD5 || alg > <u32>HASH_SHA256 || (!SHA256_BUILT && alg == HASH_SHA256)) return false;
  store<u32>(ctx, alg);
  memory.fill(PAD, 0, 64);
  if (keyLen > 64) {
    hashInit(STATE, alg);
    hashUpdate(STATE, key, keyLen);
    hashFinal(STATE, PAD);
  } else {
    memory.copy(PAD, key, keyLen);
  }
  for (let i: usize = 0; i < 64; i++) store<u8>(PAD + i, load<u8>(PAD + i) ^ 0x36);
  hashInit(STATE, alg);
  compress(alg, STATE, PAD);
  memory.copy(ctx + INNER, STATE, 32);
  for (let i: usize = 0; i < 64; i++) store<u8>(PAD + i, load<u8>(PAD + i) ^ (0x36 ^ 0x5c));
  hashInit(STATE, alg);
  compress(alg, STATE, PAD);
  memory.copy(ctx + OUTER, STATE, 32);
  // The padded key and the states derived from it are key material.
  memory.fill(PAD, 0, 64);
  memory.fill(STATE, 0, 112);
  return true;
}

/** Starts a MAC computation in the hash state `st`. */
export function hmacBegin(ctx: usize, st: usize): void {
  hashResume(st, load<u32>(ctx), ctx + INNER);
}

/** Finishes the MAC started in `st` and writes the full-length tag to `out`. */
export function hmacEnd(ctx: usize, st: usize, out: usize): void {
  const alg = load<u32>(ctx);
  hashFinal(st, DIGEST);
  hashResume(st, alg, ctx + OUTER);
  hashUpdate(st, DIGEST, digestLength(alg));
  hashFinal(st, out);
  zero16(DIGEST, 32); // the inner hash
}

/** One-shot MAC of `len` bytes at `p`: full-length tag to `out`; the scratch state is zeroed after. */
export function hmacCompute(ctx: usize, p: usize, len: usize, out: usize): void {
  hmacBegin(ctx, STATE);
  hashUpdate(STATE, p, len);
  hmacEnd(ctx, STATE, out);
  zero16(STATE, 112);
}

/** Zeroes the scratch state after a computation whose intermediate values are secret (the KDF). */
export function hmacWipeScratch(): void {
  zero16(STATE, 112);
  zero16(DIGEST, 32);
}

// ---- Exports ----

export function hmac_init(ctx: usize, alg: u32, key: usize, keyLen: usize): bool {
  return hmacInit(ctx, alg, key, keyLen);
}

export function hmac_compute(ctx: usize, p: usize, len: usize, out: usize): u32 {
  hmacCompute(ctx, p, len, out);
  return digestLength(load<u32>(ctx));
}

/** Streaming form for inputs larger than the I/O window: begin, update (hash_update), end. */
export function hmac_begin(ctx: usize, st: usize): void {
  hmacBegin(ctx, st);
}

export function hmac_end(ctx: usize, st: usize, out: usize): void {
  hmacEnd(ctx, st, out);
}
