// The UE side of the security agreement (TS 33.203 7.2, TS 24.229 5.1.1.2 - 5.1.1.5, RFC 3329 with the
// ipsec-3gpp mechanism of Annex H):
//
//   * every REGISTER carries a Security-Client offering each supported alg/ealg combination (preference
//     order configurable) with the same SPIs and ports; each new offer has fresh SPIs (spi_uc, spi_us) and
//     a fresh protected client port (port_uc), while the protected server port (port_us) stays;
//   * on the 401 the UE picks the most preferred Security-Server entry it supports (highest q, then list
//     order; an entry without q ranks as q=0), abandons when Security-Server is missing or incomplete, and
//     creates the temporary SA set;
//   * the protected REGISTER repeats the Security-Client and copies the Security-Server verbatim into
//     Security-Verify;
//   * on a re-registration, a 200 OK without challenge keeps the current set (the new offer is released);
//     a challenge builds a new set, and the old one becomes "old" once the new one is established.

import {
  INTEGRITY_ALGORITHMS, ENCRYPTION_ALGORITHMS, allCombinations, isValidCombination,
  type EncryptionAlgorithm, type IntegrityAlgorithm,
} from '../algorithms.js';
import { Ipsec3gppError } from '../errors.js';
import { parseSecurityHeader } from './header.js';
import { formatIpsec3gpp, ipsec3gppEntries, type Ipsec3gppParams } from './ipsec3gpp.js';
import { type SaDatabase, type SaSet } from './sadb.js';

/** Which algorithms a UE implements: Release 5 (integrity only), 6 (plus encryption), or later (GCM/GMAC). */
export type UeRelease = 5 | 6 | 'later';

/**
 * One integrity/encryption pair (`alg` + `ealg`) of an ipsec-3gpp Security-Client or Security-Server entry
 * (TS 33.203 6.3, Annex H). Only pairs {@link isValidCombination} accepts can be offered or chosen.
 */
export interface Combination {
  /** The integrity algorithm (`alg=`). */
  alg: IntegrityAlgorithm;
  /** The encryption algorithm (`ealg=`; 'null' for integrity only). */
  ealg: EncryptionAlgorithm;
}

/** The combinations a UE of `release` supports, encrypting ones first. */
export function releaseCombinations(release: UeRelease): Combination[] {
  return allCombinations().filter(({ alg, ealg }) => {
    if (release === 5) return ealg === 'null' && (alg === 'hmac-md5-96' || alg === 'hmac-sha-1-96');
    if (release === 6) return alg !== 'null' && alg !== 'aes-gmac' && ealg !== 'aes-gcm';
    return true;
  });
}

/**
 * Options of {@link UeSecAgree}: the UE's SA database, its registration key and address, its protected ports,
 * and what it offers (combinations, most preferred first, or those of a `release`; and ESP modes).
 */
export interface UeSecAgreeOptions {
  /** The UE's SA database (role 'ue'). */
  db: SaDatabase;
  /** The registration key (the IMPI). */
  key: string;
  /** The UE's IP address. */
  address: string;
  /** port_us: the protected server port (kept across re-registrations). */
  portS: number;
  /** A fresh port_uc for each new offer (the SIP layer binds it). */
  allocatePort: () => number;
  /** Combinations offered, most preferred first. Default: those of `release`. */
  algorithms?: Combination[];
  /** The Release whose combinations are offered when `algorithms` is absent (default 'later'). */
  release?: UeRelease;
  /** Modes offered: `trans`, and `UDP-enc-tun` when behind a NAT (TS 33.203 Annex M). Default ['trans']. */
  modes?: Array<'trans' | 'UDP-enc-tun'>;
}

/** A Security-Client offer (one per REGISTER). */
export interface UeOffer {
  /** spi_uc: the UE's inbound SPI at port_uc (SA3). */
  spiC: number;
  /** spi_us: the UE's inbound SPI at port_us (SA2). */
  spiS: number;
  /** port_uc: the protected client port of this offer (fresh per offer). */
  portC: number;
  /** port_us: the protected server port (kept across offers). */
  portS: number;
  /** The Security-Client header value. */
  securityClient: string;
}

/** What the UE does after a 401. */
export interface UeChallengeResult {
  /** The temporary SA set just created. */
  set: SaSet;
  /** The Security-Server entry chosen (the P-CSCF's SPIs and ports, alg, ealg, mode). */
  chosen: Ipsec3gppParams;
  /** Security-Verify values: the Security-Server values exactly as received. */
  securityVerify: string[];
  /** Security-Client: the same as in the challenged REGISTER. */
  securityClient: string;
}

