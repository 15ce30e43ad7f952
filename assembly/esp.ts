// ESP (RFC 4303) security associations: packet protection and processing in one WASM call per packet.
//
// Outbound (RFC 4303 3.3): payload || padding 1, 2, 3, ... || pad length || next header, padded to the
// cipher block (CBC) or to 4 octets (null, GCM, GMAC: the ICV starts 4-octet aligned, 2.4); encrypted;
// sequence number incremented, never cycling (3.3.3); ICV over SPI || Seq || IV || ciphertext
// (|| Seq-high with ESN, 2.2.1), encrypt-then-MAC.
//
// Inbound (RFC 4303 3.4), all inside one call so that a rejected packet changes nothing:
//   1. length and format; SPI equal to this SA's;
//   2. replay pre-check on the clear sequence number (ESN high bits inferred, A2.2), before any crypto;
//   3. ICV in constant time (HMAC-*-96, or the GCM/GMAC tag);
//   4. decryption, then pad length and padding (1, 2, 3, ...) checks;
//   5. window commit, only now: after integrity (3.4.3) and also after the padding check, so a packet
//      rejected for its padding leaves the SA exactly as it was (the commit's position relative to
//      decryption is not observable: the call is atomic);
//   6. next header 59 (dummy packet, 2.6) is reported as such and dropped by the caller.
//
// Algorithms: HMAC-MD5-96 (RFC 2403), HMAC-SHA-1-96 (RFC 2404), DES-EDE3-CBC (RFC 2451), AES-CBC
// (RFC 3602), AES-GCM with alg=null (RFC 4106), AES-GMAC with ealg=null (RFC 4543), NULL (RFC 2410).
//
// GCM/GMAC IVs (RFC 4106 3.1: never reused under a key). TS 33.203 gives the four SAs of a set the same
// key and salt, so a per-SA counter alone would repeat nonces across the set. Without ESN the explicit IV
// is SPI || low 32 bits of the sequence number: the SPIs of a set are distinct and the sequence number
// never cycles, so IVs are unique under the shared key. With ESN (not used by IMS) the IV is the 64-bit
// sequence number, which is unique per SA: do not share a key between ESN SAs.
//
// CBC IVs come from a pool of CSPRNG bytes that the TypeScript layer fills (crypto.getRandomValues); a
// CBC IV is never derived from a previous ciphertext block.
//
// SA context layout (SA_FIXED_SIZE bytes, then for an inbound SA the replay window):
//   +0   u32 SPI            +4  u32 flags (SA_OUTBOUND, SA_ESN)
//   +8   u32 alg            +12 u32 ealg
//   +16  u64 outbound: last sequence number sent
//   +24  u32 ICV length     +28 u32 IV length
//   +32  u32 padding alignment (cipher block, or 4)
//   +36  4-byte salt (GCM/GMAC)
//   +40  u32 cipher kind (K_*)
//   +44  u32 address of the SA's key context
//   +48  replay window (inbound): header, then its ring
//
// Key context (ESP_KEYS_SIZE bytes), apart from the SA so that the four SAs of a set, which TS 33.203
// Annex I gives the same keys, share one (a P-CSCF holds 4 SAs per registration: one key context of
// 640 bytes instead of four copies):
//   +0   HMAC context (HMAC_CTX_SIZE: 72 bytes used)
//   +72  4-byte salt (GCM/GMAC)
//   +80  cipher context: AES (CBC: encryption and decryption schedules), DES-EDE3, or GCM (key schedule
//        and hash key)

import {
  ALG_HMAC_MD5_96, ALG_HMAC_SHA1_96, ALG_AES_GMAC,
  EALG_DES_EDE3_CBC, EALG_AES_CBC, EALG_AES_GCM,
  HASH_MD5, HASH_SHA1, SA_OUTBOUND, BATCH_MAX, SA_ESN, SA_FIXED_SIZE, REPLAY_HDR_SIZE, BATCH_RECORD_SIZE, NEXT_HEADER_DUMMY,
  ST_OK, ST_BAD_ALGORITHM, ST_BAD_LENGTH, ST_WEAK_KEY, ST_ESP_MALFORMED, ST_ESP_SPI, ST_ESP_INTEGRITY,
  ST_ESP_PADDING, ST_ESP_DUMMY, ST_SEQ_EXHAUSTED, ST_ESP_DIRECTION,
} from "../src/constants";
import { loadBE32, storeBE32, storeBE64, ct_equal, zero16, copySmall } from "./bytes";
import {
  aesExpand, desKeySchedule, aesCbcEncrypt, aesCbcDecrypt, des3CbcEncrypt, des3CbcDecrypt, aesBsCbcDecrypt,
  aesBsCbcEncryptLanes, bsWipe, lanesWipe, aesLanePasses, gcmInit, gcmSeal, gcmComputeTag, gcmOpenBegin, gcmCtrAfterBegin, gcmWipe, gcmTag,
  GCM_BUILT,
} from "./link";
import { AES_JOB_SIZE } from "./aes-bs";
import { hmacInit, hmacBegin, hmacEnd, hmacCompute } from "./hmac";
import { hashUpdate } from "./hash";
import { steps as hmacX4Steps } from "./hmac-x4";
import { hmacX4, JOB_SIZE, JOB_CTX, JOB_MSG, JOB_LEN, JOB_SEQHI, JOB_FLAGS, JOB_USER, JOB_MAC, JOB_APPEND_SEQHI } from "./hmac-x4";
import { validCombination } from "./keys";
import { replayInit, replayInfer, replayCheck, replayCommit, ringBlocks } from "./replay";

