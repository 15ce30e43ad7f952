// A multi-buffer module of the split build (assembly/link.ts): the 4-lane MD5 (RFC 1321) compression function
// (WebAssembly SIMD, i32x4) that the batch calls' HMAC (assembly/hmac-x4.ts) imports; without it the batch
// calls compute one ICV at a time. No allocation.

import { md5x4Compress } from "../md5x4";

export function md5x4_compress(st: usize, p0: usize, p1: usize, p2: usize, p3: usize): void {
  md5x4Compress(st, p0, p1, p2, p3);
}
export function static_end(): usize {
  return __heap_base;
}
