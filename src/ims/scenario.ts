// The main job as a reusable scenario: a core (S-CSCF + HSS + presence server), a P-CSCF and two UEs
// (a presentity and a watcher) on one datagram network (real UDP on 127.0.0.1 for the demo, an in-memory
// network for browsers and some tests). Runs the TS 33.203 registration of both UEs, a SUBSCRIBE of the
// watcher to the presentity, and PUBLISHes of location-bearing PIDF documents, each turned into a NOTIFY;
// with `session`, a page-mode MESSAGE and a call (INVITE, 180, 200, ACK, BYE) from the presentity to the
// watcher through the P-CSCF and the S-CSCF; everything after the 401s travels protected by ESP. Collects the ladder, the SAs and the figures.
//
// What the network keeps of its traffic is bounded and free of AKA secrets: the last `record` SIP messages
// (`trace`) and datagrams (`wire`), oldest dropped first, each with ck/ik/auts redacted (src/ims/redact.ts);
// `record: 0` keeps nothing and leaves the sockets unobserved. close() releases both, destroys the
// subscribers' keys in WASM memory (the HSS, the USIMs) and zeroes the K and OP copies the network held.

import { Hss } from '../aka/hss.js';
import { parseHex } from '../hex.js';
import { espSpi } from '../udp-encap.js';
import { type EncryptionAlgorithm, type IntegrityAlgorithm } from '../algorithms.js';
import { type DatagramNetwork, type WireRecord } from '../net/datagram.js';
import { type ConfidentialityMode, type PcscfPolicy } from '../secagree/pcscf.js';
import { type SaSet } from '../secagree/sadb.js';
import { type Combination, type UeRelease } from '../secagree/ue.js';
import { ImsCore } from './core.js';
import { normalizeAddress } from '../ip.js';
import { redactDatagram } from './redact.js';
import { udpEncapWire, type RoleWire } from './role-wire.js';
import { nonZeroDrops } from '../wire/counters.js';
import { type StreamNetwork } from '../net/stream.js';
import { PcscfProxy, type PcscfProxyOptions } from './pcscf-proxy.js';
import { buildPidf, pidfLocation } from './pidf.js';
import { type Confidentiality } from './confidentiality.js';
import { type PresenceAction, type PresenceRule } from './presence-rules.js';
import { type TraceEvent } from './sip-node.js';
import { UeClient, type RegistrationResult, type UeFaults } from './ue-client.js';

/**
 * One UE of a scenario ({@link runScenario}, {@link startNetwork}): its user name, Release (what it can offer),
 * access network, and optional faults for failure tests.
 */
export interface ScenarioUe {
  /** User part of the identities, e.g. "alice". */
  user: string;
  release: UeRelease;
  /** Restrict the UE's offer (default: everything its release supports). */
  algorithms?: Combination[];
  /** Access network the UE attaches over (P-Access-Network-Info access-type). */
  accessNetwork: string;
  /** For failure tests: a K that differs from the HSS's. */
  wrongKey?: boolean;
  faults?: UeFaults;
  /** UeClientOptions.autoRefresh for this UE (default: the network's `autoRefresh`, else true). */
  autoRefresh?: boolean;
}

/**
 * What {@link runScenario} sets up and runs: the network (a {@link MemoryNetwork} in browsers, NodeUdpNetwork
 * for the demo), the P-CSCF policy, the presentity and watchers, the presence rules and locations published,
 * whether to place a MESSAGE and a call (`session`), and how much traffic to keep (`record`).
 */
