// A hash module of the split build (assembly/link.ts): the MD5 (RFC 1321) compression function, which the ESP
// module's hashing and HMAC (assembly/hash.ts, hmac.ts) import. No allocation.

import { md5Compress } from "../md5";

export function md5_compress(h: usize, p: usize): void {
  md5Compress(h, p);
}
export function static_end(): usize {
  return __heap_base;
}
