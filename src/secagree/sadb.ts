// The SA database of IMS access security (TS 33.203 clauses 7.1-7.4, TS 24.229 5.1.1 / 5.2.2): one model
// for the UE and the P-CSCF ("the four SAs are the same whatever the role"), each side holding the
// two inbound and two outbound SAs of a set from its own point of view.
//
//   SA1  UE port_uc -> P-CSCF port_ps   SPI spi_ps   (UE requests)
//   SA2  P-CSCF port_pc -> UE port_us   SPI spi_us   (P-CSCF requests, e.g. NOTIFY)
//   SA3  P-CSCF port_ps -> UE port_uc   SPI spi_uc   (responses to UE requests)
//   SA4  UE port_us -> P-CSCF port_pc   SPI spi_pc   (responses to P-CSCF requests)
//
// All four use the same algorithms and keys (Annex I); selectors are the two addresses and ports, UDP and
// TCP alike. Set states: temporary (created at the 401, lifetime reg-await-auth, default 4 min) ->
// established (after the 200 OK; lifetime = max(previous set's, registration expiry + 30 s)) -> old
// (when a newer set is established; deleted once the peer has used the new set and the old set's pending
// transactions are done, or at expiry). Creation is all or nothing; deletion zeroes the keys in WASM.
// Expiry runs from a binary heap of sets ordered by deadline, so nothing happens per packet.
//
// Memory (README "Memory per registration"): an SA of a set is one object, an EspSa that is also the set's
// SaEntry (SetSa below: its selectors are read from the set, not copied); the four share one key context
// and one finaliser cell; the indexes hold SPIs as small integers and one selector entry per UE port.

import { type EncryptionAlgorithm, type IntegrityAlgorithm } from '../algorithms.js';
import { EspKeyContext, EspSaBase, type EspSa, type EspSaOptions } from '../esp.js';
import { contextOf } from '../internal/context.js';
import { coreHeap } from '../internal/wasm.js';
import { parseAddress } from '../ip.js';
import { expandKeys, type EspKeys } from '../keys.js';
import { Ipsec3gppError } from '../errors.js';
import { SpiAllocator, type RandomU32, type SpiRange } from './spi.js';

/** Which side an {@link SaDatabase} is: the UE or the P-CSCF (it decides which SAs are inbound, TS 33.203 7.1). */
export type Role = 'ue' | 'pcscf';
/**
 * The life of an SA set (TS 33.203 7.4): `temporary` from the 401 until the 200 OK (reg-await-auth),
 * `established` after it, `old` once a newer set of the same registration is in use, `deleted` at the end.
 */
export type SaSetState = 'temporary' | 'established' | 'old' | 'deleted';
/**
 * The four SAs of a set (TS 33.203 7.1): SA1 UE port_uc -> P-CSCF port_ps (UE requests), SA2 P-CSCF port_pc ->
 * UE port_us (P-CSCF requests), SA3 P-CSCF port_ps -> UE port_uc (responses to SA1), SA4 UE port_us ->
 * P-CSCF port_pc (responses to SA2).
 */
export type SaName = 'SA1' | 'SA2' | 'SA3' | 'SA4';

/** One side's SPIs and protected ports as carried in Security-Client (UE) or Security-Server (P-CSCF). */
export interface SecEndpoint {
  /** spi-c: the SPI of the SA this side receives on at its protected client port. */
  spiC: number;
  /** spi-s: the SPI of the SA this side receives on at its protected server port. */
  spiS: number;
  /** port-c: the protected client port (sends requests, receives their responses). */
  portC: number;
  /** port-s: the protected server port (receives requests, sends their responses). */
  portS: number;
}

/**
 * What {@link SaDatabase.create} needs to build a set of four SAs: both sides' SPIs and ports, the chosen
 * `alg`/`ealg` and mode, and CK/IK of the AKA run, from which the ESP keys are expanded (TS 33.203 Annex I).
 */
export interface SaSetInit {
  /** The registration the set belongs to (e.g. the IMPI); newer and older sets of it share the key. */
  key: string;
  /** The UE's IP address. */
  ueAddress: string;
  /** The P-CSCF's IP address. */
  pcscfAddress: string;
  /** The UE's SPIs and ports, from its Security-Client. */
  ue: SecEndpoint;
  /** The P-CSCF's SPIs and ports, from its Security-Server. */
  pcscf: SecEndpoint;
  /** The integrity algorithm agreed. */
  alg: IntegrityAlgorithm;
  /** The encryption algorithm agreed. */
  ealg: EncryptionAlgorithm;
  /** The ESP mode (default 'trans'). */
  mode?: 'trans' | 'UDP-enc-tun';
  /** CK_IM and IK_IM of the AKA run that created the set. */
  ck: Uint8Array;
  /** IK_IM (16 bytes), with CK_IM the input of the Annex I key expansion. */
  ik: Uint8Array;
  /** Replay window of the inbound SAs (default the database's). */
  replayWindow?: number;
  /** Temporary lifetime; default the database's reg-await-auth. */
  lifetimeMs?: number;
}

