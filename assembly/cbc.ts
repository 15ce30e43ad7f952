// CBC mode (NIST SP 800-38A 6.2) for AES (RFC 3602) and DES-EDE3 (RFC 2451), as ESP uses it: no cipher
// padding (ESP pads the plaintext itself, RFC 4303 2.4), so lengths are multiples of the block size;
// the caller checks that.
//
// `iv` is read as the chaining value and overwritten with the last ciphertext block, so a long input can
// be processed in several calls (the TypeScript layer does that for inputs larger than the I/O window).
// src and dst may be the same buffer.

import { loadBE32, storeBE32 } from "./bytes";
import { aesEncryptBlock, aesDecryptBlock } from "./aes";
import { des3Block, des3ResultHi, des3ResultLo } from "./des";
import { aesBsCbcDecrypt, bsWipe } from "./aes-bs";

export function aesCbcEncrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  // AES words are little-endian (see aes.ts): plain loads, no byte swaps.
  let c0 = load<u32>(iv), c1 = load<u32>(iv, 4), c2 = load<u32>(iv, 8), c3 = load<u32>(iv, 12);
  for (let off: usize = 0; off + 16 <= len; off += 16) {
    const out = dst + off;
    aesEncryptBlock(ctx, src + off, out, c0, c1, c2, c3);
    c0 = load<u32>(out); c1 = load<u32>(out, 4); c2 = load<u32>(out, 8); c3 = load<u32>(out, 12);
  }
  store<u32>(iv, c0); store<u32>(iv, c1, 4); store<u32>(iv, c2, 8); store<u32>(iv, c3, 12);
}

export function aesCbcDecrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  let c0 = load<u32>(iv), c1 = load<u32>(iv, 4), c2 = load<u32>(iv, 8), c3 = load<u32>(iv, 12);
  for (let off: usize = 0; off + 16 <= len; off += 16) {
    const inp = src + off;
    // Keep this ciphertext block before a possibly in-place write.
    const n0 = load<u32>(inp), n1 = load<u32>(inp, 4), n2 = load<u32>(inp, 8), n3 = load<u32>(inp, 12);
    aesDecryptBlock(ctx, inp, dst + off, c0, c1, c2, c3);
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
  }
  store<u32>(iv, c0); store<u32>(iv, c1, 4); store<u32>(iv, c2, 8); store<u32>(iv, c3, 12);
}

export function des3CbcEncrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  let hi = loadBE32(iv), lo = loadBE32(iv + 4);
  for (let off: usize = 0; off + 8 <= len; off += 8) {
    des3Block(ctx, loadBE32(src + off) ^ hi, loadBE32(src + off + 4) ^ lo, false);
    hi = des3ResultHi();
    lo = des3ResultLo();
    storeBE32(dst + off, hi);
    storeBE32(dst + off + 4, lo);
  }
  storeBE32(iv, hi); storeBE32(iv + 4, lo);
}

export function des3CbcDecrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  let hi = loadBE32(iv), lo = loadBE32(iv + 4);
  for (let off: usize = 0; off + 8 <= len; off += 8) {
    const nhi = loadBE32(src + off), nlo = loadBE32(src + off + 4);
    des3Block(ctx, nhi, nlo, true);
    storeBE32(dst + off, des3ResultHi() ^ hi);
    storeBE32(dst + off + 4, des3ResultLo() ^ lo);
    hi = nhi; lo = nlo;
  }
  storeBE32(iv, hi); storeBE32(iv + 4, lo);
}

// ---- Exports ----

export function aes_cbc_encrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesCbcEncrypt(ctx, iv, src, dst, len);
}

/** Bitsliced (constant time, aes-bs.ts), as ESP's decryption; the T-table aesCbcDecrypt stays for the paths that ask for it. */
export function aes_cbc_decrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesBsCbcDecrypt(ctx, iv, src, dst, len);
  bsWipe();
}

export function des3_cbc_encrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  des3CbcEncrypt(ctx, iv, src, dst, len);
}

export function des3_cbc_decrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  des3CbcDecrypt(ctx, iv, src, dst, len);
}
