// Shared drivers for the block-cipher APIs (aes.ts, des.ts): validation, then the data moved through the
// I/O window in window-sized chunks. In CBC the chaining value stays in the parameter window between
// chunks (the core writes the last ciphertext block back to it).

import { IO_BUFFER_SIZE } from '../constants.js';
import * as check from './check.js';
import { wasm, type Core } from './wasm.js';

/** The CBC exports of the core: (ctx, iv, src, dst, len). */
export type CbcExport = 'aes_cbc_encrypt' | 'aes_cbc_decrypt' | 'des3_cbc_encrypt' | 'des3_cbc_decrypt';

/** One ECB pass of the core over `len` bytes at `src` into `dst`. */
export type EcbCall = (c: Core, ctx: number, src: number, dst: number, len: number) => void;

/** Validates and runs a CBC direction; returns the output (`out` when given). */
export function cbc(fn: CbcExport, ctx: number, block: number, iv: Uint8Array, data: Uint8Array, out: Uint8Array | undefined): Uint8Array {
  check.length('IV', iv, 'IV_LENGTH', block);
  check.bytes('data', data);
  check.aligned('data', data, block);
  const o = check.output(out, data.length);
  const c = wasm();
  c.param.set(iv, 0);
  const total = data.length;
  for (let off = 0; off < total; off += IO_BUFFER_SIZE) {
    const n = Math.min(IO_BUFFER_SIZE, total - off);
    c.io.set(n === total ? data : data.subarray(off, off + n), 0);
    c.x[fn](ctx, c.paramPtr, c.ioPtr, c.ioPtr, n);
    o.set(c.io.subarray(0, n), off);
  }
  return o;
}

/** Validates and runs an ECB (block-by-block) pass, for the block APIs. */
export function ecb(call: EcbCall, ctx: number, block: number, data: Uint8Array, out: Uint8Array | undefined): Uint8Array {
  check.bytes('data', data);
  check.aligned('data', data, block);
  const o = check.output(out, data.length);
  const c = wasm();
  const total = data.length;
  for (let off = 0; off < total; off += IO_BUFFER_SIZE) {
    const n = Math.min(IO_BUFFER_SIZE, total - off);
    c.io.set(n === total ? data : data.subarray(off, off + n), 0);
    call(c, ctx, c.ioPtr, c.ioPtr, n);
    o.set(c.io.subarray(0, n), off);
  }
  return o;
}
