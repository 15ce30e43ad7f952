// A StateStore in one SQLite file (issue 19), for a P-CSCF that needs no server: better-sqlite3 (Node 20
// has no node:sqlite), an optional dependency imported only when such a store is opened. WAL journal, one
// table of key -> sealed value; a batch is one transaction (BEGIN IMMEDIATE ... COMMIT), so after a crash
// either every record of it is there or none is. synchronous=NORMAL in WAL mode: a commit survives the
// process being killed (what the kill -9 test checks); `sync: 'full'` also survives power loss, at one
// fsync per commit. Node only.

import { Ipsec3gppError } from '../errors.js';
import { checkOps, type StateStore, type StoreOp } from './store.js';

/** The part of better-sqlite3's API used here (the package is optional: no types are imported). */
interface Db {
  pragma(s: string): unknown;
  exec(s: string): unknown;
  prepare(s: string): { get(...a: unknown[]): unknown; all(...a: unknown[]): unknown[]; run(...a: unknown[]): unknown };
  transaction<T extends (...a: never[]) => unknown>(fn: T): T;
  close(): void;
}

/** Options of {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  /** 'normal' (default: survives a killed process) or 'full' (survives power loss: an fsync per commit). */
  sync?: 'normal' | 'full' | undefined;
}

/**
 * A {@link StateStore} in an SQLite file (better-sqlite3, loaded when first used). Throws STORE_UNAVAILABLE
 * when the package is not installed or the file cannot be opened.
 *
 * @example
 * ```ts
 * const store = await SqliteStore.open('/var/lib/pcscf/state.db');
 * ```
 */
export class SqliteStore implements StateStore {
  /** Always 'sqlite'. */
  readonly kind = 'sqlite';
  /** The file. */
  readonly path: string;
  readonly #db: Db;
  readonly #get: ReturnType<Db['prepare']>;
  readonly #list: ReturnType<Db['prepare']>;
  readonly #write: (ops: readonly StoreOp[]) => void;
  #closed = false;

  private constructor(path: string, db: Db) {
    this.path = path;
    this.#db = db;
    db.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
    this.#get = db.prepare('SELECT v FROM kv WHERE k = ?');
    this.#list = db.prepare('SELECT k, v FROM kv WHERE k >= ? AND k < ? ORDER BY k');
    const put = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v');
    const del = db.prepare('DELETE FROM kv WHERE k = ?');
    const tx = db.transaction((ops: readonly StoreOp[]) => {
      for (const op of ops) {
        if ('put' in op) put.run(op.put, op.value);
        else del.run(op.del);
      }
    });
    this.#write = (ops) => (tx as unknown as { immediate: (o: readonly StoreOp[]) => void }).immediate(ops);
  }

  /** Opens (or creates) the store in `path`. */
  static async open(path: string, o: SqliteStoreOptions = {}): Promise<SqliteStore> {
    let Database: new (path: string) => Db;
    try {
      const mod = await import('better-sqlite3' as string) as { default: new (path: string) => Db };
      Database = mod.default;
    } catch (e) {
      throw new Ipsec3gppError('STORE_UNAVAILABLE', `the SQLite store needs the optional package better-sqlite3 (npm install better-sqlite3): ${(e as Error).message}`);
    }
    let db: Db;
    try {
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${o.sync === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma('busy_timeout = 5000');
    } catch (e) {
      throw new Ipsec3gppError('STORE_UNAVAILABLE', `cannot open the SQLite store ${path}: ${(e as Error).message}`);
    }
    return new SqliteStore(path, db);
  }

  /** The value under `key`, or undefined. */
  async get(key: string): Promise<Uint8Array | undefined> {
    this.#open();
    const row = this.#get.get(key) as { v: Uint8Array } | undefined;
    return row === undefined ? undefined : new Uint8Array(row.v);
  }

  /** Every key starting with `prefix` and its value, in key order. */
  async list(prefix: string): Promise<Array<[string, Uint8Array]>> {
    this.#open();
    return (this.#list.all(prefix, prefix + '\u{10ffff}') as Array<{ k: string; v: Uint8Array }>).map((r) => [r.k, new Uint8Array(r.v)]);
  }

  /** One transaction: every operation or none. */
  async write(ops: readonly StoreOp[]): Promise<void> {
    this.#open();
    checkOps(ops);
    this.#write(ops);
  }

  /** Closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #open(): void {
    if (this.#closed) throw new Ipsec3gppError('STORE_UNAVAILABLE', 'store closed');
  }
}