export interface ScenarioOptions {
  net: DatagramNetwork;
  address?: string;
  realm?: string;
  /** P-CSCF policy: mode per access network, allowed combinations. */
  policy?: PcscfPolicy;
  presentity?: ScenarioUe;
  watcher?: ScenarioUe;
  /** A second watcher of the same presentity (e.g. one without confidentiality, to show the presence rules). */
  watcher2?: ScenarioUe;
  /** The presentity's presence rules (default: DEFAULT_PRESENCE_RULES). */
  presenceRules?: PresenceRule[];
  /** Number of PUBLISHes (each yields a NOTIFY to the watcher). */
  notifies?: number;
  /**
   * After the presence story, the presentity sends the watcher one page-mode MESSAGE (RFC 3428) and calls
   * it (INVITE, 180, 200, ACK, BYE, 200; no media, no 100rel), all through the P-CSCF and the core (default false).
   */
  session?: boolean;
  pcscfPort?: number;
  /**
   * The wires of the P-CSCF and of each UE (role-wire.ts). Default: UDP-enc-tun on `net` for both, the
   * P-CSCF's encapsulation socket on `encapPort` (default 0: any free port, told to the UEs; a real
   * P-CSCF uses 4500).
   */
  pcscfWire?: RoleWire[];
  ueWire?: () => RoleWire[];
  encapPort?: number;
  /**
   * A stream network (NodeTcpNetwork from `ipsec-3gpp/node`) for SIP over TCP: the P-CSCF listens on its
   * unprotected port, and the UEs send their large unprotected REGISTERs there (RFC 3261 18.1.1).
   */
  tcp?: StreamNetwork;
  /**
   * The UEs on another host: their own networks and address (default: the network's). The demo puts them
   * in a network namespace of their own, joined to the P-CSCF's by a veth pair.
   */
  ueNet?: DatagramNetwork;
  ueTcp?: StreamNetwork;
  ueAddress?: string;
  timers?: { t1?: number; t2?: number; t4?: number };
  /** Called with each message as it is sent (AKA secrets redacted). */
  onTrace?: (e: TraceEvent) => void;
  /**
   * How many SIP messages (`trace`) and datagrams (`wire`) to keep, newest last, oldest dropped first
   * (default 1000 for startNetwork, everything for runScenario; 0 keeps nothing and taps nothing). Kept
   * records have their AKA secrets redacted; close() releases them.
   */
  record?: number;
  /** Keep SA keys for capture export (the demo's --pcap). */
  exportKeys?: boolean;
  /**
   * Whether the UEs keep their registrations up by themselves (UeClientOptions.autoRefresh: refresh,
   * reg-event subscription, recovery). Default true; tests that count messages turn it off.
   */
  autoRefresh?: boolean;
  /**
   * The P-CSCF's limits on unprotected REGISTERs and registration attempts (defaults: 10/s bursts of 50
   * per address, 2/s bursts of 10 per IMPI, 4 attempts per IMPI). All UEs of a network share its one
   * address, so load tests raise or turn off (`false`) the per-address limit.
   */
  pcscfLimits?: Pick<PcscfProxyOptions, 'unprotectedRegisterRate' | 'unprotectedRegisterRatePerImpi' | 'maxAttemptsPerImpi'>;
  /**
   * The subscribers' K and OP, as fresh copies on every call (default {@link demoKeys}). The network owns
   * what it is given: it zeroes the arrays once the HSS and the USIM hold the keys in WASM memory.
   */
  credentials?: () => { k: Uint8Array; op: Uint8Array };
}

/**
 * How one UE's registration went in a scenario: the result, the algorithms the agreement chose, and the
 * confidentiality mode the P-CSCF applied.
 */
export interface UeOutcome {
  user: string;
  registration: RegistrationResult;
  alg?: IntegrityAlgorithm;
  ealg?: EncryptionAlgorithm;
  mode: ConfidentialityMode;
}

/** The MESSAGE and the call of a scenario with `session`. */
export interface SessionOutcome {
  /** Final status of the MESSAGE (0: none), and the text the watcher received (undefined: nothing). */
  message: { status: number; received: string | undefined };
  /** Final status of the INVITE, of the BYE (0: none), and whether the ACK reached the callee. */
  call: { invite: number; bye: number; acked: boolean };
  /** Messages of the MESSAGE and the call on a UE <-> P-CSCF hop, and how many of them went inside ESP. */
  ueHops: number;
  protectedUeHops: number;
}

/**
 * Everything a scenario run produced: each UE's outcome, the locations published and received (and what the
 * presence rules let through), the ladder (`trace`) and datagrams (`wire`) with AKA secrets redacted, the SA
 * sets, and traffic figures.
 */
