// AES (FIPS 197) and the modes ESP uses with it: CBC (RFC 3602), GCM (RFC 4106) and GMAC (RFC 4543).
// All of them run in the WASM core; these classes validate input, hold the key schedule in WASM memory
// and move data through the I/O window. Table-based AES: see SECURITY.md on cache timing.

import { AES_BLOCK, AES_CTX_SIZE, GCM_CTX_SIZE, GCM_NONCE, IO_BUFFER_SIZE } from './constants.js';
import { Ipsec3gppError } from './errors.js';
import * as check from './internal/check.js';
import { WasmKey, withKeyInParam } from './internal/context.js';
import { cbc, ecb } from './internal/modes.js';
import { requireModule, wasm } from './internal/wasm.js';

const AES_KEY_LENGTHS = [16, 24, 32];

/**
 * The AES block cipher with a fixed key (ECB over whole blocks: a building block, not a mode to use
 * on its own).
 *
 * @example
 * ```ts
 * const aes = new Aes(key16);
 * const c = aes.encryptBlocks(block16);
 * aes.destroy();
 * ```
 */
export class Aes extends WasmKey {
  /** Key length in bytes (16, 24 or 32). */
  readonly keyLength: number;

  constructor(key: Uint8Array) {
    check.length('AES key', key, 'KEY_LENGTH', ...AES_KEY_LENGTHS);
    requireModule('aes', 'AES');
    super(AES_CTX_SIZE);
    const ctx = this.ctx;
    withKeyInParam(key, (c, k) => c.x.aes_init(ctx, k, key.length));
    this.keyLength = key.length;
  }

  /** Encrypts whole 16-byte blocks independently. */
  encryptBlocks(data: Uint8Array, out?: Uint8Array): Uint8Array {
    requireModule('aes8', 'AES blocks');
    return ecb((c, ctx, src, dst, n) => c.x.aes_encrypt_blocks(ctx, src, dst, n), this.ctx, AES_BLOCK, data, out);
  }

  /** Decrypts whole 16-byte blocks independently. */
  decryptBlocks(data: Uint8Array, out?: Uint8Array): Uint8Array {
    requireModule('aes8', 'AES blocks');
    return ecb((c, ctx, src, dst, n) => c.x.aes_decrypt_blocks(ctx, src, dst, n), this.ctx, AES_BLOCK, data, out);
  }
}

/**
 * AES-CBC without padding, as ESP uses it (RFC 3602): the caller pads (ESP's trailer does), so input
 * must be a multiple of 16 bytes. The IV is passed per call, as each ESP packet carries its own.
 *
 * @example
 * ```ts
 * const cbc = new AesCbc(ckEsp);
 * const ct = cbc.encrypt(iv, paddedPlaintext);
 * const pt = cbc.decrypt(iv, ct);
 * ```
 */
