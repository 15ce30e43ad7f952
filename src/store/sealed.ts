// Records at rest (issue 19): every value the P-CSCF and the core put in a store is sealed with AES-256-GCM
// (NIST SP 800-38D) under a key-encryption key (KEK) that the operator provides (a file or an environment
// variable, never the store), with the record's identity (its key in the store, under a fixed label) as
// associated data, so that a record moved to another key, truncated, torn or changed in one bit is refused
// (STORE_RECORD) and never half-loaded. A check record sealed under a fixed key tells a wrong KEK
// (STORE_KEK) from a tampered record.
//
// Layout: version (1) || IV (12, random) || ciphertext || tag (16). Random 96-bit IVs: NIST's bound of
// 2^32 invocations per key is far beyond what a P-CSCF writes (sequence marks are written once per 2^15
// packets of an SA, records once per registration step). WebCrypto (globalThis.crypto.subtle) does the
// AES-GCM, in Node and browsers alike; the KEK is imported as a non-extractable key and the caller's bytes
// are not kept.

import { Ipsec3gppError } from '../errors.js';

const VERSION = 1;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const LABEL = 'ipsec-3gpp store record v1\0';
const CHECK_KEY = 'meta/kek-check';
const CHECK_TEXT = 'ipsec-3gpp key-encryption key check';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Seals and opens store records with AES-256-GCM under a key-encryption key (the operator's, 32 bytes),
 * the record's identity as associated data. Create one with {@link RecordSealer.create}.
 *
 * @example
 * ```ts
 * const sealer = await RecordSealer.create(kek);          // 32 bytes from a file or the environment
 * const blob = await sealer.seal('pcscf/sa/1', bytes);     // version || IV || ciphertext || tag
 * const back = await sealer.open('pcscf/sa/1', blob);      // STORE_RECORD if anything was changed
 * ```
 */
export class RecordSealer {
  readonly #key: CryptoKey;

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /** Imports `kek` (32 bytes) as a non-extractable AES-GCM key; throws STORE_KEK for another length. */
  static async create(kek: Uint8Array): Promise<RecordSealer> {
    if (!(kek instanceof Uint8Array) || kek.length !== 32) throw new Ipsec3gppError('STORE_KEK', 'the key-encryption key must be 32 bytes (AES-256)');
    const key = await globalThis.crypto.subtle.importKey('raw', kek.slice(), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    return new RecordSealer(key);
  }

  /** `plaintext` sealed for the store key `id`. */
  async seal(id: string, plaintext: Uint8Array): Promise<Uint8Array> {
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_LENGTH));
    const ct = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad(id), tagLength: TAG_LENGTH * 8 }, this.#key, plaintext as Uint8Array<ArrayBuffer>));
    const out = new Uint8Array(1 + IV_LENGTH + ct.length);
    out[0] = VERSION;
    out.set(iv, 1);
    out.set(ct, 1 + IV_LENGTH);
    return out;
  }

  /** The plaintext of a record read under `id`; throws STORE_RECORD when it is short, of another version, or does not verify. */
  async open(id: string, blob: Uint8Array): Promise<Uint8Array> {
    if (blob.length < 1 + IV_LENGTH + TAG_LENGTH || blob[0] !== VERSION) {
      throw new Ipsec3gppError('STORE_RECORD', `store record ${id} is truncated or of an unknown version`);
    }
    try {
      return new Uint8Array(await globalThis.crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: blob.slice(1, 1 + IV_LENGTH), additionalData: aad(id), tagLength: TAG_LENGTH * 8 }, this.#key, blob.slice(1 + IV_LENGTH),
      ));
    } catch {
      throw new Ipsec3gppError('STORE_RECORD', `store record ${id} does not verify: torn, tampered with, or sealed under another key`);
    }
  }

  /** A JSON value sealed for `id`. */
  async sealJson(id: string, value: unknown): Promise<Uint8Array> {
    return this.seal(id, utf8.encode(JSON.stringify(value)));
  }

  /** The JSON value of a record; STORE_RECORD when it does not verify or is not JSON. */
  async openJson<T>(id: string, blob: Uint8Array): Promise<T> {
    const plain = await this.open(id, blob);
    try {
      return JSON.parse(fromUtf8.decode(plain)) as T;
    } catch {
      throw new Ipsec3gppError('STORE_RECORD', `store record ${id} is not a JSON document`);
    } finally {
      plain.fill(0);
    }
  }

  /**
   * Checks that this KEK is the one `prefix` of the store was written with (its check record), writing the
   * check record when there is none. Throws STORE_KEK for another KEK.
   */
  async checkStore(store: { get(key: string): Promise<Uint8Array | undefined>; write(ops: ReadonlyArray<{ put: string; value: Uint8Array }>): Promise<void> }, prefix: string): Promise<void> {
    const id = prefix + CHECK_KEY;
    const blob = await store.get(id);
    if (blob === undefined) {
      await store.write([{ put: id, value: await this.seal(id, utf8.encode(CHECK_TEXT)) }]);
      return;
    }
    let text: string;
    try {
      text = fromUtf8.decode(await this.open(id, blob));
    } catch {
      throw new Ipsec3gppError('STORE_KEK', `the key-encryption key is not the one this store (${prefix || 'root'}) was written with`);
    }
    if (text !== CHECK_TEXT) throw new Ipsec3gppError('STORE_KEK', 'the store\'s key check record is not ours');
  }

  /** Never reveals the key. */
  toJSON(): Record<string, unknown> {
    return { type: 'RecordSealer', algorithm: 'AES-256-GCM' };
  }
}

function aad(id: string): Uint8Array<ArrayBuffer> {
  return utf8.encode(LABEL + id);
}
