// AES block cipher (FIPS 197), 128/192/256-bit keys.
//
// Table-driven ("T-table") implementation. State words, round keys and tables are kept in little-endian
// word order (byte 0 of a column in bits 0..7), so blocks are loaded without byte swaps (WASM has no
// bswap instruction): four encryption and four decryption tables of 256 words, generated at start-up from the S-box, which is itself computed from GF(2^8)
// inversion and the affine map (FIPS 197 5.1.1), so no constant can be mistyped. Decryption uses the
// equivalent inverse cipher (FIPS 197 5.3.5): InvMixColumns applied to the middle round keys.
//
// Caveat: table lookups are indexed by secret data, so timing leaks through the cache. The key schedule
// and the T-table rounds stay for the one place where the constant-time bitsliced AES (aes-bs.ts) is
// slower: CBC encryption of a single packet or of a few packets of an SA (cbc.ts, esp.ts), where a pass of
// 8 blocks would carry one or a few. SECURITY.md lists which path uses which.
//
// Context layout (AES_CTX_SIZE bytes):
//   +0   u32 rounds (10, 12, 14)
//   +4   u32 key length in bytes
//   +16  encryption round keys, 4 * (rounds + 1) little-endian words (at most 60)
//   +256 decryption round keys, same size and order

import { loadBE32 } from "./bytes";

export const AES_RK: usize = 16;
export const AES_DK: usize = 256;

const SBOX: usize = memory.data(256, 64);
const INV_SBOX: usize = memory.data(256, 64);
// TE0..TE3 are contiguous: TE{n} = TE + 1024 * n. Same for TD.
const TE: usize = memory.data(4096, 64);
const TD: usize = memory.data(4096, 64);

@inline function xtime(x: u32): u32 {
  return ((x << 1) ^ (((x >> 7) & 1) * 0x1b)) & 0xff;
}

function gfmul(a: u32, b: u32): u32 {
  let r: u32 = 0;
  while (b != 0) {
    if (b & 1) r ^= a;
    a = xtime(a);
    b >>= 1;
  }
  return r;
}

@inline function rotl8(x: u32, n: u32): u32 {
  return ((x << n) | (x >> (8 - n))) & 0xff;
}

function buildTables(): void {
  // Powers and logarithms of the generator 3 give inverses: inv(x) = 3^(255 - log3(x)).
  const exp = memory.data(256);
  const log = memory.data(256);
  let p: u32 = 1;
  for (let i: u32 = 0; i < 255; i++) {
    store<u8>(exp + i, <u8>p);
    store<u8>(log + p, <u8>i);
    p ^= xtime(p); // p *= 3
  }
  for (let x: u32 = 0; x < 256; x++) {
    const inv: u32 = x == 0 ? 0 : <u32>load<u8>(exp + ((255 - <u32>load<u8>(log + x)) % 255));
    const s = inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63;
    store<u8>(SBOX + x, <u8>s);
    store<u8>(INV_SBOX + s, <u8>x);
  }
  for (let x: u32 = 0; x < 256; x++) {
    const s = <u32>load<u8>(SBOX + x);
    const e = (xtime(s) << 24) | (s << 16) | (s << 8) | (xtime(s) ^ s);
    const si = <u32>load<u8>(INV_SBOX + x);
    const d = (gfmul(si, 14) << 24) | (gfmul(si, 9) << 16) | (gfmul(si, 13) << 8) | gfmul(si, 11);
    for (let t: u32 = 0; t < 4; t++) {
      store<u32>(TE + (t << 10) + (x << 2), bswap<u32>(rotr<u32>(e, t << 3)));
      store<u32>(TD + (t << 10) + (x << 2), bswap<u32>(rotr<u32>(d, t << 3)));
    }
  }
}
// Built on the first key expansion (every use of the tables starts with one), not at start, as the DES
// tables are: a module that imports this file without expanding keys (the split build's ESP module, the
// aes8 module, whose contexts the aes module expands) has neither the code nor the work.
let tablesBuilt = false;

@inline function sbox(x: u32): u32 {
  return <u32>load<u8>(<usize>x, SBOX);
}

@inline function subWord(w: u32): u32 {
  return (sbox(w >>> 24) << 24) | (sbox((w >>> 16) & 0xff) << 16) | (sbox((w >>> 8) & 0xff) << 8) | sbox(w & 0xff);
}

