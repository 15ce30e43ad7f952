// Binding to the WASM core (assembly/): instantiation from the embedded module, the typed export table,
// and the views onto the fixed I/O and parameter windows.
//
// Zero-copy discipline (README "Bindings"): views are created once, after instantiation, and again only
// after a context allocation, the one operation that may grow WASM memory. Per-operation code copies its
// input into `io`, makes one export call, and copies the result out (or into the caller's buffer).

import { IO_BUFFER_SIZE, PARAM_BUFFER_SIZE } from '../constants.js';
import { ErrorCode, Ipsec3gppError } from '../errors.js';
import { WASM_BASE64 } from '../wasm/core.generated.js';

/** The functions exported by assembly/index.ts (pointers and lengths are byte offsets/counts). */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  ctx_alloc(size: number): number;
  ctx_free(ptr: number, size: number): void;
  io_ptr(): number;
  param_ptr(): number;
  live_contexts(): number;
  live_bytes(): number;
  wipe(ptr: number, len: number): void;
  ct_equal(a: number, b: number, len: number): number;
  aes_init(ctx: number, key: number, keyLen: number): number;
  aes_encrypt_blocks(ctx: number, src: number, dst: number, len: number): void;
  aes_decrypt_blocks(ctx: number, src: number, dst: number, len: number): void;
  aes_bs_ecb(ctx: number, src: number, dst: number, len: number, decrypt: number): void;
  aes_bs_cbc_decrypt(ctx: number, iv: number, src: number, dst: number, len: number): void;
  aes_bs_cbc_encrypt_lanes(ctx: number, jobs: number, count: number): void;
  des_init(ctx: number, key: number): void;
  des3_init(ctx: number, key: number): void;
  des_ecb(ctx: number, src: number, dst: number, len: number, decrypt: number): void;
  des3_ecb(ctx: number, src: number, dst: number, len: number, decrypt: number): void;
  aes_cbc_encrypt(ctx: number, iv: number, src: number, dst: number, len: number): void;
  aes_cbc_decrypt(ctx: number, iv: number, src: number, dst: number, len: number): void;
  des3_cbc_encrypt(ctx: number, iv: number, src: number, dst: number, len: number): void;
  des3_cbc_decrypt(ctx: number, iv: number, src: number, dst: number, len: number): void;
  gcm_init(ctx: number, key: number, keyLen: number): number;
  gcm_seal(ctx: number, nonce: number, aad: number, aadLen: number, src: number, dst: number, len: number, tag: number, tagLen: number): void;
  gcm_open(ctx: number, nonce: number, aad: number, aadLen: number, src: number, dst: number, len: number, tag: number, tagLen: number): number;
  hash_init(st: number, alg: number): number;
  hash_update(st: number, p: number, len: number): void;
  hash_final(st: number, out: number): void;
  hash_digest(alg: number, p: number, len: number, out: number): number;
  hmac_init(ctx: number, alg: number, key: number, keyLen: number): number;
  hmac_compute(ctx: number, p: number, len: number, out: number): number;
  hmac_begin(ctx: number, st: number): void;
  hmac_end(ctx: number, st: number, out: number): void;
  hmac_x4(alg: number, list: number, count: number): void;
  kdf_sha256(key: number, keyLen: number, s: number, sLen: number, out: number): void;
  expand_keys(alg: number, ealg: number, ck: number, ik: number, out: number, parity: number): number;
  iv_pool_ptr(): number;
  batch_ptr(): number;
  replay_size(w: number): number;
  replay_init(rw: number, w: number, flags: number): void;
  replay_infer(rw: number, seql: number): bigint;
  replay_check(rw: number, seq: bigint): number;
  replay_commit(rw: number, seq: bigint): void;
  replay_accept_batch(rw: number, seqs: number, n: number, results: number): number;
  replay_highest(rw: number): bigint;
  esp_sa_size(w: number): number;
  esp_keys_init(keys: number, alg: number, ealg: number, encKey: number, encLen: number, authKey: number, authLen: number, salt: number): number;
  esp_sa_init(sa: number, keys: number, spi: number, flags: number, alg: number, ealg: number, window: number): number;
  esp_seal(sa: number, buf: number, payloadLen: number, nextHeader: number, iv: number): number;
  esp_open(sa: number, buf: number, len: number, res: number): number;
  esp_sa_seq(sa: number): bigint;
  esp_sa_set_seq(sa: number, seq: bigint): void;
  esp_seal_batch(desc: number, n: number, base: number, ivPool: number): number;
  esp_open_batch(desc: number, n: number, base: number, res: number): number;
  esp_simd_paths(mask: number): void;
  simd_counters(out: number): void;
  milenage_init(ctx: number, k: number, op: number, isOpc: number): void;
  milenage_opc(ctx: number, out: number): void;
  milenage_run(ctx: number, rand: number, sqn: number, amf: number, out: number): void;
}

