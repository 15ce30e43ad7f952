// Entry point of the WASM core: re-exports every function the TypeScript binding (src/internal/wasm.ts)
// calls. Layering follows the specs: block ciphers (aes, des) -> modes (cbc, gcm) -> hashes and MACs
// (md5, sha1, sha256, hash, hmac) -> KDF and TS 33.203 Annex I key expansion (kdf, keys) -> anti-replay
// (replay) -> ESP security associations (esp). Milenage (TS 35.206) for IMS AKA is a module of its own
// (assembly/aka.ts), so that an ESP-only application does not ship it.

export { ctx_alloc, ctx_free, io_ptr, param_ptr, live_contexts, live_bytes, wipe } from "./memory";
export { ct_equal } from "./bytes";
export { aes_init } from "./aes";
export { aes_encrypt_blocks, aes_decrypt_blocks, aes_bs_ecb, aes_bs_cbc_decrypt, aes_bs_cbc_encrypt_lanes } from "./aes-bs";
export { des_init, des3_init, des_ecb, des3_ecb } from "./des";
export { aes_cbc_encrypt, aes_cbc_decrypt, des3_cbc_encrypt, des3_cbc_decrypt } from "./cbc";
export { gcm_init, gcm_seal, gcm_open } from "./gcm";
export { hash_init, hash_update, hash_final, hash_digest } from "./hash";
export { hmac_init, hmac_compute, hmac_begin, hmac_end } from "./hmac";
export { hmac_x4 } from "./hmac-x4";
export { kdf_sha256 } from "./kdf";
export { expand_keys } from "./keys";
export { iv_pool_ptr, batch_ptr } from "./memory";
export { replay_size, replay_init, replay_infer, replay_check, replay_commit, replay_accept_batch, replay_highest } from "./replay";
export { esp_sa_size, esp_keys_init, esp_sa_init, esp_seal, esp_open, esp_sa_seq, esp_sa_set_seq, esp_sa_set_replay_top, esp_seal_batch, esp_open_batch, esp_simd_paths, simd_counters } from "./esp";
