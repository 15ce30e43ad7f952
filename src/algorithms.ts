// The algorithm registry: the one place that maps the `alg` / `ealg` identifiers of TS 33.203 Annex H
// (as carried in Security-Client/-Server/-Verify, RFC 3329) to the WASM core and to what the specs say
// about each one. Release history per the spec digest, section c.6: Rel-5 brought integrity only,
// Rel-6 added confidentiality, later releases deprecated MD5 and 3DES, marked SHA-1-96 and AES-CBC
// "not recommended" and added AES-GCM / AES-GMAC (the release that introduced them is unverified).

import {
  ALG_AES_GMAC, ALG_HMAC_MD5_96, ALG_HMAC_SHA1_96, ALG_NULL,
  EALG_AES_CBC, EALG_AES_GCM, EALG_DES_EDE3_CBC, EALG_NULL,
} from './constants.js';
import { Ipsec3gppError } from './errors.js';

/** Integrity algorithm identifiers (`alg=`). */
export type IntegrityAlgorithm = 'hmac-md5-96' | 'hmac-sha-1-96' | 'aes-gmac' | 'null';
/** Encryption algorithm identifiers (`ealg=`). */
export type EncryptionAlgorithm = 'des-ede3-cbc' | 'aes-cbc' | 'aes-gcm' | 'null';

/** Where an algorithm stands in the current TS 33.203 text. */
export type AlgorithmStatus = 'current' | 'not-recommended' | 'deprecated';

/**
 * What the library knows about one `alg` or `ealg` of TS 33.203 (clause 6.3 and Annex H): the RFC of its ESP use,
 * its status, and the sizes (in bytes) the key expansion (Annex I) and ESP framing (RFC 4303) need.
 */
export interface AlgorithmInfo<N extends string> {
  /** The identifier as written in the headers. */
  readonly name: N;
  /** The number the WASM core uses (src/constants.ts). */
  readonly id: number;
  /** The RFC defining its use in ESP. */
  readonly rfc: string;
  /** The release that introduced it for IMS access security. */
  readonly introduced: string;
  readonly status: AlgorithmStatus;
  /** Key length in bytes after Annex I expansion (0 for null). */
  readonly keyLength: number;
  /** Salt bytes appended to the key (RFC 4106 / 4543 nonce salt). */
  readonly saltLength: number;
  /** Explicit IV carried in each ESP packet. */
  readonly ivLength: number;
  /** Cipher block size the ESP trailer pads to (1 when there is no block constraint). */
  readonly blockSize: number;
  /** ICV bytes appended to each packet. */
  readonly icvLength: number;
  /** Combined-mode (AEAD) algorithm: integrity and encryption in one. */
  readonly combined: boolean;
}

/**
 * The integrity algorithms (`alg=` of Security-Client/-Server, TS 33.203 6.3), by identifier. `aes-gmac` and
 * `null` are the later releases' choices (`null` only with `ealg=aes-gcm`, which then also gives integrity).
 */
export const INTEGRITY_ALGORITHMS: Readonly<Record<IntegrityAlgorithm, AlgorithmInfo<IntegrityAlgorithm>>> = {
  'hmac-md5-96': { name: 'hmac-md5-96', id: ALG_HMAC_MD5_96, rfc: 'RFC 2403', introduced: 'Rel-5', status: 'deprecated', keyLength: 16, saltLength: 0, ivLength: 0, blockSize: 1, icvLength: 12, combined: false },
  'hmac-sha-1-96': { name: 'hmac-sha-1-96', id: ALG_HMAC_SHA1_96, rfc: 'RFC 2404', introduced: 'Rel-5', status: 'not-recommended', keyLength: 20, saltLength: 0, ivLength: 0, blockSize: 1, icvLength: 12, combined: false },
  'aes-gmac': { name: 'aes-gmac', id: ALG_AES_GMAC, rfc: 'RFC 4543', introduced: 'later release (by V17)', status: 'current', keyLength: 16, saltLength: 4, ivLength: 8, blockSize: 1, icvLength: 16, combined: true },
  null: { name: 'null', id: ALG_NULL, rfc: 'RFC 4106', introduced: 'later release (by V17)', status: 'current', keyLength: 0, saltLength: 0, ivLength: 0, blockSize: 1, icvLength: 0, combined: false },
};

