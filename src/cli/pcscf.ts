// `ipsec-3gpp pcscf`: a standalone P-CSCF with its core (S-CSCF registrar, HSS with one subscriber or a
// file of them, presence server), for real UEs and SIP test tools. Listens on HOST:PORT for the unprotected REGISTER;
// the protected ports are printed (and appear in Security-Server). With --no-ipsec the protected-phase
// REGISTER is accepted in clear (on the listening port or on port-s) for tools that cannot do ESP, such as
// SIPp with its AKA support, while Security-Client, Security-Verify and the Digest response are still
// checked.
// With --store (sqlite:FILE or redis://HOST:PORT; src/store/) the SA sets, registrations and the core's
// registrations, subscriptions and presence documents survive a restart, sealed under the key-encryption
// key of --kek-file or IPSEC3GPP_KEK; the ports chosen on the first start are kept in the store and used
// again. With --standby the process waits until the listening address is free (the active instance on the
// same store gone), then binds it and takes over the stored state.
// With `core` (the CLI's --core HOST:PORT) no core is started here: the P-CSCF forwards to an `ipsec-3gpp
// core` elsewhere (src/cli/core.ts), sending from the port `coreSidePort` (--core-side-port), which that core
// must trust. A store's restore needs the core next to it (a registration only one of the two remembers is
// dropped), so the two do not go together.

import { Hss, type SubscriberInit } from '../aka/hss.js';
import { ImsCore } from '../ims/core.js';
import { messageTracer } from './core.js';
import { Ipsec3gppError } from '../errors.js';
import { PcscfProxy } from '../ims/pcscf-proxy.js';
import { type RateLimit } from '../ims/rate-limit.js';
import { type TraceEvent } from '../ims/sip-node.js';
import { initSync } from '../index.js';
import { NodeUdpNetwork } from '../net/node-udp.js';
import { NodeTcpNetwork } from '../net/node-tcp.js';
import { type ConfidentialityMode } from '../secagree/pcscf.js';
import { chooseWires, type WireChoice } from './wires.js';
import { hostPort } from '../ip.js';
import { nonZeroDrops } from '../wire/counters.js';
import { createSocket } from 'node:dgram';
import { loadKek, openStore } from '../store/open.js';
import { RecordSealer } from '../store/sealed.js';
import { StoreWriter } from '../store/writer.js';
import { type StateStore } from '../store/store.js';

export interface PcscfCliOptions {
  host: string;
  port: number;
  clientPort: number;
  serverPort: number;
  /** The HSS's subscribers (one from --impi/--k/--op, or a --subscribers file); none with `core`. */
  subscribers: SubscriberInit[];
  realm: string;
  /** An external core (`ipsec-3gpp core`) to forward to instead of starting one here; not with `store`. */
  core?: { address: string; port: number } | undefined;
  /** With `core`: the port of the socket toward it (the one it trusts); default 0, any free port. */
  coreSidePort?: number | undefined;
  mode: ConfidentialityMode;
  noIpsec: boolean;
  /** Which modes to carry (cli/wires.ts); default auto. */
  wire?: WireChoice | undefined;
  /** The UDP-enc-tun encapsulation port; default 4500 (TS 33.203 Annex M, RFC 3948). */
  encapPort?: number | undefined;
  /** The kernel path (TUN device): TCP inside the SAs. Needs CAP_NET_ADMIN. */
  tun?: boolean | undefined;
  quiet: boolean;
  /** Limits on unprotected REGISTERs (PcscfProxyOptions): per source address and per IMPI. */
  registerRate?: RateLimit | false | undefined;
  registerRatePerImpi?: RateLimit | false | undefined;
  log: (line: string) => void;
  /** Events as data (the CLI's --json): registered, refused, aborted, authFailed. */
  onEvent?: ((e: Record<string, unknown>) => void) | undefined;
  /** The store: 'memory' (default), 'sqlite:FILE' or 'redis://HOST:PORT'. */
  store?: string | undefined;
  /** The key-encryption key file (else the IPSEC3GPP_KEK environment variable). */
  kekFile?: string | undefined;
  /** Wait until the listening address is free, then take over (a standby on a shared store). */
  standby?: boolean | undefined;
  /** The environment (default process.env), for IPSEC3GPP_KEK. */
  environment?: Record<string, string | undefined> | undefined;
}