const SA_SPI: usize = 0;
const SA_FLAGS: usize = 4;
const SA_SEQ: usize = 16;
const SA_ICV: usize = 24;
const SA_IVLEN: usize = 28;
const SA_ALIGN: usize = 32;
const SA_SALT: usize = 36;
const SA_KIND: usize = 40;
const SA_KEYS: usize = 44;
const SA_REPLAY: usize = 48;
const KEYS_HMAC: usize = 0;
const KEYS_SALT: usize = 72; // GCM/GMAC salt (those have no HMAC context; HMAC uses +0..+72 only)
const KEYS_CIPHER: usize = 80;

/** The HMAC context of an SA (in its key context). */
@inline function hmacOf(sa: usize): usize {
  return <usize>load<u32>(sa + SA_KEYS) + KEYS_HMAC;
}

/** The cipher context of an SA (in its key context). */
@inline function cipherOf(sa: usize): usize {
  return <usize>load<u32>(sa + SA_KEYS) + KEYS_CIPHER;
}

const K_NONE: u32 = 0;
const K_AES_CBC: u32 = 1;
const K_DES3_CBC: u32 = 2;
const K_GCM: u32 = 3;
const K_GMAC: u32 = 4;

const IV_SCRATCH: usize = memory.data(16, 16); // CBC chaining value (the packet's IV field stays intact)
const NONCE: usize = memory.data(16, 16); // salt || explicit IV
const AAD: usize = memory.data(16, 16); // SPI || (Seq-high) || Seq for GCM
const MAC: usize = memory.data(32, 16); // full HMAC output
const SEQ_HI: usize = memory.data(4, 4); // ESN high word appended to the ICV input
const HSTATE: usize = memory.data(112, 16); // hash state for ESN ICVs (two-part input)
// GMAC with ESN: AAD = SPI || Seq-high || Seq-low || IV || payload ..., assembled here (fits a packet).
const GMAC_AAD: usize = memory.data(65536 + 64, 16);

/**
 * Zeroes the per-packet scratch after every exported call: the GCM/GMAC nonce (its salt derives from
 * CK/IK and outlives no SA), the full HMAC output and the ESN hash state (both derive from the key), the
 * CBC chaining value and the computed tag. GMAC_AAD holds only packet bytes (integrity-only: in clear on
 * the wire) and is left.
 */
function wipeScratch(): void {
  zero16(NONCE, 16);
  zero16(AAD, 16);
  zero16(MAC, 32);
  zero16(HSTATE, 112);
  zero16(IV_SCRATCH, 16);
  if (GCM_BUILT) gcmWipe();
  bsWipe();
}

/** Bytes needed for an SA with replay window `w` (outbound SAs pass w = 0); its keys are apart (ESP_KEYS_SIZE). */
export function esp_sa_size(w: u32): u32 {
  return <u32>SA_FIXED_SIZE + (w == 0 ? 0 : <u32>REPLAY_HDR_SIZE + (ringBlocks(w) << 2));
}

/**
 * Initialises a key context (ESP_KEYS_SIZE bytes) for `alg`/`ealg`. Keys are already expanded (TS 33.203
 * Annex I, keys.ts). Returns ST_OK, ST_BAD_ALGORITHM, ST_BAD_LENGTH (key lengths) or ST_WEAK_KEY.
 */
export function esp_keys_init(keys: usize, alg: u32, ealg: u32, encKey: usize, encLen: u32, authKey: usize, authLen: u32, salt: usize): i32 {
  if (!validCombination(alg, ealg)) return ST_BAD_ALGORITHM;
  const cipher = keys + KEYS_CIPHER;
  if (alg == ALG_HMAC_MD5_96 || alg == ALG_HMAC_SHA1_96) {
    if (authLen != (alg == ALG_HMAC_MD5_96 ? 16 : 20)) return ST_BAD_LENGTH;
    hmacInit(keys + KEYS_HMAC, alg == ALG_HMAC_MD5_96 ? HASH_MD5 : HASH_SHA1, authKey, authLen);
  }
  if (ealg == EALG_AES_CBC) {
    if (encLen != 16 && encLen != 24 && encLen != 32) return ST_BAD_LENGTH;
    aesExpand(cipher, encKey, encLen, true); // both schedules: the context serves outbound and inbound SAs
  } else if (ealg == EALG_DES_EDE3_CBC) {
    if (encLen != 24) return ST_BAD_LENGTH;
    for (let i: usize = 0; i < 8; i++) {
      // RFC 2451: K1 == K2 or K2 == K3 (parity ignored) is single DES.
      if (((load<u8>(encKey + i) ^ load<u8>(encKey + 8 + i)) & 0xfe) != 0) break;
      if (i == 7) return ST_WEAK_KEY;
    }
    for (let i: usize = 0; i < 8; i++) {
      if (((load<u8>(encKey + 8 + i) ^ load<u8>(encKey + 16 + i)) & 0xfe) != 0) break;
      if (i == 7) return ST_WEAK_KEY;
    }
    desKeySchedule(cipher, encKey);
    desKeySchedule(cipher + 128, encKey + 8);
    desKeySchedule(cipher + 256, encKey + 16);
  } else if (GCM_BUILT && ealg == EALG_AES_GCM) {
    if (encLen != 16 && encLen != 24 && encLen != 32) return ST_BAD_LENGTH;
    gcmInit(cipher, encKey, encLen);
    memory.copy(keys + KEYS_SALT, salt, 4);
  } else if (GCM_BUILT && alg == ALG_AES_GMAC) {
    if (authLen != 16 && authLen != 24 && authLen != 32) return ST_BAD_LENGTH;
    gcmInit(cipher, authKey, authLen);
    memory.copy(keys + KEYS_SALT, salt, 4);
  }
  return ST_OK;
}

