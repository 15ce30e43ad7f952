// The compact SHA-1 module of the split build (assembly/link.ts, README "In the browser"): the same
// export as modules/sha1.ts (`sha1_compress`, which the ESP module imports from "sha1"), with the rounds
// rolled (sha1-small.ts). `init({ algorithms, compact: true })` links it in place of `sha1`. No allocation.

import { sha1CompressSmall } from "../sha1-small";

export function sha1_compress(h: usize, p: usize): void {
  sha1CompressSmall(h, p);
}
export function static_end(): usize {
  return __heap_base;
}
