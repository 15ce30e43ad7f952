// CSPRNG bytes for CBC IVs (RFC 3602 3, RFC 2451 2.2: unpredictable IVs), kept in a pool inside WASM
// memory and refilled with crypto.getRandomValues (Node >= 20 and browsers), so a packet costs no extra
// call across the boundary. Bytes are handed out once, in order, and never reused.

import { IV_POOL_SIZE } from '../constants.js';
import { type Core } from './wasm.js';

let poolPtr = 0;
let used = IV_POOL_SIZE; // empty until first use

/** Address of `bytes` fresh random bytes in WASM memory (at most IV_POOL_SIZE). */
export function takeRandom(c: Core, bytes: number): number {
  if (poolPtr === 0) poolPtr = c.x.iv_pool_ptr();
  if (used + bytes > IV_POOL_SIZE) {
    globalThis.crypto.getRandomValues(c.mem.subarray(poolPtr, poolPtr + IV_POOL_SIZE));
    used = 0;
  }
  const p = poolPtr + used;
  used += bytes;
  return p;
}