/**
 * Initialises an SA over the key context `keys` (esp_keys_init with the same alg/ealg; several SAs may
 * share it); a GCM/GMAC SA takes its salt from there. Returns ST_OK or ST_BAD_ALGORITHM.
 */
export function esp_sa_init(sa: usize, keys: usize, spi: u32, flags: u32, alg: u32, ealg: u32, window: u32): i32 {
  if (!validCombination(alg, ealg) || keys == 0) return ST_BAD_ALGORITHM;
  store<u32>(sa + SA_SPI, spi);
  store<u32>(sa + SA_FLAGS, flags);
  store<u32>(sa, alg, 8);
  store<u32>(sa, ealg, 12);
  store<u64>(sa + SA_SEQ, 0);
  store<u32>(sa + SA_KEYS, <u32>keys);
  let icv: u32 = 0, ivLen: u32 = 0, align: u32 = 4, kind = K_NONE;
  if (alg == ALG_HMAC_MD5_96 || alg == ALG_HMAC_SHA1_96) icv = 12;
  if (ealg == EALG_AES_CBC) {
    ivLen = 16; align = 16; kind = K_AES_CBC;
  } else if (ealg == EALG_DES_EDE3_CBC) {
    ivLen = 8; align = 8; kind = K_DES3_CBC;
  } else if (GCM_BUILT && ealg == EALG_AES_GCM) {
    memory.copy(sa + SA_SALT, keys + KEYS_SALT, 4);
    ivLen = 8; icv = 16; kind = K_GCM;
  } else if (GCM_BUILT && alg == ALG_AES_GMAC) {
    memory.copy(sa + SA_SALT, keys + KEYS_SALT, 4);
    ivLen = 8; icv = 16; kind = K_GMAC;
  }
  store<u32>(sa + SA_ICV, icv);
  store<u32>(sa + SA_IVLEN, ivLen);
  store<u32>(sa + SA_ALIGN, align);
  store<u32>(sa + SA_KIND, kind);
  if ((flags & SA_OUTBOUND) == 0) replayInit(sa + SA_REPLAY, window, flags & SA_ESN);
  return ST_OK;
}

/** GCM/GMAC nonce (salt || IV) and, for GCM, the AAD SPI || (Seq-high) || Seq-low. Returns the AAD length. */
@inline function gcmParams(sa: usize, buf: usize, seq: u64, esn: bool): usize {
  memory.copy(NONCE, sa + SA_SALT, 4);
  memory.copy(NONCE + 4, buf + 8, 8);
  memory.copy(AAD, buf, 4);
  if (esn) {
    storeBE32(AAD + 4, <u32>(seq >> 32));
    memory.copy(AAD + 8, buf + 4, 4);
    return 12;
  }
  memory.copy(AAD + 4, buf + 4, 4);
  return 8;
}

/** GMAC with ESN: the AAD with Seq-high inserted, assembled in GMAC_AAD. Returns its length. */
@inline function gmacEsnAad(buf: usize, authLen: usize, seq: u64): usize {
  memory.copy(GMAC_AAD, buf, 4);
  storeBE32(GMAC_AAD + 4, <u32>(seq >> 32));
  memory.copy(GMAC_AAD + 8, buf + 4, authLen - 4);
  return authLen + 4;
}

/** Full HMAC over the first `len` bytes at `buf` (|| Seq-high with ESN) into MAC. */
@inline function icvHmac(sa: usize, buf: usize, len: usize, seq: u64, esn: bool): void {
  if (esn) {
    hmacBegin(hmacOf(sa), HSTATE);
    hashUpdate(HSTATE, buf, len);
    storeBE32(SEQ_HI, <u32>(seq >> 32));
    hashUpdate(HSTATE, SEQ_HI, 4);
    hmacEnd(hmacOf(sa), HSTATE, MAC);
  } else {
    hmacCompute(hmacOf(sa), buf, len, MAC);
  }
}

/**
 * Protects one packet in place. The payload is already at buf + 8 + IV length; `iv` points at IV
 * length random bytes (CBC). Writes SPI | Seq | IV | ciphertext | ICV from `buf` and returns its length,
 * or a negated status (ST_SEQ_EXHAUSTED, ST_ESP_DIRECTION).
 */
export function esp_seal(sa: usize, buf: usize, payloadLen: u32, nextHeader: u32, iv: usize): i32 {
  const r = seal(sa, buf, payloadLen, nextHeader, iv, 0, 0);
  wipeScratch();
  return r;
}

