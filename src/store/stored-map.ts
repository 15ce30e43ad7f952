// A Map whose entries are also kept in a store (issue 19): the core's registrations, subscriptions and
// presence documents. Each changed key is written (or deleted) in the next batch of the StoreWriter, its
// value sealed as JSON (Maps inside as entry lists); values changed in place are written after touch().
// load() reads the entries back after a restart. Without a writer it is a plain Map.

import { type Ipsec3gppError } from '../errors.js';
import { type StoreWriter } from './writer.js';

const replacer = (_k: string, v: unknown): unknown => (v instanceof Map ? { $map: [...v] } : v);
const reviver = (_k: string, v: unknown): unknown => (v !== null && typeof v === 'object' && Array.isArray((v as { $map?: unknown }).$map) ? new Map((v as { $map: Array<[unknown, unknown]> }).$map) : v);

/**
 * A Map of string keys whose entries are written through to a store (see the module comment): set() and
 * delete() write, touch() writes an entry changed in place, load() reads them back.
 */
export class StoredMap<V> extends Map<string, V> {
  #writer: StoreWriter | undefined;
  #prefix = '';
  #dirty = new Set<string>();
  #scheduled = false;
  /**
   * Told of every change, with or without a store: the entry's new value after set(), touch() or load(),
   * undefined after delete() or clear() (the core keeps its index of contacts by it).
   */
  observer: ((key: string, value: V | undefined) => void) | undefined;

  /** Writes through `writer` under `prefix` (no writer: a plain Map). */
  bind(writer: StoreWriter | undefined, prefix: string): this {
    this.#writer = writer;
    this.#prefix = prefix;
    return this;
  }

  /** Sets and writes the entry. */
  override set(key: string, value: V): this {
    super.set(key, value);
    this.touch(key);
    return this;
  }

  /** Deletes every entry here and in the store. */
  override clear(): void {
    for (const k of [...this.keys()]) this.delete(k);
  }

  /** Deletes the entry here and in the store. */
  override delete(key: string): boolean {
    const had = super.delete(key);
    if (had) this.touch(key);
    return had;
  }

  /** Writes the entry `key` again (its value was changed in place), or its deletion. */
  touch(key: string): void {
    this.observer?.(key, super.get(key));
    if (this.#writer === undefined) return;
    this.#dirty.add(key);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      const w = this.#writer;
      if (w === undefined) return;
      for (const k of this.#dirty) {
        const id = this.#prefix + encodeURIComponent(k);
        const v = super.get(k);
        if (v === undefined) w.del(id);
        else w.put(id, JSON.parse(JSON.stringify(v, replacer)));
      }
      this.#dirty.clear();
    });
  }

  /** Stops writing (the stored entries stay). */
  unbind(): void {
    this.#writer = undefined;
    this.#dirty.clear();
  }

  /**
   * Reads the stored entries into the map (without writing them again). Records that do not verify are
   * refused (STORE_RECORD), reported and deleted; `keep` may refuse more (e.g. expired ones).
   */
  async load(keep: (v: V) => boolean = () => true): Promise<Array<{ key: string; code: string; reason: string }>> {
    const w = this.#writer;
    if (w === undefined) return [];
    const refused: Array<{ key: string; code: string; reason: string }> = [];
    for (const [id, blob] of await w.store.list(this.#prefix)) {
      try {
        const plain = await w.sealer.openJson<unknown>(id, blob);
        const v = JSON.parse(JSON.stringify(plain), reviver) as V;
        const key = decodeURIComponent(id.slice(this.#prefix.length));
        if (!keep(v)) {
          w.del(id);
          continue;
        }
        super.set(key, v);
        this.observer?.(key, v);
      } catch (e) {
        refused.push({ key: id, code: (e as Ipsec3gppError).code ?? 'STORE_RECORD', reason: (e as Error).message });
        w.del(id);
      }
    }
    return refused;
  }
}

