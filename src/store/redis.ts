// A StateStore on Redis (issue 19), for several P-CSCF instances sharing their state: the official
// client's core package `@redis/client` (optional dependency, imported only when such a store is opened).
// Every record is a field of one Redis hash (default key "ipsec-3gpp:state"), its value the sealed record
// in base64; a batch is one MULTI/EXEC transaction (HSET and HDEL queued, applied together by the server).
// How durable a write is past a crash of Redis itself is Redis's configuration (appendonly); a crash of a
// P-CSCF loses nothing acknowledged. Node only.

import { Ipsec3gppError } from '../errors.js';
import { checkOps, type StateStore, type StoreOp } from './store.js';

interface Multi {
  hSet(key: string, field: string, value: string): Multi;
  hDel(key: string, field: string): Multi;
  exec(): Promise<unknown>;
}
/** The part of @redis/client's API used here (the package is optional: no types are imported). */
interface Client {
  connect(): Promise<unknown>;
  hGet(key: string, field: string): Promise<string | null | undefined>;
  hGetAll(key: string): Promise<Record<string, string>>;
  hScan(key: string, cursor: string, o: { MATCH: string; COUNT: number }): Promise<{ cursor: string; entries: Array<{ field: string; value: string }> }>;
  multi(): Multi;
  on(event: 'error', fn: (e: unknown) => void): unknown;
  quit?(): Promise<unknown>;
  close?(): Promise<unknown>;
  destroy?(): void;
}

/** Options of {@link RedisStore.open}. */
export interface RedisStoreOptions {
  /** The hash that holds the records (default "ipsec-3gpp:state"). */
  hash?: string | undefined;
  /** Called with connection errors (the client reconnects by itself). */
  onError?: ((e: unknown) => void) | undefined;
}

const b64 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
};
const unb64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/**
 * A {@link StateStore} in a Redis hash (`@redis/client`, loaded when first used). Throws STORE_UNAVAILABLE
 * when the package is not installed or the server does not answer.
 *
 * @example
 * ```ts
 * const store = await RedisStore.open('redis://127.0.0.1:6379');
 * ```
 */
export class RedisStore implements StateStore {
  /** Always 'redis'. */
  readonly kind = 'redis';
  /** The server's URL. */
  readonly url: string;
  /** The hash the records are fields of. */
  readonly hash: string;
  readonly #c: Client;
  #closed = false;

  private constructor(url: string, hash: string, c: Client) {
    this.url = url;
    this.hash = hash;
    this.#c = c;
  }

  /** Connects to the server at `url` (redis://host:port[/db]). */
  static async open(url: string, o: RedisStoreOptions = {}): Promise<RedisStore> {
    let createClient: (o: unknown) => Client;
    try {
      const mod = await import('@redis/client' as string) as { createClient: (o: unknown) => Client };
      createClient = mod.createClient;
    } catch (e) {
      throw new Ipsec3gppError('STORE_UNAVAILABLE', `the Redis store needs the optional package @redis/client (npm install @redis/client): ${(e as Error).message}`);
    }
    // Reconnect (with a growing pause) once connected; a first connection that fails is an error at once.
    let connected = false;
    const c = createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy: (n: number, cause: Error) => (connected ? Math.min(50 * 2 ** n, 2000) : cause) } });
    c.on('error', (e) => o.onError?.(e));
    try {
      await c.connect();
      connected = true;
    } catch (e) {
      c.destroy?.();
      throw new Ipsec3gppError('STORE_UNAVAILABLE', `cannot reach Redis at ${url}: ${(e as Error).message}`);
    }
    return new RedisStore(url, o.hash ?? 'ipsec-3gpp:state', c);
  }

  /** The value under `key`, or undefined. */
  async get(key: string): Promise<Uint8Array | undefined> {
    this.#open();
    const v = await this.#c.hGet(this.hash, key);
    return v === null || v === undefined ? undefined : unb64(v);
  }

  /** Every key starting with `prefix` and its value, in key order (HSCAN with a MATCH pattern). */
  async list(prefix: string): Promise<Array<[string, Uint8Array]>> {
    this.#open();
    const match = prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
    const out: Array<[string, Uint8Array]> = [];
    let cursor = '0';
    do {
      const r = await this.#c.hScan(this.hash, cursor, { MATCH: match, COUNT: 1000 });
      cursor = String(r.cursor);
      for (const { field, value } of r.entries) out.push([field, unb64(value)]);
    } while (cursor !== '0');
    // HSCAN may return a field twice (when the hash is rehashed meanwhile): one entry per key.
    const m = new Map(out);
    return [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** One MULTI/EXEC transaction: every operation or none. */
  async write(ops: readonly StoreOp[]): Promise<void> {
    this.#open();
    checkOps(ops);
    if (ops.length === 0) return;
    let m = this.#c.multi();
    for (const op of ops) m = 'put' in op ? m.hSet(this.hash, op.put, b64(op.value)) : m.hDel(this.hash, op.del);
    await m.exec();
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#c.close) await this.#c.close();
      else await this.#c.quit?.();
    } catch {
      this.#c.destroy?.();
    }
  }

  #open(): void {
    if (this.#closed) throw new Ipsec3gppError('STORE_UNAVAILABLE', 'store closed');
  }
}
