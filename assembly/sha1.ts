// SHA-1 compression function (FIPS 180-4 6.1.2), for HMAC-SHA-1-96 (RFC 2404), the ESP integrity
// algorithm of every IMS release. SHA-1 collisions do not weaken HMAC-SHA-1.

import { loadBE32 } from "./bytes";

const W: usize = memory.data(80 * 4, 16);

export const SHA1_IV0: u32 = 0x67452301;
export const SHA1_IV1: u32 = 0xefcdab89;
export const SHA1_IV2: u32 = 0x98badcfe;
export const SHA1_IV3: u32 = 0x10325476;
export const SHA1_IV4: u32 = 0xc3d2e1f0;

/** Processes the 64-byte block at `p` into the chaining state at `h` (5 words). */
export function sha1Compress(h: usize, p: usize): void {
  for (let i: usize = 0; i < 16; i++) store<u32>(W + (i << 2), loadBE32(p + (i << 2)));
  for (let i: usize = 16; i < 80; i++) {
    const x = load<u32>(W + ((i - 3) << 2)) ^ load<u32>(W + ((i - 8) << 2)) ^ load<u32>(W + ((i - 14) << 2)) ^ load<u32>(W + ((i - 16) << 2));
    store<u32>(W + (i << 2), rotl<u32>(x, 1));
  }
  let a = load<u32>(h), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12), e = load<u32>(h, 16);
  for (let i: usize = 0; i < 20; i++) {
    const t = rotl<u32>(a, 5) + ((b & c) | (~b & d)) + e + 0x5a827999 + load<u32>(W + (i << 2));
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = t;
  }
  for (let i: usize = 20; i < 40; i++) {
    const t = rotl<u32>(a, 5) + (b ^ c ^ d) + e + 0x6ed9eba1 + load<u32>(W + (i << 2));
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = t;
  }
  for (let i: usize = 40; i < 60; i++) {
    const t = rotl<u32>(a, 5) + ((b & c) | (b & d) | (c & d)) + e + 0x8f1bbcdc + load<u32>(W + (i << 2));
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = t;
  }
  for (let i: usize = 60; i < 80; i++) {
    const t = rotl<u32>(a, 5) + (b ^ c ^ d) + e + 0xca62c1d6 + load<u32>(W + (i << 2));
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = t;
  }
  store<u32>(h, load<u32>(h) + a);
  store<u32>(h, load<u32>(h, 4) + b, 4);
  store<u32>(h, load<u32>(h, 8) + c, 8);
  store<u32>(h, load<u32>(h, 12) + d, 12);
  store<u32>(h, load<u32>(h, 16) + e, 16);
}
