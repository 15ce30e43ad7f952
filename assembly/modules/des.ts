// The DES-EDE3-CBC module of the split build (assembly/link.ts): DES and triple DES (FIPS 46-3, SP 800-67)
// in CBC as ESP uses it (RFC 2451). Exports the DES primitives of the single module and the functions the
// ESP module imports. No allocation.

import { desKeySchedule } from "../des";
import { des3CbcEncrypt, des3CbcDecrypt } from "../cbc";

export { des_init, des3_init, des_ecb, des3_ecb } from "../des";
export { des3_cbc_encrypt, des3_cbc_decrypt } from "../cbc";

export function des_schedule(ks: usize, key: usize): void {
  desKeySchedule(ks, key);
}
export function des3_cbc_encrypt_raw(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  des3CbcEncrypt(ctx, iv, src, dst, len);
}
export function des3_cbc_decrypt_raw(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  des3CbcDecrypt(ctx, iv, src, dst, len);
}
export function static_end(): usize {
  return __heap_base;
}
