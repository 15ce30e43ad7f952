// Memory layout of the WASM core: fixed I/O windows and the key-context allocator.
//
// Design (see DEVELOPERS.md and README "Bindings"): the TypeScript layer builds its Uint8Array views of
// these windows once. Nothing on a per-packet path allocates, so memory never grows and the views never
// detach. Memory only grows when a new key context (an SA, an HMAC key, ...) is created and every free
// slot of its size class is in use.
//
// Contexts hold key schedules, so a freed context is zeroed before it goes back on its free list
// (TS 33.203 gives no rule here; this is our key-hygiene policy, README "Security").
//
// The module is built with `--runtime stub`: no garbage collector, `heap.alloc` is a bump allocator
// that grows memory. This file is the only caller of `heap.alloc`.

import { IO_BUFFER_SIZE, PARAM_BUFFER_SIZE, IV_POOL_SIZE, BATCH_MAX, BATCH_RECORD_SIZE } from "../src/constants";

/** The I/O window: inputs are copied in here and outputs read back from here. */
export const IO: usize = memory.data(IO_BUFFER_SIZE, 16);
/** The parameter window: keys, IVs, nonces, tags and other short values. */
export const PARAM: usize = memory.data(PARAM_BUFFER_SIZE, 16);
/** Random bytes for CBC IVs, filled by the TypeScript layer from crypto.getRandomValues. */
export const IV_POOL: usize = memory.data(IV_POOL_SIZE, 16);
/** Batch descriptors (assembly/esp.ts, assembly/replay.ts). */
export const BATCH: usize = memory.data(BATCH_MAX * BATCH_RECORD_SIZE, 16);

/**
 * Size classes of the context allocator: 64-byte steps up to 1 KiB (classes 0..15: 64, 128, ... 1024
 * bytes), so that small contexts (SA headers of 64 or 128 bytes, ESP key contexts of 640) are not rounded
 * up to a power of two; then powers of two up to 128 KiB (classes 16..22: 2 KiB .. 128 KiB, an SA with a
 * 262 144-packet replay window). A freed block goes back on its class's free list and is reused first.
 */
const MAX_CLASS: i32 = 22;
const FREE_HEADS: usize = memory.data(4 * (MAX_CLASS + 1), 16);

// Live context count and bytes, for the memory-per-SA figures in bench/.
let liveContexts: u32 = 0;
let liveBytes: u32 = 0;

@inline function classOf(size: u32): i32 {
  if (size <= 1024) return <i32>((size + 63) >> 6) - 1;
  // 16 + ceil(log2(size)) - 11
  return <i32>(32 - clz<u32>(size - 1)) + 5;
}

@inline function classBytes(c: i32): u32 {
  return c < 16 ? <u32>(c + 1) << 6 : <u32>2048 << (c - 16);
}

/**
 * Returns a zeroed, 16-byte aligned block of at least `size` bytes, or 0 if `size` is 0 or above the
 * largest class. May grow memory (this is the only place that does).
 */
export function ctx_alloc(size: u32): usize {
  if (size == 0) return 0;
  const c = classOf(size);
  if (c > MAX_CLASS) return 0;
  const headPtr = FREE_HEADS + (<usize>c << 2);
  let p = load<usize>(headPtr);
  if (p != 0) {
    store<usize>(headPtr, load<usize>(p));
    store<usize>(p, 0); // the rest was zeroed by ctx_free
  } else {
    p = heap.alloc(classBytes(c));
    memory.fill(p, 0, classBytes(c));
  }
  liveContexts++;
  liveBytes += classBytes(c);
  return p;
}

/** Zeroes a block obtained from `ctx_alloc(size)` and makes it available again. */
export function ctx_free(p: usize, size: u32): void {
  if (p == 0 || size == 0) return;
  const c = classOf(size);
  if (c > MAX_CLASS) return;
  memory.fill(p, 0, classBytes(c));
  const headPtr = FREE_HEADS + (<usize>c << 2);
  store<usize>(p, load<usize>(headPtr));
  store<usize>(headPtr, p);
  liveContexts--;
  liveBytes -= classBytes(c);
}

export function io_ptr(): usize {
  return IO;
}

export function param_ptr(): usize {
  return PARAM;
}

export function iv_pool_ptr(): usize {
  return IV_POOL;
}

export function batch_ptr(): usize {
  return BATCH;
}

export function live_contexts(): u32 {
  return liveContexts;
}

export function live_bytes(): u32 {
  return liveBytes;
}

/** Zeroes `len` bytes at `p` (used by the TS layer to wipe the windows after a key passed through). */
export function wipe(p: usize, len: usize): void {
  memory.fill(p, 0, len);
}