export interface ScenarioResult {
  ues: UeOutcome[];
  /** Locations the watcher received in NOTIFYs (undefined: a NOTIFY without location). */
  received: Array<{ lat: number; lon: number } | undefined>;
  /** The same for the second watcher, if any. */
  received2: Array<{ lat: number; lon: number } | undefined>;
  /** Each NOTIFY the presence server sent with a document: to whom, with what confidentiality, and what the rules let through. */
  decisions: Array<{ watcher: string; confidentiality: Confidentiality; action: PresenceAction; rule: number }>;
  published: Array<{ lat: number; lon: number }>;
  /** The messages sent (the last `record`), AKA secrets redacted. */
  trace: TraceEvent[];
  /** The datagrams (the last `record`), AKA secrets redacted. */
  wire: WireRecord[];
  /** Every SA set the P-CSCF created (for key export). */
  sets: SaSet[];
  names: Map<string, string>;
  /** With `session`: what became of the MESSAGE and the call, and whether every UE hop of them was inside ESP. */
  session?: SessionOutcome;
  /** Every datagram sent and its bytes as sent; of the kept `wire`, those that are ESP. */
  stats: { datagrams: number; bytes: number; protectedDatagrams: number; protectedBytes: number; dropped: Record<string, number>; retransmissions: number };
}

/**
 * The demo subscribers' USIM credentials (hex): test values, the same for every demo UE and published here
 * on purpose, like a test SIM's. Never use them for anything real.
 */
export const DEMO_CREDENTIALS = { k: 'a0b1c2d3e4f5061728394a5b6c7d8e9f', op: 'cdc202d5123e20f62b6d676ac72cb318' } as const;
/** The demo credentials as bytes (a fresh copy each call: callers may wipe or alter theirs). */
export function demoKeys(): { k: Uint8Array; op: Uint8Array } {
  return { k: parseHex(DEMO_CREDENTIALS.k, 16)!, op: parseHex(DEMO_CREDENTIALS.op, 16)! };
}

/** Places along a walk through Paris, for the location updates. */
export const DEMO_WALK: ReadonlyArray<{ lat: number; lon: number }> = [
  { lat: 48.85837, lon: 2.29448 }, { lat: 48.86061, lon: 2.33764 }, { lat: 48.85296, lon: 2.34990 },
  { lat: 48.88671, lon: 2.34310 }, { lat: 48.87380, lon: 2.29504 }, { lat: 48.84694, lon: 2.33718 },
];

/** A running network: the elements, for scenarios that go beyond the default story (tests). */
export interface ImsNetwork {
  core: ImsCore;
  pcscf: PcscfProxy;
  hss: Hss;
  realm: string;
  address: string;
  /** The last `record` messages sent, secrets redacted (empty after close()). */
  readonly trace: TraceEvent[];
  /** The last `record` datagrams, secrets redacted (empty after close()). */
  readonly wire: WireRecord[];
  /** Every datagram seen while `record` > 0, as sent (before redaction, not bounded by `record`). */
  readonly traffic: { datagrams: number; bytes: number };
  names: Map<string, string>;
  /** Every SA set the P-CSCF created (kept after deletion, for key export; released by close()). */
  readonly created: SaSet[];
  ue(u: ScenarioUe): Promise<UeClient>;
  /** Closes every element, releases trace, wire and created, and zeroes the subscribers' keys. */
  close(): void;
}

/** Default of {@link ScenarioOptions.record} for startNetwork. */
export const DEFAULT_RECORD = 1000;

/** Appends `item`, dropping the oldest beyond `limit`: the bounded trace and wire. */
function keep<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.shift();
}