export class AesCbc extends Aes {
  /** Encrypts `data` (a multiple of 16 bytes) with `iv`; writes into `out` when given. */
  encrypt(iv: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array {
    return cbc('aes_cbc_encrypt', this.ctx, AES_BLOCK, iv, data, out);
  }

  /** Decrypts `data` (a multiple of 16 bytes) with `iv`; writes into `out` when given. */
  decrypt(iv: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array {
    return cbc('aes_cbc_decrypt', this.ctx, AES_BLOCK, iv, data, out);
  }
}

/** Options of {@link AesGcm} and {@link AesGmac}. */
export interface GcmOptions {
  /** Tag length in bytes: 8, 12 or 16 (RFC 4106 defines all three; 3GPP uses 16). Default 16. */
  tagLength?: 8 | 12 | 16;
}

const TAG_AT = 16; // tag position in the parameter window (the nonce is at 0)

abstract class GcmBase extends WasmKey {
  readonly keyLength: number;
  readonly tagLength: 8 | 12 | 16;

  protected constructor(key: Uint8Array, options: GcmOptions | undefined) {
    check.length('AES key', key, 'KEY_LENGTH', ...AES_KEY_LENGTHS);
    const tagLength = options?.tagLength ?? 16;
    if (tagLength !== 8 && tagLength !== 12 && tagLength !== 16) {
      throw new Ipsec3gppError('TAG_LENGTH', `tagLength must be 8, 12 or 16, got ${String(tagLength)}`);
    }
    requireModule('gcm', 'AES-GCM');
    super(GCM_CTX_SIZE);
    const ctx = this.ctx;
    withKeyInParam(key, (c, k) => c.x.gcm_init(ctx, k, key.length));
    this.keyLength = key.length;
    this.tagLength = tagLength;
  }

  /** Copies nonce, AAD and data into WASM; returns the offset of the data in the I/O window. */
  protected stage(nonce: Uint8Array, aad: Uint8Array, data: Uint8Array): number {
    check.length('nonce', nonce, 'IV_LENGTH', GCM_NONCE);
    if (aad.length + data.length > IO_BUFFER_SIZE) {
      throw new Ipsec3gppError('INPUT_TOO_LARGE', `AAD + data must be at most ${IO_BUFFER_SIZE} bytes in one call`);
    }
    const c = wasm();
    c.param.set(nonce, 0);
    c.io.set(aad, 0);
    c.io.set(data, aad.length);
    return aad.length;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * AES-GCM with a 12-byte nonce (RFC 4106: 4-byte salt || 8-byte explicit IV). `seal` returns
 * ciphertext || tag; `open` checks the tag in constant time before releasing any plaintext.
 *
 * @example
 * ```ts
 * const gcm = new AesGcm(key, { tagLength: 16 });
 * const sealed = gcm.seal(nonce, plaintext, aad);
 * const plain = gcm.open(nonce, sealed, aad); // throws TAG_MISMATCH when tampered
 * ```
 */
export class AesGcm extends GcmBase {
  constructor(key: Uint8Array, options?: GcmOptions) {
    super(key, options);
  }

  /** Encrypts and authenticates; returns `ciphertext || tag` (in `out` when given). */
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = EMPTY, out?: Uint8Array): Uint8Array {
    check.bytes('plaintext', plaintext);
    check.bytes('aad', aad);
    const len = plaintext.length;
    const o = check.output(out, len + this.tagLength);
    const at = this.stage(nonce, aad, plaintext);
    const c = wasm();
    c.x.gcm_seal(this.ctx, c.paramPtr, c.ioPtr, aad.length, c.ioPtr + at, c.ioPtr + at, len, c.paramPtr + TAG_AT, this.tagLength);
    o.set(c.io.subarray(at, at + len), 0);
    o.set(c.param.subarray(TAG_AT, TAG_AT + this.tagLength), len);
    return o;
  }

  /** Verifies and decrypts `ciphertext || tag`; throws TAG_MISMATCH (and writes nothing) on failure. */
  open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array = EMPTY, out?: Uint8Array): Uint8Array {
    check.bytes('sealed', sealed);
    check.bytes('aad', aad);
    if (sealed.length < this.tagLength) {
      throw new Ipsec3gppError('TAG_LENGTH', `sealed input of ${sealed.length} bytes is shorter than the ${this.tagLength}-byte tag`);
    }
    const len = sealed.length - this.tagLength;
    const o = check.output(out, len);
    const ct = sealed.subarray(0, len);
    const at = this.stage(nonce, aad, ct);
    const c = wasm();
    c.param.set(sealed.subarray(len), TAG_AT);
    const ok = c.x.gcm_open(this.ctx, c.paramPtr, c.ioPtr, aad.length, c.ioPtr + at, c.ioPtr + at, len, c.paramPtr + TAG_AT, this.tagLength);
    if (!ok) throw new Ipsec3gppError('TAG_MISMATCH', 'AES-GCM tag does not verify');
    o.set(c.io.subarray(at, at + len), 0);
    return o;
  }
}

/**
 * AES-GMAC (RFC 4543): GCM authentication of `data` with nothing encrypted.
 *
 * @example
 * ```ts
 * const gmac = new AesGmac(key);
 * const tag = gmac.tag(nonce, data);
 * gmac.verify(nonce, data, tag); // true
 * ```
 */
export class AesGmac extends GcmBase {
  constructor(key: Uint8Array, options?: GcmOptions) {
    super(key, options);
  }

  /** Computes the tag over `data`. */
  tag(nonce: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array {
    check.bytes('data', data);
    const o = check.output(out, this.tagLength);
    this.stage(nonce, data, EMPTY);
    const c = wasm();
    c.x.gcm_seal(this.ctx, c.paramPtr, c.ioPtr, data.length, c.ioPtr, c.ioPtr, 0, c.paramPtr + TAG_AT, this.tagLength);
    o.set(c.param.subarray(TAG_AT, TAG_AT + this.tagLength), 0);
    return o;
  }

  /** Checks `tag` over `data` in constant time. */
  verify(nonce: Uint8Array, data: Uint8Array, tag: Uint8Array): boolean {
    check.bytes('data', data);
    check.length('tag', tag, 'TAG_LENGTH', this.tagLength);
    this.stage(nonce, data, EMPTY);
    const c = wasm();
    c.param.set(tag, TAG_AT);
    return c.x.gcm_open(this.ctx, c.paramPtr, c.ioPtr, data.length, c.ioPtr, c.ioPtr, 0, c.paramPtr + TAG_AT, this.tagLength) === 1;
  }
}
