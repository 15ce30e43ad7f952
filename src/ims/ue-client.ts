// A UE (TS 24.229 5.1, TS 33.203 6-7): registers with IMS AKA and the ipsec-3gpp security agreement
// (secagree/ue.ts), then sends and receives SIP over its SAs: PUBLISH and SUBSCRIBE go out over SA1
// (port_uc -> port_ps), their answers come back over SA3; NOTIFY arrives over SA2 at port_us and is
// answered over SA4.
//
// Registration: SM1 unprotected with Security-Client; on the 401 the USIM checks AUTN (a MAC failure is
// reported with an empty response and no new SAs; a synchronisation failure with auts, then a new
// challenge); the temporary set is created from Security-Server; SM7 goes over SA1 of that set with
// Security-Verify; the 200 OK (over SA3) establishes it. Re-registration runs over the established set
// with a fresh Security-Client: a 200 keeps the set, a 401 builds a new one (TS 24.229 5.1.1.5.1), and a
// synchronisation failure is reported with AUTS over the same set (5.1.1.5.3). De-registration carries
// a Security-Client too, so that a challenge to it is answered over a new temporary set (5.1.1.6); once
// it is answered (or times out) the UE is not registered, its sets are deleted and each port_uc is closed
// with the last set that used it. Every operation that needs a registration fails at once with
// NOT_REGISTERED when there is none.

import { akaAuthorization, initialAuthorization, parseAkaChallenge, type AkaChallenge } from '../aka/digest-aka.js';
import { type MilenageKeys } from '../aka/milenage.js';
import { Usim } from '../aka/usim.js';
import { Ipsec3gppError } from '../errors.js';
import { type DatagramNetwork, type DatagramSocket } from '../net/datagram.js';
import { SaDatabase, type SaSet } from '../secagree/sadb.js';
import { UeSecAgree, type Combination, type UeRelease } from '../secagree/ue.js';
import { addressUri, headerParam, parseCSeq, type SipRequest, type SipResponse } from '../sip/message.js';
import { DEFAULT_TIMERS, buildCancel, inviteKey } from '../sip/transaction.js';
import { Call, type CallOps } from './call.js';
import { dialogKey, inDialogRequest, uacDialog, uasDialog, type Dialog } from './dialog.js';
import { hostPort, normalizeAddress } from '../ip.js';
import { identityKey } from './identity.js';
import { type TimerValues } from '../sip/transaction.js';
import { PIDF_CONTENT_TYPE } from './pidf.js';
import { REGINFO_CONTENT_TYPE, parseReginfo, type RegInfo } from './reginfo.js';
import { ProtectedPort } from './protected-port.js';
import { type SipTcpOptions } from './sip-streams.js';
import { udpEncapWire, wireModes, type AttachedWire, type RoleWire } from './role-wire.js';
import { NAT_T_PORT } from '../udp-encap.js';
import { WireProcessor } from '../wire/processor.js';
import { SipNode, makeRequest, makeResponse, newBranch, newCallId, newTag, type Route, type Tracer } from './sip-node.js';

/**
 * Options of {@link UeClient.start}: the network and the UE's address, its identities (IMPI, IMPU, realm)
 * and USIM keys (K and OP or OPc), the P-CSCF to register through, what it offers (Release or
 * combinations, wires/modes), and timers, keep-alive and fault injection.
 */
export interface UeClientOptions extends MilenageKeys {
  /** The network the UE's sockets are bound on. */
  net: DatagramNetwork;
  /** The UE's IP address. */
  address: string;
  /**
   * The unprotected SIP port (Via and Contact of the initial REGISTER); default 0, a free one. Kamailio 5.6's
   * P-CSCF (ims_ipsec_pcscf) takes an initial REGISTER whose Via port is not 5060 for a re-registration
   * and answers it with port-s=0: use 5060 with it.
   */
  port?: number;
  /** A label for the ladder (e.g. "UE alice"). */
  name?: string;
  /** The private user identity (IMPI, TS 23.003 13.3): the Digest username. */
  impi: string;
  /** The public user identity registered (IMPU, e.g. `sip:alice@ims.example`): To and From of REGISTER. */
  impu: string;
  /** Home network domain / realm (the REGISTER Request-URI is sip:<realm>). */
  realm: string;
  /**
   * The P-CSCF: its unprotected SIP port, and for UDP-enc-tun its encapsulation port (default 4500,
   * TS 33.203 Annex M / RFC 3948).
   */
  pcscf: { address: string; port: number; encapPort?: number };
  /**
   * The wires the protected ports use, one per `mod` offered (role-wire.ts), in order of preference.
   * Default: UDP-encapsulated tunnel mode on `net` ([udpEncapWire()]), which needs no privileges; add
   * transportModeWire() from `ipsec-3gpp/node` for ESP directly in IP (`mod=trans`, Linux, CAP_NET_RAW).
   */
  wire?: RoleWire[];
  /** The Release whose algorithms are offered (default 'later': all of them); see {@link "ipsec-3gpp"!releaseCombinations | releaseCombinations}. */
  release?: UeRelease;
  /** Offer exactly these combinations, most preferred first (overrides `release`). */
  algorithms?: Combination[];
  /** P-Access-Network-Info sent in REGISTER (e.g. "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=..."). */
  accessNetworkInfo?: string;
  /** Registration expiry asked for, in seconds (default 600). */
  expires?: number;
  /** Receives every SIP message the UE sends (and receives, with `traceReceived`), AKA secrets redacted. */
  tracer?: Tracer;
  /** SIP timers T1, T2, T4 in ms (default RFC 3261's, {@link "ipsec-3gpp"!DEFAULT_TIMERS | DEFAULT_TIMERS}). */
  timers?: Partial<TimerValues>;
  /** Names for addresses in traces (e.g. `10.0.0.1:5060` -> 'P-CSCF'). */
  names?: (address: string, port: number) => string;
  /** Fault injection, for test tools probing a network's error handling. */
  faults?: UeFaults;
  /**
   * Keep the registration up by itself (default true): re-register before it expires (TS 24.229
   * 5.1.1.4.1: 600 s before when it is longer than 1200 s, else at half time), refresh subscriptions
   * before they expire, subscribe to its own reg event (5.1.1.3) and follow what the network says there
   * (network-initiated de-registration 5.1.1.7, re-authentication 5.1.1.6), register anew when an SA
   * reaches its soft limit, and register again when the P-CSCF is lost. Timers are unref'd.
   */
  autoRefresh?: boolean;
  /**
   * Every this many ms, an OPTIONS over the SAs checks that the P-CSCF still holds them (default 0: off).
   * No answer within `keepAliveTimeoutMs` (default 2000) counts as a lost P-CSCF.
   */
  keepAliveMs?: number;
  /** How long a keep-alive OPTIONS may go unanswered, in ms (default 2000). */
  keepAliveTimeoutMs?: number;
  /** Outbound ESP sequence number at which a new registration (new keys) starts (default: near 2^32). */
  softLimit?: number;
  /**
   * The instance ID in the Contact's +sip.instance (RFC 5626 4.1; a 3GPP UE uses its IMEI URN,
   * TS 24.229 5.1.1.2.1). Default: a random urn:uuid per client.
   */
  instanceId?: string;
  /**
   * SIP over TCP (RFC 3261 18): with a stream network (NodeTcpNetwork from `ipsec-3gpp/node`), unprotected
   * REGISTERs larger than 1300 octets go to the P-CSCF over TCP, and its answers come back on the connection.
   */
  tcp?: SipTcpOptions;
  /** Trace received messages too (default false: in a network of traced elements each message is traced once, by its sender). */
  traceReceived?: boolean;
}

/** Deliberate protocol errors a test UE can commit. */
export interface UeFaults {
  /** Answer the AKA challenge with a wrong RES (the network must answer 403). */
  wrongRes?: boolean;
  /** Rewrite the Security-Verify values of the protected REGISTER (a bidding-down attempt). */
  securityVerify?: (values: string[]) => string[];
  /** Headers added to every request (e.g. a forged P-Gm-Confidentiality the P-CSCF must strip). */
  extraHeaders?: Array<[string, string]>;
}

/** What happens to a UE's registration, as it happens. */
export interface UeEvents {
  /** Registered (initially, or again after a loss), over `set`. */
  registered?: (set: SaSet) => void;
  /** The registration ended: the UE de-registered, the network did (reg event), or the P-CSCF was lost. */
  deregistered?: (r: { by: 'ue' | 'network' | 'lost'; reason: string }) => void;
  /** An automatic refresh (re-registration, re-subscription, new registration) failed. */
  refreshFailed?: (r: { what: string; detail: string }) => void;
}

/** A SUBSCRIBE dialog of the UE (RFC 6665), refreshed before it expires. */
interface UeSubscription {
  event: 'presence' | 'reg';
  target: string;
  callId: string;
  localTag: string;
  remoteTag: string;
  remoteTarget: string;
  routeSet: string[];
  cseq: number;
  expires: number;
  timer?: ReturnType<typeof setTimeout> | undefined;
}