/** Starts a core and a P-CSCF; `ue()` adds UEs. */
export async function startNetwork(o: Omit<ScenarioOptions, 'presentity' | 'watcher' | 'notifies'>): Promise<ImsNetwork> {
  // One text form per address from here on (IPv6 canonical, RFC 5952), so comparisons are by value.
  const address = normalizeAddress(o.address ?? '127.0.0.1');
  const ueAddress = normalizeAddress(o.ueAddress ?? address);
  const realm = o.realm ?? 'ims.mnc001.mcc001.3gppnetwork.org';
  const trace: TraceEvent[] = [];
  const wire: WireRecord[] = [];
  const record = Math.max(0, o.record ?? DEFAULT_RECORD);
  const names = new Map<string, string>();
  const nameOf = (a: string, p: number): string => names.get(`${a}:${p}`) ?? `${a}:${p}`;
  // A datagram record is the network's copy: only the copy with its secrets redacted is kept.
  const traffic = { datagrams: 0, bytes: 0 };
  const onDatagram = (r: WireRecord): void => {
    traffic.datagrams++;
    traffic.bytes += r.data.length;
    keep(wire, { ...r, data: redactDatagram(r.data) }, record);
  };
  const untaps = record > 0 ? [o.net, ...(o.ueNet && o.ueNet !== o.net ? [o.ueNet] : [])].map((net) => net.tap(onDatagram)) : [];
  const untap = (): void => { for (const u of untaps) u(); };
  const onTrace = o.onTrace;
  // SipNode builds trace events only when it has a tracer: none when nothing would use them.
  const tracer = record > 0 || onTrace
    ? (e: TraceEvent): void => {
      if (record > 0) keep(trace, e, record);
      onTrace?.(e);
    }
    : undefined;
  const timers = o.timers ?? {};
  const hss = new Hss();
  const core = await ImsCore.start({ net: o.net, address, realm, hss, timers, names: nameOf, ...(tracer ? { tracer } : {}) });
  names.set(`${address}:${core.port}`, 'core');
  const pcscf = await PcscfProxy.start({ net: o.net, address, port: o.pcscfPort ?? 0, wire: o.pcscfWire ?? [udpEncapWire({ port: o.encapPort ?? 0 })], ...(o.tcp ? { tcp: { net: o.tcp } } : {}), core: { address, port: core.port }, policy: o.policy ?? {}, timers, names: nameOf, keepKeysForExport: o.exportKeys === true, ...(tracer ? { tracer } : {}), ...o.pcscfLimits });
  core.trustProxy(pcscf.coreSocket.address, pcscf.coreSocket.port);
  // Transport-mode ESP goes through raw sockets, not `net`: the P-CSCF's wire shows it, both ways.
  // On loopback a raw socket reads back what its own host sent: each packet is kept once (SPI, sequence).
  const rawSeen = new Set<string>();
  const untapRaw = record > 0
    ? pcscf.wire.tapRaw((r) => {
      const id = r.data.length >= 8 ? Array.from(r.data.subarray(0, 8)).join('.') : '';
      if (rawSeen.has(id)) { rawSeen.delete(id); return; }
      rawSeen.add(id);
      if (rawSeen.size > 4096) rawSeen.clear();
      traffic.datagrams++;
      traffic.bytes += r.data.length;
      keep(wire, r, record);
    })
    : () => true;
  names.set(`${address}:${pcscf.port}`, 'P-CSCF');
  names.set(`${address}:${pcscf.coreSocket.port}`, 'P-CSCF');
  names.set(`${address}:${pcscf.portC.port}`, 'P-CSCF');
  names.set(`${address}:${pcscf.portS.port}`, 'P-CSCF');
  if (pcscf.encapPort !== undefined) names.set(`${address}:${pcscf.encapPort}`, 'P-CSCF');
  const ues: UeClient[] = [];
  const created: SaSet[] = [];
  // For key export (exportKeys) every set; otherwise the last `record`, like the trace.
  pcscf.db.on((set, event) => {
    if (event !== 'created') return;
    if (o.exportKeys === true) created.push(set);
    else if (record > 0) keep(created, set, record);
  });
  let closed = false;
  return {
    core, pcscf, hss, realm, address, trace, wire, traffic, names, created,
    async ue(u: ScenarioUe): Promise<UeClient> {
      const impi = `${u.user}@${realm}`;
      const impu = `sip:${u.user}@${realm}`;
      const credentials = o.credentials ?? demoKeys;
      if (!hss.has(impi)) {
        const sub = credentials();
        hss.addSubscriber({ impi, ...sub });
        sub.k.fill(0);
        sub.op.fill(0);
      }
      const { k, op } = credentials();
      if (u.wrongKey) k[0]! ^= 0xff;
      const opts: Parameters<typeof UeClient.start>[0] = {
        net: o.ueNet ?? o.net, address: ueAddress, name: `UE ${u.user}`, impi, impu, realm, k, op,
        pcscf: { address, port: pcscf.port, ...(pcscf.encapPort !== undefined ? { encapPort: pcscf.encapPort } : {}) }, release: u.release,
        ...(o.ueWire ? { wire: o.ueWire() } : {}),
        ...(o.ueTcp ?? o.tcp ? { tcp: { net: (o.ueTcp ?? o.tcp)! } } : {}),
        accessNetworkInfo: `${u.accessNetwork}; utran-cell-id-3gpp=001010001000019B`,
        timers, names: nameOf,
      };
      if (tracer) opts.tracer = tracer;
      if (u.algorithms) opts.algorithms = u.algorithms;
      if (u.faults) opts.faults = u.faults;
      opts.autoRefresh = u.autoRefresh ?? o.autoRefresh ?? true;
      let ue: UeClient;
      try {
        ue = await UeClient.start(opts);
      } finally {
        // The USIM holds K and OPc in WASM memory now; the JavaScript copies were ours.
        k.fill(0);
        op.fill(0);
      }
      ues.push(ue);
      // Name every port the UE uses, now and later (port_uc changes per SA set).
      const label = `UE ${u.user}`;
      names.set(`${ueAddress}:${ue.unprotected.port}`, label);
      names.set(`${ueAddress}:${ue.portS.port}`, label);
      if (ue.encapPort !== undefined) names.set(`${ueAddress}:${ue.encapPort}`, label);
      if (ue.node.streams) ue.node.streams.onOpen = (c) => names.set(`${ueAddress}:${c.localPort}`, label);
      ue.db.on((set) => names.set(`${ueAddress}:${set.ue.portC}`, label));
      return ue;
    },
    close(): void {
      if (closed) return;
      closed = true;
      untap();
      untapRaw();
      for (const u of ues) u.close();
      pcscf.close();
      core.close();
      hss.destroy(); // the core's close() does it too; the network created the HSS
      ues.length = 0;
      trace.length = 0;
      wire.length = 0;
      created.length = 0;
    },
  };
}

