// Calls between the ESP core and the algorithm code, in one place, so that one source builds two ways
// (scripts/build.mjs, README "In the browser"):
//   - the single module `core.wasm` (assembly/index.ts): every function below is a direct call to the
//     algorithm's own file and is inlined, exactly as if the caller imported that file;
//   - the split modules (assembly/modules/*.ts, built with `--use MODULAR=1`): the ESP module
//     (modules/esp.ts) imports these functions from the algorithm modules (modules/aes.ts, ...), which
//     share its memory, so that an application loads only the algorithms it uses. WebAssembly calls an
//     imported function of another instance directly (no JavaScript in between).
// The algorithm modules keep their state and scratch in their own static data (each is placed at its own
// memory base); the core passes them only addresses of contexts and buffers it owns.
//
// Wipes (gcmWipe, bsWipe) are called by the core after every exported call; when the algorithm module is
// not loaded, the loader (src/internal/wasm.ts) links them to functions that do nothing: that module has
// no state to wipe.

import { aesExpand as aesExpandD } from "./aes";
import { aesCbcEncrypt as aesCbcEncryptD, aesCbcDecrypt as aesCbcDecryptD, des3CbcEncrypt as des3CbcEncryptD, des3CbcDecrypt as des3CbcDecryptD } from "./cbc";
import { aesBsCbcDecrypt as aesBsCbcDecryptD, aesBsCbcEncryptLanes as aesBsCbcEncryptLanesD, bsWipe as bsWipeD, lanePasses } from "./aes-bs";
import { desKeySchedule as desKeyScheduleD } from "./des";
import {
  gcmInit as gcmInitD, gcmSeal as gcmSealD, gcmComputeTag as gcmComputeTagD, gcmOpenBegin as gcmOpenBeginD,
  gcmCtrAfterBegin as gcmCtrAfterBeginD, gcmWipeOpen, gcmWipeTag, TAG,
} from "./gcm";
import { sha1Compress as sha1CompressD } from "./sha1";
import { md5Compress as md5CompressD } from "./md5";
import { sha256Compress as sha256CompressD } from "./sha256";
import { sha1x4Compress as sha1x4CompressD } from "./sha1x4";
import { md5x4Compress as md5x4CompressD } from "./md5x4";

// ---- Hashes (modules/sha1.ts, md5.ts, sha256.ts, sha1x4.ts, md5x4.ts) ----

// @ts-ignore: decorator
@external("sha1", "sha1_compress") declare function sha1CompressX(h: usize, p: usize): void;
// @ts-ignore: decorator
@external("md5", "md5_compress") declare function md5CompressX(h: usize, p: usize): void;
// @ts-ignore: decorator
@external("sha256", "sha256_compress") declare function sha256CompressX(h: usize, p: usize): void;
// @ts-ignore: decorator
@external("sha1x4", "sha1x4_compress") declare function sha1x4CompressX(st: usize, p0: usize, p1: usize, p2: usize, p3: usize): void;
// @ts-ignore: decorator
@external("md5x4", "md5x4_compress") declare function md5x4CompressX(st: usize, p0: usize, p1: usize, p2: usize, p3: usize): void;

// @ts-ignore: decorator
@inline export function sha1Compress(h: usize, p: usize): void {
  // @ts-ignore: MODULAR is defined by --use MODULAR=1 (the split build)
  if (isDefined(MODULAR)) sha1CompressX(h, p); else sha1CompressD(h, p);
}
// @ts-ignore: decorator
@inline export function md5Compress(h: usize, p: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) md5CompressX(h, p); else md5CompressD(h, p);
}
// @ts-ignore: decorator
@inline export function sha256Compress(h: usize, p: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) sha256CompressX(h, p); else sha256CompressD(h, p);
}
// @ts-ignore: decorator
@inline export function sha1x4Compress(st: usize, p0: usize, p1: usize, p2: usize, p3: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) sha1x4CompressX(st, p0, p1, p2, p3); else sha1x4CompressD(st, p0, p1, p2, p3);
}
// @ts-ignore: decorator
@inline export function md5x4Compress(st: usize, p0: usize, p1: usize, p2: usize, p3: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) md5x4CompressX(st, p0, p1, p2, p3); else md5x4CompressD(st, p0, p1, p2, p3);
}

