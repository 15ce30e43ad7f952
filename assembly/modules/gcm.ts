// The AES-GCM/GMAC module of the split build (assembly/link.ts): GCM and GMAC (NIST SP 800-38D) as ESP uses
// them (RFC 4106, RFC 4543), with its own copy of the bitsliced AES encryption it runs on, so that an
// application that uses only GCM does not load the AES-CBC module. Exports the GCM primitives of the single
// module (gcm_init, gcm_seal, gcm_open) and the functions the ESP module imports. No allocation.

import { gcmInit, gcmSeal, gcmComputeTag, gcmOpenBegin, gcmCtrAfterBegin, gcmWipeOpen, gcmWipeTag, TAG } from "../gcm";
import { bsWipe } from "../aes-bs";

export { gcm_init, gcm_seal, gcm_open } from "../gcm";

export function gcm_init_raw(ctx: usize, key: usize, keyLen: u32): bool {
  return gcmInit(ctx, key, keyLen);
}
export function gcm_seal_raw(ctx: usize, nonce: usize, aad: usize, aadLen: usize, src: usize, dst: usize, len: usize, tag: usize, tagLen: usize): void {
  gcmSeal(ctx, nonce, aad, aadLen, src, dst, len, tag, tagLen);
}
export function gcm_compute_tag(ctx: usize, nonce: usize, aad: usize, aadLen: usize, ct: usize, len: usize): void {
  gcmComputeTag(ctx, nonce, aad, aadLen, ct, len);
}
export function gcm_open_begin(ctx: usize, nonce: usize): void {
  gcmOpenBegin(ctx, nonce);
}
export function gcm_ctr_after_begin(ctx: usize, nonce: usize, src: usize, dst: usize, len: usize): void {
  gcmCtrAfterBegin(ctx, nonce, src, dst, len);
}
/** The tag buffer, the kept keystream and this module's bitsliced AES scratch, zeroed. */
export function gcm_wipe(): void {
  gcmWipeTag();
  gcmWipeOpen();
  bsWipe();
}
export function gcm_tag(): usize {
  return TAG;
}
export function static_end(): usize {
  return __heap_base;
}