/** The encryption algorithms (`ealg=`, TS 33.203 6.3), by identifier. `null` is no encryption (RFC 2410). */
export const ENCRYPTION_ALGORITHMS: Readonly<Record<EncryptionAlgorithm, AlgorithmInfo<EncryptionAlgorithm>>> = {
  'des-ede3-cbc': { name: 'des-ede3-cbc', id: EALG_DES_EDE3_CBC, rfc: 'RFC 2451', introduced: 'Rel-6', status: 'deprecated', keyLength: 24, saltLength: 0, ivLength: 8, blockSize: 8, icvLength: 0, combined: false },
  'aes-cbc': { name: 'aes-cbc', id: EALG_AES_CBC, rfc: 'RFC 3602', introduced: 'Rel-6', status: 'not-recommended', keyLength: 16, saltLength: 0, ivLength: 16, blockSize: 16, icvLength: 0, combined: false },
  'aes-gcm': { name: 'aes-gcm', id: EALG_AES_GCM, rfc: 'RFC 4106', introduced: 'later release (by V17)', status: 'current', keyLength: 16, saltLength: 4, ivLength: 8, blockSize: 1, icvLength: 16, combined: true },
  null: { name: 'null', id: EALG_NULL, rfc: 'RFC 2410', introduced: 'Rel-5', status: 'current', keyLength: 0, saltLength: 0, ivLength: 0, blockSize: 1, icvLength: 0, combined: false },
};

function has<K extends string>(table: Readonly<Record<K, unknown>>, name: string): name is K {
  return Object.prototype.hasOwnProperty.call(table, name);
}

/** Looks up an `alg` identifier (case-insensitive, as header parameter values are compared). */
export function integrityAlgorithm(name: string): AlgorithmInfo<IntegrityAlgorithm> {
  const n = String(name).toLowerCase();
  if (!has(INTEGRITY_ALGORITHMS, n)) throw new Ipsec3gppError('UNKNOWN_ALGORITHM', `unknown integrity algorithm alg=${JSON.stringify(String(name))}`);
  return INTEGRITY_ALGORITHMS[n];
}

/** Looks up an `ealg` identifier (case-insensitive). */
export function encryptionAlgorithm(name: string): AlgorithmInfo<EncryptionAlgorithm> {
  const n = String(name).toLowerCase();
  if (!has(ENCRYPTION_ALGORITHMS, n)) throw new Ipsec3gppError('UNKNOWN_ALGORITHM', `unknown encryption algorithm ealg=${JSON.stringify(String(name))}`);
  return ENCRYPTION_ALGORITHMS[n];
}

/**
 * Whether TS 33.203 allows this pair: HMACs with null, 3DES or AES-CBC; AES-GMAC only with ealg=null;
 * alg=null only with AES-GCM. (The WASM core applies the same rule in assembly/keys.ts.)
 */
export function isValidCombination(alg: IntegrityAlgorithm, ealg: EncryptionAlgorithm): boolean {
  if (alg === 'hmac-md5-96' || alg === 'hmac-sha-1-96') return ealg === 'null' || ealg === 'des-ede3-cbc' || ealg === 'aes-cbc';
  if (alg === 'aes-gmac') return ealg === 'null';
  return ealg === 'aes-gcm';
}

/** Every allowed alg/ealg pair, encrypting ones first. */
export function allCombinations(): Array<{ alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm }> {
  const out: Array<{ alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm }> = [];
  const ealgs = Object.keys(ENCRYPTION_ALGORITHMS) as EncryptionAlgorithm[];
  const algs = Object.keys(INTEGRITY_ALGORITHMS) as IntegrityAlgorithm[];
  for (const encrypting of [true, false]) {
    for (const ealg of ealgs) {
      if ((ealg !== 'null') !== encrypting) continue;
      for (const alg of algs) if (isValidCombination(alg, ealg)) out.push({ alg, ealg });
    }
  }
  return out;
}
