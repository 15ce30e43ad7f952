// TS 33.203 Annex I key expansion: the ESP keys of an SA set from CK_IM and IK_IM. The expansion itself
// runs in the WASM core (assembly/keys.ts, the one place it is implemented); this is its typed front.

import { CK_LEN, IK_LEN, ST_BAD_ALGORITHM, ST_OK, ST_WEAK_KEY } from './constants.js';
import {
  encryptionSizes, integritySizes, isValidCombination,
  type EncryptionAlgorithm, type IntegrityAlgorithm,
} from './algorithms.js';
import { Ipsec3gppError } from './errors.js';
import * as check from './internal/check.js';
import { requireModule, wasm } from './internal/wasm.js';

/** Input of {@link expandKeys}. */
export interface ExpandKeysInput {
  /** Integrity algorithm (`alg=`). */
  alg: IntegrityAlgorithm;
  /** Encryption algorithm (`ealg=`); `null` when absent (the Annex H default). */
  ealg?: EncryptionAlgorithm;
  /** CK_IM, 16 bytes, from IMS AKA (Milenage f3). */
  ck: Uint8Array;
  /** IK_IM, 16 bytes, from IMS AKA (Milenage f4). */
  ik: Uint8Array;
  /**
   * For des-ede3-cbc: set odd parity in every key byte (for APIs that insist on it). DES ignores parity
   * bits, so both forms encrypt identically. Default false (the raw CK1 || CK2 || CK1).
   */
  desParity?: boolean;
}

/** The ESP keys of one SA set (all four SAs use the same keys). */
export interface EspKeys {
  /** CK_ESP: 24 bytes (3DES), 16 (AES-CBC, AES-GCM) or empty (null, AES-GMAC). */
  encKey: Uint8Array;
  /** IK_ESP: 16 bytes (HMAC-MD5-96, AES-GMAC), 20 (HMAC-SHA-1-96) or empty (AES-GCM). */
  authKey: Uint8Array;
  /** The 4-byte RFC 4106 / 4543 nonce salt, for aes-gcm and aes-gmac only. */
  salt?: Uint8Array;
}

const CK_AT = 0;
const IK_AT = 16;
const OUT_AT = 64;

/**
 * Expands CK_IM / IK_IM into the ESP keys for `alg` / `ealg` per TS 33.203 Annex I.
 *
 * @throws Ipsec3gppError UNKNOWN_ALGORITHM, INVALID_COMBINATION, KEY_LENGTH, or WEAK_KEY (3DES with
 *   CK1 == CK2, which RFC 2451 forbids; probability 2^-56 for AKA output)
 * @example
 * ```ts
 * const { encKey, authKey } = expandKeys({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
 * // authKey = IK_IM || 00000000, encKey = CK_IM
 * ```
 */
export function expandKeys(input: ExpandKeysInput): EspKeys {
  const alg = integritySizes(input.alg);
  const ealg = encryptionSizes(input.ealg ?? 'null');
  if (!isValidCombination(alg.name, ealg.name)) {
    throw new Ipsec3gppError('INVALID_COMBINATION', `alg=${alg.name} cannot be combined with ealg=${ealg.name}`);
  }
  check.length('ck', input.ck, 'KEY_LENGTH', CK_LEN);
  check.length('ik', input.ik, 'KEY_LENGTH', IK_LEN);
  if (alg.saltLength > 0 || ealg.saltLength > 0) requireModule('sha256', 'the salt KDF of Annex I');
  const c = wasm();
  c.param.set(input.ck, CK_AT);
  c.param.set(input.ik, IK_AT);
  try {
    const st = c.x.expand_keys(alg.id, ealg.id, c.paramPtr + CK_AT, c.paramPtr + IK_AT, c.paramPtr + OUT_AT, input.desParity ? 1 : 0);
    if (st === ST_WEAK_KEY) throw new Ipsec3gppError('WEAK_KEY', 'CK1 == CK2: the des-ede3-cbc key would degenerate to single DES (RFC 2451 2.4)');
    if (st === ST_BAD_ALGORITHM) throw new Ipsec3gppError('INVALID_COMBINATION', `alg=${alg.name} cannot be combined with ealg=${ealg.name}`);
    if (st !== ST_OK) throw new Ipsec3gppError('INVALID_ARGUMENT', `key expansion failed (status ${st})`);
    const p = c.param;
    const word = (at: number): number => p[at]! | (p[at + 1]! << 8) | (p[at + 2]! << 16) | (p[at + 3]! << 24);
    const encLen = word(OUT_AT);
    const authLen = word(OUT_AT + 4);
    const saltLen = word(OUT_AT + 8);
    const keys: EspKeys = {
      encKey: p.slice(OUT_AT + 16, OUT_AT + 16 + encLen),
      authKey: p.slice(OUT_AT + 48, OUT_AT + 48 + authLen),
    };
    if (saltLen > 0) keys.salt = p.slice(OUT_AT + 80, OUT_AT + 80 + saltLen);
    return keys;
  } finally {
    c.param.fill(0, 0, OUT_AT + 96);
  }
}
