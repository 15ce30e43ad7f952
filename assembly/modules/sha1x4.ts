// A multi-buffer module of the split build (assembly/link.ts): the 4-lane SHA-1 (FIPS 180-4) compression function
// (WebAssembly SIMD, i32x4) that the batch calls' HMAC (assembly/hmac-x4.ts) imports; without it the batch
// calls compute one ICV at a time. No allocation.

import { sha1x4Compress } from "../sha1x4";

export function sha1x4_compress(st: usize, p0: usize, p1: usize, p2: usize, p3: usize): void {
  sha1x4Compress(st, p0, p1, p2, p3);
}
export function static_end(): usize {
  return __heap_base;
}
