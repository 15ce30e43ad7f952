// Binding to the WASM core (assembly/index.ts): instantiation from the embedded module or from the
// `core.wasm` asset (README "In the browser"), the typed export table, and the views onto the fixed I/O and
// parameter windows. Milenage is a module of its own (assembly/aka.ts, bound in wasm-aka.ts).
//
// Zero-copy discipline (README "Bindings"): views are created once, after instantiation, and again only
// after a context allocation, the one operation that may grow WASM memory. Per-operation code copies its
// input into `io`, makes one export call, and copies the result out (or into the caller's buffer).

import { IO_BUFFER_SIZE, PARAM_BUFFER_SIZE } from '../constants.js';
import { Ipsec3gppError } from '../errors.js';
import type { EncryptionAlgorithm, IntegrityAlgorithm } from '../algorithms.js';
import type { WasmModuleName } from './wasm-modules.js';
// Imported statically (not dynamically, as the embedded modules are): a browser app of the split build then
// gets one JavaScript file instead of three (the app, this loader, and a chunk that both share), 0.9 kB less
// gzip in scripts/size.mjs's esp-split-asset app; an app of the single module ships the loader's 3 kB
// (0.7 kB gzip) without using it. The cycle (wasm-split.ts imports setup and compileSource from here) is
// safe: neither file uses the other at evaluation time.
import { loadSplit } from './wasm-split.js';

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
  // hmac_x4, batch_ptr, esp_*_batch, esp_simd_paths, simd_counters: absent from the split build's per-packet
  // ESP module (`esp`; `esp-batch` has them).
  hmac_x4?(alg: number, list: number, count: number): void;
  kdf_sha256(key: number, keyLen: number, s: number, sLen: number, out: number): void;
  expand_keys(alg: number, ealg: number, ck: number, ik: number, out: number, parity: number): number;
  iv_pool_ptr(): number;
  batch_ptr?(): number;
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
  esp_sa_set_replay_top(sa: number, top: bigint): void;
  esp_seal_batch?(desc: number, n: number, base: number, ivPool: number): number;
  esp_open_batch?(desc: number, n: number, base: number, res: number): number;
  esp_simd_paths?(mask: number): void;
  simd_counters?(out: number): void;
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

/**
 * Where {@link init} gets the WASM core from: the URL of the `core.wasm` asset (fetched, and compiled while
 * it downloads with `WebAssembly.compileStreaming` when served as `application/wasm`), a `Response` or a
 * promise of one, the module's bytes, or a compiled `WebAssembly.Module`.
 */
export type WasmSource = URL | string | Response | PromiseLike<Response> | BufferSource | WebAssembly.Module;

/** Options of {@link init}. */
export interface InitOptions {
  /**
   * The WASM to load instead of the embedded copy. Without `algorithms`: the single module, typically the
   * URL the app's bundler gives the `ipsec-3gpp/core.wasm` asset (README "In the browser": Vite's `?url`,
   * esbuild's file loader, webpack's `asset/resource`). With `algorithms`: the split modules, by name
   * (`{ esp, aes, sha1 }` for the `ipsec-3gpp/wasm/<name>.wasm` assets; {@link wasmModules} says which).
   * Without it, `init()` loads the embedded modules (base64, a third larger than the assets), which it
   * imports dynamically (with their loader, wasm-embedded.ts), so that a bundler that splits code leaves
   * them out of the app when `wasm` is given.
   */
  wasm?: WasmSource | Readonly<Partial<Record<WasmModuleName, WasmSource>>> | undefined;
  /**
   * Load only these algorithms (`alg` and `ealg` names of TS 33.203 Annex H), from the split build: the
   * ESP module and one module per algorithm, sharing one memory, so that a browser app ships and compiles
   * only what it uses. Any other algorithm then throws ALGORITHM_NOT_LOADED (an SA, a key, a hash). Without
   * it, every algorithm is loaded (the single module). The IMS roles negotiate algorithms at run time: use
   * the single module for them.
   */
  algorithms?: ReadonlyArray<IntegrityAlgorithm | EncryptionAlgorithm> | undefined;
  /**
   * With `algorithms`: also load the 4-lane SIMD hash modules that `sealBatch`/`openBatch` use for
   * HMAC-SHA-1-96 / HMAC-MD5-96 (without them the batch calls compute one ICV at a time; results are the same).
   */
  batch?: boolean | undefined;
  /**
   * With `algorithms`: the compact flavour, for apps that count bytes more than cycles: hmac-sha-1-96 loads
   * `sha1-small` (SHA-1 with its rounds rolled, 1.1 kB instead of 4.6 kB) in place of `sha1`, and without
   * aes-gcm and aes-gmac the ESP module is `esp-cbc` (no GCM/GMAC code, no salt KDF, no SHA-256; 7.0 kB
   * instead of 10.2 kB) in place of `esp` ({@link wasmModules} names them). Same results; SHA-1 about half
   * as fast, a 600-byte AES-CBC + HMAC-SHA-1-96 seal and open 1.28x the instructions (README "In the
   * browser" gives the measured cost). AES is the same module.
   */
  compact?: boolean | undefined;
}

