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
import { ErrorCode, Ipsec3gppError } from '../errors.js';
import { formatAuthHeader, parseAuthHeader, removeAuthParams, setAuthParam } from '../sip/auth-header.js';
import { parseSecurityHeader, sameMechanisms, type SecMechanism } from './header.js';
import { formatIpsec3gpp, ipsec3gppEntries, type Ipsec3gppParams } from './ipsec3gpp.js';
import { type SaDatabase, type SaSet } from './sadb.js';
import { type Combination } from './ue.js';

export type ConfidentialityMode = 'ipsec' | 'access-network' | 'refuse';

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

export interface PcscfSecAgreeOptions {
  db: SaDatabase;
  /** The P-CSCF's address as the UE sees it. */
  address: string;
  /** Protected client and server ports (port_pc, port_ps), shared by all UEs. */
  portC: number;
  portS: number;
  policy?: PcscfPolicy | undefined;
  /** Accept the protected-phase REGISTER in clear (--no-ipsec, for tools without ESP). Default false. */
  allowClear?: boolean | undefined;
}

/** SM1's outcome: go on (forward toward the S-CSCF) or answer the UE right away. */
export type InitialDecision =
  | { accept: true; mode: ConfidentialityMode; acceptable: Combination[] }
  | { accept: false; mode: ConfidentialityMode; status: number; reason: string; warning: string };

interface Pending {
  key: string;
  ueAddress: string;
  mode: ConfidentialityMode;
  securityClientRaw: string[];
  securityClient: SecMechanism[];
  offer: Ipsec3gppParams[];
  acceptable: Combination[];
  mod: 'trans' | 'UDP-enc-tun';
  sent?: { securityServer: string; parsed: SecMechanism[]; set: SaSet };
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

export class PcscfSecAgree {
  readonly #o: PcscfSecAgreeOptions;
  readonly #allowed: Combination[];
  readonly #modes: Map<string, ConfidentialityMode>;
  readonly #pending = new Map<string, Pending>();
  readonly #established = new Map<string, { set: SaSet; securityServer: string; securityClient: SecMechanism[] }>();

