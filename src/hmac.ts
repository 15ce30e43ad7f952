// HMAC (RFC 2104) with the key's inner and outer hash states computed once, in WASM, when the object is
// created: each MAC afterwards costs only the message blocks plus two final blocks. `mac96` gives the
// HMAC-MD5-96 (RFC 2403) / HMAC-SHA-1-96 (RFC 2404) ICV truncation ESP uses.

import { HMAC_CTX_SIZE, IO_BUFFER_SIZE } from './constants.js';
import { Ipsec3gppError } from './errors.js';
import { HASHES, type HashName, sharedStreamState, streamUpdate } from './hash.js';
import * as check from './internal/check.js';
import { WasmKey } from './internal/context.js';
import { requireModule, wasm } from './internal/wasm.js';

const TAG_AT = 64; // computed MAC in the parameter window
const CMP_AT = 128; // tag to compare against

/**
 * An HMAC key.
 *
 * @example
 * ```ts
 * const h = new Hmac('sha1', ikEsp);        // IK_ESP from expandKeys()
 * const icv = h.mac96(spiSeqIvCiphertext);  // 12-byte ESP ICV
 * h.verify(spiSeqIvCiphertext, icv);        // true, constant time
 * ```
 */
export class Hmac extends WasmKey {
  readonly hash: HashName;
  /** Full tag length in bytes. */
  readonly length: number;

  constructor(hash: HashName, key: Uint8Array) {
    const h = HASHES[hash];
    if (h === undefined) throw new Ipsec3gppError('UNKNOWN_ALGORITHM', `unknown hash ${JSON.stringify(String(hash))}`);
    check.bytes('HMAC key', key);
    requireModule(hash, `HMAC-${hash}`);
    super(HMAC_CTX_SIZE);
    this.hash = hash;
    this.length = h.length;
    const c = wasm();
    // Keys may be long (they are hashed first); stage in the I/O window, then wipe it.
    c.io.set(key, 0);
    try {
      c.x.hmac_init(this.ctx, h.id, c.ioPtr, key.length);
    } finally {
      c.io.fill(0, 0, key.length);
    }
  }

  /** Computes the MAC into param[TAG_AT..]. */
  #compute(data: Uint8Array): void {
    check.bytes('data', data);
    const c = wasm();
    if (data.length <= IO_BUFFER_SIZE) {
      c.io.set(data, 0);
      c.x.hmac_compute(this.ctx, c.ioPtr, data.length, c.paramPtr + TAG_AT);
    } else {
      const st = sharedStreamState();
      c.x.hmac_begin(this.ctx, st);
      streamUpdate(c, st, data);
      c.x.hmac_end(this.ctx, st, c.paramPtr + TAG_AT);
    }
  }

  /** The full-length MAC of `data`. */
  mac(data: Uint8Array, out?: Uint8Array): Uint8Array {
    const o = check.output(out, this.length);
    this.#compute(data);
    o.set(wasm().param.subarray(TAG_AT, TAG_AT + this.length), 0);
    return o;
  }

  /** The leftmost 96 bits (12 bytes) of the MAC: the ESP ICV of HMAC-MD5-96 and HMAC-SHA-1-96. */
  mac96(data: Uint8Array, out?: Uint8Array): Uint8Array {
    const o = check.output(out, 12);
    this.#compute(data);
    o.set(wasm().param.subarray(TAG_AT, TAG_AT + 12), 0);
    return o;
  }

  /**
   * Checks a (possibly truncated, at least 12-byte) tag in constant time.
   * Throws TAG_LENGTH for a tag shorter than 12 bytes or longer than the hash.
   */
  verify(data: Uint8Array, tag: Uint8Array): boolean {
    check.bytes('tag', tag);
    if (tag.length < 12 || tag.length > this.length) {
      throw new Ipsec3gppError('TAG_LENGTH', `HMAC tag must be 12..${this.length} bytes, got ${tag.length}`);
    }
    this.#compute(data);
    const c = wasm();
    c.param.set(tag, CMP_AT);
    return c.x.ct_equal(c.paramPtr + TAG_AT, c.paramPtr + CMP_AT, tag.length) === 1;
  }
}
