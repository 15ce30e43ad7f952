// AES (FIPS 197) for CBC (NIST SP 800-38A 6.2, RFC 3602), compact and constant time: the compact flavour of
// the split build (README "In the browser": `init({ algorithms, compact: true })` loads the `aes-small`
// module in place of `aes`). One block at a time in a WebAssembly SIMD register (bytes in FIPS order,
// byte 4c + r is row r of column c). SubBytes looks the S-box up with i8x16.swizzle, sixteen bytes of the
// table at a time: every lookup reads the whole 256-byte table from fixed addresses, and the data index
// only selects lanes inside the instruction (x86 pshufb, ARM tbl), so no branch or address depends on keys
// or data (unlike the T-table aes.ts; aes-bs.ts is the bitsliced constant-time AES of the other modules).
// The key schedule's SubWord takes the same path. About a third of the `aes` module's bytes.
//
// Context layout: as aes.ts (+0 u32 rounds, +4 u32 key length, +16 encryption round keys in byte order,
// +256 the equivalent inverse cipher's round keys), written identically, so that the `aes8` module (the
// block API and the batch calls) can use contexts this module expands. Decryption here runs the inverse
// cipher (FIPS 197 5.3) on the encryption round keys.
//
// No secret is left in static memory: the state and round keys stay in locals and in the caller's context.

const SBOX: usize = memory.data(256, 16);
const INV_SBOX: usize = memory.data(256, 16);
let built = false;

@inline function xtime8(x: u32): u32 {
  return ((x << 1) ^ ((x >> 7) * 0x1b)) & 0xff;
}

/** The S-box from GF(2^8) inversion (3^(255 - log3 x)) and the affine map (FIPS 197 5.1.1): public tables. */
function buildSbox(): void {
  // exp/log of the generator 3 in the two tables' space, which the S-boxes overwrite afterwards.
  const exp = SBOX, log = INV_SBOX;
  let p: u32 = 1;
  for (let i: u32 = 0; i < 255; i++) {
    store<u8>(exp + i, <u8>p);
    store<u8>(log + p, <u8>i);
    p ^= xtime8(p);
  }
  const inv = memory.data(256);
  for (let x: u32 = 1; x < 256; x++) store<u8>(inv + x, load<u8>(exp + (255 - <u32>load<u8>(log + x)) % 255));
  for (let x: u32 = 0; x < 256; x++) {
    const i = <u32>load<u8>(inv + x);
    let s = i ^ 0x63;
    for (let k: u32 = 1; k < 5; k++) s ^= ((i << k) | (i >> (8 - k))) & 0xff;
    store<u8>(SBOX + x, <u8>s);
  }
  for (let x: u32 = 0; x < 256; x++) store<u8>(INV_SBOX + <u32>load<u8>(SBOX + x), <u8>x);
  memory.fill(inv, 0, 256);
  built = true;
}

/** Each byte of `x` looked up in the 256-byte table `t`, constant time (see the header). */
function lookup(x: v128, t: usize): v128 {
  // Lanes of x in 16j..16j+15 index slice j; in every other slice they are >= 16 after the subtraction: 0.
  const d = i8x16.splat(16);
  let r = i8x16.swizzle(v128.load(t), x);
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 16), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 32), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 48), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 64), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 80), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 96), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 112), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 128), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 144), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 160), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 176), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 192), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 208), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 224), x));
  x = i8x16.sub(x, d); r = v128.or(r, i8x16.swizzle(v128.load(t, 240), x));
  return r;
}

/** Doubling in GF(2^8) per byte: v + v, and 0x1b where the top bit was set (paddb, pcmpgtb: no byte shifts on x86). */
@inline function xtime(v: v128): v128 {
  return v128.xor(i8x16.add(v, v), v128.and(i8x16.lt_s(v, i8x16.splat(0)), i8x16.splat(0x1b)));
}
@inline function rot1(v: v128): v128 { return i8x16.shuffle(v, v, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12); }
@inline function rot2(v: v128): v128 { return i8x16.shuffle(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13); }

/** MixColumns: b_r = 2 a_r + 3 a_{r+1} + a_{r+2} + a_{r+3} = 2 t_r + t_{r+2} + a_{r+1}, t = a + rot1(a). */
function mixColumns(a: v128): v128 {
  const t = v128.xor(a, rot1(a));
  return v128.xor(v128.xor(xtime(t), rot2(t)), rot1(a));
}

