// Binding to the AKA module (assembly/aka.ts): Milenage (TS 35.206) for IMS AKA (TS 33.203 6.1), a WASM
// module of its own so that an ESP-only application does not ship it (README "In the browser"). It is
// small (about 6.5 kB), so it is compiled synchronously on first use, which browsers allow on the main
// thread for modules of this size: `init()` is not needed for Milenage, and does not load this module.

import { PARAM_BUFFER_SIZE } from '../constants.js';
import { Ipsec3gppError } from '../errors.js';
import { WASM_BASE64 } from '../wasm/aka.generated.js';
import { decodeBase64 } from './base64.js';
import { registerModule, type Heap } from './wasm.js';

/** The functions exported by assembly/aka.ts. */
export interface AkaExports {
  readonly memory: WebAssembly.Memory;
  ctx_alloc(size: number): number;
  ctx_free(ptr: number, size: number): void;
  param_ptr(): number;
  live_contexts(): number;
  live_bytes(): number;
  wipe(ptr: number, len: number): void;
  milenage_init(ctx: number, k: number, op: number, isOpc: number): void;
  milenage_opc(ctx: number, out: number): void;
  milenage_run(ctx: number, rand: number, sqn: number, amf: number, out: number): void;
}

/** The live binding of the AKA module; `param` is replaced when memory grows. */
export interface AkaCore {
  readonly x: AkaExports;
  /** The parameter window and its address. */
  param: Uint8Array<ArrayBuffer>;
  readonly paramPtr: number;
}

let aka: AkaCore | undefined;

/** The AKA module, instantiated from the embedded copy on first use. */
export function akaWasm(): AkaCore {
  if (aka) return aka;
  const x = new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(WASM_BASE64)), {}).exports as unknown as AkaExports;
  const paramPtr = x.param_ptr();
  aka = { x, paramPtr, param: new Uint8Array(x.memory.buffer, paramPtr, PARAM_BUFFER_SIZE) };
  registerModule(() => x);
  return aka;
}

/** The AKA module's context allocator (Milenage key schedules). */
export const akaHeap: Heap = {
  alloc(size: number): number {
    const a = akaWasm();
    let ptr = 0;
    try {
      ptr = a.x.ctx_alloc(size);
    } catch {
      ptr = 0;
    }
    if (a.param.buffer !== a.x.memory.buffer) a.param = new Uint8Array(a.x.memory.buffer, a.paramPtr, PARAM_BUFFER_SIZE);
    if (ptr === 0) throw new Ipsec3gppError('OUT_OF_MEMORY', `cannot allocate a ${size}-byte context in WASM memory`);
    return ptr;
  },
  free(ptr: number, size: number): void {
    aka?.x.ctx_free(ptr, size);
  },
};