/** A few of the exports, checked so that a wrong module (aka.wasm, another library's) is refused. */
const REQUIRED = ['io_ptr', 'param_ptr', 'ctx_alloc', 'ctx_free', 'esp_seal', 'esp_open', 'hmac_init', 'aes_init'] as const;

/** The split modules loaded (undefined: the single module, every algorithm). */
let loaded: ReadonlySet<WasmModuleName> | undefined;
/** With the split build: the algorithm modules an alg/ealg name needs (wasm-split.ts). */
let needs: ((name: IntegrityAlgorithm | EncryptionAlgorithm) => readonly WasmModuleName[]) | undefined;

/**
 * Throws ALGORITHM_NOT_LOADED unless the WASM module `name` of the split build is loaded (always true with
 * the single module). Called before anything is allocated, so that a refusal changes nothing. @internal
 */
export function requireModule(name: WasmModuleName, what: string): void {
  if (loaded !== undefined && !loaded.has(name)) {
    const how = name === 'aes8' ? "init({ algorithms: ['aes-cbc', ...], batch: true }) loads it" : 'list it in init({ algorithms })';
    throw new Ipsec3gppError('ALGORITHM_NOT_LOADED', `ipsec-3gpp: ${what} needs the '${name}' WASM module: ${how}`);
  }
}

/** {@link requireModule} for the modules an ESP algorithm pair needs. @internal */
export function requireAlgorithms(alg: IntegrityAlgorithm, ealg: EncryptionAlgorithm): void {
  if (needs === undefined) return;
  for (const name of [alg, ealg]) for (const m of needs(name)) requireModule(m, name);
}