// ---- AES-CBC (modules/aes.ts; the 8-lane encryption and the T-table decryption: modules/aes8.ts) ----

// @ts-ignore: decorator
@external("aes", "aes_expand") declare function aesExpandX(ctx: usize, key: usize, keyLen: u32, withDecrypt: bool): bool;
// @ts-ignore: decorator
@external("aes", "aes_cbc_encrypt_tt") declare function aesCbcEncryptX(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void;
// @ts-ignore: decorator
@external("aes", "aes_cbc_decrypt_bs") declare function aesBsCbcDecryptX(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void;
// @ts-ignore: decorator
@external("aes8", "aes_cbc_encrypt_lanes") declare function aesBsCbcEncryptLanesX(ctx: usize, jobs: usize, count: u32): void;
// @ts-ignore: decorator
@external("aes", "aes_wipe") declare function bsWipeX(): void;
// @ts-ignore: decorator
@external("aes8", "aes_lane_passes") declare function aesLanePassesX(): u32;
// @ts-ignore: decorator
@external("aes8", "aes8_wipe") declare function lanesWipeX(): void;

// @ts-ignore: decorator
@inline export function aesExpand(ctx: usize, key: usize, keyLen: u32, withDecrypt: bool): bool {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) return aesExpandX(ctx, key, keyLen, withDecrypt); else return aesExpandD(ctx, key, keyLen, withDecrypt);
}
// @ts-ignore: decorator
@inline export function aesCbcEncrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) aesCbcEncryptX(ctx, iv, src, dst, len); else aesCbcEncryptD(ctx, iv, src, dst, len);
}
// @ts-ignore: decorator
@inline export function aesCbcDecrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  // The split build has no T-table decryption (esp.ts takes the bitsliced one there): never reached.
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) unreachable(); else aesCbcDecryptD(ctx, iv, src, dst, len);
}
// @ts-ignore: decorator
@inline export function aesBsCbcDecrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) aesBsCbcDecryptX(ctx, iv, src, dst, len); else aesBsCbcDecryptD(ctx, iv, src, dst, len);
}
// @ts-ignore: decorator
@inline export function aesBsCbcEncryptLanes(ctx: usize, jobs: usize, count: u32): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) aesBsCbcEncryptLanesX(ctx, jobs, count); else aesBsCbcEncryptLanesD(ctx, jobs, count);
}
/** Zeroes the bitsliced AES scratch (round-key planes, blocks). */
// @ts-ignore: decorator
@inline export function bsWipe(): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) bsWipeX(); else bsWipeD();
}
/**
 * Zeroes the scratch of the 8-lane CBC encryption (esp_seal_batch): the aes8 module's own in the split
 * build; in the single module the lanes share the scratch bsWipe zeroes, so nothing more.
 */
// @ts-ignore: decorator
@inline export function lanesWipe(): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) lanesWipeX();
}
/** 8-lane CBC encryption passes run so far (simd_counters). */
// @ts-ignore: decorator
@inline export function aesLanePasses(): u32 {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) return aesLanePassesX(); else return lanePasses;
}

// ---- DES-EDE3-CBC (modules/des.ts) ----

// @ts-ignore: decorator
@external("des", "des_schedule") declare function desKeyScheduleX(ks: usize, key: usize): void;
// @ts-ignore: decorator
@external("des", "des3_cbc_encrypt_raw") declare function des3CbcEncryptX(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void;
// @ts-ignore: decorator
@external("des", "des3_cbc_decrypt_raw") declare function des3CbcDecryptX(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void;

// @ts-ignore: decorator
@inline export function desKeySchedule(ks: usize, key: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) desKeyScheduleX(ks, key); else desKeyScheduleD(ks, key);
}
// @ts-ignore: decorator
@inline export function des3CbcEncrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) des3CbcEncryptX(ctx, iv, src, dst, len); else des3CbcEncryptD(ctx, iv, src, dst, len);
}
// @ts-ignore: decorator
@inline export function des3CbcDecrypt(ctx: usize, iv: usize, src: usize, dst: usize, len: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) des3CbcDecryptX(ctx, iv, src, dst, len); else des3CbcDecryptD(ctx, iv, src, dst, len);
}