// Table lookups take the byte index already multiplied by 4, and carry the table base in the load's
// immediate offset: one shift, one mask and one load per lookup.
@inline function te0(i: u32): u32 { return load<u32>(<usize>i, TE); }
@inline function te1(i: u32): u32 { return load<u32>(<usize>i, TE + 1024); }
@inline function te2(i: u32): u32 { return load<u32>(<usize>i, TE + 2048); }
@inline function te3(i: u32): u32 { return load<u32>(<usize>i, TE + 3072); }
@inline function td0(i: u32): u32 { return load<u32>(<usize>i, TD); }
@inline function td1(i: u32): u32 { return load<u32>(<usize>i, TD + 1024); }
@inline function td2(i: u32): u32 { return load<u32>(<usize>i, TD + 2048); }
@inline function td3(i: u32): u32 { return load<u32>(<usize>i, TD + 3072); }
@inline function isb(x: u32): u32 { return <u32>load<u8>(<usize>x, INV_SBOX); }

// Byte k of a little-endian state word, times 4.
@inline function by0(s: u32): u32 { return (s << 2) & 0x3fc; }
@inline function by1(s: u32): u32 { return (s >>> 6) & 0x3fc; }
@inline function by2(s: u32): u32 { return (s >>> 14) & 0x3fc; }
@inline function by3(s: u32): u32 { return (s >>> 22) & 0x3fc; }

/**
 * Expands `keyLen` (16, 24 or 32) key bytes at `key` into the context `ctx`.
 * With `withDecrypt` false the decryption schedule is skipped (CTR/GCM and outbound-only users).
 * Returns false for a bad key length.
 */
export function aesExpand(ctx: usize, key: usize, keyLen: u32, withDecrypt: bool): bool {
  if (keyLen != 16 && keyLen != 24 && keyLen != 32) return false;
  if (!tablesBuilt) {
    buildTables();
    tablesBuilt = true;
  }
  const nk = keyLen >> 2;
  const rounds = nk + 6;
  const total = (rounds + 1) << 2;
  store<u32>(ctx, rounds);
  store<u32>(ctx, keyLen, 4);
  const rk = ctx + AES_RK;
  for (let i: u32 = 0; i < nk; i++) store<u32>(rk + (i << 2), loadBE32(key + (i << 2)));
  let rcon: u32 = 1;
  for (let i: u32 = nk; i < total; i++) {
    let t = load<u32>(rk + ((i - 1) << 2));
    if (i % nk == 0) {
      t = subWord(rotl<u32>(t, 8)) ^ (rcon << 24);
      rcon = xtime(rcon);
    } else if (nk > 6 && i % nk == 4) {
      t = subWord(t);
    }
    store<u32>(rk + (i << 2), load<u32>(rk + ((i - nk) << 2)) ^ t);
  }
  if (withDecrypt) {
    // Equivalent inverse cipher: round keys in reverse order, InvMixColumns on the middle ones. With the
    // little-endian tables, td*(sbox(.)) of a big-endian word yields the little-endian result directly.
    const dk = ctx + AES_DK;
    for (let r: u32 = 0; r <= rounds; r++) {
      for (let j: u32 = 0; j < 4; j++) {
        let w = load<u32>(rk + (((rounds - r) << 4) + (j << 2)));
        if (r != 0 && r != rounds) {
          w = td0(sbox(w >>> 24) << 2) ^ td1(sbox((w >>> 16) & 0xff) << 2) ^ td2(sbox((w >>> 8) & 0xff) << 2) ^ td3(sbox(w & 0xff) << 2);
        } else {
          w = bswap<u32>(w);
        }
        store<u32>(dk + ((r << 4) + (j << 2)), w);
      }
    }
  }
  for (let i: u32 = 0; i < total; i++) store<u32>(rk + (i << 2), bswap<u32>(load<u32>(rk + (i << 2))));
  return true;
}

// The block functions below XOR four "whitening" words into the input (CBC chaining, CTR) or output
// (CBC decryption), so modes keep their chaining value in locals and make one call per block. All words
// are little-endian: x0 = load<u32>(iv) and so on.


