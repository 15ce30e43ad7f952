// The generic key derivation function of TS 33.220 Annex B.2: derived key = HMAC-SHA-256(Key, S) with
// S = FC || P0 || L0 || P1 || L1 || ..., each Li the 2-octet big-endian length of Pi. Building S is the
// caller's job (keys.ts for the Annex I salts; the TypeScript `kdf()` for general use).

import { HASH_SHA256, HMAC_CTX_SIZE } from "../src/constants";
import { hmacInit, hmacCompute, hmacWipeScratch } from "./hmac";

const KDF_CTX: usize = memory.data(HMAC_CTX_SIZE, 16);

/** Writes the 32-byte KDF output for `key` and `s` to `out`; every HMAC state it used is wiped afterwards. */
export function kdfSha256(key: usize, keyLen: usize, s: usize, sLen: usize, out: usize): void {
  hmacInit(KDF_CTX, HASH_SHA256, key, keyLen);
  hmacCompute(KDF_CTX, s, sLen, out);
  memory.fill(KDF_CTX, 0, HMAC_CTX_SIZE);
  hmacWipeScratch();
}

export function kdf_sha256(key: usize, keyLen: usize, s: usize, sLen: usize, out: usize): void {
  kdfSha256(key, keyLen, s, sLen, out);
}