/**
 * Runs the whole story on `o.net` and returns what happened: starts a core and a P-CSCF, registers the
 * presentity and the watcher(s) with IMS AKA and the security agreement (TS 33.203 7), subscribes the watcher
 * to the presentity's presence, publishes the locations and collects the NOTIFYs, and (with `session`) a
 * MESSAGE and a call; then closes everything (keys wiped). Protocol failures are reported in the result.
 *
 * @example
 * ```ts
 * import { init } from 'ipsec-3gpp';
 * import { MemoryNetwork, runScenario } from 'ipsec-3gpp/ims';
 * await init();
 * const r = await runScenario({ net: new MemoryNetwork() });
 * for (const ue of r.ues) console.log(ue.user, ue.registration.status, ue.alg, ue.ealg);
 * ```
 */
export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const n = await startNetwork({ ...o, record: o.record ?? Number.POSITIVE_INFINITY });
  try {
    const presentitySpec = o.presentity ?? { user: 'alice', release: 6, accessNetwork: '3GPP-E-UTRAN-FDD' };
    const watcherSpec = o.watcher ?? { user: 'bob', release: 6, accessNetwork: '3GPP-E-UTRAN-FDD' };
    const specs = [presentitySpec, watcherSpec, ...(o.watcher2 ? [o.watcher2] : [])];
    const outcomes: UeOutcome[] = [];
    const clients: UeClient[] = [];
    for (const spec of specs) {
      const ue = await n.ue(spec);
      const registration = await ue.register();
      const out: UeOutcome = { user: spec.user, registration, mode: n.pcscf.sec.modeFor(`${spec.accessNetwork};`) };
      if (registration.set) {
        out.alg = registration.set.alg;
        out.ealg = registration.set.ealg;
      }
      outcomes.push(out);
      clients.push(ue);
    }
    const [presentity, ...watchers] = clients as [UeClient, ...UeClient[]];
    const received: Array<{ lat: number; lon: number } | undefined> = [];
    const received2: Array<{ lat: number; lon: number } | undefined> = [];
    const published: Array<{ lat: number; lon: number }> = [];
    const decisions: ScenarioResult['decisions'] = [];
    n.core.events.notify = (e) => { if (n.core.presence.has(e.presentity)) decisions.push({ watcher: e.watcher, confidentiality: e.confidentiality, action: e.action, rule: e.rule }); };
    const impu = `sip:${presentitySpec.user}@${n.realm}`;
    if (o.presenceRules) n.core.setPresenceRules(impu, o.presenceRules);
    const active = watchers.filter((w) => w.current);
    if (presentity.current && active.length > 0) {
      const sinks = [received, received2];
      for (const w of active) {
        const first = new Promise<void>((resolve) => { w.onNotify = () => resolve(); });
        await w.subscribe(impu);
        await first; // the initial NOTIFY (no document yet)
      }
      for (let i = 0; i < (o.notifies ?? 3); i++) {
        const where = DEMO_WALK[i % DEMO_WALK.length]!;
        const got = active.map((w) => new Promise<void>((resolve) => {
          w.onNotify = (x) => { sinks[watchers.indexOf(w)]!.push(pidfLocation(x.body)); resolve(); };
        }));
        await presentity.publish(buildPidf({ entity: impu, basic: 'open', note: `update ${i + 1}`, location: where }));
        published.push(where);
        await Promise.all(got);
      }
    }
    let session: SessionOutcome | undefined;
    const watcher = watchers[0];
    if (o.session && presentity.current && watcher?.current) session = await demoSession(presentity, watcher, `sip:${watcherSpec.user}@${n.realm}`, n.trace);
    const dropped: Record<string, number> = {};
    for (const p of [n.pcscf.portC, n.pcscf.portS, ...clients.map((c) => c.portS)]) {
      for (const [k, v] of Object.entries(p.stats.dropped)) dropped[k] = (dropped[k] ?? 0) + v;
    }
    // The wire's drops by reason (wire/counters.ts): replayed, forged, unknown SPI, ...
    for (const w of [n.pcscf.wire, ...clients.map((c) => c.wire)]) {
      for (const [k, v] of Object.entries(nonZeroDrops(w.counters))) dropped[k] = (dropped[k] ?? 0) + v;
    }
    const dbs = [n.pcscf.db, ...clients.map((c) => c.db)];
    const prot = n.wire.filter((w) => { const spi = espSpi(w.data); return dbs.some((db) => db.bySpi(spi) !== undefined); });
    return {
      // Copies: close() below releases the network's own.
      ues: outcomes, received, received2, decisions, published, trace: n.trace.slice(), wire: n.wire.slice(), names: n.names,
      sets: n.created.slice(),
      ...(session ? { session } : {}),
      stats: {
        datagrams: n.traffic.datagrams, bytes: n.traffic.bytes,
        protectedDatagrams: prot.length, protectedBytes: prot.reduce((s, w) => s + w.data.length, 0),
        dropped, retransmissions: n.core.node.tx.retransmissions + n.pcscf.node.tx.retransmissions + clients.reduce((s, c) => s + c.node.tx.retransmissions, 0),
      },
    };
  } finally {
    n.close();
  }
}