/**
 * With `job` non-zero and an HMAC SA, the ICV is not computed: the job record is filled in for
 * multi-buffer HMAC (hmac-x4.ts) and the caller writes the ICV later (esp_seal_batch). With `aesJob`
 * non-zero and AES-CBC, the packet is not encrypted either: the record (data, length, IV address, AES
 * context) is filled in for the 8-lane bitsliced CBC (aes-bs.ts), or for the caller's T-table CBC.
 */
function seal(sa: usize, buf: usize, payloadLen: u32, nextHeader: u32, iv: usize, job: usize, aesJob: usize): i32 {
  const flags = load<u32>(sa + SA_FLAGS);
  if ((flags & SA_OUTBOUND) == 0) return -ST_ESP_DIRECTION;
  const esn = (flags & SA_ESN) != 0;
  let seq = load<u64>(sa + SA_SEQ);
  // RFC 4303 3.3.3: the counter must not cycle; 2^32 - 1 (2^64 - 1 with ESN) is the last number.
  if (esn ? seq == 0xffffffffffffffff : seq >= 0xffffffff) return -ST_SEQ_EXHAUSTED;
  seq++;
  store<u64>(sa + SA_SEQ, seq);

  const ivLen = <usize>load<u32>(sa + SA_IVLEN);
  const align = <usize>load<u32>(sa + SA_ALIGN);
  const icvLen = <usize>load<u32>(sa + SA_ICV);
  const kind = load<u32>(sa + SA_KIND);
  const ct = buf + 8 + ivLen;
  const plen = <usize>payloadLen;
  const rem = (plen + 2) % align;
  const pad: usize = rem == 0 ? 0 : align - rem;
  for (let i: usize = 0; i < pad; i++) store<u8>(ct + plen + i, <u8>(i + 1));
  store<u8>(ct + plen + pad, <u8>pad);
  store<u8>(ct + plen + pad + 1, <u8>nextHeader);
  const ctLen: usize = plen + pad + 2;

  storeBE32(buf, load<u32>(sa + SA_SPI));
  storeBE32(buf + 4, <u32>seq);
  if (kind == K_AES_CBC || kind == K_DES3_CBC) {
    copySmall(buf + 8, iv, ivLen);
    copySmall(IV_SCRATCH, iv, ivLen);
    if (kind == K_AES_CBC && aesJob != 0) {
      store<u32>(aesJob, <u32>ct);
      store<u32>(aesJob, <u32>ctLen, 4);
      store<u32>(aesJob, <u32>(buf + 8), 8);
      store<u32>(aesJob, <u32>(cipherOf(sa)), 12);
    } else if (kind == K_AES_CBC) aesCbcEncrypt(cipherOf(sa), IV_SCRATCH, ct, ct, ctLen);
    else des3CbcEncrypt(cipherOf(sa), IV_SCRATCH, ct, ct, ctLen);
  } else if (GCM_BUILT && (kind == K_GCM || kind == K_GMAC)) {
    if (esn) {
      storeBE64(buf + 8, seq);
    } else {
      memory.copy(buf + 8, buf, 4); // SPI
      storeBE32(buf + 12, <u32>seq);
    }
  }
  const authLen: usize = 8 + ivLen + ctLen;
  if (GCM_BUILT && kind == K_GCM) {
    const aadLen = gcmParams(sa, buf, seq, esn);
    gcmSeal(cipherOf(sa), NONCE, AAD, aadLen, ct, ct, ctLen, ct + ctLen, 16);
  } else if (GCM_BUILT && kind == K_GMAC) {
    gcmParams(sa, buf, seq, esn);
    if (esn) {
      const aadLen = gmacEsnAad(buf, authLen, seq);
      gcmSeal(cipherOf(sa), NONCE, GMAC_AAD, aadLen, 0, 0, 0, ct + ctLen, 16);
    } else {
      gcmSeal(cipherOf(sa), NONCE, buf, authLen, 0, 0, 0, ct + ctLen, 16);
    }
  } else if (icvLen != 0) {
    if (job != 0) {
      setJob(job, sa, buf, authLen, seq, esn);
    } else {
      icvHmac(sa, buf, authLen, seq, esn);
      copySmall(buf + authLen, MAC, icvLen);
    }
  }
  return <i32>(authLen + icvLen);
}

/**
 * Processes one received packet of `len` bytes at `buf` in place (see the order above). On success
 * returns the payload length (the payload is at buf + 8 + IV length) and writes the next header (u32)
 * and the full sequence number (u64) to `res`. Otherwise returns a negated status: ST_ESP_MALFORMED,
 * ST_ESP_SPI, ST_REPLAY_TOO_OLD, ST_REPLAY_DUPLICATE, ST_ESP_INTEGRITY, ST_ESP_PADDING, ST_ESP_DUMMY
 * (authentic dummy packet: counted, to be dropped), ST_ESP_DIRECTION.
 */
export function esp_open(sa: usize, buf: usize, len: u32, res: usize): i32 {
  const r = open(sa, buf, len, res, 0);
  wipeScratch();
  return r;
}

/**
 * `pre`, when non-zero, is a job record whose MAC was computed ahead (esp_open_batch) for the sequence
 * number in its JOB_USER field; it is used when that is the number inferred now, else the ICV is computed
 * here as for a single packet.
 */
