// The state store under the P-CSCF and the core (issue 19): an asynchronous key-value store with prefix
// listing and atomic batches, which is all that SA sets, registrations, pending challenges and the core's
// registrations, subscriptions and presence documents need. Keys are text ("pcscf/sa/17"), values bytes
// (records sealed by sealed.ts: nothing secret reaches a store in clear). Three implementations: this
// file's MemoryStore (the default; browser-safe), sqlite.ts (one file, better-sqlite3) and redis.ts
// (several P-CSCF instances on one Redis), the last two Node only and loaded lazily by open.ts.
//
// Atomicity: `write(ops)` applies every operation or none (an SQLite transaction, a Redis MULTI/EXEC), so a
// record and its companions (an SA set and its sequence marks, a registration and its set) are never seen
// half-written after a crash.

import { Ipsec3gppError } from '../errors.js';

/** One operation of an atomic {@link StateStore.write}: put a value under a key, or delete a key. */
export type StoreOp = { readonly put: string; readonly value: Uint8Array } | { readonly del: string };

/**
 * An asynchronous key-value store with prefix listing and atomic batches: what the P-CSCF's SA database
 * and registrations and the core's state are persisted in (src/store/). Implementations: {@link MemoryStore}
 * (browser-safe, the default), and from `ipsec-3gpp/node` `SqliteStore` (one file) and `RedisStore`
 * (shared by several P-CSCF instances), opened by `openStore()`.
 */
export interface StateStore {
  /** Which implementation this is ('memory', 'sqlite', 'redis'). */
  readonly kind: string;
  /** The value under `key`, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Every key starting with `prefix` and its value, in key order. */
  list(prefix: string): Promise<Array<[string, Uint8Array]>>;
  /** Applies every operation, in order, or none of them (atomic). */
  write(ops: readonly StoreOp[]): Promise<void>;
  /** Releases the store (closes the file or the connection); further calls reject. */
  close(): Promise<void>;
}

/**
 * Checks a batch before anything of it is applied: keys are non-empty strings, values byte arrays. Throws
 * INVALID_ARGUMENT (the batch is refused whole). For the implementations of {@link StateStore}.
 */
export function checkOps(ops: readonly StoreOp[]): void {
  if (!Array.isArray(ops)) throw new Ipsec3gppError('INVALID_ARGUMENT', 'a batch is an array of operations');
  for (const op of ops) {
    const key = op !== null && typeof op === 'object' ? ('put' in op ? op.put : (op as { del?: unknown }).del) : undefined;
    if (typeof key !== 'string' || key === '') throw new Ipsec3gppError('INVALID_ARGUMENT', 'a store key is a non-empty string');
    if ('put' in op && !(op.value instanceof Uint8Array)) throw new Ipsec3gppError('INVALID_ARGUMENT', `the value of ${key} is not a Uint8Array`);
  }
}

/**
 * A {@link StateStore} in memory: the default, for tests and the browser; state goes with the process.
 * Values are copied in and out, so a caller's buffer is never kept or exposed.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * await store.write([{ put: 'a/1', value: new Uint8Array([1]) }, { del: 'a/0' }]);
 * await store.list('a/');   // [['a/1', Uint8Array [1]]]
 * ```
 */
export class MemoryStore implements StateStore {
  /** Always 'memory'. */
  readonly kind = 'memory';
  readonly #m = new Map<string, Uint8Array>();
  #closed = false;

  /** The value under `key`, or undefined. */
  async get(key: string): Promise<Uint8Array | undefined> {
    this.#open();
    const v = this.#m.get(key);
    return v === undefined ? undefined : v.slice();
  }

  /** Every key starting with `prefix` and its value, in key order. */
  async list(prefix: string): Promise<Array<[string, Uint8Array]>> {
    this.#open();
    const out: Array<[string, Uint8Array]> = [];
    for (const [k, v] of this.#m) if (k.startsWith(prefix)) out.push([k, v.slice()]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Applies every operation (synchronously, so atomically). */
  async write(ops: readonly StoreOp[]): Promise<void> {
    this.#open();
    checkOps(ops);
    for (const op of ops) {
      if ('put' in op) this.#m.set(op.put, op.value.slice());
      else this.#m.delete(op.del);
    }
  }

  /** Number of keys held. */
  get size(): number {
    return this.#m.size;
  }

  /** Drops everything; further calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#m.clear();
  }

  #open(): void {
    if (this.#closed) throw new Ipsec3gppError('STORE_UNAVAILABLE', 'store closed');
  }
}
