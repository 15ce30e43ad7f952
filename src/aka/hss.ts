// The network's part of AKA (3GPP TS 33.102 6.3.2, 6.3.5, Annex C): what an HSS/AuC does for the S-CSCF.
// Authentication vectors: RAND from a CSPRNG, SQN from the subscriber's SEQ/IND generator,
// AUTN = (SQN xor AK) || AMF || MAC-A, XRES = RES, CK, IK. Resynchronisation from AUTS: recover
// SQN_MS = AUTS[0..6] xor f5*(RAND), verify MAC-S = f1*(K, SQN_MS, RAND, AMF = 0x0000) in constant time,
// and continue after SQN_MS.

import { equalBytes } from '../ct.js';
import { Ipsec3gppError } from '../errors.js';
import * as check from '../internal/check.js';
import { Milenage, type MilenageKeys } from './milenage.js';
import { SqnGenerator, sqnFromBytes, sqnToBytes, type SqnOptions } from './sqn.js';

/** One authentication vector (quintet). */
export interface AuthVector {
  /** RAND, the random challenge (16 bytes). */
  rand: Uint8Array;
  /** AUTN = SQN xor AK || AMF || MAC-A (16 bytes). */
  autn: Uint8Array;
  /** XRES, the expected response (8 bytes for Milenage f2). */
  xres: Uint8Array;
  /** CK, the cipher key (16 bytes). */
  ck: Uint8Array;
  /** IK, the integrity key (16 bytes). */
  ik: Uint8Array;
  /** The sequence number used (48 bits). */
  sqn: number;
}

interface Subscriber {
  m: Milenage;
  amf: Uint8Array;
  sqn: SqnGenerator;
  impus: string[];
}

/**
 * One subscriber for {@link Hss.addSubscriber}: the IMPI, its Milenage keys, AMF, the SQN state to start from
 * and its public identities. Throws INVALID_ARGUMENT for bad key lengths or a duplicate IMPI (see addSubscriber).
 */
export interface SubscriberInit extends MilenageKeys {
  /** The private identity (IMPI). */
  impi: string;
  /** Authentication management field, 2 bytes (default 8000: the separation bit set). */
  amf?: Uint8Array;
  /** SEQ_HE to start from (default 0) and the SEQ/IND layout. */
  seq?: number;
  sqn?: SqnOptions;
  /**
   * The public user identities (IMPUs) of this IMPI's implicit registration set, the default one first
   * (TS 23.228 4.3.3.4). Default: `sip:<impi>`.
   */
  impus?: string[];
}

/**
 * An HSS holding subscribers' keys.
 *
 * @example
 * ```ts
 * const hss = new Hss();
 * hss.addSubscriber({ impi, k, op, amf: Uint8Array.of(0x80, 0) });
 * const av = hss.vector(impi);           // { rand, autn, xres, ck, ik, sqn }
 * hss.resync(impi, av.rand, auts);       // after a synchronisation failure
 * ```
 */
export class Hss {
  readonly #subs = new Map<string, Subscriber>();

  /**
   * Adds (or replaces) a subscriber; its K and OP/OPc go into WASM memory (the caller may wipe its copies).
   * Throws INVALID_ARGUMENT for an empty IMPI, bad IMPUs, or an AMF, K, OP or OPc of the wrong length.
   */
  addSubscriber(s: SubscriberInit): void {
    if (typeof s.impi !== 'string' || s.impi === '') throw new Ipsec3gppError('INVALID_ARGUMENT', 'impi must be a non-empty string');
    const impus = s.impus ?? [`sip:${s.impi}`];
    if (!Array.isArray(impus) || impus.length === 0 || impus.length > 100 || impus.some((u) => typeof u !== 'string' || !/^(sips?|tel):[^\s<>]+$/i.test(u))) {
      throw new Ipsec3gppError('INVALID_ARGUMENT', 'impus must be a list of 1..100 sip:, sips: or tel: URIs');
    }
    const amf = s.amf ?? Uint8Array.of(0x80, 0);
    check.length('AMF', amf, 'INVALID_ARGUMENT', 2);
    const keys: MilenageKeys = { k: s.k };
    if (s.op) keys.op = s.op;
    if (s.opc) keys.opc = s.opc;
    const m = new Milenage(keys);
    this.#subs.get(s.impi)?.m.destroy();
    const gen: SqnOptions & { seq?: number } = { ...s.sqn };
    if (s.seq !== undefined) gen.seq = s.seq;
    this.#subs.set(s.impi, { m, amf: amf.slice(), sqn: new SqnGenerator(gen), impus: [...impus] });
  }