/** One of the four SAs, from this side's point of view. */
export interface SaEntry {
  /** Which of the four SAs this is (TS 33.203 7.1). */
  readonly name: SaName;
  /** Whether this side receives (inbound) or sends (outbound) on it. */
  readonly direction: 'inbound' | 'outbound';
  /** Its SPI, chosen by the receiving side. */
  readonly spi: number;
  /** Selector: source address. */
  readonly srcAddress: string;
  /** Selector: source port. */
  readonly srcPort: number;
  /** Selector: destination address. */
  readonly dstAddress: string;
  /** Selector: destination port. */
  readonly dstPort: number;
  /** The addresses in binary (parsed once per set), for the inner UDP checksum of every packet. */
  readonly srcIp: Uint8Array;
  /** The destination address in binary. */
  readonly dstIp: Uint8Array;
  /** The ESP SA that seals or opens its packets (keys in WASM memory). */
  readonly esp: EspSa;
  /** The set it belongs to. */
  readonly set: SaSet;
}

/** What happened to a set, as told to listeners registered with {@link SaDatabase.on}. */
export type SaEvent = 'created' | 'established' | 'old' | 'refreshed' | 'expired' | 'deleted';

/** A set of four SAs. */
export class SaSet {
  /** A number unique within its database. */
  readonly id: number;
  /** The registration the set belongs to (SaSetInit.key, e.g. the IMPI). */
  readonly key: string;
  /** The side that holds the set. */
  readonly role: Role;
  /** The UE's IP address (canonical text form). */
  readonly ueAddress: string;
  /** The P-CSCF's IP address (canonical text form). */
  readonly pcscfAddress: string;
  /** The UE's SPIs and protected ports (spi_uc, spi_us, port_uc, port_us). */
  readonly ue: Readonly<SecEndpoint>;
  /** The P-CSCF's SPIs and protected ports (spi_pc, spi_ps, port_pc, port_ps). */
  readonly pcscf: Readonly<SecEndpoint>;
  /** The integrity algorithm agreed. */
  readonly alg: IntegrityAlgorithm;
  /** The encryption algorithm agreed. */
  readonly ealg: EncryptionAlgorithm;
  /** The ESP mode agreed: transport, or UDP-encapsulated tunnel behind a NAT (TS 33.203 Annex M). */
  readonly mode: 'trans' | 'UDP-enc-tun';
  /** When the set was created (the database's clock, ms). */
  readonly createdAt: number;
  /** SA1..SA4 in order. */
  readonly sas: readonly SaEntry[];
  /** Where the set is in its life (TS 33.203 7.4); changed by the database only. */
  state: SaSetState = 'temporary';
  /**
   * When the set expires (the database's clock, ms): reg-await-auth while temporary, then the registration's expiry.
   */
  expiresAt: number;
  /** Whether the peer has sent on this set (the trigger to retire an older one). */
  peerUsed = false;
  /** Transactions still running over the set. */
  pending = 0;
  /** Delete as soon as `pending` reaches 0 (old sets, de-registration). */
  deleteWhenIdle = false;
  /** @internal the set's place in its database's expiry heap (-1: none) */
  heapIndex = -1;
  /** The expanded keys, only with SaDatabaseOptions.keepKeysForExport (never in toJSON). */
  exportKeys: EspKeys | undefined;
  /** @internal the UE's address in binary (the selectors' srcIp / dstIp) */
  readonly ueIp: Uint8Array;
  /** @internal the P-CSCF's address in binary */
  readonly pcscfIp: Uint8Array;
  /** @internal [address, size] of the key context and of SA1..SA4 in WASM, for `setCells` (0: freed) */
  cells: number[] | undefined = undefined;

  /** @internal */
  constructor(id: number, role: Role, init: SaSetInit, now: number, lifetimeMs: number, ueIp: Uint8Array, pcscfIp: Uint8Array, sas: (set: SaSet) => SaEntry[]) {
    this.id = id;
    this.ueIp = ueIp;
    this.pcscfIp = pcscfIp;
    this.key = init.key;
    this.role = role;
    this.ueAddress = init.ueAddress;
    this.pcscfAddress = init.pcscfAddress;
    this.ue = { ...init.ue };
    this.pcscf = { ...init.pcscf };
    this.alg = init.alg;
    this.ealg = init.ealg;
    this.mode = init.mode ?? 'trans';
    this.createdAt = now;
    this.expiresAt = now + lifetimeMs;
    this.sas = sas(this);
  }

  /** The SA named `name`. */
  sa(name: SaName): SaEntry {
    return this.sas[Number(name[2]) - 1]!;
  }

  /** This side's outbound SA leaving from local port `port` (port_uc/port_us for the UE, port_ps/port_pc for the P-CSCF). */
  outboundFrom(port: number): SaEntry | undefined {
    return this.sas.find((s) => s.direction === 'outbound' && s.srcPort === port);
  }