/**
 * The UE's side of the security agreement of TS 33.203 7.2 / RFC 3329 (see the module comment for the
 * steps): builds the Security-Client offer of each REGISTER, picks from the 401's Security-Server and creates
 * the temporary SA set, answers with Security-Verify, and moves sets through established and old.
 * Use {@link "ipsec-3gpp/ims"!UeClient | UeClient} for a whole UE; this class is the security-agreement state machine alone.
 *
 * @example
 * ```ts
 * const db = new SaDatabase({ role: 'ue' });
 * const sec = new UeSecAgree({ db, key: impi, address: '10.0.0.2', portS: 5064, allocatePort: () => nextPort++ });
 * const { securityClient } = sec.offer();                    // on the unprotected REGISTER
 * const r = sec.challenge({ securityServer, ck, ik, pcscfAddress }); // on the 401
 * // send the protected REGISTER with Security-Verify: r.securityVerify, then on its 200 OK:
 * sec.registered(600);
 * ```
 */
export class UeSecAgree {
  readonly #o: UeSecAgreeOptions;
  /** The combinations offered in Security-Client, most preferred first. */
  readonly combinations: readonly Combination[];
  #offer: UeOffer | undefined;
  #temporary: { set: SaSet; securityVerify: string[]; offer: UeOffer } | undefined;
  #established: { set: SaSet; securityVerify: string[]; offer: UeOffer } | undefined;

  /**
   * Throws INVALID_ARGUMENT when `o.db` is not a UE database (role 'ue') or nothing would be offered,
   * INVALID_COMBINATION for an alg/ealg pair that TS 33.203 does not allow together.
   */
  constructor(o: UeSecAgreeOptions) {
    if (o.db.role !== 'ue') throw new Ipsec3gppError('INVALID_ARGUMENT', 'the UE needs an SA database with role "ue"');
    this.#o = o;
    const combos = o.algorithms ?? releaseCombinations(o.release ?? 'later');
    for (const c of combos) {
      if (!(c.alg in INTEGRITY_ALGORITHMS) || !(c.ealg in ENCRYPTION_ALGORITHMS) || !isValidCombination(c.alg, c.ealg)) {
        throw new Ipsec3gppError('INVALID_COMBINATION', `cannot offer alg=${c.alg} with ealg=${c.ealg}`);
      }
    }
    if (combos.length === 0) throw new Ipsec3gppError('INVALID_ARGUMENT', 'the UE must offer at least one combination');
    this.combinations = combos;
  }

  /** The established set (after a successful registration; undefined once it is deleted or de-registered). */
  get current(): SaSet | undefined {
    const e = this.#established;
    if (e !== undefined && e.set.state === 'deleted') this.#established = undefined;
    return this.#established?.set;
  }

