// A P-CSCF (TS 24.229 5.2, TS 33.203 7): a transaction-stateful proxy between UEs and the core that runs
// the security agreement (secagree/pcscf.ts) and protects the Gm interface with the negotiated ESP SAs.
//
// UE side: an unprotected port for the initial REGISTER (and the 401 answering it), and the two protected
// ports port_pc / port_ps, where SIP arrives and leaves as ESP (protected-port.ts). Core side: one plain
// UDP socket. Flows:
//   SM1  REGISTER on the unprotected port: policy decision (or an immediate error response), forwarded
//        with integrity-protected="no", Path, Security-* and sec-agree removed;
//   SM5/6 401 from the core: CK/IK taken, temporary SA set created, Security-Server added, ik/ck removed;
//   SM7  REGISTER on the temporary set: Security-Verify and Security-Client checked (abort: nothing is
//        forwarded, the set deleted), forwarded with integrity-protected="yes";
//   SM11/12 200 OK: the set established, the answer sent over SA3 of the new set; the IMPUs of its
//        P-Associated-URI bound to the registration (identity.ts);
//   later requests over SA1 of the established set (re-REGISTER, de-REGISTER, PUBLISH, SUBSCRIBE) go to
//   the core, a REGISTER only for the IMPI registered over that set, any other request with the
//   P-Asserted-Identity this P-CSCF asserts (TS 24.229 5.2.6.3); requests from the core (NOTIFY) go to
//   the UE over SA2, their answers come back over SA4.
// Several registration attempts of one IMPI may be under way at once (a spoofed SM1 must not cancel the
// real UE's): each SM1 starts its own attempt (secagree/pcscf.ts), bounded per IMPI, and unprotected
// REGISTERs are rate-limited per source address and per IMPI.
// With `noIpsec` the protected-phase REGISTER is accepted in clear (for tools without ESP), every header
// check kept.

import { parseAkaChallenge } from '../aka/digest-aka.js';
import { type DatagramNetwork, type DatagramSocket } from '../net/datagram.js';
import {
  DEFAULT_MAX_ATTEMPTS_PER_KEY, PcscfSecAgree, SECURITY_HEADERS, accessType, withIntegrityProtected, withoutIkCk, withoutSecAgreeTag,
  type PcscfPolicy, type RegistrationAttempt,
} from '../secagree/pcscf.js';
import { SaDatabase, type SaEntry, type SaSet } from '../secagree/sadb.js';
import { authParam, parseAuthHeader, type AuthHeader } from '../sip/auth-header.js';
import { addressUri, detached, headerParam, parseVia, splitList, type SipRequest, type SipResponse } from '../sip/message.js';
import { hostPort, normalizeAddress } from '../ip.js';
import { Ipsec3gppError } from '../errors.js';
import { DEFAULT_TIMERS, type TimerValues } from '../sip/transaction.js';
import { RegisteredIdentities, addressList, identityKey } from './identity.js';
import { hopKey, uriHop } from './hop.js';
import { REGINFO_CONTENT_TYPE, parseReginfo, type RegInfo } from './reginfo.js';
import { ProtectedPort } from './protected-port.js';
import { type SipTcpOptions } from './sip-streams.js';
import { udpEncapWire, wireModes, type AttachedWire, type RoleWire } from './role-wire.js';
import { WireProcessor } from '../wire/processor.js';
import { RateLimiter, type RateLimit } from './rate-limit.js';
import { CONFIDENTIALITY_HEADER, formatConfidentiality } from './confidentiality.js';
import { SipNode, makeRequest, makeResponse, newBranch, newTag, type Route, type Tracer } from './sip-node.js';
import { PendingInvites, rewrite } from './proxy.js';
import { SaStore, type SaStoreOptions } from '../store/sa-store.js';
import { type StoreWriter } from '../store/writer.js';

/**
 * Options of {@link PcscfProxy.start}: the network and address, the unprotected and protected ports (0: any
 * free port), the wires of the protected ports, where the core is, the security-agreement policy, rate limits
 * against REGISTER floods, and timers and tracing.
 */
export interface PcscfProxyOptions {
  /** The network the P-CSCF's sockets are bound on. */
  net: DatagramNetwork;
  /** The address UEs reach the P-CSCF at (and the core too). */
  address: string;
  /** Unprotected SIP port (0: any free port). */
  port?: number;
  /** Protected ports port_pc / port_ps (0: any free port). */
  protectedPorts?: { client?: number; server?: number };
  /**
   * The wires the protected ports use (role-wire.ts): the modes they carry are the modes this P-CSCF
   * selects from (TS 33.203 Annex M: UDP-enc-tun with a NAT, else transport mode). Default: UDP-enc-tun on
   * `net` with the encapsulation socket on 4500 ([udpEncapWire()]); add transportModeWire() from
   * `ipsec-3gpp/node` for `mod=trans` (Linux, CAP_NET_RAW).
   */
  wire?: RoleWire[];
  /** SIP over TCP on the unprotected port (RFC 3261 18): with a stream network, UEs may send SM1 over TCP. */
  tcp?: SipTcpOptions;
  /** Where the core (S-CSCF) listens. */
  core: { address: string; port: number };
  /** The security-agreement policy (allowed combinations, confidentiality per access network). */
  policy?: PcscfPolicy;
  /** Accept the protected-phase REGISTER in clear (for SIP tools without ESP). */
  noIpsec?: boolean;
  /** Lifetime of a temporary SA set in ms (TS 24.229 reg-await-auth; default 4 minutes). */
  regAwaitAuthMs?: number;
  /** Keep expanded keys on SA sets for capture export (--pcap). */
  keepKeysForExport?: boolean;
  /**
   * Unprotected REGISTERs accepted per source address (default 10/s with bursts of 50); over it the
   * P-CSCF answers 503 with Retry-After. `false` turns the limit off (load generators).
   */
  unprotectedRegisterRate?: RateLimit | false;
  /**
   * Unprotected REGISTERs accepted per IMPI (Digest username), whatever their source (default 2/s with
   * bursts of 10), so that many addresses cannot flood one identity's challenges. `false`: no limit.
   */
  unprotectedRegisterRatePerImpi?: RateLimit | false;
  /** Registration attempts one IMPI may have outstanding at once (default 4; see PcscfSecAgreeOptions). */
  maxAttemptsPerImpi?: number;
  /** Receives every SIP message the P-CSCF sends, AKA secrets redacted. */
  tracer?: Tracer;
  /** SIP timers T1, T2, T4 in ms (default RFC 3261's). */
  timers?: Partial<TimerValues>;
  /** Names for addresses in traces. */
  names?: (address: string, port: number) => string;
  /** Port of the socket toward the core (default any free port; fixed when a store keeps Paths across restarts). */
  coreSidePort?: number;
  /**
   * Keep the SA sets and registrations in a store (src/store/): they survive a restart (restored by
   * {@link PcscfProxy.start}) and can be taken over by another instance on the same store.
   */
  store?: PcscfStoreOptions;
}

/** Where a {@link PcscfProxy} keeps its state: a store's writer, the key prefix, and the SA store's options. */
export interface PcscfStoreOptions extends SaStoreOptions {
  /** Seals and writes the records (may be shared with the core: one flush then covers both). */
  writer: StoreWriter;
  /** Prefix of this P-CSCF's keys (default 'pcscf/'). */
  prefix?: string | undefined;
  /**
   * Asked on restore for each stored registration (by IMPI): false drops it, with its SA sets, as half made.
   * A P-CSCF restored next to its core passes "the core still has a binding for this IMPI": a crash between
   * the core's de-registration and the P-CSCF's leaves no registration that only the P-CSCF remembers.
   */
  keepRegistration?: ((impi: string) => boolean) | undefined;
}

/** What {@link PcscfProxy.start} brought back from its store. */
export interface PcscfRestored {
  /** SA sets restored. */
  sets: number;
  /** Registrations restored (with their identities, Service-Route and SA sets). */
  registrations: number;
  /** Their keys (IMPIs). */
  keys: string[];
  /** Records refused (torn, tampered, incomplete, expired, or a set without its registration), with the reason. */
  refused: Array<{ key: string; code: string; reason: string }>;
}

/**
 * Callbacks a {@link PcscfProxy} calls (set them on `proxy.events`), one per step of the security agreement
 * of TS 33.203 7.2 that an operator wants to see: refused, challenged (SM6), registered (SM10), aborted (SM7
 * mismatch: the bidding-down protection) and de-registered.
 */