/** The methods a UE answers (Allow, RFC 3261 20.5). */
export const UE_ALLOW = 'INVITE, ACK, BYE, CANCEL, PRACK, MESSAGE, NOTIFY';
const SDP = 'application/sdp';
const isSdp = (m: SipRequest | SipResponse): boolean => m.body.length > 0 && (m.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase() === SDP;

/** How a UE answers an incoming call: accept (with an SDP answer, if any) or refuse with a status. */
export type InviteAnswer = { accept: true; sdp?: string | undefined } | { accept: false; status?: number; reason?: string };

/** A page-mode message received (RFC 3428). */
export interface ReceivedMessage {
  /** The sender as the network asserted it (P-Asserted-Identity), else From. */
  from: string;
  /** The Content-Type of the message. */
  contentType: string;
  /** The body as text (UTF-8). */
  body: string;
}

/** What the UE keeps of one call. */
interface CallEntry {
  call: Call;
  timers: Set<ReturnType<typeof setTimeout>>;
  /** UAS: the 2xx is being retransmitted until the ACK. */
  awaitingAck: boolean;
  /** UAC: this UE sent a CANCEL. */
  cancelled: boolean;
  /** UAC: the ACK to the 2xx (sent again for each retransmission of the 2xx). */
  ack?: SipRequest;
  /** UAC: the highest RSeq acknowledged with PRACK. */
  lastRseq?: number;
  /** UAC: resolves at the first provisional (or final) response, after which a CANCEL may go. */
  gotProvisional: Promise<void>;
  provisionalIn?: () => void;
  /** UAS: the INVITE's server transaction. */
  respond?: (r: SipResponse) => void;
  inviteKey?: string;
  final?: boolean;
  /** UAS: the reliable provisional response waiting for its PRACK. */
  prackWait?: { rseq: number; resolve: (ok: boolean) => void } | undefined;
}

/** Received NOTIFY bodies kept in `notifications` (oldest dropped first). */
export const UE_NOTIFICATIONS_KEPT = 100;

const unrefTimer = (t: ReturnType<typeof setTimeout>): ReturnType<typeof setTimeout> => {
  (t as { unref?: () => void }).unref?.();
  return t;
};

/** TS 24.229 5.1.1.4.1: when to refresh something that lasts `seconds`. */
export function refreshDelaySeconds(seconds: number): number {
  return seconds > 1200 ? seconds - 600 : seconds / 2;
}

/** The outcome of a registration attempt. */
export interface RegistrationResult {
  /** The final SIP status of the registration (200 on success; 0 when no response came). */
  status: number;
  /** Its reason phrase, or what happened instead (e.g. the USIM's verdict). */
  reason: string;
  /** The SA set now established (on success). */
  set?: SaSet;
  /** Why it failed, in words (Warning text, USIM verdict, security agreement error). */
  detail?: string;
}

/**
 * An IMS UE (TS 24.229 5.1, TS 33.203): registers with IMS AKA through a P-CSCF, runs the UE side of the
 * security agreement ({@link UeSecAgree}), and then sends and receives SIP over the ESP SAs on its protected
 * ports: re-registration, reg event, presence (PUBLISH/SUBSCRIBE/NOTIFY), MESSAGE and calls. Methods that
 * need a registration throw NOT_REGISTERED without one; register() reports protocol failures (403, MAC
 * failure, abandoned agreement) in its result instead of throwing. {@link UeClient.close} wipes its keys.
 *
 * @example
 * ```ts
 * await init();
 * const ue = await UeClient.start({
 *   net, address: '10.0.0.2', impi: 'alice@ims.example', impu: 'sip:alice@ims.example', realm: 'ims.example',
 *   k, op, pcscf: { address: '10.0.0.1', port: pcscf.port },
 * });
 * const r = await ue.register();               // 200 once the SAs are up
 * console.log(r.status, r.set?.alg, r.set?.ealg);
 * ue.close();
 * ```
 */
export class UeClient {
  /** The label of this UE in ladders (UeClientOptions.name). */
  readonly name: string;
  /** The SIP element (transactions, routing, tracing) this UE runs on. */
  readonly node: SipNode;
  /** The UE's SA database (role 'ue'). */
  readonly db: SaDatabase;
  /** The security-agreement state machine (TS 33.203 7.2, the UE side). */
  readonly sec: UeSecAgree;
  /** The USIM: runs AKA on the network's challenges (TS 33.102 6.3.3). */
  readonly usim: Usim;
  /** The unprotected SIP port's socket (the initial REGISTER and its 401). */
  readonly unprotected: DatagramSocket;
  /** The packet processor of the protected ports (ESP on the wire, src/wire/processor.ts). */
  readonly wire: WireProcessor;
  /** The protected server port port_us (SA2 in, SA4 out), kept across re-registrations. */
  readonly portS: ProtectedPort;
  /** Received presence documents (NOTIFY bodies), newest last. */
  readonly notifications: Array<{ from: string; body: string; state: string | undefined }> = [];
  /** Called with each presence document received in a NOTIFY (after it is added to `notifications`). */
  onNotify: ((n: { from: string; body: string }) => void) | undefined;
  /** Page-mode messages received (RFC 3428), newest last, the last UE_NOTIFICATIONS_KEPT. */
  readonly messages: ReceivedMessage[] = [];
  /** Called with each page-mode MESSAGE received (RFC 3428; after it is added to `messages`). */
  onMessage: ((m: ReceivedMessage) => void) | undefined;
  /** Decides on an incoming call (default: accept without SDP); the UE sends 180, then the answer. */
  onInvite: ((call: Call) => InviteAnswer | Promise<InviteAnswer>) | undefined;
  /** Calls under way, by Call-ID and local tag. */
  readonly #calls = new Map<string, CallEntry>();
  /** Incoming INVITEs not yet answered finally, by server transaction (for CANCEL, RFC 3261 9.2). */
  readonly #invitesIn = new Map<string, CallEntry>();
  /** Registration changes (see UeEvents). */
  readonly events: UeEvents = {};
  readonly #subscriptions = new Map<string, UeSubscription>();
  #regChain: Promise<void> = Promise.resolve();
  /** Call-IDs of this registration's reg-event subscriptions (a NOTIFY may come before the 200). */
  readonly #regDialogs = new Set<string>();
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  #recovering = false;
  /** The UE's own de-REGISTER is under way (reg-event "terminated" is its echo, not the network's act). */
  #deregistering = false;
  #closed = false;
  /** P-Access-Network-Info for the next REGISTER: change it when the UE moves to another access network. */
  accessNetworkInfo: string | undefined;
  readonly #o: UeClientOptions;
  readonly #clientPorts = new Map<number, ProtectedPort>();
  readonly #wires: AttachedWire[] = [];
  #nextClient: ProtectedPort | undefined;
  #callId: string;
  readonly #tag = newTag();
  readonly #instance: string;
  /** Service-Route of the last 200 to a REGISTER (RFC 3608), used as preloaded route (TS 24.229 5.1.2A.1). */
  #serviceRoute: string[] = [];
  #cseq = 1;
  #auth: { challenge: AkaChallenge; res: Uint8Array; nc: number } | undefined;

  private constructor(o: UeClientOptions, un: DatagramSocket, us: DatagramSocket) {
    // The USIM keeps K and OP/OPc (in WASM memory); the client keeps no reference to the caller's arrays.
    const { op: _op, opc: _opc, ...rest } = o;
    this.#o = { ...rest, k: new Uint8Array(0) };
    this.accessNetworkInfo = o.accessNetworkInfo;
    this.name = o.name ?? `UE ${o.impu}`;
    this.unprotected = un;
    this.db = new SaDatabase({
      role: 'ue', softLimit: o.softLimit,
      // New keys before a sequence number could cycle (RFC 4303 3.3.3): a new registration, after the
      // packet that reached the limit has gone (not inside the seal).
      onSoftLimit: () => { if (this.#auto) setTimeout(() => void this.#renew('soft limit'), 0); },
    });
    this.wire = new WireProcessor({ db: this.db, peerEncapPort: o.pcscf.encapPort ?? NAT_T_PORT });
    this.portS = new ProtectedPort(us, this.wire);
    const keys: MilenageKeys = { k: o.k };
    if (o.op) keys.op = o.op;
    if (o.opc) keys.opc = o.opc;
    this.usim = new Usim(keys);
    const secOpts: ConstructorParameters<typeof UeSecAgree>[0] = {
      db: this.db, key: o.impi, address: o.address, portS: us.port,
      // Only modes this UE has a wire for are offered (TS 33.203 Annex M: UDP-enc-tun behind a NAT).
      modes: wireModes(o.wire ?? [udpEncapWire()]),
      allocatePort: () => {
        if (!this.#nextClient) throw new Error('no client port prepared');
        return this.#nextClient.port;
      },
    };
    if (o.release !== undefined) secOpts.release = o.release;
    if (o.algorithms !== undefined) secOpts.algorithms = o.algorithms;
    this.sec = new UeSecAgree(secOpts);
    // Over TCP (RFC 3261 18.1.1) the unprotected REGISTERs larger than 1300 octets go to the P-CSCF when the
    // UE has a stream network; protected SIP stays on the SAs' UDP (TCP inside the SAs needs the kernel path).
    const tcp = o.tcp ? { ...o.tcp, upgrade: (a: string, p: number) => a === o.pcscf.address && p === o.pcscf.port } : undefined;
    this.node = new SipNode(this.name, { tracer: o.tracer, timers: o.timers, names: o.names, traceReceived: o.traceReceived, tcp });
    // What this UE answers as a UAS (RFC 3261 8.2.2): NOTIFY, calls and messages; Require: 100rel (RFC 3262).
    this.node.supported({ methods: UE_ALLOW.split(', '), require: ['100rel'] });
    this.#callId = newCallId(o.address);
    this.#instance = o.instanceId ?? `urn:uuid:${globalThis.crypto.randomUUID()}`;
    un.onMessage((d) => this.node.receive(d.data, { kind: 'plain', socket: un, address: d.address, port: d.port }));
    this.#listen(this.portS);
    this.node.onRequest((i) => {
      // Every request reaches a UE only over its SAs (TS 33.203 7.1): calls, messages and NOTIFYs (presence
      // and reg event, whose "terminated" would end the registration) in clear are dropped.
      if (i.route.kind !== 'protected') return;
      this.#incoming(i.request, i.respond);
    });
    // A port_uc lives as long as a set that uses it (or the offer it was bound for).
    this.db.on((set, event) => {
      if (event !== 'deleted' && event !== 'expired') return;
      const port = set.ue.portC;
      const p = this.#clientPorts.get(port);
      if (p === undefined || p === this.#nextClient) return;
      if (this.db.sets(set.key).some((x) => x.ue.portC === port)) return;
      this.#clientPorts.delete(port);
      p.close();
    });
  }

  /**
   * Binds the UE's unprotected port and its protected server port port_us, and attaches its wires; rejects
   * with the network's error (e.g. INVALID_ARGUMENT for a port in use, from NodeUdpNetwork) and leaves
   * nothing bound. Registration is a separate step: {@link UeClient.register}.
   */
  static async start(options: UeClientOptions): Promise<UeClient> {
    // Addresses in one text form from here on (IPv6 canonical, RFC 5952): SAs and SIP compare them by value.
    const o: UeClientOptions = { ...options, address: normalizeAddress(options.address), pcscf: { ...options.pcscf, address: normalizeAddress(options.pcscf.address) } };
    const un = await o.net.bind(o.address, o.port ?? 0);
    let us: DatagramSocket;
    try {
      us = await o.net.bind(o.address, 0);
    } catch (e) {
      un.close();
      throw e;
    }
    const ue = new UeClient(o, un, us);
    try {
      for (const w of o.wire ?? [udpEncapWire()]) ue.#wires.push(await w.attach({ processor: ue.wire, net: o.net, address: o.address, role: 'ue' }));
      await ue.#protectedTcp();
    } catch (e) {
      ue.close();
      throw e;
    }
    return ue;
  }

  /**
   * TCP inside the SAs, where a wire has a kernel path (a TUN device): port_us accepts connections from the
   * P-CSCF's port_pc (SA2 in, SA4 out), and requests over 1300 octets go on a connection from port_uc to
   * port_ps (SA1 out, SA3 in); connections close with their set (TS 33.203 7.1).
   */
  async #protectedTcp(): Promise<void> {
    const net = this.#wires.find((w) => w.streams !== undefined)?.streams;
    if (net === undefined) return;
    await this.node.serveProtectedStreams({ net, ...(this.#o.tcp?.limits ? { limits: this.#o.tcp.limits } : {}), db: this.db, address: this.#o.address, port: this.portS });
  }

  /** The local encapsulation port of the UDP-enc-tun wire (port_Uenc before any NAT), if there is one. */
  get encapPort(): number | undefined {
    return this.#wires.find((w) => w.encapPort !== undefined)?.encapPort;
  }

  #listen(p: ProtectedPort): void {
    p.onSip((sip, sa) => {
      const answer = sa.set.sas.find((s) => s.direction === 'outbound' && s.srcPort === sa.dstPort && s.dstPort === sa.srcPort)!;
      this.node.receive(sip, { kind: 'protected', port: p, sa: answer });
    });
  }

  /** Binds the next protected client port (port_uc) before an offer is made. */
  async #prepareClientPort(): Promise<void> {
    if (this.#nextClient) return;
    const p = new ProtectedPort(await this.#o.net.bind(this.#o.address, 0), this.wire);
    this.#listen(p);
    this.#clientPorts.set(p.port, p);
    this.#nextClient = p;
  }

  #consumeClientPort(): void {
    this.#nextClient = undefined;
  }

  #dropUnusedClientPort(): void {
    const p = this.#nextClient;
    if (p) {
      this.#clientPorts.delete(p.port);
      p.close();
      this.#nextClient = undefined;
    }
  }

  /** The established SA set, or undefined when not registered. */
  get current(): SaSet | undefined {
    return this.#auth === undefined ? undefined : this.sec.current;
  }

  /** Whether the UE is registered (an established set and the credentials to use it). */
  get registered(): boolean {
    return this.current !== undefined;
  }

  /** Open protected client ports (port_uc), for tests that check nothing leaks. */
  get clientPorts(): number {
    return this.#clientPorts.size;
  }

  #autoOn: boolean | undefined;

  get #auto(): boolean {
    return (this.#autoOn ?? this.#o.autoRefresh !== false) && !this.#closed;
  }

  /**
   * Turns the automatic behaviour (UeClientOptions.autoRefresh) on or off from now on; off also stops the
   * refresh and keep-alive timers (an application about to de-register for good, a test tool).
   */
  setAutoRefresh(on: boolean): void {
    this.#autoOn = on;
    if (on) return;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    if (this.#keepAliveTimer) clearInterval(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
    for (const sub of this.#subscriptions.values()) if (sub.timer) { clearTimeout(sub.timer); sub.timer = undefined; }
  }

  /** After a successful (re-)registration: the next refresh, the reg subscription, the keep-alive. */
  #registeredFor(seconds: number, initial: boolean): void {
    if (!this.#auto) return;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = unrefTimer(setTimeout(() => void this.#refresh(), refreshDelaySeconds(seconds) * 1000));
    if (initial && ![...this.#subscriptions.values()].some((x) => x.event === 'reg')) void this.#subscribeReg();
    const every = this.#o.keepAliveMs ?? 0;
    if (every > 0 && this.#keepAliveTimer === undefined) {
      this.#keepAliveTimer = setInterval(() => void this.#keepAlive(), every);
      (this.#keepAliveTimer as { unref?: () => void }).unref?.();
    }
  }

  async #refresh(): Promise<void> {
    this.#refreshTimer = undefined;
    if (!this.#auto || this.current === undefined) return;
    const r = await this.reRegister().catch((e: Error) => ({ status: 0, reason: e.message, detail: e.message }) as RegistrationResult);
    if (r.status >= 200 && r.status < 300) return;
    this.events.refreshFailed?.({ what: 're-registration', detail: r.detail ?? r.reason });
    await this.#renew(`re-registration failed (${r.status})`);
  }

  /** A new initial registration (new AKA, new SAs), then the subscriptions again. */
  async #renew(why: string): Promise<void> {
    if (!this.#auto || this.#recovering) return;
    this.#recovering = true;
    try {
      const r = await this.register().catch((e: Error): RegistrationResult => ({ status: 0, reason: 'registration failed', detail: e.message }));
      if (r.status < 200 || r.status >= 300) {
        this.events.refreshFailed?.({ what: `registration (${why})`, detail: r.detail ?? r.reason });
        return;
      }
      for (const sub of [...this.#subscriptions.values()]) {
        if (sub.event !== 'presence') continue;
        this.#subscriptions.delete(sub.callId);
        if (sub.timer) clearTimeout(sub.timer);
        await this.subscribe(sub.target, sub.expires).catch((e: Error) => this.events.refreshFailed?.({ what: 'subscription', detail: e.message }));
      }
    } finally {
      this.#recovering = false;
    }
  }

  /** The P-CSCF no longer answers over the SAs (restarted, or gone): the registration is lost. */
  #lost(why: string): void {
    if (this.current === undefined) return;
    this.#endRegistration();
    this.events.deregistered?.({ by: 'lost', reason: why });
    if (this.#auto) setTimeout(() => void this.#renew(why), 0);
  }

  #probing = false;

  /**
   * Something went unanswered over the SAs: a re-REGISTER over them decides (one lost request, or a busy
   * network, is not a lost P-CSCF; a re-REGISTER that gets no answer either is, and #overSet says so).
   */
  async #probe(why: string): Promise<void> {
    if (this.#probing || this.#recovering || this.current === undefined || !this.#auto) return;
    this.#probing = true;
    try {
      await this.reRegister().catch(() => undefined);
    } finally {
      this.#probing = false;
    }
    void why;
  }

  async #keepAlive(): Promise<void> {
    const set = this.current;
    if (set === undefined || this.#recovering) return;
    const timeout = this.#o.keepAliveTimeoutMs ?? 2000;
    // OPTIONS to the P-CSCF itself (RFC 3261 11): it answers without the core, so what is tested is exactly
    // whether the P-CSCF still holds these SAs.
    const pcscf = `sip:${hostPort(this.#o.pcscf.address, set.pcscf.portS)}`;
    const req = makeRequest({
      method: 'OPTIONS', uri: pcscf, from: `<${this.#o.impu}>;tag=${newTag()}`, to: `<${pcscf}>`,
      callId: newCallId(this.#o.address), cseq: 1, via: `SIP/2.0/UDP ${hostPort(this.#o.address, this.portS.port)};rport;branch=${newBranch()}`,
      headers: [['Security-Verify', this.sec.securityVerify().join(', ')], ['Require', 'sec-agree'], ['Proxy-Require', 'sec-agree']],
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answered = await Promise.race([
      this.node.request(req, this.#sa1(set)).then(() => true, () => false),
      new Promise<boolean>((resolve) => { timer = unrefTimer(setTimeout(() => resolve(false), timeout)); }),
    ]);
    if (timer) clearTimeout(timer);
    if (!answered && this.current === set) void this.#probe(`no answer over the SAs within ${timeout} ms`);
  }

  /** SUBSCRIBE to this UE's own registration state (TS 24.229 5.1.1.3). */
  async #subscribeReg(): Promise<void> {
    try {
      const res = await this.#subscribeDialog('reg', this.#o.impu, 600_000, [['Accept', REGINFO_CONTENT_TYPE]]);
      if (res.status >= 300) this.events.refreshFailed?.({ what: 'reg subscription', detail: `${res.status} ${res.reason}` });
    } catch (e) {
      this.events.refreshFailed?.({ what: 'reg subscription', detail: (e as Error).message });
    }
  }

  /**
   * A new SUBSCRIBE dialog (or, for `existing`, its refresh in the dialog: same Call-ID and tags, the
   * route set, CSeq + 1), scheduled for refresh before it expires.
   */
  async #subscribeDialog(event: 'presence' | 'reg', target: string, expires: number, headers: Array<[string, string]>, existing?: UeSubscription): Promise<SipResponse> {
    const set = this.current;
    if (!set) throw new Ipsec3gppError('NOT_REGISTERED', 'SUBSCRIBE: not registered');
    const d = existing;
    const req = makeRequest({
      method: 'SUBSCRIBE', uri: d?.remoteTarget ?? target,
      from: `<${this.#o.impu}>;tag=${d?.localTag ?? newTag()}`, to: d ? `<${target}>;tag=${d.remoteTag}` : `<${target}>`,
      callId: d?.callId ?? newCallId(this.#o.address), cseq: d ? ++d.cseq : 1,
      via: `SIP/2.0/UDP ${hostPort(this.#o.address, this.portS.port)};rport;branch=${newBranch()}`,
      headers: [
        ...(d ? d.routeSet.map((r) => ['Route', r] as [string, string]) : this.#preloadedRoute(set)),
        ['Event', event], ['Expires', String(expires)], ['Contact', `<${this.#contactUri()}>`], ...headers,
        ['Security-Verify', this.sec.securityVerify().join(', ')], ['Require', 'sec-agree'], ['Proxy-Require', 'sec-agree'], ...(this.#o.faults?.extraHeaders ?? []),
      ],
    });
    if (event === 'reg') this.#regDialogs.add(req.headers.get('call-id')!);
    let res: SipResponse;
    this.db.beginTransaction(set); // the set stays until the answer is in, even if a newer one takes over
    try {
      res = await this.node.request(req, this.#sa1(set));
    } catch (e) {
      void this.#probe(`no answer to SUBSCRIBE over the SAs (${(e as Error).message})`);
      throw e;
    } finally {
      this.db.endTransaction(set);
    }
    const callId = req.headers.get('call-id')!;
    if (res.status >= 200 && res.status < 300 && expires > 0) {
      const granted = Number(res.headers.get('expires') ?? expires);
      const sub: UeSubscription = d ?? {
        event, target, callId, localTag: headerParam(req.headers.get('from')!, 'tag')!, remoteTag: headerParam(res.headers.get('to') ?? '', 'tag') ?? '',
        remoteTarget: (() => { try { return addressUri(res.headers.get('contact') ?? `<${target}>`); } catch { return target; } })(),
        // The UAC's route set: the Record-Route of the 2xx, reversed (RFC 3261 12.1.2).
        routeSet: res.headers.values('record-route').reverse(), cseq: 1, expires: granted,
      };
      sub.expires = granted;
      if (sub.timer) clearTimeout(sub.timer);
      if (this.#auto && granted > 0) {
        sub.timer = unrefTimer(setTimeout(() => {
          sub.timer = undefined;
          if (this.current === undefined || this.#subscriptions.get(callId) !== sub) return;
          this.#subscribeDialog(sub.event, sub.target, sub.expires, headers, sub).then((r) => {
            if (r.status >= 300) {
              this.#subscriptions.delete(callId);
              this.events.refreshFailed?.({ what: `${sub.event} re-subscription`, detail: `${r.status} ${r.reason}` });
            }
          }, () => { /* #lost took over */ });
        }, refreshDelaySeconds(granted) * 1000));
      }
      this.#subscriptions.set(callId, sub);
    } else if (d && (res.status >= 300 || expires === 0)) {
      this.#subscriptions.delete(callId);
    }
    return res;
  }

  /**
   * A reg-event NOTIFY (RFC 3680): the network ended this UE's registration (TS 24.229 5.1.1.7) or asks it
   * to re-authenticate (contact "shortened", 5.1.1.6).
   */
  #regState(info: RegInfo): void {
    const me = identityKey(this.#contactUri());
    const aor = identityKey(this.#o.impu);
    for (const reg of info.registrations) {
      if (identityKey(reg.aor) !== aor) continue;
      const mine = reg.contacts.find((c) => identityKey(c.uri) === me);
      const ended = reg.state === 'terminated' || mine?.state === 'terminated';
      // The network's "terminated" for this UE's own de-REGISTER can overtake its 200: that one ends it.
      if (ended && this.current !== undefined && !this.#deregistering) {
        const event = mine?.event ?? 'deactivated';
        this.#endRegistration();
        this.events.deregistered?.({ by: 'network', reason: event });
        // "deactivated": register again at once; "rejected": do not (TS 24.229 5.1.1.7).
        if (event === 'deactivated' && this.#auto) setTimeout(() => void this.#renew('network-initiated de-registration'), 0);
      } else if (mine?.state === 'active' && mine.event === 'shortened' && this.#auto) {
        setTimeout(() => void this.reRegister().then((r) => {
          if (r.status < 200 || r.status >= 300) void this.#renew('re-authentication failed');
        }, () => void this.#renew('re-authentication failed')), 0);
      }
    }
  }

  /** The established set; throws NOT_REGISTERED when there is none. */
  #registeredSet(what: string): SaSet {
    const set = this.current;
    if (set === undefined) throw new Ipsec3gppError('NOT_REGISTERED', `${what}: not registered`);
    return set;
  }

  /** The registration is over: no established or temporary set, no credentials; every set goes. */
  #endRegistration(): void {
    this.sec.deregistered();
    this.#auth = undefined;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    this.#regDialogs.clear();
    // Dialogs end with the registration; presence subscriptions are remembered for a re-registration.
    for (const [id, sub] of this.#subscriptions) {
      if (sub.timer) clearTimeout(sub.timer);
      sub.timer = undefined;
      if (sub.event === 'reg' || !this.#auto) this.#subscriptions.delete(id);
    }
    for (const set of [...this.db.sets(this.#o.impi)]) this.db.deleteWhenIdle(set);
    this.#dropUnusedClientPort();
  }

  /**
   * The UE's protected port with this number (port_us, or a port_uc of a live set), e.g. for a test tool
   * that sends raw datagrams from it.
   */
  protectedPort(port: number): ProtectedPort | undefined {
    return port === this.portS.port ? this.portS : this.#clientPorts.get(port);
  }

  /** The contact URI: the UE's address and protected server port (port_us). */
  #contactUri(): string {
    const user = this.#o.impu.replace(/^sips?:/, '').split('@')[0];
    return `sip:${user}@${hostPort(this.#o.address, this.portS.port)}`;
  }

  #contact(expires: number): string {
    return `<${this.#contactUri()}>;expires=${expires};+sip.instance="<${this.#instance}>";reg-id=1`;
  }

  /**
   * The expiry the registrar granted to this UE's contact: its own Contact entry in the 200 (RFC 3261
   * 10.2.4; the 200 lists every contact of the IMPU), else the Expires header, else what was asked.
   */
  #granted(res: SipResponse, asked: number): number {
    const mine = identityKey(this.#contactUri());
    for (const c of res.headers.values('contact')) {
      let uri: string;
      try {
        uri = addressUri(c);
      } catch {
        continue;
      }
      if (identityKey(uri) !== mine) continue;
      const e = headerParam(c, 'expires');
      if (e !== undefined && /^\d{1,10}$/.test(e)) return Number(e);
    }
    const h = res.headers.get('expires');
    if (h !== undefined && /^\d{1,10}$/.test(h.trim())) return Number(h);
    return asked;
  }

  /** The Service-Route of a 200 to a REGISTER becomes the preloaded route of later requests. */
  #storeServiceRoute(res: SipResponse): void {
    this.#serviceRoute = res.headers.values('service-route');
  }

  /** The preloaded Route of a request over `set` (TS 24.229 5.1.2A.1.1): the P-CSCF's protected server port, then the Service-Route. */
  #preloadedRoute(set: SaSet): Array<[string, string]> {
    return [`<sip:${hostPort(this.#o.pcscf.address, set.pcscf.portS)};lr>`, ...this.#serviceRoute].map((r) => ['Route', r] as [string, string]);
  }

  /** The Service-Route stored from the last registration (empty when none). */
  get serviceRoute(): readonly string[] {
    return this.#serviceRoute;
  }

  #register(o: { via: DatagramSocket; expires: number; securityClient?: string | undefined; securityVerify?: string[] | undefined; authorization: string }): SipRequest {
    const headers: Array<[string, string]> = [
      ['Contact', this.#contact(o.expires)],
      ['Authorization', o.authorization],
      ['Require', 'sec-agree'],
      ['Proxy-Require', 'sec-agree'],
      ['Supported', 'path, sec-agree, outbound'],
    ];
    if (o.securityClient) headers.push(['Security-Client', o.securityClient]);
    for (const v of o.securityVerify ?? []) headers.push(['Security-Verify', v]);
    if (this.accessNetworkInfo) headers.push(['P-Access-Network-Info', this.accessNetworkInfo]);
    headers.push(...(this.#o.faults?.extraHeaders ?? []));
    headers.push(['Expires', String(o.expires)]);
    return makeRequest({
      method: 'REGISTER', uri: `sip:${this.#o.realm}`,
      from: `<${this.#o.impu}>;tag=${this.#tag}`, to: `<${this.#o.impu}>`,
      callId: this.#callId, cseq: this.#cseq++,
      // Over the SAs the sent-by port is the protected server port port_us (TS 34.229-1 A.1.1), where
      // requests to this UE arrive; in clear, the unprotected port.
      via: `SIP/2.0/UDP ${hostPort(o.via.address, o.via === this.unprotected ? o.via.port : this.portS.port)};rport;branch=${newBranch()}`,
      headers,
    });
  }

  #plainToPcscf(): Route {
    return { kind: 'plain', socket: this.unprotected, address: this.#o.pcscf.address, port: this.#o.pcscf.port };
  }

  /** SA1 of `set`: from port_uc to port_ps. */
  #sa1(set: SaSet): Route {
    const sa = set.sa('SA1');
    return { kind: 'protected', port: this.#clientPorts.get(sa.srcPort)!, sa };
  }

  #authorization(c: AkaChallenge, res: Uint8Array, nc: number): string {
    return akaAuthorization({ username: this.#o.impi, uri: `sip:${this.#o.realm}`, method: 'REGISTER', challenge: c, outcome: { res }, nc });
  }

  /**
   * The initial registration (SM1 ... SM12). Resolves with the final status; never throws for protocol
   * outcomes (403, abandon, MAC failure): they come back as a result with a reason.
   */
  register(): Promise<RegistrationResult> {
    return this.#serial(() => this.#registerNow());
  }

  /**
   * One REGISTER procedure at a time (TS 24.229 5.1.1: a UE has one registration with one Security-Client
   * offer in play): an application's call and an automatic refresh that meet wait for each other.
   */
  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#regChain.then(f, f);
    this.#regChain = run.then(() => undefined, () => undefined);
    return run;
  }

  async #registerNow(): Promise<RegistrationResult> {
    await this.#prepareClientPort();
    const expires = this.#o.expires ?? 600;
    let offer = this.sec.offer();
    let authorization = initialAuthorization({ username: this.#o.impi, realm: this.#o.realm, uri: `sip:${this.#o.realm}` });
    for (let round = 0; round < 3; round++) {
      let res: SipResponse;
      try {
        res = await this.node.request(this.#register({ via: this.unprotected, expires, securityClient: offer.securityClient, authorization }), this.#plainToPcscf());
      } catch (e) {
        // No answer at all (Timer F): an outcome like any other, not an exception.
        this.sec.failed();
        this.#dropUnusedClientPort();
        return { status: 408, reason: 'Request Timeout', detail: (e as Error).message };
      }
      if (res.status !== 401) {
        this.sec.failed();
        return { status: res.status, reason: res.reason, detail: res.headers.get('warning') ?? res.reason };
      }
      const step = await this.#answerChallenge(res, () => this.#plainToPcscf(), this.unprotected, expires, offer.securityClient);
      if (step.kind === 'done') {
        // An abandoned registration (no usable Security-Server) starts over with a new Call-ID next time.
        if (step.result.status === 0) this.#newCallId();
        if (step.result.set) {
          this.#registeredFor((step.result.set.expiresAt - Date.now()) / 1000 - 30, true);
          this.events.registered?.(step.result.set);
        }
        return step.result;
      }
      if (step.kind === 'retry') {
        await this.#prepareClientPort();
        offer = this.sec.offer();
        authorization = step.authorization;
      }
    }
    return { status: 0, reason: 'registration abandoned', detail: 'too many challenges' };
  }

  #newCallId(): void {
    this.#callId = newCallId(this.#o.address);
    this.#cseq = 1;
  }

  /** Handles a 401: USIM, security agreement, and the protected REGISTER over the new temporary set. */
  async #answerChallenge(res: SipResponse, plainRoute: () => Route, via: DatagramSocket, expires: number, securityClient: string): Promise<{ kind: 'done'; result: RegistrationResult } | { kind: 'retry'; authorization: string }> {
    const challenge = parseAkaChallenge(res.headers.get('www-authenticate') ?? '');
    const r = this.usim.authenticate(challenge.rand, challenge.autn);
    if (r.result === 'mac-failure') {
      // TS 24.229 5.1.1.5.3: an empty response, no auts, a new Security-Client, no temporary SAs.
      this.sec.failed();
      await this.#prepareClientPort();
      const offer = this.sec.offer();
      const a = akaAuthorization({ username: this.#o.impi, uri: `sip:${this.#o.realm}`, method: 'REGISTER', challenge, outcome: 'mac-failure' });
      const answer = await this.node.request(this.#register({ via, expires, securityClient: offer.securityClient, authorization: a }), plainRoute());
      this.sec.failed();
      this.#dropUnusedClientPort();
      return { kind: 'done', result: { status: answer.status, reason: answer.reason, detail: 'the USIM could not authenticate the network (MAC failure)' } };
    }
    if (r.result === 'sync-failure') {
      this.sec.failed();
      const a = akaAuthorization({ username: this.#o.impi, uri: `sip:${this.#o.realm}`, method: 'REGISTER', challenge, outcome: { auts: r.auts } });
      return { kind: 'retry', authorization: a };
    }
    let set: SaSet;
    let securityVerify: string[];
    try {
      const c = this.sec.challenge({ securityServer: res.headers.getAll('security-server'), ck: r.ck, ik: r.ik, pcscfAddress: this.#o.pcscf.address });
      set = c.set;
      securityVerify = c.securityVerify;
    } catch (e) {
      this.#dropUnusedClientPort();
      return { kind: 'done', result: { status: 0, reason: 'registration abandoned', detail: (e as Error).message } };
    }
    this.#consumeClientPort();
    const answerRes = this.#o.faults?.wrongRes ? r.res.map((b, i) => (i === 0 ? b ^ 1 : b)) : r.res;
    const authorization = this.#authorization(challenge, answerRes, 1);
    const verify = this.#o.faults?.securityVerify ? this.#o.faults.securityVerify(securityVerify) : securityVerify;
    const sm7 = this.#register({ via: this.#clientPorts.get(set.ue.portC)!.socket, expires, securityClient, securityVerify: verify, authorization });
    let final: SipResponse;
    try {
      final = await this.node.request(sm7, this.#sa1(set));
    } catch (e) {
      this.sec.failed();
      return { kind: 'done', result: { status: 408, reason: 'Request Timeout', detail: `no answer to the protected REGISTER (${(e as Error).message})` } };
    }
    if (final.status >= 200 && final.status < 300 && expires === 0) {
      // A challenged de-registration, answered over the new temporary set: the registration is over.
      this.#endRegistration();
      return { kind: 'done', result: { status: final.status, reason: final.reason } };
    }
    if (final.status >= 200 && final.status < 300) {
      const granted = this.#granted(final, expires);
      this.#storeServiceRoute(final);
      const established = this.sec.registered(granted);
      this.db.peerUsed(established); // the 200 OK came over the new set
      this.#auth = { challenge, res: r.res, nc: 1 };
      return { kind: 'done', result: { status: final.status, reason: final.reason, set: established } };
    }
    this.sec.failed();
    return { kind: 'done', result: { status: final.status, reason: final.reason, detail: final.headers.get('warning') ?? final.reason } };
  }

  /**
   * Re-registration over the established set (a 200 keeps it; a 401 builds a new set; a synchronisation
   * failure is reported over the same set and answered by a fresh challenge). Throws NOT_REGISTERED when
   * not registered.
   */
  async reRegister(): Promise<RegistrationResult> {
    this.#registeredSet('re-registration');
    return this.#serial(async () => this.#overSet(this.#registeredSet('re-registration'), this.#o.expires ?? 600));
  }

  /**
   * De-registration (expires 0) over the established set. A challenge to it is answered over a new
   * temporary set. Once answered (or timed out) the UE is not registered and its sets are gone; a refusal
   * (4xx other than 401, 5xx, 6xx) leaves the registration as it was. Throws NOT_REGISTERED when not
   * registered.
   */
  async deregister(): Promise<RegistrationResult> {
    this.#registeredSet('de-registration');
    return this.#serial(async () => {
      this.#deregistering = true;
      try {
        return await this.#overSet(this.#registeredSet('de-registration'), 0);
      } finally {
        this.#deregistering = false;
      }
    });
  }

  /** A REGISTER over the established set with a fresh Security-Client, and what follows from its answer. */
  async #overSet(set: SaSet, expires: number): Promise<RegistrationResult> {
    await this.#prepareClientPort();
    let offer = this.sec.offer();
    let authorization: string | undefined;
    for (let round = 0; round < 3; round++) {
      let res: SipResponse;
      try {
        res = await this.#registerOverSet(set, expires, offer.securityClient, authorization);
      } catch (e) {
        this.sec.failed();
        this.#dropUnusedClientPort();
        // TS 24.229 5.1.1.6: a de-registration that gets no answer still ends the registration at the UE;
        // a re-registration without an answer means the P-CSCF lost the SAs.
        if (expires === 0) this.#endRegistration();
        else this.#lost(`no answer to the re-REGISTER over the SAs (${(e as Error).message})`);
        return { status: 408, reason: 'Request Timeout', detail: (e as Error).message };
      }
      if (res.status >= 200 && res.status < 300) {
        if (expires === 0) {
          this.#endRegistration();
          this.events.deregistered?.({ by: 'ue', reason: 'de-registered' });
          return { status: res.status, reason: res.reason };
        }
        this.#storeServiceRoute(res);
        const granted = this.#granted(res, expires);
        if (this.current !== set) {
          // The registration ended while this re-REGISTER was under way (the network said so, say).
          this.#dropUnusedClientPort();
          return { status: 0, reason: 'registration ended meanwhile', detail: 'the registration ended before the 200 arrived' };
        }
        this.sec.registeredWithoutChallenge(granted);
        this.#dropUnusedClientPort();
        this.#registeredFor(granted, false);
        return { status: res.status, reason: res.reason, set };
      }
      if (res.status !== 401) {
        this.sec.failed();
        this.#dropUnusedClientPort();
        return { status: res.status, reason: res.reason, detail: res.headers.get('warning') ?? res.reason };
      }
      const step = await this.#answerChallenge(res, () => this.#sa1(set), this.#clientPorts.get(set.ue.portC)!.socket, expires, offer.securityClient);
      if (step.kind === 'done') {
        if (step.result.set) this.#registeredFor((step.result.set.expiresAt - Date.now()) / 1000 - 30, false);
        return step.result;
      }
      // Resynchronisation (TS 24.229 5.1.1.5.3): AUTS over the same set, with a new Security-Client.
      if (set.state === 'deleted') return { status: 0, reason: 'registration lost', detail: 'the SA set went during resynchronisation' };
      await this.#prepareClientPort();
      offer = this.sec.offer();
      authorization = step.authorization;
    }
    this.sec.failed();
    this.#dropUnusedClientPort();
    return { status: 0, reason: 'registration abandoned', detail: 'too many challenges' };
  }

  /** A REGISTER over SA1 of the established set (re- or de-registration), counted as a transaction on it. */
  async #registerOverSet(set: SaSet, expires: number, securityClient: string | undefined, authorization?: string): Promise<SipResponse> {
    const auth = this.#auth!;
    auth.nc++;
    const req = this.#register({ via: this.#clientPorts.get(set.ue.portC)!.socket, expires, securityClient, securityVerify: this.sec.securityVerify(), authorization: authorization ?? this.#authorization(auth.challenge, auth.res, auth.nc) });
    this.db.beginTransaction(set);
    try {
      return await this.node.request(req, this.#sa1(set));
    } finally {
      this.db.endTransaction(set);
    }
  }

  #protectedRequest(method: string, uri: string, to: string, headers: Array<[string, string]>, body?: { type: string; data: string }): Promise<SipResponse> {
    const set = this.current;
    if (!set) return Promise.reject(new Ipsec3gppError('NOT_REGISTERED', `${method}: not registered`));
    const req = makeRequest({
      method, uri, from: `<${this.#o.impu}>;tag=${newTag()}`, to: `<${to}>`,
      callId: newCallId(this.#o.address), cseq: 1,
      via: `SIP/2.0/UDP ${hostPort(this.#o.address, this.portS.port)};rport;branch=${newBranch()}`,
      headers: [...this.#preloadedRoute(set), ...headers, ['Security-Verify', this.sec.securityVerify().join(', ')], ['Require', 'sec-agree'], ['Proxy-Require', 'sec-agree'], ...(this.#o.faults?.extraHeaders ?? [])],
      ...(body ? { body } : {}),
    });
    // The set stays until the answer is in, even if a newer one takes over meanwhile (TS 24.229 5.1.1.4.1).
    this.db.beginTransaction(set);
    return this.node.request(req, this.#sa1(set)).then((res) => {
      this.db.endTransaction(set);
      return res;
    }, (e: unknown) => {
      this.db.endTransaction(set);
      // No answer over the SAs: the P-CSCF lost them (restart) or is gone.
      void this.#probe(`no answer to ${method} over the SAs (${(e as Error).message})`);
      throw e;
    });
  }

  /** PUBLISH a presence document (RFC 3903) for this UE's IMPU. */
  publish(pidf: string, expires = 3600): Promise<SipResponse> {
    return this.#protectedRequest('PUBLISH', this.#o.impu, this.#o.impu, [['Event', 'presence'], ['Expires', String(expires)]], { type: PIDF_CONTENT_TYPE, data: pidf });
  }

  /** SUBSCRIBE to a presentity's presence (RFC 3856). */
  subscribe(presentity: string, expires = 600): Promise<SipResponse> {
    if (this.current === undefined) return Promise.reject(new Ipsec3gppError('NOT_REGISTERED', 'SUBSCRIBE: not registered'));
    // A dialog the UE refreshes before it expires (and renews after a re-registration): RFC 6665 4.1.2.1.
    return this.#subscribeDialog('presence', presentity, expires, [['Accept', PIDF_CONTENT_TYPE]]);
  }

  /** The SUBSCRIBE dialogs in force (presence and reg), for tests and tools. */
  get subscriptions(): Array<{ event: string; target: string; expires: number }> {
    return [...this.#subscriptions.values()].map((x) => ({ event: x.event, target: x.target, expires: x.expires }));
  }

  // ---- Calls (RFC 3261 13-15, RFC 3262) and page-mode messages (RFC 3428) ----

  #t(): { t1: number; t2: number } {
    return { t1: this.#o.timers?.t1 ?? DEFAULT_TIMERS.t1, t2: this.#o.timers?.t2 ?? DEFAULT_TIMERS.t2 };
  }

  #via(): string {
    return `SIP/2.0/UDP ${hostPort(this.#o.address, this.portS.port)};rport;branch=${newBranch()}`;
  }

  /** What every request of this UE over the SAs carries (TS 24.229 5.1.1.5: Security-Verify, sec-agree). */
  #secHeaders(require: string[] = []): Array<[string, string]> {
    return [['Security-Verify', this.sec.securityVerify().join(', ')], ['Require', ['sec-agree', ...require].join(', ')], ['Proxy-Require', 'sec-agree'], ...(this.#o.faults?.extraHeaders ?? [])];
  }

  #timer(e: CallEntry, ms: number, f: () => void): void {
    const t = unrefTimer(setTimeout(() => { e.timers.delete(t); f(); }, ms));
    e.timers.add(t);
  }

  #dropCall(e: CallEntry): void {
    for (const t of e.timers) clearTimeout(t);
    e.timers.clear();
    e.awaitingAck = false;
    e.prackWait?.resolve(false);
    e.prackWait = undefined;
    if (e.inviteKey !== undefined) this.#invitesIn.delete(e.inviteKey);
    if (e.call.dialog) this.#calls.delete(dialogKey(e.call.callId, e.call.dialog.localTag));
    else this.#calls.delete(dialogKey(e.call.callId, headerParam(e.call.invite.headers.get('from')!, 'tag') ?? ''));
  }

  /** A request over SA1 of the current set, counted as a transaction on it. */
  #overSa1(req: SipRequest): Promise<SipResponse> {
    const set = this.current;
    if (!set) return Promise.reject(new Ipsec3gppError('NOT_REGISTERED', `${req.method}: not registered`));
    this.db.beginTransaction(set);
    return this.node.request(req, this.#sa1(set)).finally(() => this.db.endTransaction(set));
  }

  /**
   * Sends a page-mode MESSAGE (RFC 3428) to `to` over the SAs; resolves with its final response (200 or
   * 202 when delivered, 404 / 480 when the core cannot reach the recipient). Throws NOT_REGISTERED when
   * not registered.
   */
  message(to: string, text: string, contentType = 'text/plain'): Promise<SipResponse> {
    return this.#protectedRequest('MESSAGE', to, to, [], { type: contentType, data: text });
  }

  /**
   * Places a call to `to` (RFC 3261 13.2): an INVITE over SA1 through the P-CSCF, with `sdp` as offer if
   * given, and 100rel supported (default), required, or not offered (RFC 3262). A reliable provisional
   * response is acknowledged with PRACK; the 2xx with an ACK end to end (sent again for each 2xx
   * retransmission). Throws NOT_REGISTERED when not registered.
   */
  invite(to: string, o: { sdp?: string; rel100?: 'supported' | 'required' | 'none' } = {}): Call {
    const set = this.#registeredSet('INVITE');
    const rel = o.rel100 ?? 'supported';
    const req = makeRequest({
      method: 'INVITE', uri: to, from: `<${this.#o.impu}>;tag=${newTag()}`, to: `<${to}>`,
      callId: newCallId(this.#o.address), cseq: 1, via: this.#via(),
      headers: [
        ...this.#preloadedRoute(set), ['Contact', `<${this.#contactUri()}>`], ['Allow', UE_ALLOW],
        ...(rel === 'supported' ? [['Supported', '100rel'] as [string, string]] : []),
        ...this.#secHeaders(rel === 'required' ? ['100rel'] : []),
      ],
      ...(o.sdp !== undefined ? { body: { type: SDP, data: o.sdp } } : {}),
    });
    const call = new Call('outgoing', req, this.#callOps);
    call.localSdp = o.sdp;
    let provisional!: () => void;
    const e: CallEntry = { call, timers: new Set(), awaitingAck: false, cancelled: false, gotProvisional: new Promise<void>((r) => { provisional = r; }) };
    e.provisionalIn = provisional;
    const key = dialogKey(call.callId, headerParam(req.headers.get('from')!, 'tag')!);
    this.#calls.set(key, e);
    this.db.beginTransaction(set);
    this.node.request(req, this.#sa1(set), {
      onProvisional: (r) => this.#uacProvisional(e, r),
      onRetransmission: () => { if (e.ack && this.current) this.node.send(e.ack, this.#sa1(this.current)); },
    }).then((res) => {
      this.db.endTransaction(set);
      e.provisionalIn?.();
      if (res.status >= 200 && res.status < 300) {
        const d = uacDialog(req, res);
        if (call.dialog) d.localSeq = Math.max(d.localSeq, call.dialog.localSeq);
        call.dialog = d;
        if (isSdp(res)) call.remoteSdp = new TextDecoder().decode(res.body);
        // 13.2.2.4: the ACK to a 2xx is the UAC core's, in the dialog, with the INVITE's CSeq number.
        e.ack = inDialogRequest(d, 'ACK', { via: this.#via(), cseq: parseCSeq(req.headers.get('cseq')!).seq });
        if (this.current) this.node.send(e.ack, this.#sa1(this.current));
        call.state = 'confirmed';
        call.settle(res);
        // A 2xx that crossed our CANCEL: the call is acknowledged and ended at once (RFC 3261 9.1).
        if (e.cancelled) void call.bye().catch(() => undefined);
        return;
      }
      call.settle(res);
      call.terminate({ by: e.cancelled ? 'local' : 'remote', reason: `${res.status} ${res.reason}` });
      this.#dropCall(e);
    }, (err: Error) => {
      this.db.endTransaction(set);
      e.provisionalIn?.();
      call.fail(err);
      call.terminate({ by: 'timeout', reason: err.message });
      this.#dropCall(e);
    });
    return call;
  }

  /** A provisional response to our INVITE: early dialog, and PRACK for a reliable one (RFC 3262 4). */
  #uacProvisional(e: CallEntry, r: SipResponse): void {
    const call = e.call;
    e.provisionalIn?.();
    if (r.status === 100 || call.state === 'terminated') return;
    const toTag = headerParam(r.headers.get('to') ?? '', 'tag');
    if (toTag !== undefined && call.dialog === undefined) {
      call.dialog = uacDialog(call.invite, r);
      call.state = 'early';
    }
    const reliable = r.headers.values('require').some((t) => t.toLowerCase() === '100rel');
    const rseqText = r.headers.get('rseq')?.trim();
    if (reliable && rseqText !== undefined && /^\d{1,10}$/.test(rseqText) && call.dialog && toTag === call.dialog.remoteTag) {
      const rseq = Number(rseqText);
      // A retransmission (or an older one) is not acknowledged again (RFC 3262 4).
      if (e.lastRseq !== undefined && rseq <= e.lastRseq) return;
      e.lastRseq = rseq;
      const prack = inDialogRequest(call.dialog, 'PRACK', {
        via: this.#via(), headers: [['RAck', `${rseq} ${parseCSeq(call.invite.headers.get('cseq')!).seq} INVITE`], ...this.#secHeaders()],
      });
      void this.#overSa1(prack).then((res) => { if (res.status >= 200 && res.status < 300) call.pracks++; }, () => undefined);
    }
    if (isSdp(r)) call.remoteSdp = new TextDecoder().decode(r.body);
    call.provisional.push(r);
  }

  readonly #callOps: CallOps = {
    bye: (call) => {
      const d = call.dialog;
      if (call.state !== 'confirmed' || d === undefined) return Promise.reject(new Ipsec3gppError('SIP_TRANSACTION', `BYE: the call is ${call.state}, not confirmed`));
      const e = this.#calls.get(dialogKey(call.callId, d.localTag));
      const bye = inDialogRequest(d, 'BYE', { via: this.#via(), headers: this.#secHeaders() });
      call.terminate({ by: 'local', reason: 'BYE' });
      if (e) this.#dropCall(e);
      return this.#overSa1(bye);
    },
    cancel: async (call) => {
      const e = this.#calls.get(dialogKey(call.callId, headerParam(call.invite.headers.get('from')!, 'tag')!));
      if (call.direction !== 'outgoing' || e === undefined || (call.state !== 'calling' && call.state !== 'early')) {
        throw new Ipsec3gppError('SIP_TRANSACTION', `CANCEL: the call is ${call.state}`);
      }
      // 9.1: not before a provisional response.
      await e.gotProvisional;
      if (call.state !== 'calling' && call.state !== 'early') throw new Ipsec3gppError('SIP_TRANSACTION', `CANCEL: the call is ${call.state}`);
      e.cancelled = true;
      return this.#overSa1(buildCancel(call.invite));
    },
  };

  /** An INVITE to this UE (RFC 3261 13.3): 180 (reliable when the caller supports 100rel), then the answer. */
  async #incomingInvite(req: SipRequest, respond: (r: SipResponse) => void): Promise<void> {
    const toTag = headerParam(req.headers.get('to') ?? '', 'tag');
    const callId = req.headers.get('call-id')!;
    if (toTag !== undefined) {
      // A re-INVITE is not supported; one for no dialog of ours gets 481 (RFC 3261 12.2.2).
      const known = this.#calls.has(dialogKey(callId, toTag));
      respond(known ? makeResponse(req, 488, 'Not Acceptable Here', [['Warning', '399 ue "re-INVITE is not supported"']]) : makeResponse(req, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    if (this.current === undefined) {
      respond(makeResponse(req, 480, 'Temporarily Unavailable'));
      return;
    }
    const localTag = newTag();
    let d: Dialog;
    try {
      d = uasDialog(req, localTag);
    } catch {
      respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 ue "malformed From, To or Contact"']]));
      return;
    }
    const call = new Call('incoming', req, this.#callOps);
    call.dialog = d;
    call.state = 'early';
    if (isSdp(req)) call.remoteSdp = new TextDecoder().decode(req.body);
    const e: CallEntry = { call, timers: new Set(), awaitingAck: false, cancelled: false, respond, gotProvisional: Promise.resolve() };
    this.#calls.set(dialogKey(callId, localTag), e);
    e.inviteKey = inviteKey(req);
    this.#invitesIn.set(e.inviteKey, e);
    const tagged = (r: SipResponse): SipResponse => {
      r.headers.set('To', `${req.headers.get('to')};tag=${localTag}`);
      return r;
    };
    // Responses that make or confirm the dialog carry our Contact and the Record-Route (12.1.1).
    const answer = (status: number, reason: string, extra: Array<[string, string]> = [], sdp?: string): SipResponse => tagged(makeResponse(req, status, reason, [
      ['Contact', `<${this.#contactUri()}>`], ...req.headers.getAll('record-route').map((v) => ['Record-Route', v] as [string, string]), ...extra,
    ], sdp !== undefined ? { type: SDP, data: new TextEncoder().encode(sdp) } : undefined));
    let decision: InviteAnswer;
    try {
      decision = await (this.onInvite ? this.onInvite(call) : { accept: true });
    } catch {
      decision = { accept: false, status: 500, reason: 'Server Internal Error' };
    }
    if (call.end !== undefined) return; // cancelled meanwhile
    if (!decision.accept) {
      this.#finalIn(e, tagged(makeResponse(req, decision.status ?? 486, decision.reason ?? 'Busy Here')));
      call.terminate({ by: 'local', reason: `${decision.status ?? 486}` });
      this.#dropCall(e);
      return;
    }
    const rel = [...req.headers.values('supported'), ...req.headers.values('require')].some((t) => t.toLowerCase() === '100rel');
    const rseq = 1 + Math.floor(Math.random() * 0x7fffffff);
    const ringing = answer(180, 'Ringing', rel ? [['Require', '100rel'], ['RSeq', String(rseq)]] : []);
    respond(ringing);
    call.provisional.push(ringing);
    if (rel && !(await this.#reliably(e, ringing, rseq))) {
      if (call.end !== undefined) return;
      // RFC 3262 3: no PRACK for the reliable provisional response: the INVITE is rejected with a 5xx.
      this.#finalIn(e, tagged(makeResponse(req, 504, 'Server Time-out', [['Warning', '399 ue "no PRACK for the reliable 180"']])));
      call.terminate({ by: 'timeout', reason: 'no PRACK' });
      this.#dropCall(e);
      return;
    }
    if (call.end !== undefined) return;
    const ok = answer(200, 'OK', [['Allow', UE_ALLOW]], decision.sdp);
    call.localSdp = decision.sdp;
    this.#finalIn(e, ok);
    call.state = 'confirmed';
    // 13.3.1.4: the 2xx again at T1, 2*T1, ... up to T2 until the ACK; none within 64*T1 ends the call.
    e.awaitingAck = true;
    const { t1, t2 } = this.#t();
    let interval = t1;
    const again = (): void => {
      if (!e.awaitingAck) return;
      respond(ok);
      interval = Math.min(2 * interval, t2);
      this.#timer(e, interval, again);
    };
    this.#timer(e, interval, again);
    this.#timer(e, 64 * t1, () => {
      if (!e.awaitingAck) return;
      e.awaitingAck = false;
      const bye = inDialogRequest(d, 'BYE', { via: this.#via(), headers: this.#secHeaders() });
      call.terminate({ by: 'timeout', reason: 'no ACK for the 2xx' });
      this.#dropCall(e);
      void this.#overSa1(bye).catch(() => undefined);
    });
  }

  /** Sends a reliable provisional response until its PRACK (RFC 3262 3: T1 doubling, 64*T1 at most). */
  #reliably(e: CallEntry, r: SipResponse, rseq: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const { t1 } = this.#t();
      const start = Date.now();
      e.prackWait = { rseq, resolve };
      let interval = t1;
      const again = (): void => {
        if (e.prackWait?.rseq !== rseq) return;
        if (Date.now() - start >= 64 * t1) {
          e.prackWait = undefined;
          resolve(false);
          return;
        }
        e.respond?.(r);
        interval *= 2;
        this.#timer(e, Math.min(interval, 64 * t1 - (Date.now() - start)), again);
      };
      this.#timer(e, interval, again);
    });
  }

  #finalIn(e: CallEntry, r: SipResponse): void {
    if (e.final) return;
    e.final = true;
    if (e.inviteKey !== undefined) this.#invitesIn.delete(e.inviteKey);
    e.respond?.(r);
    e.call.settle(r);
  }

  /** ACK, BYE, CANCEL, PRACK in a call of this UE; MESSAGE. */
  #callRequest(req: SipRequest, respond: (r: SipResponse) => void): void {
    const callId = req.headers.get('call-id')!;
    const toTag = headerParam(req.headers.get('to') ?? '', 'tag') ?? '';
    const fromTag = headerParam(req.headers.get('from') ?? '', 'tag') ?? '';
    const e = this.#calls.get(dialogKey(callId, toTag));
    const d = e?.call.dialog;
    const inDialog = e !== undefined && d !== undefined && d.remoteTag === fromTag;
    const seq = parseCSeq(req.headers.get('cseq')!).seq;
    switch (req.method) {
      case 'MESSAGE': {
        const m = { from: req.headers.get('p-asserted-identity') ?? req.headers.get('from') ?? '', contentType: req.headers.get('content-type') ?? '', body: new TextDecoder().decode(req.body) };
        this.messages.push(m);
        if (this.messages.length > UE_NOTIFICATIONS_KEPT) this.messages.shift();
        respond(makeResponse(req, 200, 'OK'));
        this.onMessage?.(m);
        return;
      }
      case 'ACK':
        // The ACK to our 2xx (13.3.1.4): the retransmissions stop.
        if (inDialog && e.awaitingAck && seq === parseCSeq(e.call.invite.headers.get('cseq')!).seq) {
          e.awaitingAck = false;
          for (const t of e.timers) clearTimeout(t);
          e.timers.clear();
        }
        return;
      case 'CANCEL': {
        let k: string;
        try {
          k = inviteKey(req);
        } catch {
          respond(makeResponse(req, 400, 'Bad Request'));
          return;
        }
        const c = this.#invitesIn.get(k);
        if (c === undefined) {
          respond(makeResponse(req, 481, 'Call/Transaction Does Not Exist'));
          return;
        }
        // 9.2: 200 to the CANCEL, 487 to the INVITE.
        const ok = makeResponse(req, 200, 'OK');
        ok.headers.set('To', `${req.headers.get('to')};tag=${c.call.dialog!.localTag}`);
        respond(ok);
        const t = makeResponse(c.call.invite, 487, 'Request Terminated');
        t.headers.set('To', `${c.call.invite.headers.get('to')};tag=${c.call.dialog!.localTag}`);
        this.#finalIn(c, t);
        c.call.terminate({ by: 'remote', reason: 'CANCEL' });
        this.#dropCall(c);
        return;
      }
      case 'PRACK': {
        const rack = /^\s*(\d{1,10})\s+(\d{1,10})\s+INVITE\s*$/i.exec(req.headers.get('rack') ?? '');
        if (!inDialog || rack === null || e.prackWait === undefined || Number(rack[1]) !== e.prackWait.rseq || Number(rack[2]) !== parseCSeq(e.call.invite.headers.get('cseq')!).seq) {
          // RFC 3262 3: a PRACK that matches no unacknowledged reliable provisional response.
          respond(makeResponse(req, 481, 'Call/Transaction Does Not Exist'));
          return;
        }
        d.remoteSeq = seq;
        respond(makeResponse(req, 200, 'OK'));
        e.call.pracks++;
        const w = e.prackWait;
        e.prackWait = undefined;
        w.resolve(true);
        return;
      }
      case 'BYE':
        if (!inDialog) {
          respond(makeResponse(req, 481, 'Call/Transaction Does Not Exist'));
          return;
        }
        if (d.remoteSeq !== undefined && seq <= d.remoteSeq) {
          respond(makeResponse(req, 500, 'Server Internal Error', [['Warning', '399 ue "CSeq lower than the last one in the dialog"']]));
          return;
        }
        d.remoteSeq = seq;
        respond(makeResponse(req, 200, 'OK'));
        e.call.terminate({ by: 'remote', reason: 'BYE' });
        this.#dropCall(e);
        return;
      default:
        respond(makeResponse(req, 405, 'Method Not Allowed', [['Allow', UE_ALLOW]]));
    }
  }

  #incoming(req: SipRequest, respond: (r: SipResponse) => void): void {
    if (req.method === 'INVITE') {
      void this.#incomingInvite(req, respond);
      return;
    }
    if (req.method !== 'NOTIFY') {
      this.#callRequest(req, respond);
      return;
    }
    if (req.method === 'NOTIFY') {
      const event = (req.headers.get('event') ?? '').toLowerCase().split(';')[0]!.trim();
      const state = req.headers.get('subscription-state');
      const callId = req.headers.get('call-id') ?? '';
      if (state?.toLowerCase().startsWith('terminated')) {
        const sub = this.#subscriptions.get(callId);
        if (sub?.timer) clearTimeout(sub.timer);
        this.#subscriptions.delete(callId);
      }
      if (event === 'reg') {
        // Only this registration's own subscription speaks for it: a NOTIFY of an earlier one (e.g. the
        // "terminated" that follows a de-registration, arriving after a new registration) is not about it.
        if (!this.#regDialogs.has(callId)) {
          respond(makeResponse(req, 481, 'Subscription Does Not Exist'));
          return;
        }
        let info: RegInfo | undefined;
        try {
          info = parseReginfo(req.body);
        } catch {
          info = undefined;
        }
        // The answer leaves over the SA first; acting on the state may delete the set.
        respond(info ? makeResponse(req, 200, 'OK') : makeResponse(req, 400, 'Bad Request', [['Warning', '399 ue "not a reginfo document"']]));
        if (info) this.#regState(info);
        return;
      }
      const body = new TextDecoder().decode(req.body);
      const n = { from: req.headers.get('from') ?? '', body, state };
      this.notifications.push(n);
      if (this.notifications.length > UE_NOTIFICATIONS_KEPT) this.notifications.shift();
      respond(makeResponse(req, 200, 'OK'));
      this.onNotify?.(n);
      return;
    }
    respond(makeResponse(req, 405, 'Method Not Allowed'));
  }

  /**
   * Stops the UE without de-registering (call deregister() first for that): ends calls and timers, closes its
   * sockets and wires, deletes every SA set and wipes the USIM's keys and the RES it kept.
   */
  close(): void {
    this.#closed = true;
    for (const e of [...this.#calls.values()]) this.#dropCall(e);
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    if (this.#keepAliveTimer) clearInterval(this.#keepAliveTimer);
    for (const sub of this.#subscriptions.values()) if (sub.timer) clearTimeout(sub.timer);
    this.#subscriptions.clear();
    this.node.close();
    this.db.clear();
    this.usim.destroy();
    // RES, kept for the digest responses of re-registrations.
    this.#auth?.res.fill(0);
    this.#auth = undefined;
    this.unprotected.close();
    this.portS.close();
    for (const p of this.#clientPorts.values()) p.close();
    for (const w of this.#wires.splice(0)) w.close();
    this.wire.close();
  }
}