/** InvMixColumns as MixColumns after adding 4 (a_r + a_{r+2}) to each byte (the 14/11/13/9 matrix factored). */
function invMixColumns(a: v128): v128 {
  return mixColumns(v128.xor(a, xtime(xtime(v128.xor(a, rot2(a))))));
}

function encryptBlock(s: v128, rk: usize, rounds: u32): v128 {
  s = v128.xor(s, v128.load(rk));
  for (let r: u32 = 1; r <= rounds; r++) {
    // ShiftRows, then SubBytes (they commute), MixColumns but in the last round, AddRoundKey.
    s = lookup(i8x16.shuffle(s, s, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11), SBOX);
    if (r != rounds) s = mixColumns(s);
    s = v128.xor(s, v128.load(rk + (<usize>r << 4)));
  }
  return s;
}

function decryptBlock(s: v128, rk: usize, rounds: u32): v128 {
  s = v128.xor(s, v128.load(rk + (<usize>rounds << 4)));
  for (let r: i32 = <i32>rounds - 1; r >= 0; r--) {
    s = lookup(i8x16.shuffle(s, s, 0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3), INV_SBOX);
    s = v128.xor(s, v128.load(rk + (<usize>r << 4)));
    if (r != 0) s = invMixColumns(s);
  }
  return s;
}

@inline function subWord(w: u32): u32 {
  return i32x4.extract_lane(lookup(i32x4.splat(w), SBOX), 0);
}

/** Expands `keyLen` (16, 24, 32) key bytes at `key` into `ctx` (aes.ts's layout); false for a bad length. */
export function aesSmallExpand(ctx: usize, key: usize, keyLen: u32, withDecrypt: bool): bool {
  if (keyLen != 16 && keyLen != 24 && keyLen != 32) return false;
  if (!built) buildSbox();
  const nk = keyLen >> 2;
  const rounds = nk + 6;
  const total = (rounds + 1) << 2;
  store<u32>(ctx, rounds);
  store<u32>(ctx, keyLen, 4);
  const rk = ctx + 16;
  memory.copy(rk, key, keyLen);
  // Words as loaded little-endian: byte 0 in bits 0..7, so RotWord is a right rotation by 8.
  let rcon: u32 = 1;
  for (let i: u32 = nk; i < total; i++) {
    let t = load<u32>(rk + ((<usize>i - 1) << 2));
    if (i % nk == 0) {
      t = subWord(rotr<u32>(t, 8)) ^ rcon;
      rcon = xtime8(rcon);
    } else if (nk > 6 && i % nk == 4) {
      t = subWord(t);
    }
    store<u32>(rk + (<usize>i << 2), load<u32>(rk + ((<usize>i - nk) << 2)) ^ t);
  }
  if (withDecrypt) {
    // As aes.ts: round keys in reverse order, InvMixColumns on the middle ones.
    for (let r: u32 = 0; r <= rounds; r++) {
      const k = v128.load(rk + (<usize>(rounds - r) << 4));
      v128.store(ctx + 256 + (<usize>r << 4), r == 0 || r == rounds ? k : invMixColumns(k));
    }
  }
  return true;
}

/** CBC encryption of `len` bytes (a multiple of 16), `src` to `dst` (may be the same); `iv` updated. */
export function aesSmallCbcEncrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  const rounds = load<u32>(ctx);
  let c = v128.load(iv);
  for (let off: usize = 0; off + 16 <= len; off += 16) {
    c = encryptBlock(v128.xor(v128.load(src + off), c), ctx + 16, rounds);
    v128.store(dst + off, c);
  }
  v128.store(iv, c);
}

/** CBC decryption of `len` bytes (a multiple of 16), `src` to `dst` (may be the same); `iv` updated. */
export function aesSmallCbcDecrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  const rounds = load<u32>(ctx);
  let c = v128.load(iv);
  for (let off: usize = 0; off + 16 <= len; off += 16) {
    const n = v128.load(src + off);
    v128.store(dst + off, v128.xor(decryptBlock(n, ctx + 16, rounds), c));
    c = n;
  }
  v128.store(iv, c);
}
