// A key held in WASM memory: allocation, wiping on destroy, and a finaliser as a safety net.
//
// Key schedules live in contexts allocated by the core (assembly/memory.ts). `destroy()` zeroes the
// context at once; if an object is dropped without `destroy()`, the FinalizationRegistry frees (and so
// zeroes) it when the garbage collector runs, which may be late or never: call `destroy()`.

import { Ipsec3gppError } from '../errors.js';
import { coreHeap, wasm, type Core, type Heap } from './wasm.js';

interface Held {
  ptr: number;
  size: number;
  heap: Heap;
}

const registry = new FinalizationRegistry<Held>((h) => h.heap.free(h.ptr, h.size));

/** Context address and size of a key, for the key-hygiene tests only. @internal */
export function contextOf(key: WasmKey): { ptr: number; size: number } {
  return key[HELD]();
}

const HELD = Symbol('held');

/**
 * The base of every object that holds key material in WASM memory (EspSa, Aes, Hmac, Milenage, ...): the
 * key schedule lives in a context allocated by the core, {@link WasmKey.destroy} zeroes and frees it at once,
 * and afterwards any use throws DESTROYED. A FinalizationRegistry frees contexts of dropped objects as a
 * safety net, which may run late or never: call destroy() when done. toJSON never reveals key material.
 *
 * @example
 * ```ts
 * const tx = EspSa.outbound({ spi, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
 * try { tx.seal(payload, 17); } finally { tx.destroy(); }
 * tx.destroyed; // true
 * ```
 */
export abstract class WasmKey {
  // The context's address (0 once destroyed), size and allocator as fields of the object itself, not a
  // record of their own: an SA database holds four SAs per registration (README "Memory per registration").
  #ptr: number;
  readonly #size: number;
  readonly #heap: Heap;

  /**
   * @param size - bytes of the context
   * @param heap - the allocator of the module holding the context: the core's, or the AKA module's for Milenage
   * @param tracked - whether the finaliser of this module frees the context of a dropped object (default);
   *   false when the subclass has a safety net of its own (the contexts of an SA set share one, src/secagree/sadb.ts)
   */
  protected constructor(size: number, heap: { alloc(size: number): number; free(ptr: number, size: number): void } = coreHeap, tracked = true) {
    this.#ptr = heap.alloc(size);
    this.#size = size;
    this.#heap = heap;
    if (tracked) registry.register(this, { ptr: this.#ptr, size, heap }, this);
  }

  /** The context address; throws DESTROYED after `destroy()`. */
  protected get ctx(): number {
    const p = this.#ptr;
    if (p === 0) throw new Ipsec3gppError('DESTROYED', `${this.constructor.name} was destroyed`);
    return p;
  }

  /** @internal */
  [HELD](): { ptr: number; size: number } {
    return { ptr: this.#ptr, size: this.#size };
  }

  /** Whether `destroy()` has been called. */
  get destroyed(): boolean {
    return this.#ptr === 0;
  }

  /** Zeroes the key schedule in WASM memory and releases it. Idempotent. */
  destroy(): void {
    const ptr = this.#ptr;
    if (ptr === 0) return;
    registry.unregister(this);
    this.#ptr = 0;
    this.#heap.free(ptr, this.#size);
  }

  /** Never reveals key material. */
  toJSON(): { type: string; destroyed: boolean } {
    return { type: this.constructor.name, destroyed: this.destroyed };
  }

  toString(): string {
    return `[${this.constructor.name}${this.destroyed ? ' (destroyed)' : ''}]`;
  }
}

/**
 * Copies `key` into the parameter window, runs `fn(core, keyPtr)`, and zeroes the window afterwards, so
 * raw key bytes never stay in WASM memory outside a context.
 */
export function withKeyInParam<T>(key: Uint8Array, fn: (c: Core, keyPtr: number) => T): T {
  const c = wasm();
  c.param.set(key, 0);
  try {
    return fn(c, c.paramPtr);
  } finally {
    c.param.fill(0, 0, key.length);
  }
}
