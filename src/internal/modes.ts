// Shared drivers for the block-cipher calls: inputs larger than the I/O window are processed in
// window-sized chunks (the chaining value stays in the parameter window between chunks).

import { IO_BUFFER_SIZE } from '../constants.js';
import { type Core } from './wasm.js';

export type BlockFn = (ctx: number, iv: number, src: number, dst: number, len: number) => void;

/** Runs a CBC direction over `data` into `out` (which may be `data`). `iv` goes to param[0..]. */
export function runCbc(c: Core, fn: BlockFn, ctx: number, iv: Uint8Array, data: Uint8Array, out: Uint8Array): void {
  c.param.set(iv, 0);
  const total = data.length;
  for (let off = 0; off < total; off += IO_BUFFER_SIZE) {
    const n = Math.min(IO_BUFFER_SIZE, total - off);
    c.io.set(n === total ? data : data.subarray(off, off + n), 0);
    fn(ctx, c.paramPtr, c.ioPtr, c.ioPtr, n);
    out.set(c.io.subarray(0, n), off);
  }
}

export type EcbFn = (ctx: number, src: number, dst: number, len: number) => void;

/** Runs an ECB (block-by-block) direction, for the block API. */
export function runEcb(c: Core, fn: EcbFn, ctx: number, data: Uint8Array, out: Uint8Array): void {
  const total = data.length;
  for (let off = 0; off < total; off += IO_BUFFER_SIZE) {
    const n = Math.min(IO_BUFFER_SIZE, total - off);
    c.io.set(n === total ? data : data.subarray(off, off + n), 0);
    fn(ctx, c.ioPtr, c.ioPtr, n);
    out.set(c.io.subarray(0, n), off);
  }
}
