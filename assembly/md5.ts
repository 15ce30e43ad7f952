// MD5 compression function (RFC 1321 3.4), for HMAC-MD5-96 (RFC 2403) and Digest AKAv1-MD5 (RFC 3310).
// MD5 is broken for collision resistance; HMAC-MD5 is still sound as a MAC, which is its only use here.
// Words are little-endian (RFC 1321 3.4), unlike SHA.

// T[i] = floor(2^32 * |sin(i + 1)|), RFC 1321 3.4. The constant tables of this file, sha256.ts and des.ts are
// returned by functions rather than held in file-level constants: AssemblyScript emits a file-level
// memory.data segment into every module that imports the file, and the split build's ESP module imports
// this one only for MD5_IV* (hash.ts) and the direct calls of link.ts, which it does not compile.
function tTable(): usize {
  return memory.data<u32>([
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
  ]);
}

// Per-round rotation amounts (4 per round, repeated 4 times).
function shifts(): usize {
  return memory.data<u8>([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);
}

export const MD5_IV0: u32 = 0x67452301;
export const MD5_IV1: u32 = 0xefcdab89;
export const MD5_IV2: u32 = 0x98badcfe;
export const MD5_IV3: u32 = 0x10325476;

@inline function step(a: u32, b: u32, fv: u32, i: u32, x: u32, s: u32): u32 {
  return b + rotl<u32>(a + fv + load<u32>(tTable() + (i << 2)) + x, s);
}

/** Processes the 64-byte block at `p` into the chaining state at `h` (4 words). */
export function md5Compress(h: usize, p: usize): void {
  let a = load<u32>(h), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12);
  for (let i: u32 = 0; i < 16; i++) {
    const t = step(a, b, (b & c) | (~b & d), i, load<u32>(p + (i << 2)), <u32>load<u8>(shifts() + (i & 3)));
    a = d; d = c; c = b; b = t;
  }
  for (let i: u32 = 16; i < 32; i++) {
    const t = step(a, b, (d & b) | (~d & c), i, load<u32>(p + (((5 * i + 1) & 15) << 2)), <u32>load<u8>(shifts() + 4 + (i & 3)));
    a = d; d = c; c = b; b = t;
  }
  for (let i: u32 = 32; i < 48; i++) {
    const t = step(a, b, b ^ c ^ d, i, load<u32>(p + (((3 * i + 5) & 15) << 2)), <u32>load<u8>(shifts() + 8 + (i & 3)));
    a = d; d = c; c = b; b = t;
  }
  for (let i: u32 = 48; i < 64; i++) {
    const t = step(a, b, c ^ (b | ~d), i, load<u32>(p + (((7 * i) & 15) << 2)), <u32>load<u8>(shifts() + 12 + (i & 3)));
    a = d; d = c; c = b; b = t;
  }
  store<u32>(h, load<u32>(h) + a);
  store<u32>(h, load<u32>(h, 4) + b, 4);
  store<u32>(h, load<u32>(h, 8) + c, 8);
  store<u32>(h, load<u32>(h, 12) + d, 12);
}
