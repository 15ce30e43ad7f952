// A hash module of the split build (assembly/link.ts): the SHA-256 (FIPS 180-4) compression function, which the ESP
// module's hashing and HMAC (assembly/hash.ts, hmac.ts) import. No allocation.

import { sha256Compress } from "../sha256";

export function sha256_compress(h: usize, p: usize): void {
  sha256Compress(h, p);
}
export function static_end(): usize {
  return __heap_base;
}