function open(sa: usize, buf: usize, len: u32, res: usize, pre: usize): i32 {
  const flags = load<u32>(sa + SA_FLAGS);
  if ((flags & SA_OUTBOUND) != 0) return -ST_ESP_DIRECTION;
  const esn = (flags & SA_ESN) != 0;
  const ivLen = <usize>load<u32>(sa + SA_IVLEN);
  const align = <usize>load<u32>(sa + SA_ALIGN);
  const icvLen = <usize>load<u32>(sa + SA_ICV);
  const kind = load<u32>(sa + SA_KIND);
  const total = <usize>len;

  // 1. Length and format.
  if (total < 8 + ivLen + icvLen + 2) return -ST_ESP_MALFORMED;
  const ctLen: usize = total - 8 - ivLen - icvLen;
  const authLen: usize = total - icvLen;
  if (align > 4 ? ctLen % align != 0 : authLen % 4 != 0) return -ST_ESP_MALFORMED;
  if (loadBE32(buf) != load<u32>(sa + SA_SPI)) return -ST_ESP_SPI;

  // 2. Replay pre-check on the clear sequence number.
  const rw = sa + SA_REPLAY;
  const seq = replayInfer(rw, loadBE32(buf + 4));
  const replay = replayCheck(rw, seq);
  if (replay != ST_OK) return -replay;

  // 3. Integrity, constant time.
  const ct = buf + 8 + ivLen;
  const icv = buf + authLen;
  if (GCM_BUILT && kind == K_GCM) {
    const aadLen = gcmParams(sa, buf, seq, esn);
    gcmOpenBegin(cipherOf(sa), NONCE); // E_K(J0) with the first keystream blocks, one pass
    gcmComputeTag(cipherOf(sa), NONCE, AAD, aadLen, ct, ctLen);
    if (!ct_equal(gcmTag(), icv, 16)) return -ST_ESP_INTEGRITY;
  } else if (GCM_BUILT && kind == K_GMAC) {
    gcmParams(sa, buf, seq, esn);
    if (esn) gcmComputeTag(cipherOf(sa), NONCE, GMAC_AAD, gmacEsnAad(buf, authLen, seq), 0, 0);
    else gcmComputeTag(cipherOf(sa), NONCE, buf, authLen, 0, 0);
    if (!ct_equal(gcmTag(), icv, 16)) return -ST_ESP_INTEGRITY;
  } else if (icvLen != 0) {
    let mac = MAC;
    if (pre != 0 && load<u64>(pre + JOB_USER) == seq) mac = pre + JOB_MAC;
    else icvHmac(sa, buf, authLen, seq, esn);
    if (!ct_equal(mac, icv, icvLen)) return -ST_ESP_INTEGRITY;
  }

  // 4. Decryption, then the trailer.
  if (kind == K_AES_CBC) {
    memory.copy(IV_SCRATCH, buf + 8, 16);
    // Constant time; the T-table decryption only for the scalar comparison path of the single module
    // (esp_simd_paths): the split build has no T-table decryption.
    // @ts-ignore: MODULAR is defined by --use MODULAR=1
    if (isDefined(MODULAR) || (paths & PATH_AES_BS_DECRYPT) != 0) aesBsCbcDecrypt(cipherOf(sa), IV_SCRATCH, ct, ct, ctLen);
    else aesCbcDecrypt(cipherOf(sa), IV_SCRATCH, ct, ct, ctLen);
  } else if (kind == K_DES3_CBC) {
    memory.copy(IV_SCRATCH, buf + 8, 8);
    des3CbcDecrypt(cipherOf(sa), IV_SCRATCH, ct, ct, ctLen);
  } else if (GCM_BUILT && kind == K_GCM) {
    gcmCtrAfterBegin(cipherOf(sa), NONCE, ct, ct, ctLen);
  }
  const padLen = <usize>load<u8>(ct + ctLen - 2);
  const nextHeader = <u32>load<u8>(ct + ctLen - 1);
  if (padLen > ctLen - 2) return -ST_ESP_PADDING;
  const payloadLen = ctLen - 2 - padLen;
  for (let i: usize = 0; i < padLen; i++) {
    if (<usize>load<u8>(ct + payloadLen + i) != i + 1) return -ST_ESP_PADDING;
  }

  // 5. Commit, now that the packet is authentic and well formed.
  replayCommit(rw, seq);
  store<u32>(res, nextHeader);
  store<u64>(res, seq, 8);
  if (nextHeader == NEXT_HEADER_DUMMY) return -ST_ESP_DUMMY;
  return <i32>payloadLen;
}

/** Last sequence number sent (outbound) or highest authenticated (inbound). */
export function esp_sa_seq(sa: usize): u64 {
  return (load<u32>(sa + SA_FLAGS) & SA_OUTBOUND) != 0 ? load<u64>(sa + SA_SEQ) : load<u64>(sa + SA_REPLAY);
}

/** Sets the outbound counter (tests of sequence exhaustion, SA migration). */
export function esp_sa_set_seq(sa: usize, seq: u64): void {
  store<u64>(sa + SA_SEQ, seq);
}

