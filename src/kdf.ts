// The generic key derivation function of TS 33.220 Annex B.2: HMAC-SHA-256(Key, S) with
// S = FC || P0 || L0 || P1 || L1 ..., Li the two-octet big-endian length of Pi. Computed in WASM.
// (TS 33.203 Annex I uses it for the AES-GCM / AES-GMAC salts: see expandKeys.)

import { SHA256_LEN } from './constants.js';
import { Ipsec3gppError } from './errors.js';
import * as check from './internal/check.js';
import { requireModule, wasm } from './internal/wasm.js';

const KEY_MAX = 512;
const OUT_AT = 960; // 32-byte output near the end of the parameter window

/**
 * Derives 32 bytes per TS 33.220 Annex B.2.
 *
 * @param key the KDF key (e.g. CK || IK), at most 512 bytes
 * @param fc the function code, 0x00..0xff
 * @param params P0, P1, ...: each at most 65535 bytes
 * @example
 * ```ts
 * // The AES-GCM salt of TS 33.203 Annex I is the last 4 bytes of:
 * kdf(concat(ck, ik), 0x59, new TextEncoder().encode('AES_GCM_SALT'));
 * ```
 */
export function kdf(key: Uint8Array, fc: number, ...params: Uint8Array[]): Uint8Array {
  check.bytes('key', key);
  if (key.length > KEY_MAX) throw new Ipsec3gppError('KEY_LENGTH', `KDF key must be at most ${KEY_MAX} bytes, got ${key.length}`);
  if (!Number.isInteger(fc) || fc < 0 || fc > 255) throw new Ipsec3gppError('INVALID_ARGUMENT', 'FC must be an integer 0..255');
  let sLen = 1;
  for (const [i, p] of params.entries()) {
    check.bytes(`P${i}`, p);
    if (p.length > 0xffff) throw new Ipsec3gppError('INPUT_TOO_LARGE', `P${i} must be at most 65535 bytes`);
    sLen += p.length + 2;
  }
  requireModule('sha256', 'the KDF');
  const c = wasm();
  if (sLen > c.io.length) throw new Ipsec3gppError('INPUT_TOO_LARGE', 'KDF input S too large');
  let at = 0;
  c.io[at++] = fc;
  for (const p of params) {
    c.io.set(p, at);
    at += p.length;
    c.io[at++] = p.length >>> 8;
    c.io[at++] = p.length & 0xff;
  }
  c.param.set(key, 0);
  try {
    c.x.kdf_sha256(c.paramPtr, key.length, c.ioPtr, sLen, c.paramPtr + OUT_AT);
    return c.param.slice(OUT_AT, OUT_AT + SHA256_LEN);
  } finally {
    c.param.fill(0, 0, key.length);
    c.param.fill(0, OUT_AT, OUT_AT + SHA256_LEN);
  }
}
