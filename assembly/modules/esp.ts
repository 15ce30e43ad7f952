// The ESP module of the split build (README "In the browser"; assembly/link.ts says how the split works),
// per packet: ESP security associations (RFC 4303), the anti-replay window (RFC 4303 3.4.3), TS 33.203
// Annex I key expansion and its KDF (TS 33.220 Annex B), HMAC (RFC 2104) and the hash framing, the
// key-context allocator and the I/O windows. The block ciphers and the hash compression functions are
// imported from the algorithm modules beside this one (aes, des, gcm, md5, sha1, sha256), which the loader
// links in or replaces with functions that refuse. The batch calls (sealBatch/openBatch in one WASM call,
// multi-buffer) are the `esp-batch` module's (modules/esp-batch.ts): this one has none of their code, and
// the binding seals and opens a batch packet by packet with it.
//
// Built with `--use MODULAR=1 --importMemory`: the loader creates the memory that every module shares.

export { ctx_alloc, ctx_free, io_ptr, param_ptr, live_contexts, live_bytes, wipe } from "../memory";
export { ct_equal } from "../bytes";
export { hash_init, hash_update, hash_final, hash_digest } from "../hash";
export { hmac_init, hmac_compute, hmac_begin, hmac_end } from "../hmac";
export { kdf_sha256 } from "../kdf";
export { expand_keys } from "../keys";
export { iv_pool_ptr } from "../memory";
export { replay_size, replay_init, replay_infer, replay_check, replay_commit, replay_accept_batch, replay_highest } from "../replay";
export { esp_sa_size, esp_keys_init, esp_sa_init, esp_seal, esp_open, esp_sa_seq, esp_sa_set_seq, esp_sa_set_replay_top } from "../esp";

/** The end of this module's static data (the key-context heap starts there): the build checks the layout. */
export function static_end(): usize {
  return __heap_base;
}
