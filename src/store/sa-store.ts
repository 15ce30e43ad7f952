// SA sets at rest (issue 19; TS 33.203 7.1-7.4, RFC 4303 3.3.3 and 3.4.3): each set of an SaDatabase kept
// in a store as three sealed records, written in one atomic batch when the set is created:
//   <prefix>sa/<id>/keys   what never changes: selectors, SPIs, algorithms, mode, CK and IK (binary, sealed);
//   <prefix>sa/<id>/state  its state and expiry (rewritten at established / old / refreshed);
//   <prefix>sa/<id>/seq    the outbound high-water marks and the inbound replay tops.
// and deleted together when the set goes.
//
// Outbound sequence numbers (RFC 4303 3.3.3: the counter never cycles, and a value sent is never sent
// again under the same key, which for AES-GCM/GMAC would reuse a nonce): the store holds a mark M per
// outbound SA, at or above every number the SA may have sent. M starts at one block (2^16 by default) and
// is moved a block ahead when the counter reaches half of the block before it; should the counter reach M
// before the new mark is durable, the SA stops sending (seal throws ESP_SEQ_EXHAUSTED) until it is. After a
// restart the SA continues after M, and M moves a block on before anything is sent.
//
// Inbound replay windows restart conservatively: the store holds, per inbound SA, the highest number
// authenticated, written within `inboundFlushMs` of a packet's arrival; after a restart the window's right
// edge is there and every number at or below it is refused. What arrived in the last flush interval
// before a crash could be replayed once: the bound is the interval (SECURITY.md).

import { Ipsec3gppError } from '../errors.js';
import { type EncryptionAlgorithm, type IntegrityAlgorithm } from '../algorithms.js';
import { type SaDatabase, type SaEntry, type SaEvent, type SaName, type SaSet, type SecEndpoint } from '../secagree/sadb.js';
import { type StoreWriter } from './writer.js';

/** Options of {@link SaStore}. */
export interface SaStoreOptions {
  /** Sequence numbers reserved per high-water mark (default 2^16). */
  seqBlock?: number | undefined;
  /** How soon an inbound SA's highest number is written after a packet (default 200 ms). */
  inboundFlushMs?: number | undefined;
}

/** The fixed part of a set's record (its keys record, besides CK and IK). */
interface KeysRecord {
  id: number; key: string; ueAddress: string; pcscfAddress: string; ue: SecEndpoint; pcscf: SecEndpoint;
  alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm; mode: 'trans' | 'UDP-enc-tun'; createdAt: number; replayWindow: number;
}
interface StateRecord { state: 'temporary' | 'established' | 'old'; expiresAt: number; extra?: Record<string, unknown> | undefined }
interface SeqRecord { out: Partial<Record<SaName, number>>; in: Partial<Record<SaName, number>> }

/** One set read back from a store. */
export interface StoredSet {
  /** The set as restored into the database. */
  set: SaSet;
  /** What the owner attached to it with {@link SaStore.setExtra} (e.g. a NAT's inner address). */
  extra: Record<string, unknown> | undefined;
}

/** What {@link SaStore.restore} did: the sets restored, and the records refused with their error code. */
export interface SaRestoreReport {
  /** The sets restored. */
  sets: StoredSet[];
  /** Records refused (torn, tampered, incomplete, expired, clashing), by key, with the reason. */
  refused: Array<{ key: string; code: string; reason: string }>;
}

interface Marks {
  /** The largest mark asked for (what every seq record carries). */
  requested: number;
  /** The mark known durable. */
  durable: number;
  /** The counter value where the SA was stopped while its next mark was not durable. */
  pausedAt: number | undefined;
}

const MAX_SEQ = 0xffffffff;

/**
 * Keeps the sets of one {@link SaDatabase} in a store (see the module comment): create the database with
 * `onKeys: sa.onKeys`, then {@link SaStore.attach} it; {@link SaStore.restore} brings the sets back after
 * a restart, with their expiry, high-water marks and conservative replay windows.
 */