  /** Never reveals keys. */
  toJSON(): Record<string, unknown> {
    return {
      id: this.id, key: this.key, role: this.role, state: this.state, alg: this.alg, ealg: this.ealg, mode: this.mode,
      ueAddress: this.ueAddress, pcscfAddress: this.pcscfAddress, ue: this.ue, pcscf: this.pcscf, expiresAt: this.expiresAt,
      sas: this.sas.map((s) => ({ name: s.name, direction: s.direction, spi: s.spi, src: `${s.srcAddress}:${s.srcPort}`, dst: `${s.dstAddress}:${s.dstPort}` })),
    };
  }
}

const SA_NAMES: readonly SaName[] = ['SA1', 'SA2', 'SA3', 'SA4'];

/**
 * The safety net of a set's WASM contexts: one finaliser cell per set (its key context and four SAs are not
 * tracked one by one), whose record lists [address, size] of each; a context deleted by hand is zeroed in
 * the record, so it is never freed twice. A set is unreachable only with the last of its SAs (each SA
 * references its set), so the cell runs when nothing of the set can be used any more.
 */
const setCells = new FinalizationRegistry<number[]>((rec) => {
  for (let i = 0; i < rec.length; i += 2) if (rec[i] !== 0) coreHeap.free(rec[i]!, rec[i + 1]!);
});

/** Whether the UE sends on SA number `i` + 1 (SA1, SA4). A function, not a private method: see SetSa. */
const fromUe = (i: number): boolean => i === 0 || i === 3;

/**
 * An SA of a set: the EspSa that seals or opens its packets and, the same object, its {@link SaEntry}
 * (`entry.esp === entry`). Name, selectors and addresses are read from the set (TS 33.203 7.1: SA1 UE
 * port_uc -> P-CSCF port_ps, SA2 P-CSCF port_pc -> UE port_us, SA3 P-CSCF port_ps -> UE port_uc, SA4 UE
 * port_us -> P-CSCF port_pc), so an SA costs its EspSa fields plus two. No private methods: V8 would add
 * a brand slot to every instance.
 */
class SetSa extends EspSaBase implements SaEntry {
  readonly set: SaSet;
  /** 0..3 for SA1..SA4. */
  readonly #i: number;

  constructor(set: SaSet, i: number, o: EspSaOptions, outbound: boolean, keys: EspKeyContext) {
    super(o, outbound, keys);
    this.set = set;
    this.#i = i;
  }

