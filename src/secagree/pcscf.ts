// The P-CSCF side of the security agreement (TS 33.203 7.1-7.2 and Annex H, TS 24.229 5.2.2, RFC 3329):
//
//   SM1  unprotected REGISTER with Security-Client: stored as received; the policy decides what the UE
//        may use (or refuses service at once with a clear response);
//   SM6  401 toward the UE: SPIs spi_pc/spi_ps allocated (unique among all inbound SAs of this P-CSCF,
//        temporary and old sets included, and distinct from the UE's), the temporary SA set created, and
//        Security-Server built (its exact text stored);
//   SM7  protected REGISTER: Security-Verify must equal the Security-Server sent and Security-Client the
//        stored one, parameter for parameter, and the request must have arrived on the temporary set;
//        any mismatch aborts the registration (temporary set deleted, nothing forwarded): this is the
//        bidding-down protection;
//   SM10 200 OK: the temporary set becomes the established one.
//
// Policy: an ordered list of allowed alg/ealg combinations (encrypting ones before integrity-only ones by
// default), plus a confidentiality mode per access network (the access-type of P-Access-Network-Info, or
// the default). The three modes, as chosen here (TS 33.203 leaves the policy to the operator):
//   * 'ipsec'          confidentiality by IPsec: Security-Server lists the encrypting combinations the UE
//                      offered first, then the integrity-only ones; a Release 6 UE takes encryption, a
//                      Release 5 UE gets integrity only (the Release 6 behaviour of TS 33.203);
//   * 'access-network' the access network's own encryption is trusted: integrity-only combinations are
//                      offered, as a Release 5 P-CSCF would;
//   * 'refuse'         no service without confidentiality: only encrypting combinations; a UE that offers
//                      none is answered 403 with a Warning that says why.
//
// Toward the S-CSCF (helpers at the end): Authorization gets integrity-protected="no" / "yes" (TS 24.229
// 7.2A.2; any value from the UE is replaced), ik/ck are removed from the 401's WWW-Authenticate, and the
// Security-* headers and "sec-agree" option tags are removed from what is forwarded.

import {
  ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, isValidCombination,
  type AlgorithmStatus,
} from '../algorithms.js';
import { Ipsec3gppError } from '../errors.js';
import { formatAuthHeader, parseAuthHeader, removeAuthParams, setAuthParam, type AuthHeader } from '../sip/auth-header.js';
import { parseSecurityHeader, sameMechanisms, type SecMechanism } from './header.js';
import { formatIpsec3gpp, ipsec3gppEntries, type Ipsec3gppParams } from './ipsec3gpp.js';
import { type SaDatabase, type SaSet } from './sadb.js';
import { type Combination } from './ue.js';

/**
 * How a P-CSCF treats confidentiality for an access network (TS 33.203 leaves this to the operator; see the
 * module comment): `ipsec` offers encryption first, `access-network` trusts the access network's own
 * encryption (integrity-only combinations), `refuse` serves only UEs that can encrypt (403 otherwise).
 */
export type ConfidentialityMode = 'ipsec' | 'access-network' | 'refuse';

/**
 * The P-CSCF's algorithm policy: which combinations it accepts in which order, which algorithm statuses it
 * excludes, and a {@link ConfidentialityMode} per access-type of P-Access-Network-Info (TS 24.229 7.2A.4).
 */
export interface PcscfPolicy {
  /** Allowed combinations in order of preference. Default: defaultPolicyCombinations() (strongest first). */
  combinations?: Combination[];
  /** Leave out algorithms with these statuses (e.g. ['deprecated'] drops MD5 and 3DES). */
  exclude?: AlgorithmStatus[];
  /** Mode when the access network is not listed (default 'ipsec'). */
  defaultMode?: ConfidentialityMode;
  /** Mode per access-type of P-Access-Network-Info (case-insensitive), e.g. { 'IEEE-802.11': 'refuse' }. */
  accessNetworks?: Record<string, ConfidentialityMode>;
}