/** The ports a stored P-CSCF keeps across restarts (its SAs' selectors, the Paths the core stored). */
interface StoredPorts { clientPort: number; serverPort: number; corePort: number; coreSidePort: number; encapPort?: number | undefined }

/** Resolves once `host:port` can be bound over UDP (polling every 100 ms): the active instance has gone. */
async function waitForAddress(host: string, port: number, log: (l: string) => void): Promise<void> {
  log(`standby: waiting for ${host}:${port} to be free`);
  for (;;) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      s.once('error', () => { s.close(); resolve(false); });
      s.bind(port, host, () => s.close(() => resolve(true)));
    });
    if (free) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A running P-CSCF; `core` is its in-process core, undefined with an external one. */
export interface RunningPcscf<C extends ImsCore | undefined = ImsCore> {
  pcscf: PcscfProxy;
  core: C;
  /** Registrations, SA sets, attempts, refusals, the wire's counters, SIP retransmissions and connections. */
  statistics(): Record<string, unknown>;
  /** Stops; with a store, after what is pending is written (the stored state stays). */
  close(): Promise<void>;
  /** The store's writer, with --store. */
  writer?: StoreWriter | undefined;
}

/** Starts the P-CSCF and its core (or, with `core`, the P-CSCF alone); resolves once they listen. */
export async function startPcscf(o: PcscfCliOptions & { core?: undefined }): Promise<RunningPcscf>;
export async function startPcscf(o: PcscfCliOptions & { core: { address: string; port: number } }): Promise<RunningPcscf<undefined>>;
export async function startPcscf(o: PcscfCliOptions): Promise<RunningPcscf<ImsCore | undefined>>;
export async function startPcscf(o: PcscfCliOptions): Promise<RunningPcscf<ImsCore | undefined>> {
  if (o.core !== undefined && o.store !== undefined && o.store !== 'memory') throw new Ipsec3gppError('INVALID_ARGUMENT', 'a store needs the core in this process: not with an external core');
  if (o.core !== undefined) return startProxyAlone(o, o.core);
  initSync();
  let store: StateStore | undefined;
  let writer: StoreWriter | undefined;
  let ports: StoredPorts | undefined;
  if (o.store !== undefined && o.store !== 'memory') {
    const kek = loadKek(o.kekFile !== undefined ? { file: o.kekFile } : { env: 'IPSEC3GPP_KEK', environment: o.environment ?? process.env });
    const sealer = await RecordSealer.create(kek);
    kek.fill(0);
    if (o.standby) await waitForAddress(o.host, o.port, o.log);
    store = await openStore(o.store);
    try {
      await sealer.checkStore(store, '');
      const blob = await store.get('meta/ports');
      if (blob !== undefined) ports = await sealer.openJson<StoredPorts>('meta/ports', blob);
    } catch (e) {
      await store.close();
      throw e;
    }
    writer = new StoreWriter(store, sealer);
    writer.onError = (e) => o.log(`store: write failed, retrying: ${(e as Error).message}`);
  }
  const net = new NodeUdpNetwork({ nativeUdp: true });
  const hss = new Hss();
  for (const sub of o.subscribers) hss.addSubscriber(sub);
  const tracer: ((e: TraceEvent) => void) | undefined = o.quiet ? undefined : messageTracer(o.log);
  const wires = chooseWires(o.wire ?? 'auto', { encapPort: o.encapPort === 0 && ports?.encapPort !== undefined ? ports.encapPort : o.encapPort ?? 4500, tun: o.tun === true, nativeUdp: true });
  const core = await ImsCore.start({ net, address: o.host, port: ports?.corePort ?? 0, realm: o.realm, hss, ...(tracer ? { tracer } : {}), ...(writer ? { store: { writer } } : {}) });
  const coreImpis = new Set([...core.registrations.values()].map((r) => r.impi));
  const ev = o.onEvent;
  let pcscf: PcscfProxy;
  try {
    pcscf = await PcscfProxy.start({
    net, address: o.host, port: o.port, protectedPorts: { client: o.clientPort || ports?.clientPort || 0, server: o.serverPort || ports?.serverPort || 0 },
    // Restored next to its core (started first): a registration only one of the two remembers is half made (a
    // crash between the core's write and the P-CSCF's) and goes, here and below.
    ...(writer ? { store: { writer, keepRegistration: (impi: string) => coreImpis.has(impi) }, coreSidePort: ports?.coreSidePort ?? 0 } : {}),
    core: { address: o.host, port: core.port }, policy: { defaultMode: o.mode }, noIpsec: o.noIpsec, wire: wires.wires, tcp: { net: new NodeTcpNetwork() },
    ...(o.registerRate !== undefined ? { unprotectedRegisterRate: o.registerRate } : {}),
    ...(o.registerRatePerImpi !== undefined ? { unprotectedRegisterRatePerImpi: o.registerRatePerImpi } : {}),
    ...(tracer ? { tracer } : {}),
    });
  } catch (e) {
    core.close();
    await store?.close();
    throw e;
  }
  core.trustProxy(pcscf.coreSocket.address, pcscf.coreSocket.port);
  if (writer) {
    writer.put('meta/ports', { clientPort: pcscf.portC.port, serverPort: pcscf.portS.port, corePort: core.port, coreSidePort: pcscf.coreSocket.port, encapPort: pcscf.encapPort } satisfies StoredPorts);
    await writer.flush();
    const r = pcscf.restored!;
    const kept = new Set(r.keys);
    const halfMade: typeof r.refused = [];
    for (const [aor, reg] of core.registrations) {
      if (kept.has(reg.impi)) continue;
      core.registrations.delete(aor);
      halfMade.push({ key: `core/reg/${encodeURIComponent(aor)}`, code: 'SADB', reason: 'core registration without its P-CSCF registration' });
    }
    await writer.flush();
    const refused = [...r.refused, ...core.restoreRefused, ...halfMade];
    o.log(`store ${store!.kind}: restored ${r.registrations} registrations over ${r.sets} SA sets, ${core.registrations.size} core registrations, ${core.subscriptions.size} subscriptions${refused.length > 0 ? `; refused ${refused.length} records` : ''}`);
    for (const f of refused) o.log(`store: refused ${f.key}: ${f.code} ${f.reason}`);
    ev?.({ event: 'restored', registrations: r.registrations, keys: r.keys, sets: r.sets, coreRegistrations: core.registrations.size, refused });
  }
  const counts = { ...watchProxy(pcscf, o), authFailed: 0 };
  core.events.authFailed = (e) => { counts.authFailed++; ev ? ev({ event: 'authFailed', impi: e.impi, reason: e.reason }) : o.log(`authentication of ${e.impi} failed: ${e.reason}`); };
  o.log(`P-CSCF listening on ${o.host}:${pcscf.port} (protected ports: port-c ${pcscf.portC.port}, port-s ${pcscf.portS.port}${pcscf.encapPort !== undefined ? `; UDP encapsulation on ${pcscf.encapPort}` : ''}); core on ${o.host}:${core.port}`);
  o.log(wires.note);
  const who = o.subscribers.length === 1 ? `subscriber ${o.subscribers[0]!.impi}` : `${o.subscribers.length} subscribers`;
  o.log(`realm ${o.realm}, ${who}, confidentiality mode "${o.mode}"${o.noIpsec ? ', --no-ipsec: protected-phase REGISTER accepted in clear' : ''}`);
  return {
    pcscf, core,
    statistics: () => ({
      ...counts, ...(writer ? { store: { kind: store!.kind, batches: writer.batches, records: writer.records, errors: writer.errors } } : {}), registrations: core.registrations.size, ...proxyStatistics(pcscf),
    }),
    writer,
    async close(): Promise<void> {
      pcscf.close();
      core.close();
      for (const sub of o.subscribers) hss.remove(sub.impi);
      if (writer) {
        await writer.flush();
        writer.close();
        await store!.close();
      }
    },
  };
}

