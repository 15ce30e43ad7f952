// The security policy of the wire (RFC 4301 4.4.1, the SPD, as TS 33.203 7.1 fills it): which outbound SA
// protects a packet the kernel stack sends, chosen on the selectors of the IMS SAs (source and destination
// address and port, UDP and TCP alike), and which inbound SA an SPI names (the SAD). It is a view over an
// SaDatabase kept current through its events, indexed by binary addresses and the port pair, so nothing is
// formatted or parsed per packet. Of several sets sharing selectors (SA2/SA4 across a re-registration) the
// newest established wins, then the newest temporary, then an old one: the rule of SaDatabase.bySelector.
// Browser-safe.

import { type SaDatabase, type SaEntry, type SaSet } from '../secagree/sadb.js';
import { sameBytes } from './inspect.js';

const rank = (set: SaSet): number => (set.state === 'established' ? 3 : set.state === 'temporary' ? 2 : set.state === 'old' ? 1 : 0);

/** Outbound SA selection and inbound SA lookup for one SaDatabase. */
export class WirePolicy {
  readonly db: SaDatabase;
  readonly #outbound = new Map<number, SaEntry[]>();
  readonly #off: () => void;
  readonly #listeners = new Set<(set: SaSet, event: 'added' | 'removed') => void>();

  constructor(db: SaDatabase) {
    this.db = db;
    for (const set of db.all()) this.#add(set);
    this.#off = db.on((set, event) => {
      if (event === 'created') this.#add(set);
      else if (event === 'deleted' || event === 'expired') this.#remove(set);
    });
  }

  /** Called when a set enters or leaves the policy (the TUN path installs its routing then). */
  onChange(fn: (set: SaSet, event: 'added' | 'removed') => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The outbound SA for these selectors, or undefined (no policy: the packet is not protected here). */
  outbound(src: Uint8Array, srcPort: number, dst: Uint8Array, dstPort: number): SaEntry | undefined {
    const list = this.#outbound.get(srcPort * 65536 + dstPort);
    if (list === undefined) return undefined;
    let best: SaEntry | undefined;
    for (const e of list) {
      if (!sameBytes(e.srcIp, src) || !sameBytes(e.dstIp, dst)) continue;
      if (best === undefined || rank(e.set) > rank(best.set) || (rank(e.set) === rank(best.set) && e.set.id > best.set.id)) best = e;
    }
    return best;
  }

  /** The inbound SA named by an SPI. */
  inbound(spi: number): SaEntry | undefined {
    const e = this.db.bySpi(spi);
    return e !== undefined && e.direction === 'inbound' && e.set.state !== 'deleted' ? e : undefined;
  }

  /** Stops following the database. */
  close(): void {
    this.#off();
    this.#outbound.clear();
    this.#listeners.clear();
  }

  #add(set: SaSet): void {
    for (const e of set.sas) {
      if (e.direction !== 'outbound') continue;
      const k = e.srcPort * 65536 + e.dstPort;
      const list = this.#outbound.get(k);
      if (list) list.push(e);
      else this.#outbound.set(k, [e]);
    }
    for (const l of this.#listeners) l(set, 'added');
  }

  #remove(set: SaSet): void {
    for (const e of set.sas) {
      if (e.direction !== 'outbound') continue;
      const k = e.srcPort * 65536 + e.dstPort;
      const list = this.#outbound.get(k);
      if (!list) continue;
      const i = list.indexOf(e);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#outbound.delete(k);
    }
    for (const l of this.#listeners) l(set, 'removed');
  }
}
