// The `aes8` module of the split build (assembly/link.ts): AES (FIPS 197) eight blocks at a time,
// bitsliced and constant time, for what the per-packet `aes` module (modules/aes.ts) leaves out: the
// block API of the binding (Aes: ECB, aes_bs_*), and for the batch calls (esp_seal_batch) the 8-lane CBC
// encryption across packets (RFC 3602). Loaded with `init({ algorithms: ['aes-cbc'], batch: true })`, or for Aes.
// No allocation: its tables and scratch are its own static data, placed by the build at its memory base.

import { aesBsCbcEncryptLanes, bsWipe, lanePasses } from "../aes-bs";

export { aes_encrypt_blocks, aes_decrypt_blocks, aes_bs_ecb, aes_bs_cbc_decrypt, aes_bs_cbc_encrypt_lanes } from "../aes-bs";

export function aes_cbc_encrypt_lanes(ctx: usize, jobs: usize, count: u32): void {
  aesBsCbcEncryptLanes(ctx, jobs, count);
}
/** This module's bitsliced scratch (round-key planes, lanes), zeroed. */
export function aes8_wipe(): void {
  bsWipe();
}
export function aes_lane_passes(): u32 {
  return lanePasses;
}
export function static_end(): usize {
  return __heap_base;
}
