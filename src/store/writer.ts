// The write path of the persisted state (issue 19): records are sealed (sealed.ts) and written in atomic
// batches (StateStore.write). What is changed within one turn of the event loop goes in one batch (an SA
// set established and its registration's record together); while a batch is being written the next one
// gathers, the last value of a key winning. `flush()` resolves once everything asked for so far is durable,
// which is what a P-CSCF waits for before it answers a REGISTER: a 200 the UE has seen is never lost.
// A failed write is retried (with a growing pause) and nothing is acknowledged until it succeeds.

import { type RecordSealer } from './sealed.js';
import { type StateStore, type StoreOp } from './store.js';

/**
 * Where a component keeps its state: a {@link StateStore}, the {@link RecordSealer} that seals its records
 * under the operator's key-encryption key, and the prefix of its keys (several components or deployments
 * can share one store: 'pcscf/', 'core/').
 */
export interface StoreBinding {
  /** The store. */
  store: StateStore;
  /** Seals every record (AES-256-GCM under the KEK, the record's key as associated data). */
  sealer: RecordSealer;
  /** Prefix of this component's keys (default: the component's name and a slash). */
  prefix?: string | undefined;
}

type Pending = { id: string; value?: unknown; bytes?: Uint8Array; sealed?: Uint8Array; del?: true };

/**
 * Seals and writes records in atomic batches, coalescing what one turn of the event loop changes; see the
 * module comment. One writer may be shared by several components of a process (the P-CSCF and its core),
 * so that one flush covers both.
 */
export class StoreWriter {
  /** The store written to. */
  readonly store: StateStore;
  /** The sealer of every record. */
  readonly sealer: RecordSealer;
  /** Batches committed. */
  batches = 0;
  /** Records written (puts and deletes). */
  records = 0;
  /** Failed batch writes (each retried). */
  errors = 0;
  /** Called with each failed write's error (it is retried). */
  onError: ((e: unknown) => void) | undefined;
  #next = new Map<string, Pending>();
  #waiters: Array<() => void> = [];
  #busy = false;
  #scheduled = false;
  #closed = false;

  /** A writer for `store`, sealing with `sealer`. */
  constructor(store: StateStore, sealer: RecordSealer) {
    this.store = store;
    this.sealer = sealer;
  }

  /** Records `value` (JSON) under `id` in the next batch. */
  put(id: string, value: unknown): void {
    this.#drop(this.#next.get(id));
    this.#next.set(id, { id, value });
    this.#schedule();
  }

  /** Records `bytes` under `id` in the next batch; the writer zeroes them once they are sealed. */
  putBytes(id: string, bytes: Uint8Array): void {
    this.#drop(this.#next.get(id));
    this.#next.set(id, { id, bytes: bytes.slice() });
    this.#schedule();
  }

  #drop(p: Pending | undefined): void {
    p?.bytes?.fill(0);
  }

  /** Deletes `id` in the next batch. */
  del(id: string): void {
    this.#drop(this.#next.get(id));
    this.#next.set(id, { id, del: true });
    this.#schedule();
  }

  /** Whether nothing is waiting to be written. */
  get idle(): boolean {
    return !this.#busy && this.#next.size === 0;
  }

  /** Resolves once everything put or deleted before the call is in the store. */
  flush(): Promise<void> {
    if (this.idle || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#schedule();
    });
  }

  /** Stops writing (what is pending is dropped: for a process that is going away anyway). */
  close(): void {
    this.#closed = true;
    for (const p of this.#next.values()) this.#drop(p);
    this.#next.clear();
    for (const w of this.#waiters.splice(0)) w();
  }

  #schedule(): void {
    if (this.#scheduled || this.#busy || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#busy || this.#closed) return;
    if (this.#next.size === 0) {
      for (const w of this.#waiters.splice(0)) w();
      return;
    }
    this.#busy = true;
    const batch = this.#next;
    const waiters = this.#waiters;
    this.#next = new Map();
    this.#waiters = [];
    let pause = 50;
    for (;;) {
      try {
        const ops: StoreOp[] = [];
        for (const p of batch.values()) {
          if (p.del) {
            ops.push({ del: p.id });
            continue;
          }
          if (p.sealed === undefined) {
            if (p.bytes !== undefined) {
              p.sealed = await this.sealer.seal(p.id, p.bytes);
              p.bytes.fill(0);
            } else {
              p.sealed = await this.sealer.sealJson(p.id, p.value);
            }
          }
          ops.push({ put: p.id, value: p.sealed });
        }
        if (this.#closed) break;
        await this.store.write(ops);
        this.batches++;
        this.records += ops.length;
        break;
      } catch (e) {
        this.errors++;
        this.onError?.(e);
        if (this.#closed) break;
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 2000);
        // Newer values of the same keys supersede the failed ones.
        for (const [k, v] of this.#next) {
          this.#drop(batch.get(k));
          batch.set(k, v);
        }
        this.#next.clear();
        waiters.push(...this.#waiters.splice(0));
      }
    }
    this.#busy = false;
    for (const p of batch.values()) this.#drop(p);
    for (const w of waiters) w();
    if (this.#next.size > 0 || this.#waiters.length > 0) this.#schedule();
  }
}
