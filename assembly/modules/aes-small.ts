// The compact flavour's AES module of the split build (README "In the browser", assembly/link.ts): the same
// exports as modules/aes.ts, which the ESP modules import from "aes" and the binding calls (aes_init,
// aes_cbc_*: AesCbc), from the compact constant-time AES of aes-small.ts (one block at a time, the S-box
// through i8x16.swizzle) in place of the T-table encryption and the bitsliced decryption.
// `init({ algorithms, compact: true })` links it in place of `aes`. No allocation, no secret in its static data.

import { aesSmallExpand, aesSmallCbcEncrypt, aesSmallCbcDecrypt } from "../aes-small";

export function aes_expand(ctx: usize, key: usize, keyLen: u32, withDecrypt: bool): bool {
  return aesSmallExpand(ctx, key, keyLen, withDecrypt);
}
export function aes_init(ctx: usize, key: usize, keyLen: u32): bool {
  return aesSmallExpand(ctx, key, keyLen, true);
}
export function aes_cbc_encrypt_tt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesSmallCbcEncrypt(ctx, iv, src, dst, len);
}
export function aes_cbc_encrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesSmallCbcEncrypt(ctx, iv, src, dst, len);
}
export function aes_cbc_decrypt_bs(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesSmallCbcDecrypt(ctx, iv, src, dst, len);
}
export function aes_cbc_decrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesSmallCbcDecrypt(ctx, iv, src, dst, len);
}
/** Nothing to zero: this module keeps no key-derived data of its own (its import by the ESP modules stays). */
export function aes_wipe(): void {}
export function static_end(): usize {
  return __heap_base;
}