export interface PcscfEvents {
  /** SM1 refused by policy (or malformed): the UE got `status`. */
  refused?: (r: { key: string; status: number; warning: string }) => void;
  /** The security agreement chose these algorithms for a registration (at the 401). */
  challenged?: (r: { key: string; alg: string; ealg: string; mode: string }) => void;
  /** A registration completed over a new SA set. */
  registered?: (r: { key: string; set: SaSet }) => void;
  /** The protected REGISTER failed the Security-Verify / Security-Client check. */
  aborted?: (r: { key: string; reason: string }) => void;
  /** A registration ended: the UE de-registered (TS 24.229 5.2.2.5) or the network did (its reg event said so). */
  deregistered?: (r: { key: string }) => void;
}

/** The default limit on unprotected REGISTERs per source address. */
export const DEFAULT_REGISTER_RATE: RateLimit = { perSecond: 10, burst: 50 };
/** The default limit on unprotected REGISTERs per IMPI. */
export const DEFAULT_REGISTER_RATE_PER_IMPI: RateLimit = { perSecond: 2, burst: 10 };

/** Headers a UE may not set toward the core: the P-CSCF asserts the identity itself (RFC 3325). */
const IDENTITY_HEADERS = ['p-asserted-identity', 'p-preferred-identity'] as const;

/** The expiry a REGISTER asks for: its Contact's expires parameter, else Expires, else 600 s. */
function registerExpires(req: SipRequest): number {
  return Number(headerParam(req.headers.get('contact') ?? '', 'expires') ?? req.headers.get('expires') ?? 600);
}

/** Requests that create a dialog (RFC 3261 12, RFC 6665): the P-CSCF Record-Routes them. */
const DIALOG_FORMING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

/** identityKey() of a URI, or undefined for one it cannot reduce. */
function safeIdentityKey(uri: string): string | undefined {
  try {
    return identityKey(uri);
  } catch {
    return undefined;
  }
}

/**
 * TS 24.229 F.2.2 / TS 33.203 Annex M: a NAT between the UE and this P-CSCF when the top Via's sent-by is
 * not where the unprotected REGISTER came from. Returns the sent-by host (the UE's address as it knows
 * it, normalised) when it differs, else undefined.
 */
function behindNat(req: SipRequest, address: string, port: number | undefined): string | undefined {
  const top = splitList(req.headers.getAll('via')[0] ?? '')[0];
  if (top === undefined) return undefined;
  try {
    const via = parseVia(top);
    const host = normalizeAddress(via.host);
    // Over TCP the source port is the connection's, never the sent-by port: the address alone tells.
    if (host !== normalizeAddress(address) || (port !== undefined && (via.port ?? 5060) !== port)) return host;
  } catch { /* an unparsable Via: no NAT handling */ }
  return undefined;
}

/**
 * The nonce of the AKA run a REGISTER's Authorization closes (a MAC failure: an empty response; a
 * synchronisation failure: auts), a copy; undefined when it closes none (TS 33.203 6.1.2).
 */
function closesRun(a: AuthHeader): string | undefined {
  if (authParam(a, 'response') !== '' && authParam(a, 'auts') === undefined) return undefined;
  return detached(authParam(a, 'nonce') ?? '');
}

/**
 * Adds `received` (when the sent-by host is not the source address, RFC 3261 18.2.1) and fills an empty
 * `rport` (RFC 3581 4) in the request's top Via, in place.
 */
function markReceived(req: SipRequest, address: string, port: number): void {
  const all = req.headers.getAll('via');
  if (all.length === 0) return;
  const list = splitList(all[0]!);
  const top = list[0];
  if (top === undefined) return;
  let via: ReturnType<typeof parseVia>;
  try {
    via = parseVia(top);
  } catch {
    return;
  }
  let host: string;
  try {
    host = normalizeAddress(via.host);
  } catch {
    host = via.host.toLowerCase(); // a host name: never the source address
  }
  let out = top;
  if (host !== normalizeAddress(address)) out = setViaParam(out, 'received', normalizeAddress(address));
  if (headerParam(top, 'rport') === '') out = setViaParam(out, 'rport', String(port));
  if (out === top) return;
  list[0] = out;
  const rest = all.slice(1);
  req.headers.remove('via');
  req.headers.add('Via', list.join(', '));
  for (const v of rest) req.headers.add('Via', v);
}

/** A Via value with parameter `name` set to `value` (replacing a valueless or old one). */
function setViaParam(via: string, name: string, value: string): string {
  const re = new RegExp(`;\\s*${name}(?:\\s*=\\s*[^;,\\s]*)?(?=;|$)`, 'i');
  return re.test(via) ? via.replace(re, `;${name}=${value}`) : `${via};${name}=${value}`;
}

/** The option-tag lists the sec-agree tag is removed from toward the core (TS 24.229 5.2.2.1, RFC 3329 2.4). */
const OPTION_TAG_HEADERS = ['require', 'proxy-require', 'supported'] as const;
/** Whether a line may hold the sec-agree tag (option tags compare case-insensitively, RFC 3261 19.2). */
const SEC_AGREE = /sec-agree/i;

/** Max-Forwards = 1*DIGIT (RFC 3261 25.1), 0..255 (20.22). */
const MAX_FORWARDS = /^\d{1,3}$/;


/** The outbound SA answering a request that arrived on inbound SA `inb` (SA1 -> SA3, SA4 -> SA2). */
function answerSa(inb: SaEntry): SaEntry {
  const sa = inb.set.sas.find((s) => s.direction === 'outbound' && s.srcPort === inb.dstPort && s.dstPort === inb.srcPort);
  if (!sa) throw new Error(`no outbound SA answers ${inb.name}`);
  return sa;
}

/**
 * A P-CSCF (TS 24.229 5.2, TS 33.203): the SIP proxy a UE registers through, which runs the P-CSCF side of
 * the security agreement ({@link PcscfSecAgree}), terminates ESP on its protected ports port_pc/port_ps,
 * removes ik/ck and the Security-* headers toward the core, asserts identities (RFC 3325) and the
 * confidentiality of each request, and forwards between the UEs and the S-CSCF. Create one with
 * {@link PcscfProxy.start}; {@link PcscfProxy.close} releases its sockets and deletes every SA.
 *
 * @example
 * ```ts
 * await init();
 * const net = new MemoryNetwork();
 * const core = await ImsCore.start({ net, address: '10.0.0.9', realm: 'ims.example', hss });
 * const pcscf = await PcscfProxy.start({ net, address: '10.0.0.1', core: { address: '10.0.0.9', port: core.port } });
 * core.trustProxy(pcscf.coreSocket.address, pcscf.coreSocket.port);
 * pcscf.events.registered = ({ key, set }) => console.log(key, 'registered', set.alg, set.ealg);
 * ```
 */
