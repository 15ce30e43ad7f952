// A hash module of the split build (assembly/link.ts): the SHA-1 (FIPS 180-4) compression function, which the ESP
// module's hashing and HMAC (assembly/hash.ts, hmac.ts) import. No allocation.

import { sha1Compress } from "../sha1";

export function sha1_compress(h: usize, p: usize): void {
  sha1Compress(h, p);
}
export function static_end(): usize {
  return __heap_base;
}
