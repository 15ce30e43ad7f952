// The `esp-batch` module of the split build: the per-packet ESP module (modules/esp.ts, which says what it
// holds) and the batch calls, sealBatch/openBatch in one WASM call per batch (RFC 4303 per packet): the
// 4-lane HMAC across packets (hmac-x4.ts, with the md5x4/sha1x4 modules) and the 8-lane AES-CBC encryption
// (the aes8 module). `init({ algorithms, batch: true })` loads it in place of `esp`.
//
// Built with `--use MODULAR=1 --importMemory`, at the same memory base as `esp` (one of the two is loaded).

export * from "./esp";
export { hmac_x4 } from "../hmac-x4";
export { batch_ptr } from "../memory";
export { esp_seal_batch, esp_open_batch, esp_simd_paths, simd_counters } from "../esp";