/**
 * Options of {@link PcscfSecAgree}: its SA database (role 'pcscf'), its address and the protected ports
 * port_pc/port_ps it shares among all UEs, the policy, and limits.
 */
export interface PcscfSecAgreeOptions {
  /** The P-CSCF's SA database (role 'pcscf'). */
  db: SaDatabase;
  /** The P-CSCF's address as the UE sees it. */
  address: string;
  /** Protected client and server ports (port_pc, port_ps), shared by all UEs. */
  portC: number;
  /** port_ps (see portC). */
  portS: number;
  /** What the P-CSCF accepts (default: every combination, strongest first, mode 'ipsec'). */
  policy?: PcscfPolicy | undefined;
  /** Accept the protected-phase REGISTER in clear (--no-ipsec, for tools without ESP). Default false. */
  allowClear?: boolean | undefined;
  /**
   * Registration attempts one IMPI may have outstanding at once (default 4). Each accepted initial REGISTER
   * starts one; an attempt ends when it is authenticated (200), fails, or its temporary set expires. Past
   * the bound a new initial REGISTER is answered 503: it never displaces an attempt already under way.
   */
  maxAttemptsPerKey?: number | undefined;
  /**
   * The modes this P-CSCF can carry (it has a wire for), default ['trans']. With a NAT detected on SM1 it
   * selects UDP-enc-tun, else transport mode (TS 33.203 Annex M); a mode it cannot carry is never selected,
   * so a P-CSCF with only a UDP-enc-tun wire selects it whenever the UE offers it.
   */
  modes?: ReadonlyArray<'trans' | 'UDP-enc-tun'> | undefined;
}

/** The default bound on outstanding registration attempts per IMPI. */
export const DEFAULT_MAX_ATTEMPTS_PER_KEY = 4;

/**
 * One registration attempt of an IMPI, from an accepted (initial or re-) REGISTER to its end. Several may
 * coexist for one IMPI (a spoofed initial REGISTER must not cancel the real UE's attempt in progress); the
 * one that authenticates first wins and the others go. Opaque: pass it back to the methods that take it.
 */
export class RegistrationAttempt {
  /** @internal */
  constructor(readonly id: number, readonly key: string, /** @internal */ readonly p: Pending) {}
  /** Whether the challenge step ran (a temporary SA set exists for this attempt). */
  get challenged(): boolean {
    return this.p.sent !== undefined;
  }
}

/** SM1's outcome: go on (forward toward the S-CSCF) or answer the UE right away. */
export type InitialDecision =
  | { accept: true; mode: ConfidentialityMode; acceptable: Combination[]; attempt: RegistrationAttempt }
  | { accept: false; mode: ConfidentialityMode; status: number; reason: string; warning: string; retryAfter?: number };

interface Pending {
  ended?: boolean;
  /** The nonce of the challenge this attempt was given (its AKA run at the S-CSCF). */
  nonce?: string | undefined;
  key: string;
  ueAddress: string;
  mode: ConfidentialityMode;
  securityClientRaw: string[];
  securityClient: SecMechanism[];
  offer: Ipsec3gppParams[];
  acceptable: Combination[];
  mod: 'trans' | 'UDP-enc-tun';
  /** `parsed` is the Security-Server parsed, on first use (only Security-Verify lines that differ from it need it). */
  sent?: { securityServer: string; parsed?: SecMechanism[]; set: SaSet } | undefined;
}

/** The Security-Server sent, parsed (once). */
function sentParsed(sent: NonNullable<Pending['sent']>): SecMechanism[] {
  return (sent.parsed ??= parseSecurityHeader(sent.securityServer));
}