/**
 * Inbound: restarts the replay window with its right edge at `top`, every number at or below it counted as
 * received (an SA restored from a store after a restart, issue 19: what was accepted before is refused).
 * Numbers above `top` are accepted as usual.
 */
export function esp_sa_set_replay_top(sa: usize, top: u64): void {
  const rw = sa + SA_REPLAY;
  const mask = <usize>load<u32>(rw, 12);
  const ring = rw + <usize>REPLAY_HDR_SIZE;
  memory.fill(ring, 0xff, (mask + 1) << 2);
  const bit = <u32>(top & 31);
  store<u32>(ring + ((<usize>(top >> 5) & mask) << 2), bit == 31 ? 0xffffffff : (<u32>1 << (bit + 1)) - 1);
  store<u64>(rw, top);
}

// ---- Batch forms: many packets (one SA or many) in one call ----
//
// Record layout (BATCH_RECORD_SIZE bytes) at `desc`:
//   +0  u32 SA context      +4  u32 buffer offset from `base`
//   +8  u32 length in (payload for seal, packet for open)
//   +12 u32 next header (seal: in; open: out)
//   +16 i32 result (seal: packet length; open: payload length) or negated status
//   +24 u64 sequence number (open: out)

// Packets whose SA uses HMAC-SHA-1-96 or HMAC-MD5-96 have their ICVs computed four at a time
// (multi-buffer, hmac-x4.ts): seal encrypts every packet first and writes the ICVs after; open does the
// cheap checks (length, SPI, replay pre-check) for every packet, computes the MACs of the candidates, then
// processes each packet in order exactly as esp_open does (replay check again, ICV compared in constant
// time against the MAC computed ahead, decryption, padding, commit), so the results and the windows are
// those of one esp_open per packet in order. A packet rejected for any reason changes nothing.

const JOBS: usize = memory.data(<i32>(BATCH_MAX * <i32>JOB_SIZE), 16); // one job record per batch record
const LIST_SHA1: usize = memory.data(BATCH_MAX * 4, 16); // job addresses per hash
const LIST_MD5: usize = memory.data(BATCH_MAX * 4, 16);

/** Fills job record `job` for the ICV of `authLen` bytes at `buf` under SA `sa`. */
@inline function setJob(job: usize, sa: usize, buf: usize, authLen: usize, seq: u64, esn: bool): void {
  store<u32>(job + JOB_CTX, <u32>(hmacOf(sa)));
  store<u32>(job + JOB_MSG, <u32>buf);
  store<u32>(job + JOB_LEN, <u32>authLen);
  store<u32>(job + JOB_SEQHI, <u32>(seq >> 32));
  store<u32>(job + JOB_FLAGS, esn ? JOB_APPEND_SEQHI : 0);
  store<u64>(job + JOB_USER, seq);
}

@inline function isHmac(sa: usize): bool {
  const alg = load<u32>(sa, 8);
  return alg == ALG_HMAC_SHA1_96 || alg == ALG_HMAC_MD5_96;
}

// The SIMD paths in use (esp_simd_paths): all by default.
const PATH_HMAC_X4: u32 = 1; // multi-buffer HMAC in the batch calls
const PATH_AES_LANES: u32 = 2; // 8-lane bitsliced AES-CBC encryption in esp_seal_batch
const PATH_AES_BS_DECRYPT: u32 = 4; // bitsliced AES-CBC decryption in esp_open and esp_open_batch
let paths: u32 = PATH_HMAC_X4 | PATH_AES_LANES | PATH_AES_BS_DECRYPT;
let nSha1: u32 = 0;
let nMd5: u32 = 0;

/** Queues the filled job record `job` of SA `sa` on its hash's list. */
@inline function enqueue(sa: usize, job: usize): void {
  if (load<u32>(sa, 8) == ALG_HMAC_SHA1_96) {
    store<u32>(LIST_SHA1 + (<usize>nSha1 << 2), <u32>job);
    nSha1++;
  } else {
    store<u32>(LIST_MD5 + (<usize>nMd5 << 2), <u32>job);
    nMd5++;
  }
}

/**
 * Computes the queued MACs (the caller zeroes the records after use: wipeJobs): four lanes at a time, or
 * one at a time without the multi-buffer path (esp_simd_paths; the split build without md5x4/sha1x4),
 * where ICVs are still queued when the AES lanes defer the encryption they cover.
 */
function runJobs(): void {
  if ((paths & PATH_HMAC_X4) != 0) {
    hmacX4(HASH_SHA1, LIST_SHA1, nSha1);
    hmacX4(HASH_MD5, LIST_MD5, nMd5);
    return;
  }
  for (let i: u32 = 0; i < nSha1; i++) hmacX4(HASH_SHA1, LIST_SHA1 + (<usize>i << 2), 1);
  for (let i: u32 = 0; i < nMd5; i++) hmacX4(HASH_MD5, LIST_MD5 + (<usize>i << 2), 1);
}

// AES-CBC encryption records of esp_seal_batch (aes-bs.ts layout, then the AES context at +12), and
// the records of one SA gathered for a lane call.
const AES_JOBS: usize = memory.data(BATCH_MAX * <i32>AES_JOB_SIZE, 16);
const AES_GROUP: usize = memory.data(BATCH_MAX * <i32>AES_JOB_SIZE, 16);
const LANE_END: usize = memory.data(8 * 4, 16); // lane schedule simulation: pass at which each lane frees