export class PcscfProxy {
  /** The SIP element (transactions, routing, tracing) this proxy runs on. */
  readonly node: SipNode;
  /** The P-CSCF's SA database: every UE's SA sets (role 'pcscf'). */
  readonly db: SaDatabase;
  /** The security-agreement state machine (SM1-SM10 of TS 33.203 7.2). */
  readonly sec: PcscfSecAgree;
  /** The unprotected SIP port's socket (initial REGISTERs and their 401s). */
  readonly unprotected: DatagramSocket;
  /** The socket toward the core (S-CSCF). */
  readonly coreSocket: DatagramSocket;
  /** The packet processor of the protected ports (ESP on the wire, src/wire/processor.ts). */
  readonly wire: WireProcessor;
  /** The protected client port port_pc (SA2 out, SA4 in). */
  readonly portC: ProtectedPort;
  /** The protected server port port_ps (SA1 in, SA3 out). */
  readonly portS: ProtectedPort;
  /** Callbacks for security-agreement steps; assign the ones wanted. */
  readonly events: PcscfEvents = {};
  /** Unprotected REGISTERs refused by the per-source or per-IMPI rate limit. */
  rateLimited = 0;
  readonly #o: PcscfProxyOptions;
  /** The route to (and from) the core: one object, never changed (routes are read, not written). */
  readonly #coreRoute: Route;
  readonly #limiter: RateLimiter | undefined;
  readonly #impiLimiter: RateLimiter | undefined;
  /** The public user identities registered for each IMPI (identity.ts). */
  readonly #identities = new Map<string, RegisteredIdentities>();
  /**
   * identityKey of a public user identity -> the registrations (keys of #identities) it is registered in:
   * a reg-event NOTIFY names AORs, and looking each up here costs the same with 10 or 10^5 registrations.
   */
  readonly #byIdentity = new Map<string, Set<string>>();
  /** This P-CSCF's own address and ports (its four sockets), as hopKey()s: what #isMine compares with. */
  readonly #own: Set<string>;
  /** The Service-Route of each registration (RFC 3608), enforced on the UE's requests. */
  readonly #serviceRoutes = new Map<string, string[]>();
  /** Registrations whose reg event this P-CSCF has subscribed to. */
  readonly #regSubscribed = new Set<string>();
  /**
   * Sets of ended registrations, kept until the UE can no longer retransmit its de-REGISTER, and who
   * ended them: after the UE's own de-registration its SAs are gone at its end, so nothing more is sent
   * over them; after the network's, the NOTIFY that tells the UE still has to reach it.
   */
  readonly #closing = new Map<SaSet, 'ue' | 'network'>();
  readonly #graceTimers = new Set<ReturnType<typeof setTimeout>>();
  /** P-Access-Network-Info of each registration's latest REGISTER (for the confidentiality assertion). */
  readonly #pani = new Map<string, string | undefined>();
  /** INVITEs forwarded and not yet answered, for hop-by-hop CANCEL (RFC 3261 16.10). */
  readonly #invites = new PendingInvites();
  readonly #wires: AttachedWire[] = [];
  /**
   * UEs behind a NAT (UDP-enc-tun): the address in their top Via (their private address, which they put in
   * the inner packets and in their Contact), by attempt and by SA set; and for requests from the core, the
   * registration whose UE has a contact there (address and port_us as the UE sees them).
   */
  readonly #natInner = new WeakMap<RegistrationAttempt | SaSet, string>();
  /** With a store: the UE's encapsulation port last written with each UDP-enc-tun set. */
  readonly #encapSaved = new WeakMap<SaSet, number>();
  readonly #natContacts = new Map<string, string>();
  /** The store of the SA sets and registrations, with `store` (src/store/). */
  readonly #persist: SaStore | undefined;
  /** Set by close(): the SA sets leave memory only; nothing they trigger is written to the store. */
  #closed = false;
  /** What start() restored from the store (undefined without one). */
  restored: PcscfRestored | undefined;

