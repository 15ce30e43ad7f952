// Streaming Merkle-Damgard hashing shared by MD5 (RFC 1321), SHA-1 and SHA-256 (FIPS 180-4): one state
// layout, one padding routine, the compression function chosen by algorithm number.
//
// State layout (HASH_CTX_SIZE bytes):
//   +0   chaining words (4, 5 or 8)
//   +32  u64 total length in bytes
//   +40  64-byte block buffer
//   +104 u32 bytes in the buffer
//   +108 u32 algorithm (HASH_MD5 / HASH_SHA1 / HASH_SHA256)

import { HASH_MD5, HASH_SHA1, HASH_SHA256, MD5_LEN, SHA1_LEN, SHA256_LEN } from "../src/constants";
import { storeBE32, storeBE64 } from "./bytes";
import { MD5_IV0, MD5_IV1, MD5_IV2, MD5_IV3 } from "./md5";
import { SHA1_IV0, SHA1_IV1, SHA1_IV2, SHA1_IV3, SHA1_IV4 } from "./sha1";
import { SHA256_IV } from "./sha256";
import { md5Compress, sha1Compress, sha256Compress, SHA256_BUILT } from "./link";

const H_LEN: usize = 32;
const H_BUF: usize = 40;
const H_FILL: usize = 104;
const H_ALG: usize = 108;

@inline export function digestLength(alg: u32): u32 {
  return alg == HASH_MD5 ? MD5_LEN : alg == HASH_SHA1 ? SHA1_LEN : SHA256_BUILT && alg == HASH_SHA256 ? SHA256_LEN : 0;
}

@inline export function chainingWords(alg: u32): u32 {
  return alg == HASH_MD5 ? 4 : alg == HASH_SHA1 ? 5 : 8;
}

@inline export function compress(alg: u32, h: usize, p: usize): void {
  if (alg == HASH_SHA1) sha1Compress(h, p);
  else if (SHA256_BUILT && alg == HASH_SHA256) sha256Compress(h, p);
  else md5Compress(h, p);
}

/** Starts a hash. Returns false for an unknown algorithm. */
export function hashInit(st: usize, alg: u32): bool {
  if (alg == HASH_MD5) {
    store<u32>(st, MD5_IV0); store<u32>(st, MD5_IV1, 4); store<u32>(st, MD5_IV2, 8); store<u32>(st, MD5_IV3, 12);
  } else if (alg == HASH_SHA1) {
    store<u32>(st, SHA1_IV0); store<u32>(st, SHA1_IV1, 4); store<u32>(st, SHA1_IV2, 8);
    store<u32>(st, SHA1_IV3, 12); store<u32>(st, SHA1_IV4, 16);
  } else if (SHA256_BUILT && alg == HASH_SHA256) {
    memory.copy(st, SHA256_IV, 32);
  } else {
    return false;
  }
  store<u64>(st + H_LEN, 0);
  store<u32>(st + H_FILL, 0);
  store<u32>(st + H_ALG, alg);
  return true;
}

/** Starts a hash from a saved chaining state (HMAC's precomputed inner/outer states): one block done. */
export function hashResume(st: usize, alg: u32, chaining: usize): void {
  memory.copy(st, chaining, 32);
  store<u64>(st + H_LEN, 64);
  store<u32>(st + H_FILL, 0);
  store<u32>(st + H_ALG, alg);
}

export function hashUpdate(st: usize, p: usize, len: usize): void {
  const alg = load<u32>(st + H_ALG);
  store<u64>(st + H_LEN, load<u64>(st + H_LEN) + <u64>len);
  let fill = <usize>load<u32>(st + H_FILL);
  const buf = st + H_BUF;
  if (fill != 0) {
    const take = min<usize>(64 - fill, len);
    memory.copy(buf + fill, p, take);
    fill += take; p += take; len -= take;
    if (fill < 64) { store<u32>(st + H_FILL, <u32>fill); return; }
    compress(alg, st, buf);
    fill = 0;
  }
  while (len >= 64) {
    compress(alg, st, p);
    p += 64; len -= 64;
  }
  if (len != 0) memory.copy(buf, p, len);
  store<u32>(st + H_FILL, <u32>len);
}

/** Pads, finishes and writes the digest to `out`. The state must be re-initialised before reuse. */
export function hashFinal(st: usize, out: usize): void {
  const alg = load<u32>(st + H_ALG);
  const bits = load<u64>(st + H_LEN) << 3;
  const buf = st + H_BUF;
  let fill = <usize>load<u32>(st + H_FILL);
  store<u8>(buf + fill, 0x80);
  fill++;
  if (fill > 56) {
    memory.fill(buf + fill, 0, 64 - fill);
    compress(alg, st, buf);
    fill = 0;
  }
  memory.fill(buf + fill, 0, 56 - fill);
  if (alg == HASH_MD5) store<u64>(buf + 56, bits);
  else storeBE64(buf + 56, bits);
  compress(alg, st, buf);
  if (alg == HASH_MD5) {
    memory.copy(out, st, 16);
  } else {
    const words = chainingWords(alg);
    for (let i: u32 = 0; i < words; i++) storeBE32(out + (i << 2), load<u32>(st + (i << 2)));
  }
}

// ---- Exports ----

const ONESHOT: usize = memory.data(112, 16);

export function hash_init(st: usize, alg: u32): bool {
  return hashInit(st, alg);
}

export function hash_update(st: usize, p: usize, len: usize): void {
  hashUpdate(st, p, len);
}

export function hash_final(st: usize, out: usize): void {
  hashFinal(st, out);
}

/** One-shot digest in a single call. Returns the digest length, 0 for an unknown algorithm. */
export function hash_digest(alg: u32, p: usize, len: usize, out: usize): u32 {
  if (!hashInit(ONESHOT, alg)) return 0;
  hashUpdate(ONESHOT, p, len);
  hashFinal(ONESHOT, out);
  // The input may be secret (Digest AKA hashes RES as its password): leave no state of it.
  memory.fill(ONESHOT, 0, 112);
  return digestLength(alg);
}