/** Whether header lines are, line for line, the same strings (so they parse to the same mechanisms). */
function sameLines(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The access-type of a P-Access-Network-Info value (its first token), lower-cased. */
export function accessType(pani: string | undefined): string | undefined {
  const t = pani?.trim().split(/[;\s,]/)[0];
  return t ? t.toLowerCase() : undefined;
}

const encrypting = (c: Combination): boolean => c.ealg !== 'null';

/**
 * The default policy list, strongest first: encrypting combinations (AES-GCM, AES-CBC, then the deprecated
 * 3DES), SHA-1 before MD5, then the integrity-only ones (AES-GMAC, HMAC-SHA-1-96, HMAC-MD5-96).
 */
export function defaultPolicyCombinations(): Combination[] {
  return [
    { alg: 'null', ealg: 'aes-gcm' },
    { alg: 'hmac-sha-1-96', ealg: 'aes-cbc' },
    { alg: 'hmac-md5-96', ealg: 'aes-cbc' },
    { alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc' },
    { alg: 'hmac-md5-96', ealg: 'des-ede3-cbc' },
    { alg: 'aes-gmac', ealg: 'null' },
    { alg: 'hmac-sha-1-96', ealg: 'null' },
    { alg: 'hmac-md5-96', ealg: 'null' },
  ];
}

/**
 * The P-CSCF's side of the security agreement (TS 33.203 7.1-7.2, Annex H; TS 24.229 5.2.2; RFC 3329), with
 * the steps SM1, SM6, SM7 and SM10 of the module comment: stores the UE's Security-Client, chooses a
 * combination by policy and creates the temporary SA set for the 401, checks Security-Verify and
 * Security-Client of the protected REGISTER against what was sent and received (bidding-down protection:
 * a mismatch throws SECAGREE_MISMATCH and deletes the temporary set), and establishes the set on the 200 OK.
 * Use {@link "ipsec-3gpp/ims"!PcscfProxy | PcscfProxy} for a whole P-CSCF; this class is the state machine alone.
 *
 * @example
 * ```ts
 * const db = new SaDatabase({ role: 'pcscf' });
 * const sec = new PcscfSecAgree({ db, address: '10.0.0.1', portC: 5062, portS: 5064 });
 * const d = sec.initialRegister({ key: impi, ueAddress, securityClient: req.headers.getAll('Security-Client') });
 * if (!d.accept) return reply(d.status, d.reason, d.warning);   // e.g. 403 without encryption under 'refuse'
 * // forward to the S-CSCF; on its 401 (CK, IK taken from WWW-Authenticate):
 * const { securityServer } = sec.challenge(d.attempt, { ck, ik });
 * ```
 */
export class PcscfSecAgree {
  readonly #o: PcscfSecAgreeOptions;
  readonly #allowed: Combination[];
  readonly #modes: Map<string, ConfidentialityMode>;
  /** Outstanding attempts per IMPI, oldest first. */
  readonly #attempts = new Map<string, RegistrationAttempt[]>();
  readonly #maxAttempts: number;
  #nextAttempt = 1;
  /** The established set of each registration, until it is deleted or expires. */
  readonly #established = new Map<string, SaSet>();

  /**
   * Throws INVALID_ARGUMENT when `o.db` is not a P-CSCF database (role 'pcscf') or `maxAttemptsPerKey` is not
   * an integer >= 1, INVALID_COMBINATION for a policy pair that TS 33.203 does not allow together.
   */
  constructor(o: PcscfSecAgreeOptions) {
    if (o.db.role !== 'pcscf') throw new Ipsec3gppError('INVALID_ARGUMENT', 'the P-CSCF needs an SA database with role "pcscf"');
    this.#o = o;
    const exclude = new Set(o.policy?.exclude ?? []);
    const list = o.policy?.combinations ?? defaultPolicyCombinations();
    for (const c of list) {
      if (!(c.alg in INTEGRITY_ALGORITHMS) || !(c.ealg in ENCRYPTION_ALGORITHMS) || !isValidCombination(c.alg, c.ealg)) {
        throw new Ipsec3gppError('INVALID_COMBINATION', `policy lists alg=${c.alg} with ealg=${c.ealg}`);
      }
    }
    this.#allowed = list.filter((c) => !exclude.has(INTEGRITY_ALGORITHMS[c.alg].status) && !exclude.has(ENCRYPTION_ALGORITHMS[c.ealg].status));
    this.#modes = new Map(Object.entries(o.policy?.accessNetworks ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    this.#maxAttempts = o.maxAttemptsPerKey ?? DEFAULT_MAX_ATTEMPTS_PER_KEY;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) throw new Ipsec3gppError('INVALID_ARGUMENT', 'maxAttemptsPerKey must be an integer >= 1');
    // An attempt whose temporary set goes (expiry after reg-await-auth, deletion) is over; a registration
    // whose established set goes is forgotten (nothing is kept per registration after its end).
    o.db.on((set, event) => {
      if (event !== 'deleted' && event !== 'expired') return;
      for (const a of this.#attempts.get(set.key) ?? []) if (a.p.sent?.set === set) this.#end(a);
      if (this.#established.get(set.key) === set) this.#established.delete(set.key);
    });
  }

  /** Registration attempts outstanding, over all IMPIs. */
  get attemptCount(): number {
    let n = 0;
    for (const list of this.#attempts.values()) n += list.length;
    return n;
  }

  /** Registrations whose established set this instance holds (one per registered key at most). */
  get registrationCount(): number {
    return this.#established.size;
  }

  /** The attempts outstanding for `key`, oldest first. */
  attempts(key: string): readonly RegistrationAttempt[] {
    return this.#attempts.get(key) ?? [];
  }

  #end(a: RegistrationAttempt): void {
    if (a.p.ended) return;
    a.p.ended = true;
    const list = this.#attempts.get(a.key);
    if (!list) return;
    const i = list.indexOf(a);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#attempts.delete(a.key);
    // When idle: an answer still being sent over the set (e.g. the 494 to an aborted SM7) leaves first.
    if (a.p.sent && a.p.sent.set.state !== 'deleted') this.#o.db.deleteWhenIdle(a.p.sent.set);
  }

  /**
   * The attempt a call means: the handle itself, or for a key the newest attempt (for `challenged`:
   * the newest one in that step).
   */
  #resolve(k: string | RegistrationAttempt, challenged?: boolean): RegistrationAttempt | undefined {
    if (typeof k !== 'string') return k.p.ended ? undefined : k;
    const list = this.#attempts.get(k) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const a = list[i]!;
      if (challenged === undefined || a.challenged === challenged) return a;
    }
    return challenged === false ? list[list.length - 1] : undefined;
  }

  /** The confidentiality mode for a P-Access-Network-Info value. */
  modeFor(pani: string | undefined): ConfidentialityMode {
    const t = accessType(pani);
    return (t !== undefined ? this.#modes.get(t) : undefined) ?? this.#o.policy?.defaultMode ?? 'ipsec';
  }

  /** The allowed combinations for `mode`, in the order Security-Server lists them. */
  combinationsFor(mode: ConfidentialityMode): Combination[] {
    return [...this.#byMode(mode)];
  }

  /** combinationsFor's lists, made once per mode (the policy does not change): read, never handed out. */
  readonly #lists = new Map<ConfidentialityMode, readonly Combination[]>();

  #byMode(mode: ConfidentialityMode): readonly Combination[] {
    let l = this.#lists.get(mode);
    if (l === undefined) {
      if (mode === 'access-network') l = this.#allowed.filter((c) => !encrypting(c));
      else if (mode === 'refuse') l = this.#allowed.filter(encrypting);
      else l = [...this.#allowed.filter(encrypting), ...this.#allowed.filter((c) => !encrypting(c))];
      this.#lists.set(mode, l);
    }
    return l;
  }

  /**
   * SM1: an unprotected REGISTER. Stores its Security-Client and decides whether to go on. `nat` selects
   * UDP-enc-tun entries (TS 33.203 Annex M) when the UE offers them.
   */
  initialRegister(i: { key: string; ueAddress: string; securityClient: readonly string[] | undefined; accessNetworkInfo?: string | undefined; nat?: boolean | undefined }): InitialDecision {
    const mode = this.modeFor(i.accessNetworkInfo);
    // A refused REGISTER changes nothing: an outstanding challenge for the same registration (and its
    // temporary set) stays, so that a malformed or spoofed request cannot cancel someone's registration.
    const reject = (status: number, reason: string, warning: string): Extract<InitialDecision, { accept: false }> => ({ accept: false, mode, status, reason, warning });
    if (i.securityClient === undefined || i.securityClient.length === 0) {
      return reject(421, 'Extension Required', 'the REGISTER has no Security-Client: IMS access security (sec-agree, TS 33.203) is required');
    }
    let parsed: SecMechanism[];
    try {
      parsed = parseSecurityHeader(i.securityClient);
    } catch (e) {
      return reject(400, 'Bad Request', `malformed Security-Client: ${(e as Error).message}`);
    }
    const checks = ipsec3gppEntries(parsed);
    const offer = checks.filter((c) => c.valid).map((c) => c.params as Ipsec3gppParams);
    if (offer.length === 0) {
      const issue = checks.find((c) => !c.valid)?.issues[0];
      return reject(400, 'Bad Request', issue ? `Security-Client ipsec-3gpp entry invalid: ${issue.message}` : 'Security-Client offers no ipsec-3gpp mechanism');
    }
    // One SPI/port quadruple per offer (TS 33.203 Annex H): entries must agree.
    const first = offer[0]!;
    if (offer.some((o) => o.spiC !== first.spiC || o.spiS !== first.spiS || o.portC !== first.portC || o.portS !== first.portS)) {
      return reject(400, 'Bad Request', 'Security-Client entries carry different SPIs or ports');
    }
    // The receiver chooses its SPIs (RFC 4303 2.1): any non-zero value a UE allocated is accepted (real UEs
    // and Kamailio's P-CSCF use 1..255 too); this P-CSCF allocates its own from 256 up.
    if (first.spiC === first.spiS || first.spiC < 1 || first.spiS < 1) {
      return reject(400, 'Bad Request', 'Security-Client SPIs must be distinct and non-zero');
    }
    const mod = selectMode(this.#o.modes ?? ['trans'], offer, i.nat === true);
    if (mod === undefined) {
      return reject(403, 'Forbidden', `no IPsec mode in common: the UE offers mod=${[...new Set(offer.map((o) => o.mod))].join('/')}, this P-CSCF carries ${(this.#o.modes ?? ['trans']).join('/')}`);
    }
    const acceptable: Combination[] = [];
    for (const c of this.#byMode(mode)) if (offer.some((o) => o.alg === c.alg && o.ealg === c.ealg && o.mod === mod && o.prot === 'esp')) acceptable.push(c);
    if (acceptable.length === 0) {
      if (mode === 'refuse') {
        return reject(403, 'Forbidden', 'confidentiality protection required on this access network: the UE offers no IPsec encryption algorithm (ealg)');
      }
      return reject(403, 'Forbidden', `no security mechanism acceptable to this P-CSCF (mode ${mode})`);
    }
    // Attempts already under way stay: a new initial REGISTER (which anyone can send for a known IMPI) must
    // not destroy another attempt's state before it has itself authenticated. They are bounded per IMPI.
    const list = this.#attempts.get(i.key) ?? [];
    if (list.length >= this.#maxAttempts) {
      return { ...reject(503, 'Service Unavailable', `${list.length} registration attempts of this identity are already in progress`), retryAfter: 5 };
    }
    const attempt = new RegistrationAttempt(this.#nextAttempt++, i.key, { key: i.key, ueAddress: i.ueAddress, mode, securityClientRaw: [...i.securityClient], securityClient: parsed, offer, acceptable, mod });
    list.push(attempt);
    this.#attempts.set(i.key, list);
    return { accept: true, mode, acceptable, attempt };
  }

  /**
   * SM4-SM6: the S-CSCF's 401 with CK/IK. Allocates this side's SPIs, creates the temporary set with
   * the most preferred acceptable combination, and returns the Security-Server for the 401.
   */
  challenge(attempt: string | RegistrationAttempt, k: { ck: Uint8Array; ik: Uint8Array; nonce?: string | undefined }): { securityServer: string; set: SaSet; chosen: Combination } {
    const a = this.#resolve(attempt, false);
    if (a === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'no stored Security-Client for this registration (initialRegister first)');
    const p = a.p;
    const key = a.key;
    if (p.sent) {
      // A fresh challenge to the same attempt replaces its temporary set.
      const old = p.sent.set;
      p.sent = undefined;
      this.#o.db.delete(old);
    }
    const db = this.#o.db;
    const ueSpis = [p.offer[0]!.spiC, p.offer[0]!.spiS];
    const spiC = db.spis.allocate(ueSpis);
    let spiS: number;
    try {
      spiS = db.spis.allocate([...ueSpis, spiC]);
    } catch (e) {
      db.spis.release(spiC);
      throw e;
    }
    const chosen = p.acceptable[0]!;
    const ue = p.offer[0]!;
    let set: SaSet;
    try {
      set = db.create({
        key, ueAddress: p.ueAddress, pcscfAddress: this.#o.address,
        ue: { spiC: ue.spiC, spiS: ue.spiS, portC: ue.portC, portS: ue.portS },
        pcscf: { spiC, spiS, portC: this.#o.portC, portS: this.#o.portS },
        alg: chosen.alg, ealg: chosen.ealg, mode: p.mod, ck: k.ck, ik: k.ik,
      });
    } catch (e) {
      db.spis.release(spiC);
      db.spis.release(spiS);
      throw e;
    }
    // Every acceptable combination, in policy order, with descending q (0.9, 0.8, ... 0.1).
    const securityServer = p.acceptable
      .map((c, i) => formatIpsec3gpp({ alg: c.alg, ealg: c.ealg, spiC, spiS, portC: this.#o.portC, portS: this.#o.portS, q: Math.max(0.1, Math.round((0.9 - 0.1 * i) * 10) / 10), mod: p.mod }))
      .join(', ');
    p.sent = { securityServer, set };
    p.nonce = k.nonce;
    return { securityServer, set, chosen };
  }

  /**
   * SM7: the protected REGISTER, which arrived on `arrivedOn` (the set its SPI belongs to). Throws
   * SECAGREE_MISMATCH, after deleting the temporary set, when Security-Verify differs from the
   * Security-Server sent, Security-Client from the stored one, or the request came on another set.
   * Returns the combination the UE chose (the set's algorithms).
   */
  protectedRegister(attempt: string | RegistrationAttempt, i: { securityVerify: readonly string[] | undefined; securityClient: readonly string[] | undefined; arrivedOn: SaSet | 'clear' }): Combination {
    const a = this.attemptFor(attempt, i.arrivedOn, i.securityVerify);
    if (a === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'no challenge outstanding for this registration');
    const p = a.p;
    if (p.sent === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'no challenge outstanding for this registration');
    const abort = (why: string): never => {
      this.#end(a);
      throw new Ipsec3gppError('SECAGREE_MISMATCH', `registration aborted: ${why}`);
    };
    // 'clear' is the --no-ipsec mode for tools that cannot do ESP: every header check still applies.
    if (i.arrivedOn === 'clear' ? !this.#o.allowClear : i.arrivedOn !== p.sent.set) abort('the protected REGISTER did not arrive on the SA set negotiated for it');
    // A UE that repeats the lines verbatim (as UEs do) needs no parse: the same strings parse to the same
    // mechanisms, which sameMechanisms finds the same. Any other lines are parsed and compared.
    const sent = p.sent;
    const verbatimVerify = sameLines(i.securityVerify, [sent.securityServer]);
    const verbatimClient = sameLines(i.securityClient, p.securityClientRaw);
    let verify: SecMechanism[] | undefined;
    let client: SecMechanism[] | undefined;
    try {
      if (!verbatimVerify) verify = parseSecurityHeader(i.securityVerify ?? []);
      if (!verbatimClient) client = parseSecurityHeader(i.securityClient ?? []);
    } catch (e) {
      return abort(`malformed security header (${(e as Error).message})`);
    }
    if (verify !== undefined && !sameMechanisms(verify, sentParsed(sent))) abort('Security-Verify differs from the Security-Server sent (possible bidding-down attack)');
    if (client !== undefined && !sameMechanisms(client, p.securityClient)) abort('Security-Client differs from the one in the first REGISTER (possible bidding-down attack)');
    return { alg: p.sent.set.alg, ealg: p.sent.set.ealg };
  }

  /**
   * The challenged attempt a protected REGISTER belongs to: the one whose temporary set it arrived on (in
   * clear, with --no-ipsec: the one whose Security-Server its Security-Verify repeats, else the newest).
   * A handle is returned as it is.
   */
  attemptFor(k: string | RegistrationAttempt, arrivedOn: SaSet | 'clear', securityVerify?: readonly string[]): RegistrationAttempt | undefined {
    if (typeof k !== 'string') return this.#resolve(k);
    const list = this.#attempts.get(k) ?? [];
    if (arrivedOn !== 'clear') return list.find((a) => a.p.sent?.set === arrivedOn) ?? this.#resolve(k, true);
    if (securityVerify !== undefined) {
      let verify: SecMechanism[] | undefined;
      try {
        verify = parseSecurityHeader(securityVerify);
      } catch {
        verify = undefined;
      }
      const match = verify && list.find((a) => a.p.sent && sameMechanisms(verify!, sentParsed(a.p.sent)));
      if (match) return match;
    }
    return this.#resolve(k, true);
  }

  /**
   * SM10/SM11: the 200 OK to the protected REGISTER. The attempt has authenticated: its set is established,
   * and the IMPI's other attempts (and their temporary sets) go.
   */
  registered(attempt: string | RegistrationAttempt, expiresSec: number): SaSet {
    const a = this.#resolve(attempt, true);
    const p = a?.p;
    if (a === undefined || p?.sent === undefined) throw new Ipsec3gppError('SECAGREE_STATE', 'no temporary SA set for this registration');
    const set = p.sent.set;
    this.#o.db.establish(set, expiresSec * 1000);
    this.#established.set(a.key, set);
    p.sent = undefined; // the set now belongs to the registration, not to the attempt
    this.#end(a);
    for (const other of [...this.attempts(a.key)]) this.#end(other);
    return set;
  }

  /**
   * A re-REGISTER over the established set was answered 200 without a challenge: the set is kept and its
   * lifetime extended; the Security-Client stored for a possible challenge (the attempt) is dropped.
   */
  registeredWithoutChallenge(attempt: string | RegistrationAttempt, expiresSec: number): SaSet | undefined {
    const key = typeof attempt === 'string' ? attempt : attempt.key;
    const a = this.#resolve(attempt, false);
    if (a) this.#end(a);
    const set = this.current(key);
    if (set) this.#o.db.refresh(set, expiresSec * 1000);
    return set;
  }

  /**
   * The S-CSCF has closed the AKA run with this nonce (e.g. it answered the UE's report of a MAC failure,
   * TS 24.229 5.2.2.4): the attempt that was given that challenge is over, and its temporary set goes.
   * Other attempts of the IMPI are untouched.
   */
  challengeClosed(key: string, nonce: string): void {
    if (nonce === '') return;
    for (const a of [...this.attempts(key)]) if (a.p.nonce === nonce) this.#end(a);
  }

  /** Whether a challenge is outstanding (a temporary set exists) for `key`. */
  hasTemporary(key: string): boolean {
    return this.attempts(key).some((a) => a.challenged);
  }

  /**
   * The attempt failed (403 from the S-CSCF, timeout, no challenge): its temporary set, if any, is deleted.
   * With a key, the newest attempt of that key.
   */
  failed(attempt: string | RegistrationAttempt): void {
    const a = this.#resolve(attempt);
    if (a) this.#end(a);
  }

  /**
   * A registration restored from a store after a restart (src/store/): `set` (restored into the database)
   * is its established set again (a re-registration makes a new agreement: the old one's headers are not kept).
   */
  restoreEstablished(key: string, set: SaSet): void {
    if (set.state !== 'established' || set.key !== key) throw new Ipsec3gppError('SECAGREE_STATE', 'only an established set of this registration can be restored');
    this.#established.set(key, set);
  }

  /** The established set of a registration. */
  current(key: string): SaSet | undefined {
    const set = this.#established.get(key);
    return set && set.state !== 'deleted' ? set : undefined;
  }

  /** The confidentiality mode negotiated for a pending registration (an attempt, or a key's newest). */
  pendingMode(attempt: string | RegistrationAttempt): ConfidentialityMode | undefined {
    return this.#resolve(attempt)?.p.mode;
  }
}

// ---- Header handling toward the S-CSCF ----

/**
 * Authorization with integrity-protected set by the P-CSCF (TS 24.229 7.2A.2): "no" for an unprotected
 * REGISTER, "yes" for one that arrived over the IMS AKA SAs. Any value the UE put there is replaced.
 * `authorization` is the header value, or that value already parsed ({@link parseAuthHeader}: one parse
 * per REGISTER serves every step).
 */
export function withIntegrityProtected(authorization: string | AuthHeader, value: 'yes' | 'no' | 'tls-pending' | 'tls-yes' | 'ip-assoc-pending' | 'ip-assoc-yes'): string {
  return formatAuthHeader(setAuthParam(typeof authorization === 'string' ? parseAuthHeader(authorization) : authorization, 'integrity-protected', value, true));
}

/**
 * The 401's WWW-Authenticate without ik/ck, as relayed to the UE (TS 24.229 5.2.2); `wwwAuthenticate` is
 * the header value or that value already parsed.
 */
export function withoutIkCk(wwwAuthenticate: string | AuthHeader): string {
  return formatAuthHeader(removeAuthParams(typeof wwwAuthenticate === 'string' ? parseAuthHeader(wwwAuthenticate) : wwwAuthenticate, 'ik', 'ck'));
}

/** A Require / Proxy-Require / Supported value without the sec-agree option tag ('' when nothing is left). */
export function withoutSecAgreeTag(value: string): string {
  return value.split(',').map((t) => t.trim()).filter((t) => t !== '' && t.toLowerCase() !== 'sec-agree').join(', ');
}

/** Header names the P-CSCF removes before forwarding toward the core. */
export const SECURITY_HEADERS = ['security-client', 'security-server', 'security-verify'] as const;

/**
 * TS 33.203 Annex M: UDP-enc-tun when a NAT is present (and the UE offers it), else transport mode; of the
 * modes this P-CSCF can carry only (undefined when none of them is offered).
 */
function selectMode(carried: ReadonlyArray<'trans' | 'UDP-enc-tun'>, offer: readonly Ipsec3gppParams[], nat: boolean): 'trans' | 'UDP-enc-tun' | undefined {
  const both = (m: 'trans' | 'UDP-enc-tun'): boolean => carried.includes(m) && offer.some((o) => o.mod === m);
  if (nat && both('UDP-enc-tun')) return 'UDP-enc-tun';
  if (both('trans')) return 'trans';
  if (both('UDP-enc-tun')) return 'UDP-enc-tun';
  return undefined;
}
