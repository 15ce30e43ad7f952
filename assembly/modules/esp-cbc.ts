// The compact flavour's ESP module of the split build (README "In the browser", assembly/link.ts): the
// per-packet ESP module (modules/esp.ts) without AES-GCM and AES-GMAC, built with `--use NO_GCM=1`: its
// SAs, keys and packets have no GCM/GMAC paths and no TS 33.203 Annex I salt KDF (TS 33.220 Annex B,
// HMAC-SHA-256), and refuse those algorithms with ST_BAD_ALGORITHM. `init({ algorithms, compact: true })`
// loads it in place of `esp` when the algorithms include neither (wasmModules() says so).

export { ctx_alloc, ctx_free, io_ptr, param_ptr, live_contexts, live_bytes, wipe } from "../memory";
export { ct_equal } from "../bytes";
export { hash_init, hash_update, hash_final, hash_digest } from "../hash";
export { hmac_init, hmac_compute, hmac_begin, hmac_end } from "../hmac";
export { expand_keys } from "../keys";
export { iv_pool_ptr } from "../memory";
export { replay_size, replay_init, replay_infer, replay_check, replay_commit, replay_accept_batch, replay_highest } from "../replay";
export { esp_sa_size, esp_keys_init, esp_sa_init, esp_seal, esp_open, esp_sa_seq, esp_sa_set_seq, esp_sa_set_replay_top } from "../esp";

/** The end of this module's static data (the key-context heap starts there): the build checks the layout. */
export function static_end(): usize {
  return __heap_base;
}
