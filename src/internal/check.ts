// Argument validation shared by the public API: one place that turns bad input into typed errors.

import { ErrorCode, Ipsec3gppError } from '../errors.js';

export function bytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) {
    throw new Ipsec3gppError('INVALID_ARGUMENT', `${name} must be a Uint8Array`);
  }
  return v;
}

export function length(name: string, v: unknown, code: ErrorCode, ...allowed: number[]): Uint8Array {
  const b = bytes(name, v);
  if (!allowed.includes(b.length)) {
    throw new Ipsec3gppError(code, `${name} must be ${allowed.join(' or ')} bytes, got ${b.length}`);
  }
  return b;
}

/** Returns `out` if given and large enough, otherwise a new buffer of `len` bytes. */
export function output(out: Uint8Array | undefined, len: number): Uint8Array {
  if (out === undefined) return new Uint8Array(len);
  bytes('out', out);
  if (out.length < len) {
    throw new Ipsec3gppError('OUTPUT_TOO_SMALL', `out must hold ${len} bytes, has ${out.length}`);
  }
  return out;
}

export function aligned(name: string, data: Uint8Array, block: number): void {
  if (data.length % block !== 0) {
    throw new Ipsec3gppError('NOT_BLOCK_ALIGNED', `${name} length ${data.length} is not a multiple of ${block}`);
  }
}