/** Counts (and logs, or passes on as events) what happens to registrations at the P-CSCF. */
function watchProxy(pcscf: PcscfProxy, o: PcscfCliOptions): { registered: number; refused: number; aborted: number } {
  const counts = { registered: 0, refused: 0, aborted: 0 };
  const ev = o.onEvent;
  pcscf.events.aborted = (e) => { counts.aborted++; ev ? ev({ event: 'aborted', impi: e.key, reason: e.reason }) : o.log(`registration of ${e.key} aborted: ${e.reason}`); };
  pcscf.events.refused = (e) => { counts.refused++; ev ? ev({ event: 'refused', impi: e.key, status: e.status, warning: e.warning }) : o.log(`registration of ${e.key} refused: ${e.status} (${e.warning})`); };
  pcscf.events.registered = (e) => { counts.registered++; ev ? ev({ event: 'registered', impi: e.key, alg: e.set.alg, ealg: e.set.ealg, mode: e.set.mode }) : o.log(`${e.key} registered over ${e.set.ealg === 'null' ? 'integrity-only' : e.set.ealg} + ${e.set.alg} SAs (mod=${e.set.mode})`); };
  return counts;
}

/** The P-CSCF's own figures: SA sets, attempts, refusals, the wire's counters, SIP retransmissions and connections. */
function proxyStatistics(pcscf: PcscfProxy): Record<string, unknown> {
  return {
    saSets: pcscf.db.size, attempts: pcscf.sec.attemptCount, rateLimited: pcscf.rateLimited,
    wire: { sent: pcscf.wire.counters.sent, received: pcscf.wire.counters.received, dropped: nonZeroDrops(pcscf.wire.counters) },
    sip: { retransmissions: pcscf.node.tx.retransmissions, malformed: pcscf.node.malformed, refused: pcscf.node.refused, tcpConnections: pcscf.node.streams?.connections ?? 0 },
  };
}

