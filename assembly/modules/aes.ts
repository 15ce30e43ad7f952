// The AES module of the split build (assembly/link.ts): AES (FIPS 197) with the T-table single-stream CBC
// encryption and the bitsliced constant-time code (CBC decryption, ECB, the 8-lane CBC encryption of the
// batch calls), CBC as ESP uses it (RFC 3602). Its exports are the AES primitives of the single module
// (aes_init, aes_*_blocks, aes_cbc_*) and the functions the ESP module imports (aes_expand, ...).
// No allocation: its tables and scratch are its own static data, placed by the build at its memory base.

import { aesExpand } from "../aes";
import { aesCbcEncrypt, aesCbcDecrypt } from "../cbc";
import { aesBsCbcDecrypt, aesBsCbcEncryptLanes, bsWipe, lanePasses } from "../aes-bs";

export { aes_init } from "../aes";
export { aes_encrypt_blocks, aes_decrypt_blocks, aes_bs_ecb, aes_bs_cbc_decrypt, aes_bs_cbc_encrypt_lanes } from "../aes-bs";
export { aes_cbc_encrypt, aes_cbc_decrypt } from "../cbc";

export function aes_expand(ctx: usize, key: usize, keyLen: u32, withDecrypt: bool): bool {
  return aesExpand(ctx, key, keyLen, withDecrypt);
}
export function aes_cbc_encrypt_tt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesCbcEncrypt(ctx, iv, src, dst, len);
}
export function aes_cbc_decrypt_tt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesCbcDecrypt(ctx, iv, src, dst, len);
}
export function aes_cbc_decrypt_bs(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  aesBsCbcDecrypt(ctx, iv, src, dst, len);
}
export function aes_cbc_encrypt_lanes(ctx: usize, jobs: usize, count: u32): void {
  aesBsCbcEncryptLanes(ctx, jobs, count);
}
export function aes_wipe(): void {
  bsWipe();
}
export function aes_lane_passes(): u32 {
  return lanePasses;
}
export function static_end(): usize {
  return __heap_base;
}