/**
 * Whether the 8-lane bitsliced CBC is faster than the T-table CBC for the `g` records at AES_GROUP. One
 * lane pass costs about as much as 3.2 to 4.5 T-table blocks here (bench/simd.ts, first table; up to
 * about 5 on a quieter machine, where the T-tables gain more), so the lanes are used when they would
 * be at least 2/3 full on average: the passes are those of the lane scheduler (a lane that ends takes
 * the next packet), simulated on the lengths, which are public.
 */
function lanesPayOff(g: u32): bool {
  if (g < 2) return false;
  memory.fill(LANE_END, 0, 32);
  let total: u32 = 0;
  let makespan: u32 = 0;
  for (let k: u32 = 0; k < g; k++) {
    const blocks = load<u32>(AES_GROUP + <usize>k * AES_JOB_SIZE, 4) >> 4;
    total += blocks;
    let lane: usize = 0;
    for (let l: usize = 1; l < 8; l++) if (load<u32>(LANE_END + (l << 2)) < load<u32>(LANE_END + (lane << 2))) lane = l;
    const end = load<u32>(LANE_END + (lane << 2)) + blocks;
    store<u32>(LANE_END + (lane << 2), end);
    if (end > makespan) makespan = end;
  }
  return <u64>total * 3 >= <u64>makespan * 8 * 2;
}

// Grouping the records by SA in O(n): an open-addressing table from AES context to the SA's first and
// last record, the records of one SA chained through NEXT.
const SLOTS: u32 = 4096; // at least 2 x BATCH_MAX: load factor <= 1/2
const SLOT: usize = memory.data(4096 * 12, 16); // u32 AES context (0: empty), u32 first record, u32 last
const USED: usize = memory.data(BATCH_MAX * 4, 16); // slots in order of first use
const NEXT: usize = memory.data(BATCH_MAX * 4, 16); // per record: the next record of its SA
const END: u32 = 0xffffffff;

/** Encrypts the `n` queued AES-CBC records, grouped by SA (AES context), in place. */
function encryptAesJobs(n: u32): void {
  let used: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const ctx = load<u32>(AES_JOBS + <usize>i * AES_JOB_SIZE, 12);
    let h = ((ctx >> 6) * 0x9e3779b1) >> 20;
    for (;;) {
      const slot = SLOT + <usize>h * 12;
      const c = load<u32>(slot);
      if (c == 0) {
        store<u32>(slot, ctx);
        store<u32>(slot, i, 4);
        store<u32>(slot, i, 8);
        store<u32>(USED + (<usize>used << 2), h);
        used++;
        break;
      }
      if (c == ctx) {
        store<u32>(NEXT + (<usize>load<u32>(slot, 8) << 2), i);
        store<u32>(slot, i, 8);
        break;
      }
      h = (h + 1) & (SLOTS - 1);
    }
    store<u32>(NEXT + (<usize>i << 2), END);
  }
  for (let u: u32 = 0; u < used; u++) {
    const slot = SLOT + <usize>load<u32>(USED + (<usize>u << 2)) * 12;
    const ctx = <usize>load<u32>(slot);
    let g: u32 = 0;
    for (let r = load<u32>(slot, 4); r != END; r = load<u32>(NEXT + (<usize>r << 2))) {
      memory.copy(AES_GROUP + <usize>g * AES_JOB_SIZE, AES_JOBS + <usize>r * AES_JOB_SIZE, AES_JOB_SIZE);
      g++;
    }
    store<u32>(slot, 0); // the table is empty again after the call
    if (lanesPayOff(g)) {
      aesBsCbcEncryptLanes(ctx, AES_GROUP, g);
    } else {
      for (let k: u32 = 0; k < g; k++) {
        const rec = AES_GROUP + <usize>k * AES_JOB_SIZE;
        const p = <usize>load<u32>(rec);
        memory.copy(IV_SCRATCH, <usize>load<u32>(rec, 8), 16);
        aesCbcEncrypt(ctx, IV_SCRATCH, p, p, <usize>load<u32>(rec, 4));
      }
    }
  }
}

/** Zeroes the first `n` job records (the full MACs are key-derived values). */
function wipeJobs(n: u32): void {
  zero16(JOBS, <usize>n * JOB_SIZE);
}

