// TS 33.203 Annex I: the ESP keys of an IMS SA set, expanded from CK_IM and IK_IM (16 octets each).
// This is the only place in the project where that expansion happens.
//
//   alg=hmac-md5-96     IK_ESP = IK_IM                                        (RFC 2403, 128-bit key)
//   alg=hmac-sha-1-96   IK_ESP = IK_IM || 0x00000000                          (RFC 2404, 160-bit key)
//   alg=aes-gmac        key = IK_IM, salt = KDF(CK_IM || IK_IM, 0x58 || "AES_GMAC_SALT" || 0x000d)[28..32]
//   alg=null            no integrity key (only with ealg=aes-gcm)
//   ealg=des-ede3-cbc   CK_ESP = CK1 || CK2 || CK1 (CK_IM = CK1 || CK2), optionally odd-parity adjusted
//   ealg=aes-cbc        CK_ESP = CK_IM                                        (RFC 3602, 128-bit key)
//   ealg=aes-gcm        key = CK_IM, salt = KDF(CK_IM || IK_IM, 0x59 || "AES_GCM_SALT" || 0x000c)[28..32]
//   ealg=null           no encryption key
//
// The salt is the 32 least significant bits of the 256-bit KDF output, i.e. its last four octets (the
// 3GPP convention; the spec digest marks the reading [T] for the parameters, section c.5).
//
// DES-EDE3 keys with K1 == K2 or K2 == K3 (parity bits ignored) degenerate to single DES and are refused
// (RFC 2451 2.4); for CK1 || CK2 || CK1 both reduce to CK1 == CK2.
//
// Output layout at `out`: +0 u32 encLen, +4 u32 authLen, +8 u32 saltLen, +16 encKey (<= 24 octets),
// +48 authKey (<= 20 octets), +80 salt (4 octets).

import {
  ALG_NULL, ALG_HMAC_MD5_96, ALG_HMAC_SHA1_96, ALG_AES_GMAC,
  EALG_NULL, EALG_DES_EDE3_CBC, EALG_AES_CBC, EALG_AES_GCM,
  ST_OK, ST_BAD_ALGORITHM, ST_WEAK_KEY,
} from "../src/constants";
import { kdfSha256 } from "./kdf";
import { GCM_BUILT } from "./link";

export const OUT_ENC: usize = 16;
export const OUT_AUTH: usize = 48;
export const OUT_SALT: usize = 80;

// S for the two salts (TS 33.203 Annex I, TS 33.220 Annex B).
const S_GCM: usize = memory.data<u8>([0x59, 0x41, 0x45, 0x53, 0x5f, 0x47, 0x43, 0x4d, 0x5f, 0x53, 0x41, 0x4c, 0x54, 0x00, 0x0c]);
const S_GMAC: usize = memory.data<u8>([0x58, 0x41, 0x45, 0x53, 0x5f, 0x47, 0x4d, 0x41, 0x43, 0x5f, 0x53, 0x41, 0x4c, 0x54, 0x00, 0x0d]);

const KDF_KEY: usize = memory.data(32, 16);
const KDF_OUT: usize = memory.data(32, 16);

/** Whether `alg`/`ealg` is a combination TS 33.203 allows (null integrity only with AES-GCM, GMAC only without encryption). */
export function validCombination(alg: u32, ealg: u32): bool {
  if (!GCM_BUILT && (alg == ALG_AES_GMAC || ealg == EALG_AES_GCM)) return false; // the esp-cbc module
  if (alg == ALG_HMAC_MD5_96 || alg == ALG_HMAC_SHA1_96) return ealg == EALG_NULL || ealg == EALG_DES_EDE3_CBC || ealg == EALG_AES_CBC;
  if (alg == ALG_AES_GMAC) return ealg == EALG_NULL;
  if (alg == ALG_NULL) return ealg == EALG_AES_GCM;
  return false;
}

@inline function oddParity(b: u32): u32 {
  // Keep the 7 key bits, set the LSB so that the octet has an odd number of ones.
  const k = b & 0xfe;
  return k | ((popcnt<u32>(k) & 1) ^ 1);
}

function salt(ck: usize, ik: usize, s: usize, sLen: usize, out: usize): void {
  memory.copy(KDF_KEY, ck, 16);
  memory.copy(KDF_KEY + 16, ik, 16);
  kdfSha256(KDF_KEY, 32, s, sLen, KDF_OUT);
  memory.copy(out, KDF_OUT + 28, 4);
  memory.fill(KDF_KEY, 0, 32);
  memory.fill(KDF_OUT, 0, 32);
}

export function expandKeys(alg: u32, ealg: u32, ck: usize, ik: usize, out: usize, parity: bool): i32 {
  if (!validCombination(alg, ealg)) return ST_BAD_ALGORITHM;
  memory.fill(out, 0, 96);
  let encLen: u32 = 0, authLen: u32 = 0, saltLen: u32 = 0;
  if (ealg == EALG_DES_EDE3_CBC) {
    // CK1 == CK2 ignoring parity makes K1 == K2 and K2 == K3.
    let same = true;
    for (let i: usize = 0; i < 8; i++) {
      if ((load<u8>(ck + i) & 0xfe) != (load<u8>(ck + 8 + i) & 0xfe)) same = false;
    }
    if (same) return ST_WEAK_KEY;
    memory.copy(out + OUT_ENC, ck, 16);
    memory.copy(out + OUT_ENC + 16, ck, 8);
    if (parity) {
      for (let i: usize = 0; i < 24; i++) store<u8>(out + OUT_ENC + i, <u8>oddParity(load<u8>(out + OUT_ENC + i)));
    }
    encLen = 24;
  } else if (ealg == EALG_AES_CBC) {
    memory.copy(out + OUT_ENC, ck, 16);
    encLen = 16;
  } else if (ealg == EALG_AES_GCM) {
    memory.copy(out + OUT_ENC, ck, 16);
    encLen = 16;
    if (GCM_BUILT) salt(ck, ik, S_GCM, 15, out + OUT_SALT);
    saltLen = 4;
  }
  if (alg == ALG_HMAC_MD5_96) {
    memory.copy(out + OUT_AUTH, ik, 16);
    authLen = 16;
  } else if (alg == ALG_HMAC_SHA1_96) {
    memory.copy(out + OUT_AUTH, ik, 16); // followed by four zero octets (out was zeroed)
    authLen = 20;
  } else if (alg == ALG_AES_GMAC) {
    memory.copy(out + OUT_AUTH, ik, 16);
    authLen = 16;
    if (GCM_BUILT) salt(ck, ik, S_GMAC, 16, out + OUT_SALT);
    saltLen = 4;
  }
  store<u32>(out, encLen);
  store<u32>(out, authLen, 4);
  store<u32>(out, saltLen, 8);
  return ST_OK;
}

export function expand_keys(alg: u32, ealg: u32, ck: usize, ik: usize, out: usize, parity: bool): i32 {
  return expandKeys(alg, ealg, ck, ik, out, parity);
}