  /**
   * The registration ended (de-registration answered, or the network ended it): nothing established,
   * nothing temporary, no offer. The sets themselves are deleted by their owner (`deleteWhenIdle`).
   */
  deregistered(): void {
    this.#releaseOffer();
    if (this.#temporary) this.#o.db.delete(this.#temporary.set);
    this.#temporary = undefined;
    this.#established = undefined;
  }

  /** The temporary set (between the 401 and the 200 OK). */
  get temporary(): SaSet | undefined {
    return this.#temporary?.set;
  }

  /**
   * A new Security-Client for the next REGISTER: fresh SPIs and port_uc. A previous offer that was never
   * challenged is released first.
   */
  offer(): UeOffer {
    this.#releaseOffer();
    const db = this.#o.db;
    const spiC = db.spis.allocate();
    const spiS = db.spis.allocate();
    const portC = this.#o.allocatePort();
    const portS = this.#o.portS;
    const modes = this.#o.modes ?? ['trans'];
    const entries = this.combinations.flatMap(({ alg, ealg }) => modes.map((mod) => formatIpsec3gpp({ alg, ealg, spiC, spiS, portC, portS, mod })));
    this.#offer = { spiC, spiS, portC, portS, securityClient: entries.join(', ') };
    return this.#offer;
  }

  /**
   * The 401 arrived with `securityServer` (undefined when absent) and AKA gave CK/IK: choose, create the
   * temporary set. Throws SECAGREE_MISSING when Security-Server is missing or incomplete and
   * SECAGREE_NO_ACCEPTABLE when nothing in it is supported; in both cases the UE abandons the
   * registration and its offer is released.
   */
  challenge(i: { securityServer: readonly string[] | undefined; ck: Uint8Array; ik: Uint8Array; pcscfAddress: string }): UeChallengeResult {
    const offer = this.#offer;
    if (offer === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'no Security-Client was offered');
    try {
      if (i.securityServer === undefined || i.securityServer.length === 0) {
        throw new Ipsec3gppError('SECAGREE_MISSING', 'the 401 carries no Security-Server: abandoning the registration');
      }
      const entries = ipsec3gppEntries(parseSecurityHeader(i.securityServer));
      if (entries.length === 0) throw new Ipsec3gppError('SECAGREE_MISSING', 'Security-Server has no ipsec-3gpp entry: abandoning the registration');
      const broken = entries.find((e) => !e.valid);
      if (broken) {
        const first = broken.issues[0]!;
        throw new Ipsec3gppError('SECAGREE_MISSING', `incomplete Security-Server (${first.message}): abandoning the registration`, first.position);
      }
      const modes = this.#o.modes ?? ['trans'];
      const usable = entries
        .map((e, order) => ({ p: e.params as Ipsec3gppParams, order, supported: e.supported }))
        .filter(({ p, supported }) => supported && modes.includes(p.mod as 'trans') && this.combinations.some((c) => c.alg === p.alg && c.ealg === p.ealg));
      if (usable.length === 0) throw new Ipsec3gppError('SECAGREE_NO_ACCEPTABLE', 'no Security-Server entry uses an algorithm this UE offered');
      usable.sort((a, b) => (b.p.q ?? 0) - (a.p.q ?? 0) || a.order - b.order);
      const chosen = usable[0]!.p;
      const set = this.#o.db.create({
        key: this.#o.key, ueAddress: this.#o.address, pcscfAddress: i.pcscfAddress,
        ue: { spiC: offer.spiC, spiS: offer.spiS, portC: offer.portC, portS: offer.portS },
        pcscf: { spiC: chosen.spiC, spiS: chosen.spiS, portC: chosen.portC, portS: chosen.portS },
        alg: chosen.alg as IntegrityAlgorithm, ealg: chosen.ealg as EncryptionAlgorithm,
        mode: chosen.mod as 'trans', ck: i.ck, ik: i.ik,
      });
      const securityVerify = [...i.securityServer];
      if (this.#temporary) this.#o.db.delete(this.#temporary.set);
      this.#temporary = { set, securityVerify, offer };
      this.#offer = undefined;
      return { set, chosen, securityVerify, securityClient: offer.securityClient };
    } catch (e) {
      this.#releaseOffer();
      throw e;
    }
  }

  /** The 200 OK to the protected REGISTER: the temporary set becomes the established one. */
  registered(expiresSec: number): SaSet {
    const t = this.#temporary;
    if (t === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'no temporary SA set to establish');
    this.#o.db.establish(t.set, expiresSec * 1000);
    this.#established = t;
    this.#temporary = undefined;
    return t.set;
  }

  /** A re-REGISTER answered 200 OK without a challenge: keep the current set (and extend it), drop the new offer. */
  registeredWithoutChallenge(expiresSec: number): SaSet {
    const e = this.#established;
    if (e === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'no established SA set to keep');
    this.#releaseOffer();
    this.#o.db.refresh(e.set, expiresSec * 1000);
    return e.set;
  }

  /** The registration failed (403, timeout, abandoned): the temporary set is deleted, the offer released. */
  failed(): void {
    this.#releaseOffer();
    if (this.#temporary) this.#o.db.delete(this.#temporary.set);
    this.#temporary = undefined;
  }

  /** Security-Verify for requests over the established set: the Security-Server of the last successful authentication. */
  securityVerify(): string[] {
    const e = this.current === undefined ? undefined : this.#established;
    if (e === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'not registered');
    return [...e.securityVerify];
  }

  /** The Security-Client of the last successful authentication (repeated in later protected requests). */
  securityClient(): string {
    const e = this.current === undefined ? undefined : this.#established;
    if (e === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'not registered');
    return e.offer.securityClient;
  }

  #releaseOffer(): void {
    const o = this.#offer;
    if (o === undefined) return;
    this.#o.db.spis.release(o.spiC);
    this.#o.db.spis.release(o.spiS);
    this.#offer = undefined;
  }
}