  get name(): SaName {
    return SA_NAMES[this.#i]!;
  }

  get esp(): EspSa {
    return this;
  }

  get srcAddress(): string {
    return fromUe(this.#i) ? this.set.ueAddress : this.set.pcscfAddress;
  }

  get dstAddress(): string {
    return fromUe(this.#i) ? this.set.pcscfAddress : this.set.ueAddress;
  }

  get srcPort(): number {
    const s = this.set;
    switch (this.#i) {
      case 0: return s.ue.portC;
      case 1: return s.pcscf.portC;
      case 2: return s.pcscf.portS;
      default: return s.ue.portS;
    }
  }

  get dstPort(): number {
    const s = this.set;
    switch (this.#i) {
      case 0: return s.pcscf.portS;
      case 1: return s.ue.portS;
      case 2: return s.ue.portC;
      default: return s.pcscf.portC;
    }
  }

  get srcIp(): Uint8Array {
    return fromUe(this.#i) ? this.set.ueIp : this.set.pcscfIp;
  }

  get dstIp(): Uint8Array {
    return fromUe(this.#i) ? this.set.pcscfIp : this.set.ueIp;
  }

  /** Deletes the SA (keys and state zeroed) and takes it off its set's finaliser record. */
  override destroy(): void {
    if (this.destroyed) return;
    const ptr = this._ctx;
    super.destroy();
    const rec = this.set.cells;
    if (rec === undefined) return;
    for (let i = 2; i < rec.length; i += 2) if (rec[i] === ptr) rec[i] = 0;
    // The key context goes with the last SA using it (the creator's reference went at creation).
    if (rec[2] === 0 && rec[4] === 0 && rec[6] === 0 && rec[8] === 0) rec[0] = 0;
  }

  /** The entry and its ESP SA (never keys). */
  override toJSON(): { type: string; destroyed: boolean } & Record<string, unknown> {
    return { ...super.toJSON(), type: 'SaEntry', name: this.name, src: `${this.srcAddress}:${this.srcPort}`, dst: `${this.dstAddress}:${this.dstPort}` };
  }
}

/**
 * Options of {@link SaDatabase}: its {@link Role}, SPI range and randomness, lifetimes (milliseconds) and
 * clock, limits on sets, and the replay window and soft limit of the SAs it creates.
 */
export interface SaDatabaseOptions {
  /** Which side this database is: 'ue' or 'pcscf'. */
  role: Role;
  /** Range for this side's inbound SPIs (db.spis). */
  spiRange?: Partial<SpiRange> | undefined;
  /** The randomness of SPI allocation (default crypto.getRandomValues; tests inject a seeded one). */
  random?: RandomU32 | undefined;
  /** Temporary-set lifetime (TS 24.229 reg-await-auth, table 7.7.1): default 4 minutes. */
  regAwaitAuthMs?: number | undefined;
  /** Time source in ms; default Date.now. */
  clock?: (() => number) | undefined;
  /** Expire sets by a timer (default true). With false, call tick() yourself. */
  autoExpire?: boolean | undefined;
  /** Most sets one registration key may hold at once (temporary + established + old); default 3. */
  maxSetsPerKey?: number | undefined;
  /** Most sets overall; default 1 000 000. */
  maxSets?: number | undefined;
  /** Replay window of the inbound SAs; default 64. */
  replayWindow?: number | undefined;
  /** Outbound sequence number at which `onSoftLimit` is called (EspSa softLimit; default near the end). */
  softLimit?: number | undefined;
  /** Called once per outbound SA that reaches the soft limit: time to build a new set (new keys). */
  onSoftLimit?: ((set: SaSet, sa: SaEntry) => void) | undefined;
  /**
   * Keep each set's expanded keys in JavaScript memory as `set.exportKeys`, for writing capture key files
   * (the demo's --pcap). Off by default: normally keys exist only inside WASM.
   */
  keepKeysForExport?: boolean | undefined;
  /**
   * Persistence hook (src/store/): called once per set {@link SaDatabase.create} makes, before its
   * 'created' event, with the CK and IK it was made from, so that a store can seal them (the arrays are the
   * caller's: copy what is kept). Restored sets do not call it.
   */
  onKeys?: ((set: SaSet, ck: Uint8Array, ik: Uint8Array) => void) | undefined;
}

/**
 * A set as a store kept it (src/store/), for {@link SaDatabase.restore}: what {@link SaSetInit} says, plus
 * its id, state and times, and where its sequence numbers stand.
 */
export interface SaSetRestore extends SaSetInit {
  /** The set's id before the restart (kept, so that stored records keep their names). */
  id: number;
  /** Its state ('deleted' sets are not restored). */
  state: 'temporary' | 'established' | 'old';
  /** When it was created and when it expires (the database's clock, ms). */
  createdAt: number;
  /** When the set expires (the database's clock, ms); a set already past it is refused. */
  expiresAt: number;
  /**
   * Per outbound SA, the sequence number it continues after (the next packet carries one more): the
   * persisted high-water mark, at or above every number sent before the restart (RFC 4303 3.3.3).
   */
  outboundSeq: Partial<Record<SaName, number>>;
  /** Per inbound SA, the right edge of its restarted replay window: every number at or below it is refused. */
  inboundTop: Partial<Record<SaName, number>>;
}

type Listener = (set: SaSet, event: SaEvent) => void;

/**
 * Selector index: the sets by (UE address, UE port), one map entry per UE port of a set under a 32-bit hash
 * of the two (a small integer key: no string per SA, no map per address), each holding the set, or a
 * short list of sets when several share it (old and new sets of a registration share port_us; hash
 * collisions). A lookup takes the sets under the query's source and under its destination (the UE is one
 * of the two) and keeps their SAs whose four selectors match exactly. Lookups run per request from the
 * core, not per packet (inbound packets are found by SPI).
 */
class SelectorIndex {
  readonly #m = new Map<number, SaSet | SaSet[]>();

  static #hash(address: string, port: number): number {
    let h = Math.imul(port ^ 0x5bd1e995, 0x9e3779b1);
    for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address.charCodeAt(i), 0x01000193);
    return h ^ (h >>> 15);
  }

  static #keys(set: SaSet): number[] {
    const a = SelectorIndex.#hash(set.ueAddress, set.ue.portC);
    const b = SelectorIndex.#hash(set.ueAddress, set.ue.portS);
    return a === b ? [a] : [a, b];
  }

  get(srcAddress: string, srcPort: number, dstAddress: string, dstPort: number): SaEntry[] | undefined {
    let out: SaEntry[] | undefined;
    const k1 = SelectorIndex.#hash(srcAddress, srcPort);
    const k2 = SelectorIndex.#hash(dstAddress, dstPort);
    const v1 = this.#m.get(k1);
    const v2 = k2 === k1 ? undefined : this.#m.get(k2);
    const scan = (set: SaSet): void => {
      for (const e of set.sas) {
        if (e.srcPort === srcPort && e.dstPort === dstPort && e.srcAddress === srcAddress && e.dstAddress === dstAddress) (out ??= []).push(e);
      }
    };
    if (v1 !== undefined) {
      if (Array.isArray(v1)) for (const set of v1) scan(set);
      else scan(v1);
    }
    if (v2 !== undefined) {
      const seen = (set: SaSet): boolean => v1 !== undefined && (v1 === set || (Array.isArray(v1) && v1.includes(set)));
      if (Array.isArray(v2)) {
        for (const set of v2) if (!seen(set)) scan(set);
      } else if (!seen(v2)) scan(v2);
    }
    return out;
  }

  add(set: SaSet): void {
    for (const k of SelectorIndex.#keys(set)) {
      const v = this.#m.get(k);
      if (v === undefined) this.#m.set(k, set);
      else if (Array.isArray(v)) v.push(set);
      else this.#m.set(k, [v, set]);
    }
  }

  remove(set: SaSet): void {
    for (const k of SelectorIndex.#keys(set)) {
      const v = this.#m.get(k);
      if (v === set) this.#m.delete(k);
      else if (Array.isArray(v)) {
        const i = v.indexOf(set);
        if (i >= 0) v.splice(i, 1);
        if (v.length === 1) this.#m.set(k, v[0]!);
        else if (v.length === 0) this.#m.delete(k);
      }
    }
  }
}

/**
 * The SA database: sets by key, inbound SAs by SPI, every SA by selector, and expiry.
 *
 * @example
 * ```ts
 * const db = new SaDatabase({ role: 'pcscf' });
 * const spiPc = db.spis.allocate(), spiPs = db.spis.allocate([ue.spiC, ue.spiS]);
 * const set = db.create({ key: impi, ueAddress, pcscfAddress, ue, pcscf: { spiC: spiPc, spiS: spiPs, portC, portS }, alg, ealg, ck, ik });
 * db.establish(set, 600_000);            // after the 200 OK
 * const hit = db.bySpi(spi);             // inbound packet -> SA and set
 * ```
 */
export class SaDatabase {
  /** Which side this database is (fixed at construction). */
  readonly role: Role;
  /** This side's inbound SPIs. */
  readonly spis: SpiAllocator;
  /** Lifetime of a temporary set in milliseconds (TS 24.229 reg-await-auth; SaDatabaseOptions.regAwaitAuthMs). */
  readonly regAwaitAuthMs: number;
  readonly #clock: () => number;
  readonly #autoExpire: boolean;
  readonly #maxSetsPerKey: number;
  readonly #maxSets: number;
  readonly #replayWindow: number | undefined;
  readonly #softLimit: number | undefined;
  readonly #keepKeys: boolean;
  readonly #onKeys: ((set: SaSet, ck: Uint8Array, ik: Uint8Array) => void) | undefined;
  /** Inbound SAs by SPI, as a signed 32-bit key (`spi | 0`: a small integer, where 2^31.. would be boxed). */
  readonly #bySpi = new Map<number, SetSa>();
  readonly #bySelector = new SelectorIndex();
  readonly #byKey = new Map<string, SaSet[]>();
  readonly #listeners = new Set<Listener>();
  /** The expiry heap: sets, and their deadlines at the same index (each set knows its index). */
  #heapSets: SaSet[] = [];
  #heapAt: number[] = [];
  /** The soft-limit callback of every outbound SA: one closure per database (it holds no set or key). */
  readonly #softCallback: ((sa: EspSa) => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #nextId = 1;
  #count = 0;

  /** Throws INVALID_ARGUMENT for a role other than 'ue' or 'pcscf' or a bad SPI range. */
  constructor(o: SaDatabaseOptions) {
    if (o.role !== 'ue' && o.role !== 'pcscf') throw new Ipsec3gppError('INVALID_ARGUMENT', 'role must be "ue" or "pcscf"');
    this.role = o.role;
    this.spis = new SpiAllocator(o.spiRange, o.random);
    this.regAwaitAuthMs = o.regAwaitAuthMs ?? 240_000;
    this.#clock = o.clock ?? Date.now;
    this.#autoExpire = o.autoExpire ?? true;
    this.#maxSetsPerKey = o.maxSetsPerKey ?? 3;
    this.#maxSets = o.maxSets ?? 1_000_000;
    this.#replayWindow = o.replayWindow;
    this.#softLimit = o.softLimit;
    const onSoft = o.onSoftLimit;
    this.#softCallback = onSoft === undefined ? undefined : (sa) => onSoft((sa as SetSa).set, sa as SetSa);
    this.#keepKeys = o.keepKeysForExport === true;
    this.#onKeys = o.onKeys;
  }

  /** Number of live sets. */
  get size(): number {
    return this.#count;
  }

  /** Subscribes to set events; returns the unsubscribe function. */
  on(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(set: SaSet, event: SaEvent): void {
    for (const l of this.#listeners) l(set, event);
  }

  /**
   * Creates a temporary set (all four SAs, keys expanded per Annex I) or nothing. This side's inbound
   * SPIs must have been allocated from `spis`; the peer's must differ from them.
   */
  create(init: SaSetInit): SaSet {
    return this.#insert(init, this.#nextId, this.#clock(), init.lifetimeMs ?? this.regAwaitAuthMs, false);
  }

  /**
   * Recreates a set a store kept (src/store/) after a restart: same id, state, expiry, SPIs and keys; each
   * outbound SA continues after its persisted high-water mark and each inbound SA's replay window restarts
   * with its right edge at the persisted top (everything at or below refused). Throws SADB (an inbound SPI
   * taken, outside this database's range, or the set already expired), as {@link SaDatabase.create} does
   * otherwise. Emits no event: nothing changed that a store does not know.
   */
  restore(r: SaSetRestore): SaSet {
    if (!Number.isInteger(r.id) || r.id < 1) throw new Ipsec3gppError('SADB', `bad set id ${r.id}`);
    if (r.state !== 'temporary' && r.state !== 'established' && r.state !== 'old') throw new Ipsec3gppError('SADB', `a ${String(r.state)} set is not restored`);
    if (!(r.expiresAt > this.#clock())) throw new Ipsec3gppError('SADB', `set ${r.id} expired before the restart`);
    const mine = this.role === 'ue' ? r.ue : r.pcscf;
    const reserved: number[] = [];
    try {
      for (const spi of [mine.spiC, mine.spiS]) {
        this.spis.reserve(spi);
        reserved.push(spi);
      }
    } catch (e) {
      for (const spi of reserved) this.spis.release(spi);
      throw new Ipsec3gppError('SADB', (e as Error).message);
    }
    let set: SaSet;
    try {
      set = this.#insert(r, r.id, r.createdAt, r.expiresAt - r.createdAt, true);
    } catch (e) {
      for (const spi of reserved) this.spis.release(spi);
      throw e;
    }
    for (const e of set.sas) {
      if (e.direction === 'outbound') e.esp.setOutboundSeq(r.outboundSeq[e.name] ?? 0);
      else e.esp.restartReplayWindow(r.inboundTop[e.name] ?? 0);
    }
    set.state = r.state;
    this.#nextId = Math.max(this.#nextId, r.id + 1);
    return set;
  }

  #insert(init: SaSetInit, id: number, now: number, lifetimeMs: number, restored: boolean): SaSet {
    const mine = this.role === 'ue' ? init.ue : init.pcscf;
    const peer = this.role === 'ue' ? init.pcscf : init.ue;
    for (const spi of [mine.spiC, mine.spiS]) {
      if (!this.spis.has(spi)) throw new Ipsec3gppError('SADB', `inbound SPI ${spi} was not allocated from this database's range`);
      if (this.#bySpi.has(spi | 0)) throw new Ipsec3gppError('SADB', `inbound SPI ${spi} is already in use by another SA`);
    }
    const all = [init.ue.spiC, init.ue.spiS, init.pcscf.spiC, init.pcscf.spiS];
    if (new Set(all).size !== 4) throw new Ipsec3gppError('SADB', 'the four SPIs of a set must be distinct (UE and P-CSCF SPIs included)');
    for (const spi of [peer.spiC, peer.spiS]) {
      // The peer chose it (RFC 4303 2.1): any non-zero value; only our own allocations start at 256.
      if (!Number.isInteger(spi) || spi < 1 || spi > 0xffffffff) throw new Ipsec3gppError('SADB', `peer SPI ${spi} is outside 1..4294967295`);
    }
    const sets = this.#byKey.get(init.key);
    if ((sets?.length ?? 0) >= this.#maxSetsPerKey) throw new Ipsec3gppError('SADB', `registration already holds ${sets?.length ?? 0} SA sets (limit ${this.#maxSetsPerKey})`);
    if (this.#count >= this.#maxSets) throw new Ipsec3gppError('SADB', `SA database full (${this.#maxSets} sets)`);

    // Addresses parsed first: a bad one leaves nothing allocated.
    const ueIp = this.role === 'ue' ? this.#localIp(init.ueAddress) : parseAddress(init.ueAddress);
    const pcscfIp = this.role === 'pcscf' ? this.#localIp(init.pcscfAddress) : parseAddress(init.pcscfAddress);
    const created: EspSa[] = [];
    let set: SaSet;
    try {
      set = new SaSet(id, this.role, init, now, lifetimeMs, ueIp, pcscfIp, (s) => this.#buildSas(s, init, created));
    } catch (e) {
      for (const sa of created) sa.delete();
      throw e;
    }
    for (const e of set.sas as readonly SetSa[]) if (e.direction === 'inbound') this.#bySpi.set(e.spi | 0, e);
    this.#bySelector.add(set);
    if (this.#keepKeys) set.exportKeys = expandKeys({ alg: init.alg, ealg: init.ealg, ck: init.ck, ik: init.ik });
    if (!restored) this.#nextId = id + 1;
    // A new list holds just the set (a list grown by push from empty would have room for 16).
    if (sets === undefined) this.#byKey.set(init.key, [set]);
    else sets.push(set);
    this.#count++;
    this.#schedule(set);
    if (restored) return set;
    this.#onKeys?.(set, init.ck, init.ik);
    this.#emit(set, 'created');
    return set;
  }

  /** Binary forms of this side's own addresses (a handful), shared by every set instead of one copy each. */
  readonly #localIps = new Map<string, Uint8Array>();

  #localIp(address: string): Uint8Array {
    let b = this.#localIps.get(address);
    if (b === undefined) {
      b = parseAddress(address);
      if (this.#localIps.size < 16) this.#localIps.set(address, b);
    }
    return b;
  }

  #buildSas(set: SaSet, init: SaSetInit, created: EspSa[]): SaEntry[] {
    const { ue, pcscf } = init;
    // SA1..SA4: SPI (chosen by the receiver) and the receiving role.
    const spis = [pcscf.spiS, ue.spiS, ue.spiC, pcscf.spiC];
    const receivers: Role[] = ['pcscf', 'ue', 'ue', 'pcscf'];
    const replayWindow = init.replayWindow ?? this.#replayWindow ?? 64;
    // One key context for the four SAs (Annex I: the same keys), expanded once; freed with the last SA.
    const keys = EspKeyContext.create({ alg: init.alg, ealg: init.ealg, ck: init.ck, ik: init.ik }, false);
    try {
      const make = (i: number): SetSa => {
        const inbound = receivers[i] === this.role;
        const o: EspSaOptions = { spi: spis[i]!, alg: init.alg, ealg: init.ealg, replayWindow };
        if (!inbound) {
          if (this.#softLimit !== undefined) o.softLimit = this.#softLimit;
          if (this.#softCallback !== undefined) o.onSoftLimit = this.#softCallback;
        }
        const sa = new SetSa(set, i, o, !inbound, keys);
        created.push(sa);
        return sa;
      };
      const sas = [make(0), make(1), make(2), make(3)]; // a literal: an array of exactly four
      const [k, a, b, c, d] = [keys, ...sas].map(contextOf) as [Ctx, Ctx, Ctx, Ctx, Ctx];
      setCells.register(set, set.cells = [k.ptr, k.size, a.ptr, a.size, b.ptr, b.size, c.ptr, c.size, d.ptr, d.size]);
      return sas;

    } finally {
      keys.release(); // the SAs hold it now (or, when one failed, those made are deleted by create())
    }
  }

  /**
   * Temporary -> established after the registration's 200 OK. The lifetime becomes
   * max(previous established set's, now + registration expiry + 30 s); that previous set becomes old.
   */
  establish(set: SaSet, registrationExpiresMs: number): void {
    this.#live(set);
    if (set.state !== 'temporary') throw new Ipsec3gppError('SECAGREE_STATE', `set ${set.id} is ${set.state}, not temporary`);
    const now = this.#clock();
    let expires = now + registrationExpiresMs + 30_000;
    for (const other of this.#byKey.get(set.key) ?? []) {
      if (other !== set && other.state === 'established') {
        expires = Math.max(expires, other.expiresAt);
        other.state = 'old';
        this.#emit(other, 'old');
      }
    }
    set.state = 'established';
    set.expiresAt = expires;
    this.#schedule(set);
    this.#emit(set, 'established');
  }

  /** Extends an established set's lifetime (re-registration answered 200 without a challenge). */
  refresh(set: SaSet, registrationExpiresMs: number): void {
    this.#live(set);
    set.expiresAt = Math.max(set.expiresAt, this.#clock() + registrationExpiresMs + 30_000);
    this.#schedule(set);
    this.#emit(set, 'refreshed');
  }

  /**
   * The peer has used `set` (a packet from it arrived on one of its inbound SAs). Older sets of the same
   * registration are deleted once their pending transactions are done (TS 24.229 5.1.1.4.1, and the same
   * rule at the P-CSCF).
   */
  peerUsed(set: SaSet): void {
    if (set.peerUsed || set.state !== 'established') return;
    set.peerUsed = true;
    for (const other of this.#byKey.get(set.key) ?? []) {
      if (other.state === 'old') this.deleteWhenIdle(other);
    }
  }

  /** A transaction starts over `set` (keeps an old set alive until it ends). */
  beginTransaction(set: SaSet): void {
    this.#live(set);
    set.pending++;
  }

  /**
   * A transaction over `set` ended (pairs with {@link SaDatabase.beginTransaction}); a set marked
   * deleteWhenIdle is deleted when its last transaction ends. Does nothing for a deleted set.
   */
  endTransaction(set: SaSet): void {
    if (set.state === 'deleted') return;
    if (set.pending > 0) set.pending--;
    if (set.pending === 0 && set.deleteWhenIdle) this.delete(set);
  }

  /** Deletes `set` now if it has no pending transaction, else when the last one ends (e.g. de-registration). */
  deleteWhenIdle(set: SaSet): void {
    if (set.state === 'deleted') return;
    set.deleteWhenIdle = true;
    if (set.pending === 0) this.delete(set);
  }

  /** Deletes a set: SAs unindexed, keys zeroed in WASM, SPIs returned. Idempotent. */
  delete(set: SaSet, event: SaEvent = 'deleted'): void {
    if (set.state === 'deleted') return;
    for (const e of set.sas) {
      if (e.direction === 'inbound') {
        if (this.#bySpi.get(e.spi | 0) === e) this.#bySpi.delete(e.spi | 0);
        this.spis.release(e.spi);
      }
      e.esp.delete();
    }
    this.#bySelector.remove(set);
    const sets = this.#byKey.get(set.key);
    if (sets) {
      const i = sets.indexOf(set);
      if (i >= 0) sets.splice(i, 1);
      if (sets.length === 0) this.#byKey.delete(set.key);
    }
    set.state = 'deleted';
    // Out of the heap at once: a deleted registration is not kept reachable until its old expiry.
    this.#unschedule(set);
    this.#count--;
    this.#emit(set, event);
  }

  /** The inbound SA with this SPI. */
  bySpi(spi: number): SaEntry | undefined {
    const e = this.#bySpi.get(spi | 0);
    return e !== undefined && e.spi === spi ? e : undefined;
  }

  /**
   * The SA whose selectors match, for outbound selection: of several sets sharing the selectors (SA2/SA4
   * across a re-registration), the newest established one, else the newest temporary, else an old one.
   */
  bySelector(srcAddress: string, srcPort: number, dstAddress: string, dstPort: number): SaEntry | undefined {
    const list = this.#bySelector.get(srcAddress, srcPort, dstAddress, dstPort);
    if (list === undefined) return undefined;
    let best: SaEntry | undefined;
    for (const e of list) if (best === undefined || rank(e.set) > rank(best.set) || (rank(e.set) === rank(best.set) && e.set.id > best.set.id)) best = e;
    return best;
  }

  /** Every SA (of any live set) with these selectors: for the inbound policy check of an SA found by SPI. */
  allBySelector(srcAddress: string, srcPort: number, dstAddress: string, dstPort: number): readonly SaEntry[] {
    return this.#bySelector.get(srcAddress, srcPort, dstAddress, dstPort) ?? [];
  }

  /** The live sets of a registration, oldest first. */
  sets(key: string): readonly SaSet[] {
    return this.#byKey.get(key) ?? [];
  }

  /** All live sets. */
  *all(): IterableIterator<SaSet> {
    for (const sets of this.#byKey.values()) yield* sets;
  }

  /** Expires every set whose deadline has passed; returns how many. Called by the timer, or by you. */
  tick(now = this.#clock()): number {
    let n = 0;
    while (this.#heapSets.length > 0 && this.#heapAt[0]! <= now) {
      const set = this.#heapSets[0]!;
      if (set.state === 'deleted') {
        this.#unschedule(set);
        continue;
      }
      this.delete(set, 'expired');
      n++;
    }
    this.#arm();
    return n;
  }

  /** Deletes every set (keys zeroed) and stops the timer. */
  clear(): void {
    for (const set of [...this.all()]) this.delete(set);
    for (const set of this.#heapSets) set.heapIndex = -1;
    this.#heapSets = [];
    this.#heapAt = [];
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #live(set: SaSet): void {
    if (set.state === 'deleted') throw new Ipsec3gppError('SECAGREE_STATE', `set ${set.id} was deleted`);
  }

  /** Puts `set` in the expiry heap at its `expiresAt`, or moves it there. */
  #schedule(set: SaSet): void {
    const at = set.expiresAt;
    let i = set.heapIndex;
    if (i < 0) {
      i = this.#heapSets.length;
      this.#heapSets.push(set);
      this.#heapAt.push(at);
      set.heapIndex = i;
    } else {
      this.#heapAt[i] = at;
    }
    this.#sift(i);
    this.#arm();
  }

  /** Takes `set` out of the expiry heap (if it is there). */
  #unschedule(set: SaSet): void {
    const i = set.heapIndex;
    if (i < 0) return;
    set.heapIndex = -1;
    const sets = this.#heapSets, at = this.#heapAt;
    const lastSet = sets.pop()!, lastAt = at.pop()!;
    if (i < sets.length) {
      sets[i] = lastSet;
      at[i] = lastAt;
      lastSet.heapIndex = i;
      this.#sift(i);
    }
  }

  /** Restores the heap order around index `i` (up, then down). */
  #sift(i: number): void {
    const sets = this.#heapSets, at = this.#heapAt;
    const set = sets[i]!, t = at[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p]! <= t) break;
      sets[i] = sets[p]!;
      at[i] = at[p]!;
      sets[i]!.heapIndex = i;
      i = p;
    }
    for (;;) {
      const l = 2 * i + 1;
      if (l >= sets.length) break;
      const r = l + 1;
      const c = r < sets.length && at[r]! < at[l]! ? r : l;
      if (at[c]! >= t) break;
      sets[i] = sets[c]!;
      at[i] = at[c]!;
      sets[i]!.heapIndex = i;
      i = c;
    }
    sets[i] = set;
    at[i] = t;
    set.heapIndex = i;
  }

  #arm(): void {
    if (!this.#autoExpire) return;
    const next = this.#heapAt[0] ?? Infinity;
    if (next >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = next;
    if (next === Infinity) return;
    const delay = Math.min(Math.max(0, next - this.#clock()), 0x7fffffff);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.tick();
    }, delay);
    (this.#timer as { unref?: () => void }).unref?.();
  }
}

type Ctx = { ptr: number; size: number };

const rank = (set: SaSet): number => (set.state === 'established' ? 3 : set.state === 'temporary' ? 2 : 1);