  constructor(o: PcscfSecAgreeOptions) {
    if (o.db.role !== 'pcscf') throw new Ipsec3gppError(ErrorCode.INVALID_ARGUMENT, 'the P-CSCF needs an SA database with role "pcscf"');
    this.#o = o;
    const exclude = new Set(o.policy?.exclude ?? []);
    const list = o.policy?.combinations ?? defaultPolicyCombinations();
    for (const c of list) {
      if (!(c.alg in INTEGRITY_ALGORITHMS) || !(c.ealg in ENCRYPTION_ALGORITHMS) || !isValidCombination(c.alg, c.ealg)) {
        throw new Ipsec3gppError(ErrorCode.INVALID_COMBINATION, `policy lists alg=${c.alg} with ealg=${c.ealg}`);
      }
    }
    this.#allowed = list.filter((c) => !exclude.has(INTEGRITY_ALGORITHMS[c.alg].status) && !exclude.has(ENCRYPTION_ALGORITHMS[c.ealg].status));
    this.#modes = new Map(Object.entries(o.policy?.accessNetworks ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  }

  /** The confidentiality mode for a P-Access-Network-Info value. */
  modeFor(pani: string | undefined): ConfidentialityMode {
    const t = accessType(pani);
    return (t !== undefined ? this.#modes.get(t) : undefined) ?? this.#o.policy?.defaultMode ?? 'ipsec';
  }

  /** The allowed combinations for `mode`, in the order Security-Server lists them. */
  combinationsFor(mode: ConfidentialityMode): Combination[] {
    if (mode === 'access-network') return this.#allowed.filter((c) => !encrypting(c));
    if (mode === 'refuse') return this.#allowed.filter(encrypting);
    return [...this.#allowed.filter(encrypting), ...this.#allowed.filter((c) => !encrypting(c))];
  }

  /**
   * SM1: an unprotected REGISTER. Stores its Security-Client and decides whether to go on. `nat` selects
   * UDP-enc-tun entries (TS 33.203 Annex M) when the UE offers them.
   */
  initialRegister(i: { key: string; ueAddress: string; securityClient: readonly string[] | undefined; accessNetworkInfo?: string | undefined; nat?: boolean | undefined }): InitialDecision {
    const mode = this.modeFor(i.accessNetworkInfo);
    // A refused REGISTER changes nothing: an outstanding challenge for the same registration (and its
    // temporary set) stays, so that a malformed or spoofed request cannot cancel someone's registration.
    const reject = (status: number, reason: string, warning: string): InitialDecision => ({ accept: false, mode, status, reason, warning });
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
    if (first.spiC === first.spiS || first.spiC < 256 || first.spiS < 256) {
      return reject(400, 'Bad Request', 'Security-Client SPIs must be distinct and at least 256');
    }
    const mod: 'trans' | 'UDP-enc-tun' = i.nat && offer.some((o) => o.mod === 'UDP-enc-tun') ? 'UDP-enc-tun' : 'trans';
    const offered = (c: Combination): boolean => offer.some((o) => o.alg === c.alg && o.ealg === c.ealg && o.mod === mod && o.prot === 'esp');
    const acceptable = this.combinationsFor(mode).filter(offered);
    if (acceptable.length === 0) {
      if (mode === 'refuse') {
        return reject(403, 'Forbidden', 'confidentiality protection required on this access network: the UE offers no IPsec encryption algorithm (ealg)');
      }
      return reject(403, 'Forbidden', `no security mechanism acceptable to this P-CSCF (mode ${mode})`);
    }
    // An accepted initial REGISTER supersedes an outstanding challenge (e.g. after a MAC failure at the
    // UE, TS 24.229 5.2.2.4): its temporary set goes.
    const previous = this.#pending.get(i.key);
    if (previous?.sent) this.#o.db.delete(previous.sent.set);
    this.#pending.set(i.key, { key: i.key, ueAddress: i.ueAddress, mode, securityClientRaw: [...i.securityClient], securityClient: parsed, offer, acceptable, mod });
    return { accept: true, mode, acceptable };
  }

  /**
   * SM4-SM6: the S-CSCF's 401 with CK/IK. Allocates this side's SPIs, creates the temporary set with
   * the most preferred acceptable combination, and returns the Security-Server for the 401.
   */
  challenge(key: string, k: { ck: Uint8Array; ik: Uint8Array }): { securityServer: string; set: SaSet; chosen: Combination } {
    const p = this.#pending.get(key);
    if (p === undefined) throw new Ipsec3gppError(ErrorCode.SECAGREE_STATE, 'no stored Security-Client for this registration (initialRegister first)');
    if (p.sent) this.#o.db.delete(p.sent.set); // a fresh challenge replaces the previous temporary set
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
    p.sent = { securityServer, parsed: parseSecurityHeader(securityServer), set };
    return { securityServer, set, chosen };
  }

  /**
   * SM7: the protected REGISTER, which arrived on `arrivedOn` (the set its SPI belongs to). Throws
   * SECAGREE_MISMATCH, after deleting the temporary set, when Security-Verify differs from the
   * Security-Server sent, Security-Client from the stored one, or the request came on another set.
   * Returns the combination the UE chose (the set's algorithms).
   */
  protectedRegister(key: string, i: { securityVerify: readonly string[] | undefined; securityClient: readonly string[] | undefined; arrivedOn: SaSet | 'clear' }): Combination {
    const p = this.#pending.get(key);
    if (p?.sent === undefined) throw new Ipsec3gppError(ErrorCode.SECAGREE_STATE, 'no challenge outstanding for this registration');
    const abort = (why: string): never => {
      this.#o.db.delete(p.sent!.set);
      this.#pending.delete(key);
      throw new Ipsec3gppError(ErrorCode.SECAGREE_MISMATCH, `registration aborted: ${why}`);
    };
    // 'clear' is the --no-ipsec mode for tools that cannot do ESP: every header check still applies.
    if (i.arrivedOn === 'clear' ? !this.#o.allowClear : i.arrivedOn !== p.sent.set) abort('the protected REGISTER did not arrive on the SA set negotiated for it');
    let verify: SecMechanism[];
    let client: SecMechanism[];
    try {
      verify = parseSecurityHeader(i.securityVerify ?? []);
      client = parseSecurityHeader(i.securityClient ?? []);
    } catch (e) {
      return abort(`malformed security header (${(e as Error).message})`);
    }
    if (!sameMechanisms(verify, p.sent.parsed)) abort('Security-Verify differs from the Security-Server sent (possible bidding-down attack)');
    if (!sameMechanisms(client, p.securityClient)) abort('Security-Client differs from the one in the first REGISTER (possible bidding-down attack)');
    return { alg: p.sent.set.alg, ealg: p.sent.set.ealg };
  }

  /** SM10/SM11: the 200 OK to the protected REGISTER. */
  registered(key: string, expiresSec: number): SaSet {
    const p = this.#pending.get(key);
    if (p?.sent === undefined) throw new Ipsec3gppError(ErrorCode.SECAGREE_STATE, 'no temporary SA set for this registration');
    this.#o.db.establish(p.sent.set, expiresSec * 1000);
    this.#established.set(key, { set: p.sent.set, securityServer: p.sent.securityServer, securityClient: p.securityClient });
    this.#pending.delete(key);
    return p.sent.set;
  }

  /**
   * A re-REGISTER over the established set was answered 200 without a challenge: the set is kept and its
   * lifetime extended; the Security-Client stored for a possible challenge is dropped.
   */
  registeredWithoutChallenge(key: string, expiresSec: number): SaSet | undefined {
    this.#pending.delete(key);
    const set = this.current(key);
    if (set) this.#o.db.refresh(set, expiresSec * 1000);
    return set;
  }

  /** Whether a challenge is outstanding (a temporary set exists) for `key`. */
  hasTemporary(key: string): boolean {
    return this.#pending.get(key)?.sent !== undefined;
  }

  /** Authentication failed (403 from the S-CSCF, timeout): the temporary set is deleted. */
  failed(key: string): void {
    const p = this.#pending.get(key);
    if (p?.sent) this.#o.db.delete(p.sent.set);
    this.#pending.delete(key);
  }

  /** The established set of a registration. */
  current(key: string): SaSet | undefined {
    const e = this.#established.get(key);
    return e && e.set.state !== 'deleted' ? e.set : undefined;
  }

  /** The confidentiality mode negotiated for a pending registration. */
  pendingMode(key: string): ConfidentialityMode | undefined {
    return this.#pending.get(key)?.mode;
  }
}

// ---- Header handling toward the S-CSCF ----

/**
 * Authorization with integrity-protected set by the P-CSCF (TS 24.229 7.2A.2): "no" for an unprotected
 * REGISTER, "yes" for one that arrived over the IMS AKA SAs. Any value the UE put there is replaced.
 */
export function withIntegrityProtected(authorization: string, value: 'yes' | 'no' | 'tls-pending' | 'tls-yes' | 'ip-assoc-pending' | 'ip-assoc-yes'): string {
  return formatAuthHeader(setAuthParam(parseAuthHeader(authorization), 'integrity-protected', value, true));
}

/** The 401's WWW-Authenticate without ik/ck, as relayed to the UE (TS 24.229 5.2.2). */
export function withoutIkCk(wwwAuthenticate: string): string {
  return formatAuthHeader(removeAuthParams(parseAuthHeader(wwwAuthenticate), 'ik', 'ck'));
}

/** A Require / Proxy-Require / Supported value without the sec-agree option tag ('' when nothing is left). */
export function withoutSecAgreeTag(value: string): string {
  return value.split(',').map((t) => t.trim()).filter((t) => t !== '' && t.toLowerCase() !== 'sec-agree').join(', ');
}

/** Header names the P-CSCF removes before forwarding toward the core. */
export const SECURITY_HEADERS = ['security-client', 'security-server', 'security-verify'] as const;
