// The AES module of the split build (assembly/link.ts): AES (FIPS 197) as ESP's per-packet calls use it in
// CBC (RFC 3602): the key expansion, the T-table single-stream CBC encryption and the bitsliced
// constant-time CBC decryption; and the CBC primitives of the binding (aes_init, aes_cbc_*, AesCbc).
// The block API (Aes: ECB) and the 8-lane CBC encryption of the batch calls are the `aes8` module's
// (modules/aes8.ts), so that an application sealing packet by packet does not load them.
// No allocation: its tables and scratch are its own static data, placed by the build at its memory base.

import { aesExpand } from "../aes";
import { aesCbcEncrypt } from "../cbc";
import { aesBsCbcDecrypt, bsWipe } from "../aes-bs";

export { aes_init } from "../aes";
export { aes_cbc_encrypt, aes_cbc_decrypt } from "../cbc";

export function aes_expand(ctx: usize, key: usize, keyLen: u32, withDecrypt: bool): bool {
  return aesExpand(ctx, key, keyLen, withDecrypt);
}
export function aes_cbc_encrypt_tt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesCbcEncrypt(ctx, iv, src, dst, len);
}
export function aes_cbc_decrypt_bs(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesBsCbcDecrypt(ctx, iv, src, dst, len);
}
/** This module's bitsliced scratch (round-key planes, blocks), zeroed. */
export function aes_wipe(): void {
  bsWipe();
}
export function static_end(): usize {
  return __heap_base;
}