export class SaStore {
  /** The writer records go through. */
  readonly writer: StoreWriter;
  /** The key prefix of this database's records (e.g. 'pcscf/'). */
  readonly prefix: string;
  readonly #block: number;
  readonly #flushMs: number;
  readonly #marks = new Map<SaEntry, Marks>();
  readonly #extra = new Map<SaSet, Record<string, unknown>>();
  readonly #dirty = new Set<SaSet>();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #db: SaDatabase | undefined;
  #off: (() => void) | undefined;
  #pendingKeys = new Map<SaSet, Uint8Array>();

  /** Records of `prefix` written through `writer`. */
  constructor(writer: StoreWriter, prefix: string, o: SaStoreOptions = {}) {
    this.writer = writer;
    this.prefix = prefix;
    this.#block = o.seqBlock ?? 0x10000;
    this.#flushMs = o.inboundFlushMs ?? 200;
    if (!Number.isInteger(this.#block) || this.#block < 2 || this.#block > 0x40000000) throw new Ipsec3gppError('INVALID_ARGUMENT', 'seqBlock must be an integer 2..2^30');
  }

  /** The database hook (SaDatabaseOptions.onKeys): CK and IK copied for the set's keys record, sealed on write. */
  readonly onKeys = (set: SaSet, ck: Uint8Array, ik: Uint8Array): void => {
    const k = new Uint8Array(32);
    k.set(ck.subarray(0, 16), 0);
    k.set(ik.subarray(0, 16), 16);
    this.#pendingKeys.set(set, k);
  };

  /** Follows `db`'s sets from now on (their creation, state changes and deletion). */
  attach(db: SaDatabase): void {
    this.#db = db;
    this.#off = db.on((set, event) => this.#event(set, event));
  }

  /** Stops following the database (nothing more is written: a P-CSCF that closes keeps its state stored). */
  detach(): void {
    this.#off?.();
    this.#off = undefined;
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#flushInbound();
    for (const k of this.#pendingKeys.values()) k.fill(0);
    this.#pendingKeys.clear();
    for (const e of this.#marks.keys()) if (!e.esp.destroyed) e.esp._watchSeq(Infinity, undefined);
  }

  /** Attaches owner data to a set's state record (merged into what it had; kept until the set goes), and writes it. */
  setExtra(set: SaSet, extra: Record<string, unknown>): void {
    this.#extra.set(set, { ...this.#extra.get(set), ...extra });
    if (set.state !== 'deleted' && this.#off) this.writer.put(this.#id(set, 'state'), this.#state(set));
  }

  /** A packet arrived on one of the set's inbound SAs: its replay top is written within inboundFlushMs. */
  inbound(set: SaSet): void {
    if (this.#off === undefined) return;
    this.#dirty.add(set);
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        this.#flushInbound();
      }, this.#flushMs);
      (this.#flushTimer as { unref?: () => void }).unref?.();
    }
  }

  #flushInbound(): void {
    for (const set of this.#dirty) if (set.state !== 'deleted') this.writer.put(this.#id(set, 'seq'), this.#seq(set));
    this.#dirty.clear();
  }

  #id(set: SaSet | number, part: 'keys' | 'state' | 'seq'): string {
    return `${this.prefix}sa/${typeof set === 'number' ? set : set.id}/${part}`;
  }

  #state(set: SaSet): StateRecord {
    return { state: set.state as StateRecord['state'], expiresAt: set.expiresAt, extra: this.#extra.get(set) };
  }

  #seq(set: SaSet): SeqRecord {
    const out: SeqRecord['out'] = {};
    const inb: SeqRecord['in'] = {};
    for (const e of set.sas) {
      if (e.direction === 'outbound') out[e.name] = this.#marks.get(e)?.requested ?? 0;
      else inb[e.name] = e.esp.destroyed ? 0 : e.esp.seq;
    }
    return { out, in: inb };
  }

  #event(set: SaSet, event: SaEvent): void {
    if (event === 'created') {
      const keys = this.#pendingKeys.get(set);
      this.#pendingKeys.delete(set);
      if (keys === undefined) return; // made before this store was attached: not persisted
      for (const e of set.sas) if (e.direction === 'outbound') this.#marks.set(e, { requested: this.#block, durable: 0, pausedAt: undefined });
      const rec: KeysRecord = {
        id: set.id, key: set.key, ueAddress: set.ueAddress, pcscfAddress: set.pcscfAddress, ue: { ...set.ue }, pcscf: { ...set.pcscf },
        alg: set.alg, ealg: set.ealg, mode: set.mode, createdAt: set.createdAt, replayWindow: set.sas.find((s) => s.direction === 'inbound')!.esp.replayWindow,
      };
      this.writer.putBytes(this.#id(set, 'keys'), packKeys(rec, keys));
      keys.fill(0);
      this.writer.put(this.#id(set, 'state'), this.#state(set));
      this.writer.put(this.#id(set, 'seq'), this.#seq(set));
      this.#whenDurable(set);
      return;
    }
    if (!this.#isStored(set)) return;
    if (event === 'deleted' || event === 'expired') {
      for (const part of ['keys', 'state', 'seq'] as const) this.writer.del(this.#id(set, part));
      for (const e of set.sas) this.#marks.delete(e);
      this.#extra.delete(set);
      this.#dirty.delete(set);
      return;
    }
    this.writer.put(this.#id(set, 'state'), this.#state(set));
  }

  #isStored(set: SaSet): boolean {
    return set.sas.some((e) => this.#marks.has(e));
  }

  /** Once the seq record written now is durable, each outbound SA's mark is, and its next watch is armed. */
  #whenDurable(set: SaSet): void {
    const asked = new Map<SaEntry, number>();
    for (const e of set.sas) {
      const m = this.#marks.get(e);
      if (m) asked.set(e, m.requested);
    }
    void this.writer.flush().then(() => {
      for (const [e, at] of asked) {
        const m = this.#marks.get(e);
        if (m === undefined || e.esp.destroyed || set.state === 'deleted') continue;
        if (at > m.durable) m.durable = at;
        if (m.pausedAt !== undefined && m.durable > m.pausedAt) {
          e.esp.setOutboundSeq(m.pausedAt);
          m.pausedAt = undefined;
        }
        this.#arm(set, e, m);
      }
    });
  }

  /** The watch of an outbound SA: half a block before its durable mark ask for the next; at the mark, stop. */
  #arm(set: SaSet, e: SaEntry, m: Marks): void {
    if (this.#off === undefined) return;
    if (m.requested > m.durable) {
      // A new mark is being written: stop at the durable one if the counter gets there first.
      e.esp._watchSeq(m.durable, (seq) => {
        if (m.requested > m.durable && m.durable < MAX_SEQ) {
          m.pausedAt = seq;
          e.esp.setOutboundSeq(MAX_SEQ);
        }
      });
      return;
    }
    if (m.durable >= MAX_SEQ) return; // the counter's own limit takes over (ESP_SEQ_EXHAUSTED)
    e.esp._watchSeq(Math.max(1, m.durable - (this.#block >> 1)), () => {
      if (set.state === 'deleted') return;
      m.requested = Math.min(MAX_SEQ, m.durable + this.#block);
      this.writer.put(this.#id(set, 'seq'), this.#seq(set));
      this.#arm(set, e, m);
      this.#whenDurable(set);
    });
  }

  /**
   * Reads every set of this prefix and restores it into the attached database (see SaDatabase.restore):
   * sets whose records are missing, torn or tampered (STORE_RECORD), expired or clashing (SADB) are
   * refused, reported, and their records deleted; `accept` may refuse more (e.g. temporary sets, whose
   * registration attempt is not kept). Before it resolves, every restored outbound SA's mark has moved a
   * block ahead in the store, so nothing sent after the restart repeats a number sent before it.
   */
  async restore(accept: (set: { key: string; state: string; id: number }) => boolean = () => true): Promise<SaRestoreReport> {
    const db = this.#db;
    if (db === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'attach the SA database before restoring');
    const rows = await this.writer.store.list(`${this.prefix}sa/`);
    const byId = new Map<number, Partial<Record<'keys' | 'state' | 'seq', [string, Uint8Array]>>>();
    const refused: SaRestoreReport['refused'] = [];
    for (const [k, v] of rows) {
      const m = /^sa\/(\d+)\/(keys|state|seq)$/.exec(k.slice(this.prefix.length));
      if (!m) {
        refused.push({ key: k, code: 'STORE_RECORD', reason: 'not a record name of this store' });
        continue;
      }
      const id = Number(m[1]);
      const parts = byId.get(id) ?? {};
      parts[m[2] as 'keys'] = [k, v];
      byId.set(id, parts);
    }
    const sets: StoredSet[] = [];
    for (const [id, parts] of byId) {
      let keys: Uint8Array | undefined;
      try {
        if (!parts.keys || !parts.state || !parts.seq) throw new Ipsec3gppError('STORE_RECORD', `set ${id} is incomplete in the store (a torn write)`);
        const sealer = this.writer.sealer;
        const plain = await sealer.open(parts.keys[0], parts.keys[1]);
        const [rec, k] = unpackKeys(plain, parts.keys[0]);
        keys = k;
        const st = await sealer.openJson<StateRecord>(parts.state[0], parts.state[1]);
        const seq = await sealer.openJson<SeqRecord>(parts.seq[0], parts.seq[1]);
        if (rec.id !== id) throw new Ipsec3gppError('STORE_RECORD', `set record ${id} names set ${rec.id}`);
        if (!accept({ key: rec.key, state: st.state, id })) throw new Ipsec3gppError('SADB', `set ${id} (${st.state}) is not kept across a restart`);
        const set = db.restore({
          id, key: rec.key, ueAddress: rec.ueAddress, pcscfAddress: rec.pcscfAddress, ue: rec.ue, pcscf: rec.pcscf, alg: rec.alg, ealg: rec.ealg, mode: rec.mode,
          ck: keys.subarray(0, 16), ik: keys.subarray(16, 32), replayWindow: rec.replayWindow,
          state: st.state, createdAt: rec.createdAt, expiresAt: st.expiresAt, outboundSeq: seq.out, inboundTop: seq.in,
        });
        for (const e of set.sas) {
          if (e.direction !== 'outbound') continue;
          const at = seq.out[e.name] ?? 0;
          // Continue after the mark; the next mark a block on, durable before the first packet.
          this.#marks.set(e, { requested: Math.min(MAX_SEQ, at + this.#block), durable: at, pausedAt: undefined });
          if (at >= MAX_SEQ) e.esp.setOutboundSeq(MAX_SEQ);
        }
        if (st.extra) this.#extra.set(set, st.extra);
        this.writer.put(this.#id(set, 'seq'), this.#seq(set));
        sets.push({ set, extra: st.extra });
      } catch (e) {
        const err = e as Ipsec3gppError;
        refused.push({ key: `${this.prefix}sa/${id}`, code: err.code ?? 'STORE_RECORD', reason: err.message });
        for (const part of ['keys', 'state', 'seq'] as const) this.writer.del(this.#id(id, part));
      } finally {
        keys?.fill(0);
      }
    }
    // Nothing is sent over a restored SA before its new mark is durable: stop each at its old mark meanwhile.
    for (const { set } of sets) {
      for (const e of set.sas) {
        const m = this.#marks.get(e);
        if (m === undefined) continue;
        m.pausedAt = m.durable;
        e.esp.setOutboundSeq(MAX_SEQ);
      }
      this.#whenDurable(set);
    }
    await this.writer.flush();
    return { sets, refused };
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** keys record plaintext: u32 length of the JSON || JSON || CK (16) || IK (16). */
function packKeys(rec: KeysRecord, keys: Uint8Array): Uint8Array {
  const json = utf8.encode(JSON.stringify(rec));
  const out = new Uint8Array(4 + json.length + 32);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  out.set(keys, 4 + json.length);
  return out;
}

function unpackKeys(plain: Uint8Array, id: string): [KeysRecord, Uint8Array] {
  try {
    const n = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(0);
    if (4 + n + 32 !== plain.length) throw new Error('length');
    const rec = JSON.parse(fromUtf8.decode(plain.subarray(4, 4 + n))) as KeysRecord;
    return [rec, plain.slice(4 + n)];
  } catch {
    throw new Ipsec3gppError('STORE_RECORD', `store record ${id} is not a set's keys record`);
  } finally {
    plain.fill(0);
  }
}
