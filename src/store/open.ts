// Opening a store from its name (issue 19), as `ipsec-3gpp pcscf --store` takes it, and reading the
// operator's key-encryption key from a file or an environment variable (never from the store). Node only.

import { readFileSync } from 'node:fs';
import { Ipsec3gppError } from '../errors.js';
import { MemoryStore, type StateStore } from './store.js';
import { SqliteStore } from './sqlite.js';
import { RedisStore } from './redis.js';

/**
 * Opens the store `spec` names: `memory`, `sqlite:FILE` (an SQLite file, better-sqlite3) or
 * `redis://HOST:PORT[/DB]` (Redis, @redis/client). Throws STORE_UNAVAILABLE for another form, a missing
 * optional package or a server that does not answer.
 */
export async function openStore(spec: string, o: { onError?: (e: unknown) => void } = {}): Promise<StateStore> {
  if (spec === 'memory') return new MemoryStore();
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (path === '') throw new Ipsec3gppError('STORE_UNAVAILABLE', 'sqlite: needs a file name (sqlite:/var/lib/pcscf.db)');
    return SqliteStore.open(path);
  }
  if (/^rediss?:\/\//.test(spec)) return RedisStore.open(spec, { onError: o.onError });
  throw new Ipsec3gppError('STORE_UNAVAILABLE', `unknown store "${spec}": memory, sqlite:FILE or redis://HOST:PORT`);
}

/**
 * The key-encryption key: 32 bytes, from `file` (raw 32 bytes, or 64 hex digits with optional white
 * space) or else from the environment variable `env` (64 hex digits). Throws STORE_KEK when neither gives
 * one or the value is malformed.
 */
export function loadKek(o: { file?: string | undefined; env?: string | undefined; environment?: Record<string, string | undefined> }): Uint8Array {
  let text: string | undefined;
  if (o.file !== undefined) {
    let raw: Buffer;
    try {
      raw = readFileSync(o.file);
    } catch (e) {
      throw new Ipsec3gppError('STORE_KEK', `cannot read the key-encryption key file: ${(e as Error).message}`);
    }
    if (raw.length === 32) {
      const k = new Uint8Array(raw);
      raw.fill(0);
      return k;
    }
    text = raw.toString('latin1');
    raw.fill(0);
  } else if (o.env !== undefined) {
    text = (o.environment ?? process.env)[o.env];
    if (text === undefined) throw new Ipsec3gppError('STORE_KEK', `the environment variable ${o.env} with the key-encryption key is not set`);
  } else {
    throw new Ipsec3gppError('STORE_KEK', 'a persistent store needs a key-encryption key (--kek-file FILE or the IPSEC3GPP_KEK environment variable)');
  }
  const hex = text.replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Ipsec3gppError('STORE_KEK', 'the key-encryption key must be 32 bytes: 64 hex digits (or a 32-byte file)');
  const k = new Uint8Array(32);
  for (let i = 0; i < 32; i++) k[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return k;
}