  /** The public user identities of an IMPI (its implicit registration set), default first; undefined if unknown. */
  publicIdentities(impi: string): readonly string[] | undefined {
    return this.#subs.get(impi)?.impus;
  }

  /** Whether `impi` is a subscriber. */
  has(impi: string): boolean {
    return this.#subs.has(impi);
  }

  /**
   * Removes every subscriber and zeroes their K and OPc in WASM memory (ImsCore.close() calls it).
   * Idempotent; the HSS stays usable, empty.
   */
  destroy(): void {
    for (const s of this.#subs.values()) s.m.destroy();
    this.#subs.clear();
  }

  #sub(impi: string): Subscriber {
    const s = this.#subs.get(impi);
    if (s === undefined) throw new Ipsec3gppError('AKA_STATE', 'unknown subscriber');
    return s;
  }

  /** A fresh authentication vector (RAND from crypto.getRandomValues unless given, for tests). */
  vector(impi: string, rand?: Uint8Array): AuthVector {
    const s = this.#sub(impi);
    const r = rand ?? globalThis.crypto.getRandomValues(new Uint8Array(16));
    check.length('RAND', r, 'INVALID_ARGUMENT', 16);
    const sqn = s.sqn.next();
    const sqnBytes = sqnToBytes(sqn);
    const o = s.m.run({ rand: r, sqn: sqnBytes, amf: s.amf });
    const autn = new Uint8Array(16);
    autn.set(sqnBytes.map((b, i) => b ^ o.ak[i]!), 0);
    autn.set(s.amf, 6);
    autn.set(o.macA, 8);
    return { rand: r.slice(), autn, xres: o.res, ck: o.ck, ik: o.ik, sqn };
  }

  /**
   * Resynchronisation from AUTS (14 bytes) sent for `rand`. Throws AKA_RESYNC when MAC-S does not verify;
   * otherwise the next vector continues after SQN_MS, which is returned.
   */
  resync(impi: string, rand: Uint8Array, auts: Uint8Array): number {
    const s = this.#sub(impi);
    check.length('RAND', rand, 'INVALID_ARGUMENT', 16);
    check.length('AUTS', auts, 'INVALID_ARGUMENT', 14);
    const { akStar } = s.m.run({ rand, sqn: new Uint8Array(6), amf: new Uint8Array(2) });
    const sqnMs = auts.slice(0, 6).map((b, i) => b ^ akStar[i]!);
    const { macS } = s.m.run({ rand, sqn: sqnMs, amf: new Uint8Array(2) });
    if (!equalBytes(macS, auts.subarray(6, 14))) throw new Ipsec3gppError('AKA_RESYNC', 'AUTS: MAC-S does not verify');
    const value = sqnFromBytes(sqnMs);
    s.sqn.resync(value);
    return value;
  }

  /** Removes a subscriber; its keys are zeroed in WASM memory. */
  remove(impi: string): void {
    this.#subs.get(impi)?.m.destroy();
    this.#subs.delete(impi);
  }

  /**
   * Removes a subscriber and zeroes its Milenage context (K's key schedule and OPc) in WASM memory; later
   * vectors for `impi` throw AKA_STATE. Returns whether there was one.
   */
  removeSubscriber(impi: string): boolean {
    const s = this.#subs.get(impi);
    if (s === undefined) return false;
    this.#subs.delete(impi);
    s.m.destroy();
    return true;
  }
}