/** Adopts an instance of the core (init(), or initSync() in init-sync.ts); refuses a wrong module. @internal */
export function setup(instance: { readonly exports: object }, split?: { loaded: ReadonlySet<WasmModuleName>; needs: NonNullable<typeof needs> }): void {
  if (core) return;
  const x = instance.exports as unknown as CoreExports;
  if (!(x.memory instanceof WebAssembly.Memory) || REQUIRED.some((name) => typeof x[name] !== 'function')) {
    throw new Ipsec3gppError('WASM_LOAD', 'ipsec-3gpp: the WASM module given to init() is not core.wasm of this library');
  }
  const ioPtr = x.io_ptr();
  const paramPtr = x.param_ptr();
  const mem = new Uint8Array(x.memory.buffer);
  loaded = split?.loaded;
  needs = split?.needs;
  // Without a hash's 4-lane module, the batch calls take the one-ICV-at-a-time path (same results).
  if (loaded && !loaded.has('sha1x4') && !loaded.has('md5x4')) x.esp_simd_paths?.(7 & ~1);
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

/** @internal */
export function isResponse(v: unknown): v is Response {
  return typeof Response !== 'undefined' && v instanceof Response;
}

/** Compiles a Response: streaming where the browser can (it needs the application/wasm type), else via its bytes. */
async function compileResponse(res: Response): Promise<WebAssembly.Module> {
  if (!res.ok) throw new Ipsec3gppError('WASM_LOAD', `ipsec-3gpp: fetching the WASM core failed: HTTP ${res.status} ${res.url}`);
  const type = res.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (typeof WebAssembly.compileStreaming === 'function' && type === 'application/wasm') return WebAssembly.compileStreaming(res);
  return WebAssembly.compile(await res.arrayBuffer());
}

/** Compiles a module from any {@link WasmSource}. @internal */
export async function compileSource(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
  if (typeof source === 'string' || source instanceof URL) return compileResponse(await fetch(source));
  if (isResponse(source)) return compileResponse(source);
  if (source !== null && typeof (source as PromiseLike<Response>).then === 'function') {
    const res = await source;
    if (!isResponse(res)) throw new Ipsec3gppError('INVALID_ARGUMENT', 'ipsec-3gpp: init({ wasm }): the promise did not give a Response');
    return compileResponse(res);
  }
  throw new Ipsec3gppError('INVALID_ARGUMENT', 'ipsec-3gpp: init({ wasm }) takes a URL, a Response, bytes or a WebAssembly.Module');
}

async function load(options: InitOptions | undefined): Promise<void> {
  const source = options?.wasm as WasmSource | undefined;
  try {
    if (options?.algorithms !== undefined) return await loadSplit(options);
    const module = source === undefined ? await (await import('./wasm-embedded.js')).compileEmbedded() : await compileSource(source);
    const instance = await WebAssembly.instantiate(module, {});
    setup(instance);
  } catch (e) {
    if (e instanceof Ipsec3gppError) throw e;
    throw new Ipsec3gppError('WASM_LOAD', `ipsec-3gpp: loading the WASM core failed: ${(e as Error)?.message ?? String(e)}`);
  }
}

/**
 * Loads and instantiates the WASM core: the embedded copy, or the `core.wasm` asset given as
 * `options.wasm`; with `options.algorithms`, only the split build's modules those algorithms need (embedded,
 * or the `ipsec-3gpp/wasm/<name>.wasm` assets given as `options.wasm`). Safe to call more than once: while a load is under way or after it succeeded, later
 * calls return the same promise (and ignore their options); after a failure (WASM_LOAD, INVALID_ARGUMENT)
 * nothing is initialised and a later call tries again. This is the path for browsers (it never blocks the
 * main thread on compilation). Milenage does not need it: it loads its own small module on first use.
 *
 * @example
 * ```ts
 * import { init, expandKeys } from 'ipsec-3gpp';
 * await init();
 * // or, with the module as an asset of the app (here Vite's; esbuild, webpack: README "In the browser"):
 * // import wasm from 'ipsec-3gpp/core.wasm?url';
 * await init({ wasm });
 * // or only AES-CBC and HMAC-SHA-1-96, from the split build (README "In the browser"):
 * // await init({ algorithms: ['aes-cbc', 'hmac-sha-1-96'] });
 * ```
 */
export function init(options?: InitOptions): Promise<void> {
  if (core) return Promise.resolve();
  if (pending === undefined) {
    const p = load(options);
    pending = p;
    p.catch(() => { if (pending === p) pending = undefined; });
  }
  return pending;
}

/** Whether the core is instantiated. @internal */
export function isReady(): boolean {
  return core !== undefined;
}

/** The binding; throws NOT_INITIALIZED before `init()`/`initSync()`. */
export function wasm(): Core {
  if (core === undefined) {
    throw new Ipsec3gppError('NOT_INITIALIZED', 'ipsec-3gpp: call `await init()` (or `initSync()`) first');
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
    throw new Ipsec3gppError('OUT_OF_MEMORY', `cannot allocate a ${size}-byte context in WASM memory`);
  }
  refreshViews(c);
  if (ptr === 0) throw new Ipsec3gppError('OUT_OF_MEMORY', `cannot allocate a ${size}-byte context in WASM memory`);
  return ptr;
}

/** Zeroes and frees a context. */
export function freeContext(ptr: number, size: number): void {
  core?.x.ctx_free(ptr, size);
}

/**
 * Statistics of the WASM heaps, for tests and benchmarks: the core's, plus the AKA module's (Milenage
 * contexts) once that is loaded.
 */
export function memoryStats(): { memoryBytes: number; liveContexts: number; liveContextBytes: number } {
  const c = wasm();
  const stats = {
    memoryBytes: c.x.memory.buffer.byteLength,
    liveContexts: c.x.live_contexts() >>> 0,
    liveContextBytes: c.x.live_bytes() >>> 0,
  };
  for (const m of otherModules) {
    const x = m();
    stats.memoryBytes += x.memory.buffer.byteLength;
    stats.liveContexts += x.live_contexts() >>> 0;
    stats.liveContextBytes += x.live_bytes() >>> 0;
  }
  return stats;
}

/** A context allocator of one WASM module (the core's, or the AKA module's in wasm-aka.ts). */
export interface Heap {
  /** Allocates a zeroed context of `size` bytes; throws NOT_INITIALIZED or OUT_OF_MEMORY. */
  alloc(size: number): number;
  /** Zeroes and frees a context. */
  free(ptr: number, size: number): void;
}

/** The core's allocator. */
export const coreHeap: Heap = { alloc: allocContext, free: freeContext };

/** What memoryStats() and the memory scans need of another module. @internal */
export interface ModuleHeapExports {
  readonly memory: WebAssembly.Memory;
  live_contexts(): number;
  live_bytes(): number;
}

const otherModules: Array<() => ModuleHeapExports> = [];

/**
 * Lets {@link memoryStats} and {@link allMemory} include another module (wasm-aka.ts registers the AKA
 * module when it loads). @internal
 */
export function registerModule(get: () => ModuleHeapExports): void {
  otherModules.push(get);
}

/**
 * The core's raw memory (a view), for tests that look at contexts or scan it for key bytes after
 * `destroy()`. Not part of the public API.
 * @internal
 */
export function rawMemory(): Uint8Array {
  return wasm().mem;
}

/** Views of every WASM module's memory: the core's, then the AKA module's once loaded. @internal */
export function wasmMemories(): Uint8Array[] {
  return [wasm().mem, ...otherModules.map((get) => new Uint8Array(get().memory.buffer))];
}

/**
 * Every WASM module's memory: the core's, followed by the AKA module's once that is loaded (then as a
 * copy), for the scans for Milenage keys (K, OPc). Not part of the public API.
 * @internal
 */
export function allMemory(): Uint8Array {
  const parts = wasmMemories();
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