// ---- AES-GCM and GMAC (modules/gcm.ts) ----

/**
 * False in the compact flavour's ESP module without AES-GCM/GMAC (modules/esp-cbc.ts, `--use NO_GCM=1`):
 * its SA, key and packet code has no GCM/GMAC paths and no Annex I salt KDF, and refuses those algorithms
 * (validCombination, keys.ts). True everywhere else.
 */
// @ts-ignore: NO_GCM is defined by --use NO_GCM=1
export const GCM_BUILT: bool = !isDefined(NO_GCM);
/**
 * SHA-256 in the hashing and HMAC code: false with GCM_BUILT (the split build loads the sha256 module only
 * for the GCM/GMAC salt KDF, so the esp-cbc module never has it; hash and HMAC refuse it there).
 */
export const SHA256_BUILT: bool = GCM_BUILT;

// @ts-ignore: decorator
@external("gcm", "gcm_init_raw") declare function gcmInitX(ctx: usize, key: usize, keyLen: u32): bool;
// @ts-ignore: decorator
@external("gcm", "gcm_seal_raw") declare function gcmSealX(ctx: usize, nonce: usize, aad: usize, aadLen: usize, src: usize, dst: usize, len: usize, tag: usize, tagLen: usize): void;
// @ts-ignore: decorator
@external("gcm", "gcm_compute_tag") declare function gcmComputeTagX(ctx: usize, nonce: usize, aad: usize, aadLen: usize, ct: usize, len: usize): void;
// @ts-ignore: decorator
@external("gcm", "gcm_open_begin") declare function gcmOpenBeginX(ctx: usize, nonce: usize): void;
// @ts-ignore: decorator
@external("gcm", "gcm_ctr_after_begin") declare function gcmCtrAfterBeginX(ctx: usize, nonce: usize, src: usize, dst: usize, len: usize): void;
// @ts-ignore: decorator
@external("gcm", "gcm_wipe") declare function gcmWipeX(): void;
// @ts-ignore: decorator
@external("gcm", "gcm_tag") declare function gcmTagX(): usize;

// @ts-ignore: decorator
@inline export function gcmInit(ctx: usize, key: usize, keyLen: u32): bool {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) return gcmInitX(ctx, key, keyLen); else return gcmInitD(ctx, key, keyLen);
}
// @ts-ignore: decorator
@inline export function gcmSeal(ctx: usize, nonce: usize, aad: usize, aadLen: usize, src: usize, dst: usize, len: usize, tag: usize, tagLen: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) gcmSealX(ctx, nonce, aad, aadLen, src, dst, len, tag, tagLen); else gcmSealD(ctx, nonce, aad, aadLen, src, dst, len, tag, tagLen);
}
// @ts-ignore: decorator
@inline export function gcmComputeTag(ctx: usize, nonce: usize, aad: usize, aadLen: usize, ct: usize, len: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) gcmComputeTagX(ctx, nonce, aad, aadLen, ct, len); else gcmComputeTagD(ctx, nonce, aad, aadLen, ct, len);
}
// @ts-ignore: decorator
@inline export function gcmOpenBegin(ctx: usize, nonce: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) gcmOpenBeginX(ctx, nonce); else gcmOpenBeginD(ctx, nonce);
}
// @ts-ignore: decorator
@inline export function gcmCtrAfterBegin(ctx: usize, nonce: usize, src: usize, dst: usize, len: usize): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) gcmCtrAfterBeginX(ctx, nonce, src, dst, len); else gcmCtrAfterBeginD(ctx, nonce, src, dst, len);
}
/** Zeroes the GCM scratch: the computed tag and the keystream kept between gcmOpenBegin and the CTR pass. */
// @ts-ignore: decorator
@inline export function gcmWipe(): void {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) gcmWipeX(); else { gcmWipeTag(); gcmWipeOpen(); }
}
/** The address of the tag computed by the last gcmComputeTag call (16 bytes). */
// @ts-ignore: decorator
@inline export function gcmTag(): usize {
  // @ts-ignore: see sha1Compress
  if (isDefined(MODULAR)) return gcmTagX(); else return TAG;
}