/** The live binding: exports plus views. Fields are replaced, never mutated, when memory grows. */
export interface Core {
  readonly x: CoreExports;
  /** The whole memory. */
  mem: Uint8Array<ArrayBuffer>;
  /** The I/O window and its address. */
  io: Uint8Array<ArrayBuffer>;
  readonly ioPtr: number;
  /** The parameter window and its address. */
  param: Uint8Array<ArrayBuffer>;
  readonly paramPtr: number;
  /** Whole-memory word views (batch descriptors, results). */
  u32: Uint32Array<ArrayBuffer>;
  i32: Int32Array<ArrayBuffer>;
}

let core: Core | undefined;
let pending: Promise<void> | undefined;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function setup(instance: WebAssembly.Instance): void {
  const x = instance.exports as unknown as CoreExports;
  const ioPtr = x.io_ptr();
  const paramPtr = x.param_ptr();
  const mem = new Uint8Array(x.memory.buffer);
  core = {
    x,
    mem,
    io: mem.subarray(ioPtr, ioPtr + IO_BUFFER_SIZE),
    ioPtr,
    param: mem.subarray(paramPtr, paramPtr + PARAM_BUFFER_SIZE),
    paramPtr,
    u32: new Uint32Array(x.memory.buffer),
    i32: new Int32Array(x.memory.buffer),
  };
}

/**
 * Loads and instantiates the WASM core. Safe to call more than once; later calls return the same
 * promise. This is the path for browsers (it never blocks the main thread on compilation).
 *
 * @example
 * ```ts
 * import { init, expandKeys } from 'ipsec-3gpp';
 * await init();
 * ```
 */
export function init(): Promise<void> {
  if (core) return Promise.resolve();
  pending ??= WebAssembly.compile(decodeBase64(WASM_BASE64))
    .then((module) => WebAssembly.instantiate(module, {}))
    .then((instance) => {
      if (!core) setup(instance);
    });
  return pending;
}

/**
 * Synchronous instantiation, for Node and workers. (Browsers refuse synchronous compilation of large
 * modules on the main thread: use {@link init} there.)
 */
export function initSync(): void {
  if (core) return;
  const module = new WebAssembly.Module(decodeBase64(WASM_BASE64));
  setup(new WebAssembly.Instance(module, {}));
}

/** The binding; throws NOT_INITIALIZED before `init()`/`initSync()`. */
export function wasm(): Core {
  if (core === undefined) {
    throw new Ipsec3gppError(ErrorCode.NOT_INITIALIZED, 'ipsec-3gpp: call `await init()` (or `initSync()`) first');
  }
  return core;
}

/** Rebuilds the views if memory has grown (called after every allocation, never on a hot path). */
function refreshViews(c: Core): void {
  if (c.mem.buffer !== c.x.memory.buffer) {
    const mem = new Uint8Array(c.x.memory.buffer);
    c.mem = mem;
    c.io = mem.subarray(c.ioPtr, c.ioPtr + IO_BUFFER_SIZE);
    c.param = mem.subarray(c.paramPtr, c.paramPtr + PARAM_BUFFER_SIZE);
    c.u32 = new Uint32Array(c.x.memory.buffer);
    c.i32 = new Int32Array(c.x.memory.buffer);
  }
}

/** Allocates a zeroed context of `size` bytes in WASM memory. */
export function allocContext(size: number): number {
  const c = wasm();
  let ptr: number;
  try {
    ptr = c.x.ctx_alloc(size);
  } catch {
    throw new Ipsec3gppError(ErrorCode.OUT_OF_MEMORY, `cannot allocate a ${size}-byte context in WASM memory`);
  }
  refreshViews(c);
  if (ptr === 0) throw new Ipsec3gppError(ErrorCode.OUT_OF_MEMORY, `cannot allocate a ${size}-byte context in WASM memory`);
  return ptr;
}

/** Zeroes and frees a context. */
export function freeContext(ptr: number, size: number): void {
  core?.x.ctx_free(ptr, size);
}

/** Statistics of the WASM heap, for tests and benchmarks. */
export function memoryStats(): { memoryBytes: number; liveContexts: number; liveContextBytes: number } {
  const c = wasm();
  return {
    memoryBytes: c.x.memory.buffer.byteLength,
    liveContexts: c.x.live_contexts() >>> 0,
    liveContextBytes: c.x.live_bytes() >>> 0,
  };
}

/**
 * The raw memory, for tests that scan it for key bytes after `destroy()`. Not part of the public API.
 * @internal
 */
export function rawMemory(): Uint8Array {
  return wasm().mem;
}