/** dst = E_K(src XOR x), x0..x3 little-endian words. src and dst may alias. */
@inline export function aesEncryptBlock(ctx: usize, src: usize, dst: usize, x0: u32, x1: u32, x2: u32, x3: u32): void {
  let rk = ctx + AES_RK;
  const rounds = load<u32>(ctx);
  let s0 = load<u32>(src) ^ x0 ^ load<u32>(rk);
  let s1 = load<u32>(src, 4) ^ x1 ^ load<u32>(rk, 4);
  let s2 = load<u32>(src, 8) ^ x2 ^ load<u32>(rk, 8);
  let s3 = load<u32>(src, 12) ^ x3 ^ load<u32>(rk, 12);
  for (let r: u32 = 1; r < rounds; r++) {
    rk += 16;
    const t0 = te0(by0(s0)) ^ te1(by1(s1)) ^ te2(by2(s2)) ^ te3(by3(s3)) ^ load<u32>(rk);
    const t1 = te0(by0(s1)) ^ te1(by1(s2)) ^ te2(by2(s3)) ^ te3(by3(s0)) ^ load<u32>(rk, 4);
    const t2 = te0(by0(s2)) ^ te1(by1(s3)) ^ te2(by2(s0)) ^ te3(by3(s1)) ^ load<u32>(rk, 8);
    const t3 = te0(by0(s3)) ^ te1(by1(s0)) ^ te2(by2(s1)) ^ te3(by3(s2)) ^ load<u32>(rk, 12);
    s0 = t0; s1 = t1; s2 = t2; s3 = t3;
  }
  rk += 16;
  store<u32>(dst, (sbox(s0 & 0xff) | (sbox((s1 >>> 8) & 0xff) << 8) | (sbox((s2 >>> 16) & 0xff) << 16) | (sbox(s3 >>> 24) << 24)) ^ load<u32>(rk));
  store<u32>(dst, (sbox(s1 & 0xff) | (sbox((s2 >>> 8) & 0xff) << 8) | (sbox((s3 >>> 16) & 0xff) << 16) | (sbox(s0 >>> 24) << 24)) ^ load<u32>(rk, 4), 4);
  store<u32>(dst, (sbox(s2 & 0xff) | (sbox((s3 >>> 8) & 0xff) << 8) | (sbox((s0 >>> 16) & 0xff) << 16) | (sbox(s1 >>> 24) << 24)) ^ load<u32>(rk, 8), 8);
  store<u32>(dst, (sbox(s3 & 0xff) | (sbox((s0 >>> 8) & 0xff) << 8) | (sbox((s1 >>> 16) & 0xff) << 16) | (sbox(s2 >>> 24) << 24)) ^ load<u32>(rk, 12), 12);
}

/** dst = D_K(src) XOR x, x0..x3 little-endian words. src and dst may alias. */
@inline export function aesDecryptBlock(ctx: usize, src: usize, dst: usize, x0: u32, x1: u32, x2: u32, x3: u32): void {
  let dk = ctx + AES_DK;
  const rounds = load<u32>(ctx);
  let s0 = load<u32>(src) ^ load<u32>(dk);
  let s1 = load<u32>(src, 4) ^ load<u32>(dk, 4);
  let s2 = load<u32>(src, 8) ^ load<u32>(dk, 8);
  let s3 = load<u32>(src, 12) ^ load<u32>(dk, 12);
  for (let r: u32 = 1; r < rounds; r++) {
    dk += 16;
    const t0 = td0(by0(s0)) ^ td1(by1(s3)) ^ td2(by2(s2)) ^ td3(by3(s1)) ^ load<u32>(dk);
    const t1 = td0(by0(s1)) ^ td1(by1(s0)) ^ td2(by2(s3)) ^ td3(by3(s2)) ^ load<u32>(dk, 4);
    const t2 = td0(by0(s2)) ^ td1(by1(s1)) ^ td2(by2(s0)) ^ td3(by3(s3)) ^ load<u32>(dk, 8);
    const t3 = td0(by0(s3)) ^ td1(by1(s2)) ^ td2(by2(s1)) ^ td3(by3(s0)) ^ load<u32>(dk, 12);
    s0 = t0; s1 = t1; s2 = t2; s3 = t3;
  }
  dk += 16;
  store<u32>(dst, ((isb(s0 & 0xff) | (isb((s3 >>> 8) & 0xff) << 8) | (isb((s2 >>> 16) & 0xff) << 16) | (isb(s1 >>> 24) << 24)) ^ load<u32>(dk)) ^ x0);
  store<u32>(dst, ((isb(s1 & 0xff) | (isb((s0 >>> 8) & 0xff) << 8) | (isb((s3 >>> 16) & 0xff) << 16) | (isb(s2 >>> 24) << 24)) ^ load<u32>(dk, 4)) ^ x1, 4);
  store<u32>(dst, ((isb(s2 & 0xff) | (isb((s1 >>> 8) & 0xff) << 8) | (isb((s0 >>> 16) & 0xff) << 16) | (isb(s3 >>> 24) << 24)) ^ load<u32>(dk, 8)) ^ x2, 8);
  store<u32>(dst, ((isb(s3 & 0xff) | (isb((s2 >>> 8) & 0xff) << 8) | (isb((s1 >>> 16) & 0xff) << 16) | (isb(s0 >>> 24) << 24)) ^ load<u32>(dk, 12)) ^ x3, 12);
}

// ---- Exports for the TypeScript block API (the modes live in cbc.ts / gcm.ts) ----

export function aes_init(ctx: usize, key: usize, keyLen: u32): bool {
  return aesExpand(ctx, key, keyLen, true);
}

// aes_encrypt_blocks / aes_decrypt_blocks (ECB) are in aes-bs.ts: bitsliced, constant time.
