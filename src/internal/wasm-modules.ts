// Which WASM modules of the split build (README "In the browser", assembly/link.ts) each algorithm needs
// (TS 33.203 Annex H names). Annex I key expansion runs in the ESP module, and for aes-gcm / aes-gmac its
// salt KDF (TS 33.220 Annex B) needs SHA-256:
//   hmac-md5-96 -> md5 (+ md5x4 for the batch calls)     des-ede3-cbc -> des
//   hmac-sha-1-96 -> sha1 (+ sha1x4 for the batch calls)  aes-cbc -> aes (+ aes8 for the batch calls)
//   aes-gmac -> gcm, sha256                               aes-gcm -> gcm, sha256
//   null -> nothing
// The ESP module is `esp` (per packet), or with the batch calls `esp-batch`. With `compact: true`,
// hmac-sha-1-96 takes `sha1-small` (the same SHA-1 with its rounds rolled: a quarter of the bytes, half the speed)
// in place of `sha1`, aes-cbc `aes-small` (constant-time AES one block at a time: a third of the bytes) in place of `aes`, and without aes-gcm and aes-gmac the ESP module is `esp-cbc` (per packet, without
// the GCM/GMAC code and the salt KDF; with `batch: true`, `esp-batch` still).

import type { EncryptionAlgorithm, IntegrityAlgorithm } from '../algorithms.js';
import { Ipsec3gppError } from '../errors.js';

/**
 * The modules of the split build: an ESP module (always one: `esp` per packet, or `esp-batch` with the
 * batch calls) and the algorithm modules (`aes8`: the AES block API and the batch calls' 8-lane AES;
 * `sha1-small`: the compact SHA-1, loaded in place of `sha1` with `compact: true`; `aes-small`: the compact AES, in place of `aes`; `esp-cbc`: the compact
 * per-packet ESP module without AES-GCM/GMAC).
 */
export type WasmModuleName = 'esp' | 'esp-batch' | 'esp-cbc' | 'aes' | 'aes8' | 'gcm' | 'des' | 'md5' | 'sha1' | 'sha256' | 'md5x4' | 'sha1x4' | 'sha1-small' | 'aes-small';

/** The algorithm modules in the order of the shared memory layout (scripts/build.mjs). */
/** @internal */
export const ALGORITHM_MODULES: readonly Exclude<WasmModuleName, 'esp' | 'esp-batch' | 'esp-cbc'>[] = ['aes', 'aes8', 'gcm', 'des', 'md5', 'sha1', 'sha256', 'md5x4', 'sha1x4', 'sha1-small', 'aes-small'];
/** The ESP modules (one of them is loaded). @internal */
export const ESP_MODULES: readonly WasmModuleName[] = ['esp', 'esp-batch', 'esp-cbc'];
/** The compact algorithm modules and the module each is linked in place of. @internal */
export const STANDS_IN: Readonly<Partial<Record<WasmModuleName, WasmModuleName>>> = { 'sha1-small': 'sha1', 'aes-small': 'aes' };

const NEEDS: Readonly<Record<IntegrityAlgorithm | EncryptionAlgorithm, readonly WasmModuleName[]>> = {
  'hmac-md5-96': ['md5'],
  'hmac-sha-1-96': ['sha1'],
  'aes-gmac': ['gcm', 'sha256'],
  'des-ede3-cbc': ['des'],
  'aes-cbc': ['aes'],
  'aes-gcm': ['gcm', 'sha256'],
  null: [],
};
const BATCH: Partial<Record<WasmModuleName, WasmModuleName>> = { md5: 'md5x4', sha1: 'sha1x4', aes: 'aes8' };

/**
 * The modules of the split build that `init({ algorithms, batch })` loads for these algorithms, in
 * loading order: the ESP module first (`esp`, or `esp-batch` with `batch: true`). Give an app's bundler
 * these `ipsec-3gpp/wasm/<name>.wasm` assets. With `compact: true`, `sha1-small` in place of `sha1`, `aes-small` in place of `aes`, and
 * `esp-cbc` in place of `esp` when neither aes-gcm nor aes-gmac is among the algorithms.
 *
 * @example
 * ```ts
 * import { wasmModules } from 'ipsec-3gpp';
 * wasmModules(['aes-cbc', 'hmac-sha-1-96']); // ['esp', 'aes', 'sha1']
 * wasmModules(['aes-cbc', 'hmac-sha-1-96'], { batch: true }); // ['esp-batch', 'aes', 'aes8', 'sha1', 'sha1x4']
 * wasmModules(['aes-cbc', 'hmac-sha-1-96'], { compact: true }); // ['esp-cbc', 'sha1-small', 'aes-small']
 * ```
 */
export function wasmModules(algorithms: ReadonlyArray<IntegrityAlgorithm | EncryptionAlgorithm>, options?: { batch?: boolean | undefined; compact?: boolean | undefined }): WasmModuleName[] {
  if (!Array.isArray(algorithms)) throw new Ipsec3gppError('INVALID_ARGUMENT', 'ipsec-3gpp: algorithms must be an array of alg/ealg names');
  const want = new Set<WasmModuleName>();
  for (const a of algorithms) {
    const name = String(a).toLowerCase() as IntegrityAlgorithm | EncryptionAlgorithm;
    if (!Object.prototype.hasOwnProperty.call(NEEDS, name)) {
      throw new Ipsec3gppError('UNKNOWN_ALGORITHM', `ipsec-3gpp: init({ algorithms }): unknown algorithm ${JSON.stringify(String(a))}`);
    }
    for (const m of NEEDS[name]) {
      want.add(options?.compact && (m === 'sha1' || m === 'aes') ? `${m}-small` : m);
      const x4 = BATCH[m];
      if (options?.batch && x4) want.add(x4);
    }
  }
  const esp = options?.batch ? 'esp-batch' : options?.compact && !want.has('gcm') ? 'esp-cbc' : 'esp';
  return [esp, ...ALGORITHM_MODULES.filter((m) => want.has(m))];
}

