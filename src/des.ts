// DES (FIPS 46-3) and DES-EDE3 (NIST SP 800-67) with CBC as ESP uses it (RFC 2451): 24-byte keys
// K1 || K2 || K3, 8-byte explicit IV, no cipher padding. In IMS the key is CK1 || CK2 || CK1
// (TS 33.203 Annex I, see keys.ts). Keys with K1 == K2 or K2 == K3 (parity bits ignored) reduce to single
// DES and are refused, as RFC 2451 2.4 requires. 3DES is deprecated in later releases of TS 33.203.

import { DES3_CTX_SIZE, DES_BLOCK, DES_CTX_SIZE } from './constants.js';
import { equalBytes } from './ct.js';
import { Ipsec3gppError } from './errors.js';
import * as check from './internal/check.js';
import { WasmKey, withKeyInParam } from './internal/context.js';
import { cbc, ecb } from './internal/modes.js';
import { requireModule } from './internal/wasm.js';

/** Whether two 8-byte DES keys at the given offsets are equal ignoring parity bits. */
function sameDesKey(k: Uint8Array, a: number, b: number): boolean {
  const x = k.slice(a, a + 8).map((v) => v & 0xfe);
  const y = k.slice(b, b + 8).map((v) => v & 0xfe);
  const same = equalBytes(x, y);
  x.fill(0);
  y.fill(0);
  return same;
}

/**
 * Checks an EDE3 key for the RFC 2451 weak-key rule: throws WEAK_KEY when K1 == K2 or K2 == K3.
 * (K1 == K3 is allowed: it is the keying option TS 33.203 Annex I uses.)
 */
export function checkDes3Key(key: Uint8Array): void {
  check.length('DES-EDE3 key', key, 'KEY_LENGTH', 24);
  if (sameDesKey(key, 0, 8) || sameDesKey(key, 8, 16)) {
    throw new Ipsec3gppError('WEAK_KEY', 'DES-EDE3 key has K1 == K2 or K2 == K3 (RFC 2451 2.4)');
  }
}

/** What Des and Des3 share: the ECB block API over one core export. */
abstract class DesBlocks extends WasmKey {
  protected abstract readonly ecbExport: 'des_ecb' | 'des3_ecb';

  /** Encrypts whole 8-byte blocks independently. */
  encryptBlocks(data: Uint8Array, out?: Uint8Array): Uint8Array {
    const fn = this.ecbExport;
    return ecb((c, ctx, src, dst, n) => c.x[fn](ctx, src, dst, n, 0), this.ctx, DES_BLOCK, data, out);
  }

  /** Decrypts whole 8-byte blocks independently. */
  decryptBlocks(data: Uint8Array, out?: Uint8Array): Uint8Array {
    const fn = this.ecbExport;
    return ecb((c, ctx, src, dst, n) => c.x[fn](ctx, src, dst, n, 1), this.ctx, DES_BLOCK, data, out);
  }
}

/** Single DES on whole 8-byte blocks (a building block and for tests; never use single DES to protect data). */
export class Des extends DesBlocks {
  protected readonly ecbExport = 'des_ecb';

  constructor(key: Uint8Array) {
    check.length('DES key', key, 'KEY_LENGTH', 8);
    requireModule('des', 'DES');
    super(DES_CTX_SIZE);
    const ctx = this.ctx;
    withKeyInParam(key, (c, k) => c.x.des_init(ctx, k));
  }
}

/** DES-EDE3 on whole 8-byte blocks: E_K3(D_K2(E_K1(x))). */
export class Des3 extends DesBlocks {
  protected readonly ecbExport = 'des3_ecb';

  constructor(key: Uint8Array) {
    checkDes3Key(key);
    requireModule('des', 'DES-EDE3');
    super(DES3_CTX_SIZE);
    const ctx = this.ctx;
    withKeyInParam(key, (c, k) => c.x.des3_init(ctx, k));
  }
}

/**
 * DES-EDE3-CBC without padding (RFC 2451): input a multiple of 8 bytes, IV per call.
 *
 * @example
 * ```ts
 * const cbc = new Des3Cbc(expandKeys({ alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck, ik }).encKey);
 * const ct = cbc.encrypt(iv8, padded);
 * ```
 */
export class Des3Cbc extends Des3 {
  /** Encrypts `data` (a multiple of 8 bytes) with `iv`; writes into `out` when given. */
  encrypt(iv: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array {
    return cbc('des3_cbc_encrypt', this.ctx, DES_BLOCK, iv, data, out);
  }

  /** Decrypts `data` (a multiple of 8 bytes) with `iv`; writes into `out` when given. */
  decrypt(iv: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array {
    return cbc('des3_cbc_decrypt', this.ctx, DES_BLOCK, iv, data, out);
  }
}