export function esp_seal_batch(desc: usize, n: u32, base: usize, ivPool: usize): u32 {
  let ok: u32 = 0;
  let iv = ivPool;
  nSha1 = 0; nMd5 = 0;
  let nAes: u32 = 0;
  // 1. Every packet framed and encrypted (AES-CBC queued); HMAC ICVs queued.
  for (let i: usize = 0; i < <usize>n; i++) {
    const r = desc + i * BATCH_RECORD_SIZE;
    const sa = <usize>load<u32>(r);
    const job = JOBS + i * JOB_SIZE;
    store<u32>(job + JOB_CTX, 0);
    const aesJob = AES_JOBS + <usize>nAes * AES_JOB_SIZE;
    store<u32>(aesJob, 0, 12);
    // An ICV covers the ciphertext (encrypt-then-MAC): when the AES lanes defer a packet's encryption, its
    // ICV is queued too (computed after step 2), with or without the 4-lane HMAC.
    const res = seal(sa, base + <usize>load<u32>(r, 4), load<u32>(r, 8), load<u32>(r, 12), iv, (paths & (PATH_HMAC_X4 | PATH_AES_LANES)) != 0 ? job : 0, (paths & PATH_AES_LANES) != 0 ? aesJob : 0);
    if (res > 0 && load<u32>(aesJob, 12) != 0) nAes++;
    store<i32>(r, res, 16);
    if (res > 0) {
      ok++;
      if (load<u32>(job + JOB_CTX) != 0) {
        enqueue(sa, job);
      }
    }
    const kind = load<u32>(sa + SA_KIND);
    if (kind == K_AES_CBC || kind == K_DES3_CBC) iv += <usize>load<u32>(sa + SA_IVLEN);
  }
  // 2. AES-CBC, per SA: 8 packets at a time when the SA has enough of them here.
  encryptAesJobs(nAes);
  // 3. The ICVs, four packets at a time, written after their packets.
  runJobs();
  for (let i: usize = 0; i < <usize>n; i++) {
    const job = JOBS + i * JOB_SIZE;
    if (load<u32>(job + JOB_CTX) == 0) continue;
    const sa = <usize>load<u32>(desc + i * BATCH_RECORD_SIZE); // job i belongs to record i
    copySmall(<usize>load<u32>(job + JOB_MSG) + <usize>load<u32>(job + JOB_LEN), job + JOB_MAC, <usize>load<u32>(sa + SA_ICV));
  }
  wipeJobs(n);
  wipeScratch();
  lanesWipe();
  return ok;
}

/**
 * Whether `open` would reach the HMAC check for this packet with the SA as it is now (steps 1 and 2);
 * if so, fills `job` for it.
 */
function queueOpen(sa: usize, buf: usize, len: u32, job: usize): bool {
  const flags = load<u32>(sa + SA_FLAGS);
  if ((flags & SA_OUTBOUND) != 0 || !isHmac(sa)) return false;
  const ivLen = <usize>load<u32>(sa + SA_IVLEN);
  const align = <usize>load<u32>(sa + SA_ALIGN);
  const icvLen = <usize>load<u32>(sa + SA_ICV);
  const total = <usize>len;
  if (total < 8 + ivLen + icvLen + 2) return false;
  const ctLen: usize = total - 8 - ivLen - icvLen;
  const authLen: usize = total - icvLen;
  if (align > 4 ? ctLen % align != 0 : authLen % 4 != 0) return false;
  if (loadBE32(buf) != load<u32>(sa + SA_SPI)) return false;
  const rw = sa + SA_REPLAY;
  const seq = replayInfer(rw, loadBE32(buf + 4));
  if (replayCheck(rw, seq) != ST_OK) return false;
  setJob(job, sa, buf, authLen, seq, (flags & SA_ESN) != 0);
  return true;
}

export function esp_open_batch(desc: usize, n: u32, base: usize, res: usize): u32 {
  nSha1 = 0; nMd5 = 0;
  // 1. Cheap checks; the HMAC candidates queued.
  for (let i: usize = 0; i < <usize>n; i++) {
    const r = desc + i * BATCH_RECORD_SIZE;
    const sa = <usize>load<u32>(r);
    const job = JOBS + i * JOB_SIZE;
    store<u32>(job + JOB_CTX, 0);
    if ((paths & PATH_HMAC_X4) == 0 || !queueOpen(sa, base + <usize>load<u32>(r, 4), load<u32>(r, 8), job)) continue;
    enqueue(sa, job);
  }
  // 2. Their MACs, four at a time.
  runJobs();
  // 3. Each packet in order, as esp_open.
  let ok: u32 = 0;
  for (let i: usize = 0; i < <usize>n; i++) {
    const r = desc + i * BATCH_RECORD_SIZE;
    const job = JOBS + i * JOB_SIZE;
    const pre = load<u32>(job + JOB_CTX) != 0 ? job : 0;
    const out = open(<usize>load<u32>(r), base + <usize>load<u32>(r, 4), load<u32>(r, 8), res, pre);
    store<i32>(r, out, 16);
    if (out >= 0 || out == -ST_ESP_DUMMY) {
      store<u32>(r, load<u32>(res), 12);
      store<u64>(r, load<u64>(res, 8), 24);
    }
    if (out >= 0) ok++;
  }
  wipeJobs(n);
  wipeScratch();
  return ok;
}

/**
 * Chooses the SIMD paths (a mask: 1 multi-buffer HMAC in the batch calls, 2 the 8-lane bitsliced AES-CBC
 * encryption in esp_seal_batch, 4 the bitsliced AES-CBC decryption, always taken in the split build;
 * default 7). 0 gives the scalar
 * T-table / one-ICV-at-a-time code: for the before/after benchmark (bench/simd.ts) and the equivalence
 * tests. Results are the same whatever the mask.
 */
export function esp_simd_paths(mask: u32): void {
  paths = mask & 7;
}

/**
 * Writes two u32 counters to `out`: 4-lane HMAC steps and 8-lane AES-CBC passes run so far, so that tests
 * can tell which path a batch took (a single packet takes neither).
 */
export function simd_counters(out: usize): void {
  store<u32>(out, hmacX4Steps);
  store<u32>(out, aesLanePasses(), 4);
}