/** The P-CSCF in front of an external core (`ipsec-3gpp core`): nothing of the core runs here. */
async function startProxyAlone(o: PcscfCliOptions, core: { address: string; port: number }): Promise<RunningPcscf<undefined>> {
  initSync();
  const tracer: ((e: TraceEvent) => void) | undefined = o.quiet ? undefined : messageTracer(o.log);
  const wires = chooseWires(o.wire ?? 'auto', { encapPort: o.encapPort ?? 4500, tun: o.tun === true, nativeUdp: true });
  const pcscf = await PcscfProxy.start({
    net: new NodeUdpNetwork({ nativeUdp: true }), address: o.host, port: o.port, protectedPorts: { client: o.clientPort, server: o.serverPort }, coreSidePort: o.coreSidePort ?? 0,
    core, policy: { defaultMode: o.mode }, noIpsec: o.noIpsec, wire: wires.wires, tcp: { net: new NodeTcpNetwork() },
    ...(o.registerRate !== undefined ? { unprotectedRegisterRate: o.registerRate } : {}),
    ...(o.registerRatePerImpi !== undefined ? { unprotectedRegisterRatePerImpi: o.registerRatePerImpi } : {}),
    ...(tracer ? { tracer } : {}),
  });
  const counts = watchProxy(pcscf, o);
  o.log(`P-CSCF listening on ${hostPort(o.host, pcscf.port)} (protected ports: port-c ${pcscf.portC.port}, port-s ${pcscf.portS.port}${pcscf.encapPort !== undefined ? `; UDP encapsulation on ${pcscf.encapPort}` : ''}); core at ${hostPort(core.address, core.port)}, sent to from ${hostPort(pcscf.coreSocket.address, pcscf.coreSocket.port)} (the core must trust it: --trust-proxy)`);
  o.log(wires.note);
  o.log(`external core: its realm and subscribers; confidentiality mode "${o.mode}"${o.noIpsec ? ', --no-ipsec: protected-phase REGISTER accepted in clear' : ''}`);
  return {
    pcscf, core: undefined, writer: undefined,
    statistics: () => ({ ...counts, ...proxyStatistics(pcscf) }),
    close(): Promise<void> {
      pcscf.close();
      return Promise.resolve();
    },
  };
}
