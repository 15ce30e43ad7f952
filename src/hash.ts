// MD5 (RFC 1321), SHA-1 and SHA-256 (FIPS 180-4), computed in the WASM core. MD5 is here for HMAC-MD5-96
// (RFC 2403) and Digest AKAv1-MD5 (RFC 3310); do not use it for anything needing collision resistance.

import { HASH_CTX_SIZE, HASH_MD5, HASH_SHA1, HASH_SHA256, IO_BUFFER_SIZE, MD5_LEN, SHA1_LEN, SHA256_LEN } from './constants.js';
import * as check from './internal/check.js';
import { allocContext, requireModule, wasm, type Core } from './internal/wasm.js';

/** Hash functions available to {@link digest} and {@link Hmac}. */
export type HashName = 'md5' | 'sha1' | 'sha256';

export const HASHES: Readonly<Record<HashName, { id: number; length: number }>> = {
  md5: { id: HASH_MD5, length: MD5_LEN },
  sha1: { id: HASH_SHA1, length: SHA1_LEN },
  sha256: { id: HASH_SHA256, length: SHA256_LEN },
};

let streamState = 0;

/** A hash state in WASM memory shared by every input larger than the I/O window (allocated once). */
export function sharedStreamState(): number {
  if (streamState === 0) streamState = allocContext(HASH_CTX_SIZE);
  return streamState;
}

/** Feeds `data` to the streaming state `st` window by window. */
export function streamUpdate(c: Core, st: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; off += IO_BUFFER_SIZE) {
    const n = Math.min(IO_BUFFER_SIZE, data.length - off);
    c.io.set(data.subarray(off, off + n), 0);
    c.x.hash_update(st, c.ioPtr, n);
  }
}

/**
 * One-shot digest of `data` with `hash`. Inputs up to the I/O window size take one WASM call.
 *
 * @example
 * ```ts
 * const d = digest('sha256', new TextEncoder().encode('abc'));
 * ```
 */
export function digest(hash: HashName, data: Uint8Array, out?: Uint8Array): Uint8Array {
  const h = HASHES[hash];
  check.bytes('data', data);
  const o = check.output(out, h.length);
  requireModule(hash, hash);
  const c = wasm();
  if (data.length <= IO_BUFFER_SIZE) {
    c.io.set(data, 0);
    c.x.hash_digest(h.id, c.ioPtr, data.length, c.paramPtr);
  } else {
    const st = sharedStreamState();
    c.x.hash_init(st, h.id);
    streamUpdate(c, st, data);
    c.x.hash_final(st, c.paramPtr);
  }
  o.set(c.param.subarray(0, h.length), 0);
  // The input may be secret (Digest AKA's A1 holds RES, its password), and so may the digest (H(A1)).
  c.io.fill(0, 0, Math.min(data.length, IO_BUFFER_SIZE));
  c.param.fill(0, 0, h.length);
  return o;
}

/** MD5 of `data` (16 bytes). */
export const md5 = (data: Uint8Array, out?: Uint8Array): Uint8Array => digest('md5', data, out);
/** SHA-1 of `data` (20 bytes). */
export const sha1 = (data: Uint8Array, out?: Uint8Array): Uint8Array => digest('sha1', data, out);
/** SHA-256 of `data` (32 bytes). */
export const sha256 = (data: Uint8Array, out?: Uint8Array): Uint8Array => digest('sha256', data, out);
