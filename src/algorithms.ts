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
 * What the binding needs of an algorithm (ESP framing and the WASM core's number): {@link AlgorithmInfo}
 * without its notes. The registry's one table of names, numbers and sizes; the public tables below add the
 * notes to it (a browser app that uses only EspSa does not ship those). @internal
 */
export type AlgorithmSizes<N extends string> = Pick<AlgorithmInfo<N>, 'name' | 'id' | 'keyLength' | 'saltLength' | 'ivLength' | 'blockSize' | 'icvLength'>;

// [id, keyLength, saltLength, ivLength, blockSize, icvLength] per name.
type SizeRow = readonly [number, number, number, number, number, number];
const INTEGRITY_SIZES: Readonly<Record<IntegrityAlgorithm, SizeRow>> = {
  'hmac-md5-96': [ALG_HMAC_MD5_96, 16, 0, 0, 1, 12],
  'hmac-sha-1-96': [ALG_HMAC_SHA1_96, 20, 0, 0, 1, 12],
  'aes-gmac': [ALG_AES_GMAC, 16, 4, 8, 1, 16],
  null: [ALG_NULL, 0, 0, 0, 1, 0],
};
const ENCRYPTION_SIZES: Readonly<Record<EncryptionAlgorithm, SizeRow>> = {
  'des-ede3-cbc': [EALG_DES_EDE3_CBC, 24, 0, 8, 8, 0],
  'aes-cbc': [EALG_AES_CBC, 16, 0, 16, 16, 0],
  'aes-gcm': [EALG_AES_GCM, 16, 4, 8, 1, 16],
  null: [EALG_NULL, 0, 0, 0, 1, 0],
};

/** The entries of a table of size rows, with their notes (`notes` undefined: sizes only). */
function entries<N extends string>(rows: Readonly<Record<N, SizeRow>>, notes?: Readonly<Record<N, readonly [string, string, AlgorithmStatus]>>): Record<N, AlgorithmInfo<N>> {
  const out = {} as Record<N, AlgorithmInfo<N>>;
  for (const name of Object.keys(rows) as N[]) {
    const [id, keyLength, saltLength, ivLength, blockSize, icvLength] = rows[name];
    const [rfc, introduced, status] = notes?.[name] ?? [];
    out[name] = notes === undefined
      ? { name, id, keyLength, saltLength, ivLength, blockSize, icvLength } as AlgorithmInfo<N>
      : { name, id, rfc: rfc!, introduced: introduced!, status: status!, keyLength, saltLength, ivLength, blockSize, icvLength, combined: name.startsWith('aes-g') };
  }
  return out;
}

const LATER = 'later release (by V17)';

/**
 * The integrity algorithms (`alg=` of Security-Client/-Server, TS 33.203 6.3), by identifier. `aes-gmac` and
 * `null` are the later releases' choices (`null` only with `ealg=aes-gcm`, which then also gives integrity).
 */
export const INTEGRITY_ALGORITHMS: Readonly<Record<IntegrityAlgorithm, AlgorithmInfo<IntegrityAlgorithm>>> = /* @__PURE__ */ entries(INTEGRITY_SIZES, {
  'hmac-md5-96': ['RFC 2403', 'Rel-5', 'deprecated'],
  'hmac-sha-1-96': ['RFC 2404', 'Rel-5', 'not-recommended'],
  'aes-gmac': ['RFC 4543', LATER, 'current'],
  null: ['RFC 4106', LATER, 'current'],
});

/** The encryption algorithms (`ealg=`, TS 33.203 6.3), by identifier. `null` is no encryption (RFC 2410). */
export const ENCRYPTION_ALGORITHMS: Readonly<Record<EncryptionAlgorithm, AlgorithmInfo<EncryptionAlgorithm>>> = /* @__PURE__ */ entries(ENCRYPTION_SIZES, {
  'des-ede3-cbc': ['RFC 2451', 'Rel-6', 'deprecated'],
  'aes-cbc': ['RFC 3602', 'Rel-6', 'not-recommended'],
  'aes-gcm': ['RFC 4106', LATER, 'current'],
  null: ['RFC 2410', 'Rel-5', 'current'],
});

// The sizes alone, made on first use (the binding's lookups below).
let integrityCache: Readonly<Record<IntegrityAlgorithm, AlgorithmSizes<IntegrityAlgorithm>>> | undefined;
let encryptionCache: Readonly<Record<EncryptionAlgorithm, AlgorithmSizes<EncryptionAlgorithm>>> | undefined;

function has<K extends string>(table: Readonly<Record<K, unknown>>, name: string): name is K {
  return Object.prototype.hasOwnProperty.call(table, name);
}

function find<K extends string>(table: Readonly<Record<K, unknown>>, name: string, what: string): K {
  const n = String(name).toLowerCase();
  if (!has(table, n)) throw new Ipsec3gppError('UNKNOWN_ALGORITHM', `unknown ${what}=${JSON.stringify(String(name))}`);
  return n;
}

/** {@link integrityAlgorithm} without the notes, for the binding (EspSa, expandKeys). @internal */
export function integritySizes(name: string): AlgorithmSizes<IntegrityAlgorithm> {
  return (integrityCache ??= entries(INTEGRITY_SIZES))[find(INTEGRITY_SIZES, name, 'integrity algorithm alg')];
}

/** {@link encryptionAlgorithm} without the notes, for the binding. @internal */
export function encryptionSizes(name: string): AlgorithmSizes<EncryptionAlgorithm> {
  return (encryptionCache ??= entries(ENCRYPTION_SIZES))[find(ENCRYPTION_SIZES, name, 'encryption algorithm ealg')];
}

/** Looks up an `alg` identifier (case-insensitive, as header parameter values are compared). */
export function integrityAlgorithm(name: string): AlgorithmInfo<IntegrityAlgorithm> {
  return INTEGRITY_ALGORITHMS[find(INTEGRITY_SIZES, name, 'integrity algorithm alg')];
}

/** Looks up an `ealg` identifier (case-insensitive). */
export function encryptionAlgorithm(name: string): AlgorithmInfo<EncryptionAlgorithm> {
  return ENCRYPTION_ALGORITHMS[find(ENCRYPTION_SIZES, name, 'encryption algorithm ealg')];
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