const SESSION_METHODS = /\s(MESSAGE|INVITE|ACK|BYE|PRACK|CANCEL)$/;

/** The scenario's MESSAGE and call from `caller` to `callee` (ScenarioOptions.session). */
async function demoSession(caller: UeClient, callee: UeClient, calleeUri: string, trace: readonly TraceEvent[]): Promise<SessionOutcome> {
  const first = trace.length;
  const out: SessionOutcome = { message: { status: 0, received: undefined }, call: { invite: 0, bye: 0, acked: false }, ueHops: 0, protectedUeHops: 0 };
  const text = 'Hello bob, alice here: calling you now.';
  const got = new Promise<string>((resolve) => { callee.onMessage = (m) => resolve(m.body); });
  try {
    out.message.status = (await caller.message(calleeUri, text)).status;
    if (out.message.status < 300) out.message.received = await got;
  } catch { /* status stays 0 */ }
  callee.onMessage = undefined;
  const acked = new Promise<void>((resolve) => { callee.onInvite = (c) => { c.onEnded = () => resolve(); return { accept: true }; }; });
  const call = caller.invite(calleeUri, { rel100: 'none' });
  try {
    out.call.invite = (await call.final).status;
    if (out.call.invite < 300) {
      // The callee's 2xx stops being retransmitted once the ACK is in; give it the time one hop takes.
      for (let i = 0; i < 50 && !trace.slice(first).some((e) => e.to === callee.name && e.message.type === 'request' && e.message.method === 'ACK'); i++) await new Promise((r) => setTimeout(r, 10));
      out.call.acked = trace.slice(first).some((e) => e.to === callee.name && e.message.type === 'request' && e.message.method === 'ACK');
      out.call.bye = (await call.bye()).status;
      await Promise.race([acked, new Promise((r) => setTimeout(r, 500))]);
    }
  } catch { /* statuses stay 0 */ }
  callee.onInvite = undefined;
  for (const e of trace.slice(first)) {
    if (!SESSION_METHODS.test(e.message.headers.get('cseq') ?? '')) continue;
    if (!e.from.startsWith('UE') && !e.to.startsWith('UE')) continue;
    out.ueHops++;
    if (e.sa) out.protectedUeHops++;
  }
  return out;
}