  private constructor(o: PcscfProxyOptions, un: DatagramSocket, core: DatagramSocket, pc: DatagramSocket, ps: DatagramSocket) {
    this.#o = o;
    if (o.unprotectedRegisterRate !== false) this.#limiter = new RateLimiter(o.unprotectedRegisterRate ?? DEFAULT_REGISTER_RATE);
    if (o.unprotectedRegisterRatePerImpi !== false) this.#impiLimiter = new RateLimiter(o.unprotectedRegisterRatePerImpi ?? DEFAULT_REGISTER_RATE_PER_IMPI);
    this.unprotected = un;
    this.coreSocket = core;
    const attempts = o.maxAttemptsPerImpi ?? DEFAULT_MAX_ATTEMPTS_PER_KEY;
    // Per IMPI: the established set and an old one, the same for an ended registration in its grace time,
    // and one temporary set per attempt.
    this.#persist = o.store ? new SaStore(o.store.writer, o.store.prefix ?? 'pcscf/', o.store) : undefined;
    this.db = new SaDatabase({ role: 'pcscf', regAwaitAuthMs: o.regAwaitAuthMs, keepKeysForExport: o.keepKeysForExport, maxSetsPerKey: 4 + attempts, onKeys: this.#persist?.onKeys });
    this.#persist?.attach(this.db);
    this.wire = new WireProcessor({ db: this.db });
    this.portC = new ProtectedPort(pc, this.wire);
    this.portS = new ProtectedPort(ps, this.wire);
    this.#own = new Set([un, core, pc, ps].map((s) => hopKey(normalizeAddress(s.address), s.port)));
    this.sec = new PcscfSecAgree({ db: this.db, address: o.address, portC: pc.port, portS: ps.port, policy: o.policy, allowClear: o.noIpsec, maxAttemptsPerKey: attempts, modes: o.noIpsec === true
      // --no-ipsec serves tools that use no ESP at all: whatever mode they name is accepted (ESP in a mode
      // without a wire fails to send, WIRE_UNAVAILABLE, counted in node.sendFailures).
      ? [...new Set([...wireModes(o.wire ?? [udpEncapWire()]), 'trans', 'UDP-enc-tun'] as const)]
      : wireModes(o.wire ?? [udpEncapWire()]) });
    this.node = new SipNode('P-CSCF', { tracer: o.tracer, timers: o.timers, names: o.names, tcp: o.tcp });
    // As a proxy it checks Proxy-Require only (RFC 3261 16.3 step 4): sec-agree is the one it implements.
    this.node.supported({ proxyRequire: ['sec-agree'] });
    un.onMessage((d) => this.node.receive(d.data, { kind: 'plain', socket: un, address: d.address, port: d.port }));
    // What comes from the configured core (nearly everything on this socket) shares one route object, as
    // what goes to it does: a route lives as long as the transaction that holds it, 64*T1 past its
    // end, and one object per message was one more per lingering transaction.
    const fromCore: Route = { kind: 'plain', socket: core, address: this.#o.core.address, port: this.#o.core.port };
    this.#coreRoute = fromCore;
    core.onMessage((d) => this.node.receive(d.data, d.port === fromCore.port && d.address === fromCore.address ? fromCore : { kind: 'plain', socket: core, address: d.address, port: d.port }));
    for (const p of [this.portC, this.portS]) {
      p.onSip((sip, sa) => {
        if (this.#persist) {
          this.#persist.inbound(sa.set);
          if (sa.set.mode === 'UDP-enc-tun') this.#saveEncapPeer(sa.set);
        }
        this.node.receive(sip, { kind: 'protected', port: p, sa: answerSa(sa) });
      });
    }
    if (o.noIpsec) {
      // --no-ipsec: the protected-phase REGISTER may also come in clear on port_ps.
      this.portS.acceptClear((sip, from) => this.node.receive(sip, { kind: 'plain', socket: ps, address: from.address, port: from.port }));
    }
    // A registration whose last set is gone (expired, replaced, aborted) needs no access-network record.
    this.db.on((set, event) => {
      if ((event === 'deleted' || event === 'expired') && !this.db.sets(set.key).some((s) => s.state === 'established' || s.state === 'old')) {
        this.#pani.delete(set.key);
        this.#dropIdentities(set.key);
        this.#serviceRoutes.delete(set.key);
        this.#regSubscribed.delete(set.key);
        for (const [c, k] of this.#natContacts) if (k === set.key) this.#natContacts.delete(c);
        this.#saveRegistration(set.key);
      }
    });
    this.node.onRequest((i) => {
      // A failed forward is answered inside; what throws or rejects past that is dropped.
      try {
        this.#request(i.request, i.route, i.respond)?.catch(() => undefined);
      } catch { /* as above */ }
    });
  }

  /**
   * Binds the unprotected port, the socket toward the core and the protected ports port_pc and port_ps,
   * and attaches the wires; rejects with the network's error (e.g. INVALID_ARGUMENT for a port in use, from
   * NodeUdpNetwork) and leaves nothing bound.
   */
  static async start(options: PcscfProxyOptions): Promise<PcscfProxy> {
    // Addresses in one text form from here on (IPv6 canonical, RFC 5952): SAs and SIP compare them by value.
    const o: PcscfProxyOptions = { ...options, address: normalizeAddress(options.address), core: { ...options.core, address: normalizeAddress(options.core.address) } };
    // A port that cannot be had leaves nothing bound behind.
    const bound: DatagramSocket[] = [];
    try {
      for (const port of [o.port ?? 0, o.coreSidePort ?? 0, o.protectedPorts?.client ?? 0, o.protectedPorts?.server ?? 0]) bound.push(await o.net.bind(o.address, port));
    } catch (e) {
      for (const s of bound) s.close();
      throw e;
    }
    const [un, core, pc, ps] = bound as [DatagramSocket, DatagramSocket, DatagramSocket, DatagramSocket];
    const p = new PcscfProxy(o, un, core, pc, ps);
    try {
      if (p.#persist) await p.#restore();
      await p.node.streams?.listen(un);
      for (const w of o.wire ?? [udpEncapWire()]) p.#wires.push(await w.attach({ processor: p.wire, net: o.net, address: o.address, role: 'pcscf' }));
      await p.#protectedTcp();
    } catch (e) {
      p.close();
      throw e;
    }
    return p;
  }

  /**
   * TCP inside the SAs, where a wire has a kernel path (a TUN device): port_ps accepts connections from a
   * UE's port_uc (SA1 in, SA3 out), and requests over 1300 octets toward a UE go on a connection from
   * port_pc to its port_us (SA2 out, SA4 in); connections close with their set (TS 33.203 7.1).
   */
  async #protectedTcp(): Promise<void> {
    const net = this.#wires.find((w) => w.streams !== undefined)?.streams;
    if (net === undefined) return;
    await this.node.serveProtectedStreams({ net, ...(this.#o.tcp?.limits ? { limits: this.#o.tcp.limits } : {}), db: this.db, address: this.#o.address, port: this.portS });
  }

  /** The local encapsulation port of the UDP-enc-tun wire (4500 by default), if there is one. */
  get encapPort(): number | undefined {
    return this.#wires.find((w) => w.encapPort !== undefined)?.encapPort;
  }

  /** The unprotected SIP port (what a UE's first REGISTER goes to). */
  get port(): number {
    return this.unprotected.port;
  }

  /**
   * Forwards `fwd` (a copy of the received `original`, edited) along `route` with our Via on top; answers
   * downstream with the final response (and, for an INVITE, its provisional responses and 2xx
   * retransmissions; an ACK goes statelessly, proxy.ts); then `then` gets the final response as received
   * (undefined: none came, a 408 went downstream), once the answer has left, with `error` set when
   * `edit` threw (the caller then stops there, as a rejected forward did). Without a promise or an async
   * frame per request, which kept the request, its forwarded copy and what was parsed from them alive
   * until the core answered.
   */
  #forward(original: SipRequest, fwd: SipRequest, route: Route, respond: (r: SipResponse) => void, edit: ((res: SipResponse) => SipResponse | undefined) | undefined, then: (final: SipResponse | undefined, error?: unknown) => void): void {
    // `fwd` is already this P-CSCF's own copy (#towardCore, rewrite): edited in place, not copied again;
    // `original` (as received) is what answers made here (408, 483) and a CANCEL refer to.
    this.#invites.forwardWith(this.node, original, fwd, route, this.#sentBy(route), respond, edit, then);
  }

  /**
   * #forward of a request whose outcome nothing here waits for (a UE's request to the core, the core's to
   * a UE): counted as a transaction of `set` while it runs (SaDatabase.beginTransaction), without a promise.
   */
  #relay(original: SipRequest, fwd: SipRequest, route: Route, respond: (r: SipResponse) => void, set: SaSet): void {
    this.db.beginTransaction(set);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.db.endTransaction(set);
    };
    try {
      this.#invites.forwardWith(this.node, original, fwd, route, this.#sentBy(route), respond, undefined, end);
    } catch (e) {
      end();
      throw e;
    }
  }

  /** The sent-by of this P-CSCF's Via on `route`: toward a UE its protected server port (port_ps, TS 34.229-1 A.1.1; the UE answers over SA4 to port_pc whatever it says, TS 33.203 7.1), else the socket's. */
  #sentBy(route: Route): string {
    const sock = route.kind === 'plain' ? route.socket : route.port.socket;
    return hostPort(sock.address, route.kind === 'protected' ? this.portS.port : sock.port);
  }

  /**
   * What this P-CSCF asserts to the core about a request's confidentiality on the Gm hop
   * (confidentiality.ts): ESP encryption on its SA, else the policy's trust in the access network.
   */
  #confidentiality(set: SaSet | undefined, pani: string | undefined): string {
    if (set && set.ealg !== 'null') return formatConfidentiality('esp', { ealg: set.ealg });
    if (set && this.sec.modeFor(pani) === 'access-network') return formatConfidentiality('access-network', { accessType: accessType(pani) ?? '' });
    return formatConfidentiality('none');
  }

  /**
   * A UE's request as it goes to the core: without what only the UE <-> P-CSCF hop may see, and with this
   * P-CSCF's confidentiality assertion in place of any claim the UE made.
   */
  #towardCore(req: SipRequest, set: SaSet | undefined, pani: string | undefined): SipRequest {
    const fwd = rewrite(req);
    for (const h of SECURITY_HEADERS) fwd.headers.remove(h);
    for (const h of IDENTITY_HEADERS) fwd.headers.remove(h);
    for (const h of OPTION_TAG_HEADERS) {
      const lines = fwd.headers.getAll(h);
      // Lines without the tag stay as they are (and are forwarded as received, not written anew).
      if (!lines.some((l) => SEC_AGREE.test(l))) continue;
      const v = withoutSecAgreeTag(lines.join(', '));
      if (v === '') fwd.headers.remove(h);
      else fwd.headers.set(h, v);
    }
    fwd.headers.set(CONFIDENTIALITY_HEADER, this.#confidentiality(set, pani));
    return fwd;
  }

  /**
   * Every REGISTER this P-CSCF relays gets its Path entry (RFC 3327, TS 24.229 5.2.2.1), so that the
   * S-CSCF routes requests for the UE through it, and Require: path.
   */
  #withPath(fwd: SipRequest): SipRequest {
    fwd.headers.prepend('Path', `<sip:term@${hostPort(this.coreSocket.address, this.coreSocket.port)};lr>`);
    const req = fwd.headers.getAll('require').join(', ');
    if (!req.split(',').map((t) => t.trim().toLowerCase()).includes('path')) fwd.headers.set('Require', req === '' ? 'path' : `${req}, path`);
    return fwd;
  }

  /**
   * A Route without this P-CSCF's own entries at its top (RFC 3261 16.4; both entries of a double
   * Record-Route, RFC 5658). Only the leading ones: when one P-CSCF serves both ends of a dialog, its
   * entries for the far end come later in the route set and stay.
   */
  #withoutOwnTop(routes: string[]): string[] {
    let i = 0;
    while (i < routes.length && this.#isMine(routes[i]!)) i++;
    return routes.slice(i);
  }

  /** Whether a Route / Record-Route entry names this P-CSCF (any of its ports). */
  #isMine(entry: string): boolean {
    const h = uriHop(entry);
    return h !== undefined && this.#own.has(hopKey(h.address, h.port));
  }

  /**
   * Stores a REGISTER's Security-Client for the coming challenge (SM1, or a re-registration the core may
   * challenge, TS 24.229 5.2.2.4); false when the offer is refused, after answering the UE.
   */
  #storeOffer(req: SipRequest, key: string, ueAddress: string, pani: string | undefined, respond: (r: SipResponse) => void, inner?: string): RegistrationAttempt | undefined {
    const d = this.sec.initialRegister({ key, ueAddress, securityClient: req.headers.getAll('security-client').map(detached), accessNetworkInfo: pani, nat: inner !== undefined });
    if (d.accept) {
      if (inner !== undefined) this.#natInner.set(d.attempt, inner);
      return d.attempt;
    }
    const extra: Array<[string, string]> = [['Warning', `399 pcscf "${d.warning}"`]];
    if (d.retryAfter !== undefined) extra.unshift(['Retry-After', String(d.retryAfter)]);
    respond(makeResponse(req, d.status, d.reason, extra));
    this.events.refused?.({ key, status: d.status, warning: d.warning });
    return undefined;
  }

  /** Answers 403 with a Warning saying why (nothing forwarded, nothing changed). */
  #forbid(req: SipRequest, respond: (r: SipResponse) => void, why: string): void {
    respond(makeResponse(req, 403, 'Forbidden', [['Warning', `399 pcscf "${why}"`]]));
  }

  /** A request received (promise-free on the paths that need none: a relayed request's outcome is not awaited). */
  #request(req: SipRequest, route: Route, answer: (r: SipResponse) => void): Promise<void> | void {
    // An ACK is never answered (RFC 3261 17.1.1.3): one that is refused is dropped.
    const respond = req.method === 'ACK' ? (): void => undefined : answer;
    // Checked before anything else, so that a malformed value changes no state (RFC 3261 20.22).
    const mf = req.headers.get('max-forwards');
    if (mf !== undefined && (!MAX_FORWARDS.test(mf.trim()) || Number(mf) > 255)) {
      respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 pcscf "Max-Forwards must be an integer 0..255"']]));
      return;
    }
    // From the core: deliver to the UE over SA2 of its current set.
    if (route.kind === 'plain' && route.socket === this.coreSocket) return this.#fromCore(req, respond);
    // In clear from a UE: where it really came from goes into its Via (RFC 3261 18.2.1, RFC 3581), so the
    // answers go back there (and the core sees a NAT, TS 24.229 F.2.2).
    if (route.kind === 'plain') markReceived(req, route.address, route.port);
    if (req.method === 'REGISTER') return this.#register(req, route, respond);
    // Other UE requests must arrive protected on an established set.
    if (route.kind !== 'protected' && [...req.headers.values('require'), ...req.headers.values('proxy-require')].some((t) => t.toLowerCase() === 'sec-agree')) {
      // RFC 3329 2.3.1: an unprotected request that requires sec-agree is answered 494.
      respond(makeResponse(req, 494, 'Security Agreement Required', [['Require', 'sec-agree'], ['Warning', `399 pcscf "send ${req.method} over the IPsec SAs of a registration"`]]));
      return;
    }
    // An old set (replaced by a re-registration, TS 33.203 7.4) still carries what the UE sent before it
    // switched: it is accepted until the set goes.
    const usable = route.kind === 'protected' && (route.sa.set.state === 'established' || route.sa.set.state === 'old');
    if (route.kind !== 'protected' || !usable || this.#closing.has(route.sa.set)) {
      this.#forbid(req, respond, `send ${req.method} over the IPsec SAs of a registration`);
      return;
    }
    // OPTIONS for this P-CSCF itself (RFC 3261 11.2): a UE's keep-alive over its SAs, answered here.
    if (req.method === 'OPTIONS' && this.#isMine(`<${req.uri}>`)) {
      respond(makeResponse(req, 200, 'OK', [['Allow', 'REGISTER, INVITE, ACK, BYE, CANCEL, PRACK, MESSAGE, SUBSCRIBE, NOTIFY, PUBLISH, OPTIONS'], ['Supported', 'path, sec-agree']]));
      return;
    }
    // CANCEL is hop by hop (RFC 3261 16.10): answered here, the forwarded INVITE cancelled downstream.
    if (req.method === 'CANCEL') return this.#invites.cancel(this.node, req, respond);
    // TS 24.229 5.2.6.3: the identity is asserted by this P-CSCF from what was registered over the set.
    const ids = this.#identities.get(route.sa.set.key);
    if (ids === undefined) {
      this.#forbid(req, respond, 'no public user identity registered over this security association');
      return;
    }
    let asserted: ReturnType<RegisteredIdentities['assert']>;
    try {
      asserted = ids.assert(addressList(req.headers.getAll('p-preferred-identity')), req.headers.has('from') ? addressUri(req.headers.get('from')!) : undefined);
    } catch {
      respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 pcscf "malformed From or P-Preferred-Identity"']]));
      return;
    }
    if (!asserted.ok) {
      this.#forbid(req, respond, asserted.warning);
      return;
    }
    const fwd = this.#towardCore(req, route.sa.set, this.#pani.get(route.sa.set.key));
    fwd.headers.add('P-Asserted-Identity', `<${asserted.identity}>`);
    // The preloaded route: this P-CSCF's own entries go, the rest is the registration's Service-Route
    // (TS 24.229 5.2.6.3.2: the P-CSCF may replace a UE's preloaded route with it).
    const routes = this.#withoutOwnTop(fwd.headers.values('route'));
    const inDialog = headerParam(req.headers.get('to') ?? '', 'tag') !== undefined;
    const service = inDialog ? undefined : this.#serviceRoutes.get(route.sa.set.key);
    fwd.headers.remove('route');
    for (const r of service ?? routes) fwd.headers.add('Route', r);
    // Dialog-forming requests: this P-CSCF stays on the route, with one entry per side (RFC 5658): the
    // core's side first, then its protected server port toward the UE (TS 24.229 5.2.6.3.3).
    if (DIALOG_FORMING.has(req.method) && headerParam(req.headers.get('to') ?? '', 'tag') === undefined) {
      fwd.headers.prepend('Record-Route', `<sip:${hostPort(this.#o.address, this.portS.port)};lr>`);
      fwd.headers.prepend('Record-Route', `<sip:${hostPort(this.coreSocket.address, this.coreSocket.port)};lr>`);
    }
    this.#relay(req, fwd, this.#coreRoute, respond, route.sa.set);
  }

  #register(req: SipRequest, route: Route, answer: (r: SipResponse) => void): void {
    // With a store, no answer to a REGISTER leaves before what it reports is durable (a 200 the UE has seen
    // is never lost to a crash, nor a 401's temporary set).
    const respond = this.#persist ? this.#durably(answer) : answer;
    if (route.kind === 'plain' && this.#limiter && !this.#limiter.take(route.address)) {
      this.#rateLimited(req, respond, this.#limiter.retryAfter(route.address), 'too many unprotected REGISTERs from this address');
      return;
    }
    const authorization = req.headers.get('authorization');
    if (authorization === undefined) {
      respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 pcscf "REGISTER without Authorization"']]));
      return;
    }
    let key: string;
    // Parsed once: the IMPI, the integrity-protected edit and the closed-run check below all read it.
    let auth: AuthHeader;
    try {
      auth = parseAuthHeader(authorization);
      // A copy: the key names the registration's sets, attempts and maps for as long as they live (32 s
      // past a de-registration), and a slice would keep the whole REGISTER's text alive with it.
      key = detached(authParam(auth, 'username') ?? addressUri(req.headers.get('to')!));
    } catch {
      respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 pcscf "malformed Authorization"']]));
      return;
    }
    const pani = req.headers.get('p-access-network-info');
    const inbound = route.kind === 'protected' ? route.sa : undefined;
    const set = inbound?.set;
    // A REGISTER over an SA set is for the IMPI that set was negotiated for, and no other (TS 33.203 7.4:
    // the SAs authenticate the UE that holds them, not the identity it names).
    if (set && set.key !== key) {
      this.#forbid(req, respond, 'the private identity of this REGISTER is not the one registered over this security association');
      return;
    }
    if (set && this.#closing.has(set)) {
      this.#forbid(req, respond, 'this registration has ended: register again');
      return;
    }
    const clearSm7 = route.kind === 'plain' && this.#o.noIpsec === true && req.headers.has('security-verify') && this.sec.hasTemporary(key);
    if (route.kind === 'plain' && !clearSm7 && this.#impiLimiter && !this.#impiLimiter.take(key)) {
      this.#rateLimited(req, respond, this.#impiLimiter.retryAfter(key), 'too many unprotected REGISTERs for this identity');
      return;
    }

    // SM7: the protected REGISTER on the temporary set (or in clear with --no-ipsec).
    if ((set && set.state === 'temporary') || clearSm7) {
      const attempt = this.sec.attemptFor(key, set ?? 'clear', req.headers.getAll('security-verify'));
      if (set) this.db.beginTransaction(set); // the set outlives an abort until its answer has left
      try {
        this.sec.protectedRegister(attempt ?? key, { securityVerify: req.headers.getAll('security-verify'), securityClient: req.headers.getAll('security-client'), arrivedOn: set ?? 'clear' });
      } catch (e) {
        // Abort (bidding down, RFC 3329 2.3.1 / TS 24.229 5.2.2.4): nothing is forwarded, the UE is told at
        // once (494 with Require: sec-agree, so it starts a new agreement) and the temporary set goes.
        const why = (e as Error).message;
        this.events.aborted?.({ key, reason: why });
        respond(makeResponse(req, 494, 'Security Agreement Required', [['Require', 'sec-agree'], ['Warning', `399 pcscf "${why.replace(/"/g, "'")}"`]]));
        if (set) this.db.endTransaction(set);
        return;
      }
      if (set) this.db.endTransaction(set);
      const fwd = this.#withPath(this.#towardCore(req, set, pani));
      // integrity-protected="yes" only for what arrived over the SAs (TS 24.229 5.2.2.1); with --no-ipsec a
      // REGISTER in clear is not integrity protected, whatever its headers say.
      fwd.headers.set('Authorization', withIntegrityProtected(auth, set ? 'yes' : 'no'));
      this.#pani.set(key, pani);
      const requested = registerExpires(req);
      const closes = closesRun(auth);
      const to = req.headers.get('to');
      this.#forward(req, fwd, this.#coreRoute, respond, (res) => {
        if (res.status >= 200 && res.status < 300 && requested === 0) {
          // A challenged de-registration, authenticated over its new temporary set (TS 24.229 5.2.2.6).
          if (this.#closeRegistration(key)) this.events.deregistered?.({ key });
          return res;
        }
        if (res.status >= 200 && res.status < 300) {
          const expires = Number(headerParam(res.headers.get('contact') ?? '', 'expires') ?? 600);
          const established = this.sec.registered(attempt ?? key, expires);
          // The old set (of a re-registration) goes once the UE sends over the new one after this 200
          // (TS 33.203 7.4); the protected REGISTER itself does not count: a request the UE sent over
          // the old set before it had the 200 may still be on its way.
          this.#serviceRoutes.set(key, res.headers.values('service-route'));
          // A new registration authenticated: the UE is done with the ended one's sets, and with anything
          // still in flight over them (e.g. a NOTIFY it will never answer).
          for (const old of [...this.db.sets(key)]) if (this.#closing.has(old)) { this.#closing.delete(old); this.db.delete(old); }
          this.#bindIdentities(key, to, res);
          this.#saveRegistration(key);
          queueMicrotask(() => this.#subscribeReg(key)); // after the 200 has left for the UE
          this.events.registered?.({ key, set: established });
        }
        return res;
      }, (final, error) => {
        if (error !== undefined) return;
        // A failed authentication (403): the temporary set goes once the answer has left over it.
        if (final === undefined || final.status >= 300) this.sec.failed(attempt ?? key);
        if (final !== undefined) this.#runClosed(key, closes, final);
      });
      return;
    }

    // A REGISTER over an established set: re-registration or de-registration.
    if (set && set.state === 'established') {
      const expires = registerExpires(req);
      let attempt: RegistrationAttempt | undefined;
      // A re-registration must offer a Security-Client (it may be challenged); a de-registration may, so
      // that a challenge to it can be answered over a new set (TS 24.229 5.1.1.6).
      if (expires !== 0 || req.headers.has('security-client')) {
        attempt = this.#storeOffer(req, key, set.ueAddress, pani, respond, this.#natInner.get(set));
        if (attempt === undefined) return;
      }
      const fwd = this.#withPath(this.#towardCore(req, set, pani));
      fwd.headers.set('Authorization', withIntegrityProtected(auth, 'yes'));
      if (expires !== 0) this.#pani.set(key, pani);
      const closes = closesRun(auth);
      // Read now: the closures below keep nothing of the REGISTER itself while the core answers.
      const to = req.headers.get('to');
      this.db.beginTransaction(set);
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        this.db.endTransaction(set);
      };
      try {
        this.#forward(req, fwd, this.#coreRoute, respond, (res) => {
          if (res.status >= 200 && res.status < 300 && expires !== 0) {
            this.#bindIdentities(key, to, res);
            this.#serviceRoutes.set(key, res.headers.values('service-route'));
            this.#saveRegistration(key);
          }
          if (res.status >= 200 && res.status < 300 && expires === 0) {
            // De-registration (TS 24.229 5.2.2.5): the registration ends; its sets stay for the UE's
            // retransmissions of the de-REGISTER (which the transaction layer answers) and then go. The
            // offer this de-REGISTER stored for a challenge is over now (a 2xx is final), not with them.
            if (attempt && !attempt.challenged) this.sec.failed(attempt);
            if (this.#closeRegistration(key)) this.events.deregistered?.({ key });
          }
          return this.#registerAnswer(attempt, res, expires);
        }, (final, error) => {
          // The set's transaction ends once the answer has left over it, whatever happened (as a finally did).
          end();
          if (error !== undefined) return;
          if (attempt && (final === undefined || (final.status !== 401 && !attempt.challenged))) this.sec.failed(attempt);
          if (final !== undefined) this.#runClosed(key, closes, final);
        });
      } catch (e) {
        end();
        throw e;
      }
      return;
    }

    // SM1: an unprotected (initial) REGISTER. Over a set that is neither temporary nor established (an
    // old one), or over a protected port without a set, there is nothing to do but say so.
    if (route.kind !== 'plain') {
      this.#forbid(req, respond, 'REGISTER over an SA set that is no longer in use: use the current one or register again');
      return;
    }
    const attempt = this.#storeOffer(req, key, route.address, pani, respond, behindNat(req, route.address, route.stream ? undefined : route.port));
    if (attempt === undefined) return;
    const fwd = this.#withPath(this.#towardCore(req, undefined, undefined));
    fwd.headers.set('Authorization', withIntegrityProtected(auth, 'no'));
    const closes = closesRun(auth);
    this.#forward(req, fwd, this.#coreRoute, respond, (res) => this.#registerAnswer(attempt, res, undefined), (final, error) => {
      if (error !== undefined) return;
      // No challenge came (timeout, an error, a 200): the attempt is over.
      if (final === undefined || !attempt.challenged) this.sec.failed(attempt);
      if (final !== undefined) this.#runClosed(key, closes, final);
    });
  }

  /**
   * A REGISTER that reported a MAC failure (empty response) or a synchronisation failure (auts) for an
   * earlier challenge, answered by the S-CSCF: that AKA run is closed, so the attempt it belonged to is over
   * (its temporary set goes now, not at reg-await-auth expiry). Nothing else ends another attempt.
   */
  #runClosed(key: string, closes: string | undefined, final: SipResponse): void {
    // `closes`: closesRun of the REGISTER's Authorization, read before it was forwarded.
    if (final.status < 300 || closes === undefined) return;
    this.sec.challengeClosed(key, closes);
  }

  /**
   * The registration of `key` ended (de-registration answered 200): no identity is asserted for it any more,
   * no request is accepted over its sets, and the sets (with any attempt under way) go once the UE can no
   * longer retransmit the de-REGISTER (RFC 3261 Timer J, 64*T1), so a retransmission after a lost 200 still
   * finds them and gets the 200 again. False when it had ended already: the core's reg-event NOTIFY
   * (terminated) can overtake the 200 of the UE's own de-REGISTER (UDP keeps no order between the two);
   * the UE's ending then only marks its sets as ended by the UE (nothing more goes to it over them), and
   * no second grace period or `deregistered` event follows.
   */
  #closeRegistration(key: string, by: 'ue' | 'network' = 'ue'): boolean {
    const sets = [...this.db.sets(key)];
    if (sets.length > 0 && sets.every((s) => this.#closing.has(s))) {
      if (by === 'ue') for (const s of sets) this.#closing.set(s, 'ue');
      return false;
    }
    this.#dropIdentities(key);
    this.#serviceRoutes.delete(key);
    this.#pani.delete(key);
    this.#saveRegistration(key);
    // The attempts under way now (not any that starts during the grace time), by id: one that ends before
    // the timer is not kept alive by it (with its Security-Client, parsed, for 64*T1).
    const attempts = this.sec.attempts(key).map((a) => a.id);
    for (const s of sets) if (!this.#closing.has(s)) this.#closing.set(s, by);
    const t = setTimeout(() => {
      this.#graceTimers.delete(t);
      if (attempts.length > 0) for (const a of [...this.sec.attempts(key)]) if (attempts.includes(a.id)) this.sec.failed(a);
      for (const s of sets) {
        this.#closing.delete(s);
        this.db.deleteWhenIdle(s);
      }
    }, 64 * (this.#o.timers?.t1 ?? DEFAULT_TIMERS.t1));
    (t as { unref?: () => void }).unref?.();
    this.#graceTimers.add(t);
    return true;
  }

  #rateLimited(req: SipRequest, respond: (r: SipResponse) => void, retryAfter: number, why: string): void {
    this.rateLimited++;
    respond(makeResponse(req, 503, 'Service Unavailable', [['Retry-After', String(Math.max(1, retryAfter))], ['Warning', `399 pcscf "${why}"`]]));
  }

  /**
   * The 200 to a REGISTER: the public user identities the S-CSCF associated with the registration
   * (P-Associated-URI, TS 24.229 5.2.2.1; the To URI, `to` being the REGISTER's To, when it sent none) are
   * bound to this IMPI.
   */
  #bindIdentities(key: string, to: string | undefined, res: SipResponse): void {
    let uris: string[];
    try {
      uris = addressList(res.headers.getAll('p-associated-uri'));
      if (uris.length === 0) uris = [addressUri(to!)];
    } catch {
      return;
    }
    const ids = this.#identities.get(key);
    if (ids) ids.add(uris);
    else this.#identities.set(key, new RegisteredIdentities(key, uris));
    this.#index(key, uris);
  }

  /** Notes that the registration `key` has the identities `uris` (see #byIdentity). */
  #index(key: string, uris: readonly string[]): void {
    for (const u of uris) {
      const k = identityKey(u);
      let regs = this.#byIdentity.get(k);
      if (regs === undefined) this.#byIdentity.set(k, (regs = new Set()));
      regs.add(key);
    }
  }

  /** Forgets the identities of the registration `key`. */
  #dropIdentities(key: string): void {
    const ids = this.#identities.get(key);
    if (ids === undefined) return;
    this.#identities.delete(key);
    for (const u of ids.all) {
      const k = identityKey(u);
      const regs = this.#byIdentity.get(k);
      if (regs === undefined) continue;
      regs.delete(key);
      if (regs.size === 0) this.#byIdentity.delete(k);
    }
  }

  /** The registrations that have the identity `aor` (an identityKey), in the order they were registered. */
  #registrationsOf(aor: string): string[] {
    const regs = this.#byIdentity.get(aor);
    if (regs === undefined) return [];
    const keys = [...regs].filter((k) => this.#identities.get(k)?.hasKey(aor) === true);
    return keys.length <= 1 ? keys : [...this.#identities.keys()].filter((k) => regs.has(k));
  }

  /** This P-CSCF's own URI toward the core (reg-event subscriber, TS 24.229 5.2.3). */
  get #selfUri(): string {
    return `sip:pcscf@${hostPort(this.coreSocket.address, this.coreSocket.port)}`;
  }

  /**
   * SUBSCRIBE to the registration state of a registration's default identity on behalf of its UE
   * (TS 24.229 5.2.3), once per registration: network-initiated de-registration then reaches this P-CSCF too.
   */
  #subscribeReg(key: string): void {
    const impu = this.#identities.get(key)?.default;
    if (impu === undefined || this.#regSubscribed.has(key)) return;
    this.#regSubscribed.add(key);
    const self = this.#selfUri;
    let req: SipRequest;
    try {
      req = makeRequest({
        method: 'SUBSCRIBE', uri: impu, from: `<${self}>;tag=${newTag()}`, to: `<${impu}>`, callId: `reg-${newTag()}${newTag()}@${hostPort(this.coreSocket.address, this.coreSocket.port)}`, cseq: 1,
        via: `SIP/2.0/UDP ${hostPort(this.coreSocket.address, this.coreSocket.port)};branch=${newBranch()}`,
        headers: [['Event', 'reg'], ['Expires', '600000'], ['Accept', REGINFO_CONTENT_TYPE], ['Contact', `<${self}>`], ['P-Asserted-Identity', `<${self}>`]],
      });
    } catch {
      // An identity makeRequest refuses: no subscription (this runs from a microtask, where a throw would be uncaught).
      this.#regSubscribed.delete(key);
      return;
    }
    // A callback, not an awaited promise: nothing but the key is kept while the core answers.
    this.node.requestWith(req, this.#coreRoute, undefined, (e, res) => {
      if (e !== undefined || res === undefined || res.status >= 300) this.#regSubscribed.delete(key);
    });
  }

  /**
   * A reg-event NOTIFY addressed to this P-CSCF: a registration the network ended (TS 24.229 5.2.3,
   * 5.4.1.5) is closed here too, its SAs going after the usual grace time.
   */
  #ownNotify(req: SipRequest, respond: (r: SipResponse) => void): void {
    let info: RegInfo;
    try {
      info = parseReginfo(req.body);
    } catch {
      respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 pcscf "not a reginfo document"']]));
      return;
    }
    respond(makeResponse(req, 200, 'OK'));
    // Each AOR's key once (not once per registration it is compared with: a NOTIFY is per AOR, and there
    // may be thousands of registrations here).
    const regs = info.registrations.map((reg) => ({ reg, key: safeIdentityKey(reg.aor) }));
    for (const { reg, key: aor } of regs) {
      const ended = reg.state === 'terminated' || (reg.contacts.length > 0 && reg.contacts.every((c) => c.state === 'terminated'));
      if (!ended || aor === undefined) continue;
      for (const key of this.#registrationsOf(aor)) {
        this.#regSubscribed.delete(key);
        this.#closeRegistration(key, 'network');
        this.events.deregistered?.({ key });
      }
    }
    if ((req.headers.get('subscription-state') ?? '').toLowerCase().startsWith('terminated')) {
      for (const { key: aor } of regs) if (aor !== undefined) for (const key of this.#registrationsOf(aor)) this.#regSubscribed.delete(key);
    }
  }

  /** The public user identities registered for an IMPI (empty when none). */
  identities(impi: string): readonly string[] {
    return this.#identities.get(impi)?.all ?? [];
  }

  /** The core's answer to a REGISTER: a 401 starts the security agreement's challenge step. */
  #registerAnswer(attempt: RegistrationAttempt | undefined, res: SipResponse, expires: number | undefined): SipResponse | undefined {
    if (res.status === 401) {
      const www = res.headers.get('www-authenticate');
      if (www === undefined) return res;
      let c: ReturnType<typeof parseAkaChallenge>;
      let h: AuthHeader;
      try {
        h = parseAuthHeader(www); // once: read here, and relayed without ik/ck below
        c = parseAkaChallenge(h);
      } catch {
        // Not an AKA challenge this P-CSCF can read: the UE gets it without any ik/ck the core put there.
        res.headers.remove('www-authenticate');
        return res;
      }
      // CK and IK never go further than this P-CSCF (TS 33.203 7.1), whatever happens to the challenge.
      res.headers.set('WWW-Authenticate', withoutIkCk(h));
      if (attempt === undefined || c.ck === undefined || c.ik === undefined) return res;
      let step: ReturnType<PcscfSecAgree['challenge']>;
      try {
        step = this.sec.challenge(attempt, { ck: c.ck, ik: c.ik, nonce: c.nonce });
      } catch (e) {
        // No SPI left, the SA database full: the UE is told to come back later; the attempt ends.
        this.sec.failed(attempt);
        const out: SipResponse = { ...res, status: 503, reason: 'Service Unavailable', headers: res.headers.clone(), body: new Uint8Array(0) };
        out.headers.remove('www-authenticate');
        out.headers.remove('content-type');
        out.headers.set('Retry-After', '30');
        out.headers.set('Warning', `399 pcscf "${(e as Error).message.replace(/"/g, "'")}"`);
        return out;
      }
      this.#natSet(attempt, step.set);
      this.events.challenged?.({ key: attempt.key, alg: step.chosen.alg, ealg: step.chosen.ealg, mode: this.sec.pendingMode(attempt) ?? 'ipsec' });
      res.headers.add('Security-Server', step.securityServer);
      return res;
    }
    if (res.status >= 200 && res.status < 300 && expires !== undefined && expires !== 0 && attempt) {
      this.sec.registeredWithoutChallenge(attempt, expires);
    } else if (res.status >= 300 && attempt) {
      this.sec.failed(attempt);
    }
    return res;
  }

  #fromCore(req: SipRequest, respond: (r: SipResponse) => void): Promise<void> | void {
    if (req.method === 'NOTIFY' && this.#isMine(`<${req.uri}>`)) return this.#ownNotify(req, respond);
    if (req.method === 'CANCEL') return this.#invites.cancel(this.node, req, respond);
    // The Request-URI is the UE's registered contact: its address and protected server port (port_us).
    const target = uriHop(req.uri);
    const sa = target ? this.db.bySelector(this.#o.address, this.portC.port, target.address, target.port) ?? this.#natTarget(target.address, target.port) : undefined;
    if (sa === undefined || sa.set.state === 'deleted') {
      respond(makeResponse(req, 480, 'Temporarily Unavailable', [['Warning', '399 pcscf "no security association with this UE"']]));
      return;
    }
    if (this.#closing.get(sa.set) === 'ue') {
      // The UE ended this registration (its SAs are gone at its end): nothing more reaches it over them.
      respond(makeResponse(req, 480, 'Temporarily Unavailable', [['Warning', '399 pcscf "the registration of this UE has ended"']]));
      return;
    }
    const fwd = rewrite(req);
    // Our own entries (the Path the core used, or both Record-Route entries of a dialog's route set).
    const routes = this.#withoutOwnTop(fwd.headers.values('route'));
    fwd.headers.remove('route');
    for (const r of routes) fwd.headers.add('Route', r);
    // This P-CSCF's confidentiality assertion is for the core (confidentiality.ts), not for the other UE.
    fwd.headers.remove(CONFIDENTIALITY_HEADER);
    // A dialog-forming request toward the UE: this P-CSCF stays on the route with one entry per side, the
    // UE's side on top (its protected server port, where the UE sends in the dialog; TS 24.229 5.2.6.4.3).
    if (DIALOG_FORMING.has(req.method) && headerParam(req.headers.get('to') ?? '', 'tag') === undefined) {
      fwd.headers.prepend('Record-Route', `<sip:${hostPort(this.coreSocket.address, this.coreSocket.port)};lr>`);
      fwd.headers.prepend('Record-Route', `<sip:${hostPort(this.#o.address, this.portS.port)};lr>`);
    }
    this.#relay(req, fwd, { kind: 'protected', port: this.portC, sa }, respond, sa.set);
  }

  /**
   * A set created for a UE behind a NAT: its inner packets carry the UE's private address (its Via host),
   * the SA selectors the outer one (TS 33.203 Annex M); requests from the core reach it by its contact.
   */
  #natSet(attempt: RegistrationAttempt, set: SaSet): void {
    const inner = this.#natInner.get(attempt);
    if (inner === undefined || set.mode !== 'UDP-enc-tun') return;
    try {
      this.wire.setInnerAddresses(set, { ue: inner });
    } catch {
      return; // a sent-by of another address family, or a name: the outer address stays the inner one
    }
    this.#natInner.set(set, inner);
    this.#natContacts.set(hopKey(inner, set.ue.portS), set.key);
    this.#persist?.setExtra(set, { natInner: inner });
  }

  /**
   * UDP-enc-tun with a store: the UE's encapsulation port as the wire learned it from authentic packets
   * (port_Uenc as the UE's NAT maps it, RFC 3948) goes with the set's record, so that after a restart a
   * request toward the UE reaches it before the UE sends again (without it the restored P-CSCF sent to
   * port 4500 until then).
   */
  #saveEncapPeer(set: SaSet): void {
    const port = this.wire.encapPeer(set).port;
    if (this.#encapSaved.get(set) === port) return;
    this.#encapSaved.set(set, port);
    this.#persist!.setExtra(set, { encapPort: port });
  }

  /** The SA2 toward a UE behind a NAT whose contact is `address:port`, in its newest usable set. */
  #natTarget(address: string, port: number): SaEntry | undefined {
    const key = this.#natContacts.get(hopKey(address, port));
    if (key === undefined) return undefined;
    const sets = this.db.sets(key).filter((s) => (s.state === 'established' || s.state === 'old') && this.#natInner.get(s) === address && s.ue.portS === port);
    const set = sets.find((s) => s.state === 'established') ?? sets[0];
    return set?.sa('SA2');
  }

  /** `respond`, called once everything written so far is in the store. */
  #durably(respond: (r: SipResponse) => void): (r: SipResponse) => void {
    const w = this.#persist!.writer;
    return (r) => {
      if (w.idle) respond(r);
      else void w.flush().then(() => respond(r));
    };
  }

  /** The store's record of a registration (identities, Service-Route, access network): written, or deleted once it has ended. */
  #saveRegistration(key: string): void {
    const p = this.#persist;
    if (p === undefined || this.#closed) return;
    const id = `${p.prefix}reg/${encodeURIComponent(key)}`;
    const ids = this.#identities.get(key);
    if (ids === undefined) p.writer.del(id);
    else p.writer.put(id, { key, identities: ids.all, serviceRoute: this.#serviceRoutes.get(key) ?? [], pani: this.#pani.get(key) ?? null });
  }

  /**
   * Brings back what the store kept (start() with `store`): the established and old SA sets with their
   * expiry, marks and replay tops, and each registration whose set came back; a temporary set (its attempt
   * is not kept: the UE registers again) or a set without its registration, and a registration without a
   * set, are dropped as half made. Then the reg event is subscribed to again for each registration.
   */
  async #restore(): Promise<void> {
    const p = this.#persist!;
    const sa = await p.restore((s) => s.state !== 'temporary');
    const refused = [...sa.refused];
    const sealer = p.writer.sealer;
    const regs = new Map<string, { key: string; identities: string[]; serviceRoute: string[]; pani: string | null }>();
    for (const [id, blob] of await p.writer.store.list(`${p.prefix}reg/`)) {
      try {
        const r = await sealer.openJson<{ key: string; identities: string[]; serviceRoute: string[]; pani: string | null }>(id, blob);
        if (id !== `${p.prefix}reg/${encodeURIComponent(r.key)}` || !Array.isArray(r.identities) || !Array.isArray(r.serviceRoute)) throw new Ipsec3gppError('STORE_RECORD', `record ${id} is not a registration`);
        regs.set(r.key, r);
      } catch (e) {
        refused.push({ key: id, code: (e as Ipsec3gppError).code ?? 'STORE_RECORD', reason: (e as Error).message });
        p.writer.del(id);
      }
    }
    let registrations = 0;
    for (const [key, r] of regs) {
      const established = this.db.sets(key).find((s) => s.state === 'established');
      if (established === undefined || !(this.#o.store?.keepRegistration?.(key) ?? true)) {
        refused.push({ key: `${p.prefix}reg/${encodeURIComponent(key)}`, code: 'SADB', reason: established === undefined ? 'registration without its established SA set' : 'registration the core no longer has' });
        regs.delete(key);
        p.writer.del(`${p.prefix}reg/${encodeURIComponent(key)}`);
        continue;
      }
      this.#identities.set(key, new RegisteredIdentities(key, r.identities));
      this.#index(key, r.identities);
      this.#serviceRoutes.set(key, r.serviceRoute);
      this.#pani.set(key, r.pani ?? undefined);
      this.sec.restoreEstablished(key, established);
      registrations++;
    }
    for (const { set, extra } of sa.sets) {
      if (!regs.has(set.key)) {
        refused.push({ key: `${p.prefix}sa/${set.id}`, code: 'SADB', reason: 'SA set without its registration' });
        this.db.delete(set);
        continue;
      }
      const inner = extra?.['natInner'];
      if (typeof inner === 'string' && set.mode === 'UDP-enc-tun') {
        try {
          this.wire.setInnerAddresses(set, { ue: inner });
          this.#natInner.set(set, inner);
          this.#natContacts.set(hopKey(inner, set.ue.portS), set.key);
        } catch { /* as in #natSet */ }
      }
      const encapPort = extra?.['encapPort'];
      if (typeof encapPort === 'number' && set.mode === 'UDP-enc-tun') {
        try {
          this.wire.setEncapPeer(set, encapPort);
          this.#encapSaved.set(set, encapPort);
        } catch { /* not a port: the default (4500) until the UE's next packet */ }
      }
    }
    await p.writer.flush();
    for (const key of regs.keys()) queueMicrotask(() => this.#subscribeReg(key));
    this.restored = { sets: this.db.size, registrations, keys: [...regs.keys()], refused };
  }

  /** Stops the proxy: cancels its timers, closes its sockets and wires, and deletes every SA set (keys wiped). */
  close(): void {
    for (const t of this.#graceTimers) clearTimeout(t);
    this.#graceTimers.clear();
    this.#closing.clear();
    this.node.close();
    // The stored state stays for the next start (or another instance): the sets go from memory only, and
    // their deletion below must not delete the registrations' records (#saveRegistration) either.
    this.#closed = true;
    this.#persist?.detach();
    this.db.clear();
    for (const s of [this.unprotected, this.coreSocket]) s.close();
    this.portC.close();
    this.portS.close();
    for (const w of this.#wires.splice(0)) w.close();
    this.wire.close();
  }
}

