// `ipsec-3gpp pcscf`: a standalone P-CSCF with its core (S-CSCF registrar, HSS with one subscriber or a
// file of them, presence server), for real UEs and SIP test tools. Listens on HOST:PORT for the unprotected REGISTER;
// the protected ports are printed (and appear in Security-Server). With --no-ipsec the protected-phase
// REGISTER is accepted in clear (on the listening port or on port-s) for tools that cannot do ESP, such as
// SIPp with its AKA support, while Security-Client, Security-Verify and the Digest response are still
// checked.

import { Hss, type SubscriberInit } from '../aka/hss.js';
import { ImsCore } from '../ims/core.js';
import { PcscfProxy } from '../ims/pcscf-proxy.js';
import { type RateLimit } from '../ims/rate-limit.js';
import { type TraceEvent } from '../ims/sip-node.js';
import { initSync } from '../index.js';
import { NodeUdpNetwork } from '../net/node-udp.js';
import { NodeTcpNetwork } from '../net/node-tcp.js';
import { type ConfidentialityMode } from '../secagree/pcscf.js';
import { chooseWires, type WireChoice } from './wires.js';
import { nonZeroDrops } from '../wire/counters.js';

export interface PcscfCliOptions {
  host: string;
  port: number;
  clientPort: number;
  serverPort: number;
  /** The HSS's subscribers (one from --impi/--k/--op, or a --subscribers file). */
  subscribers: SubscriberInit[];
  realm: string;
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
}

export interface RunningPcscf {
  pcscf: PcscfProxy;
  core: ImsCore;
  /** Registrations, SA sets, attempts, refusals, the wire's counters, SIP retransmissions and connections. */
  statistics(): Record<string, unknown>;
  close(): void;
}

/** Starts the P-CSCF and its core; resolves once both listen. */
export async function startPcscf(o: PcscfCliOptions): Promise<RunningPcscf> {
  initSync();
  const net = new NodeUdpNetwork();
  const hss = new Hss();
  for (const sub of o.subscribers) hss.addSubscriber(sub);
  const tracer = o.quiet ? undefined : (e: TraceEvent): void => {
    const m = e.message;
    const what = m.type === 'request' ? `${m.method} ${m.uri}` : `${m.status} ${m.reason}`;
    o.log(`${new Date(e.time).toISOString().slice(11, 23)}  ${e.from.padEnd(7)} -> ${e.to.padEnd(21)} ${what}${e.sa ? `  [ESP ${e.sa.name} ${e.sa.ealg}+${e.sa.alg}]` : ''}`);
  };
  const wires = chooseWires(o.wire ?? 'auto', { encapPort: o.encapPort ?? 4500, tun: o.tun === true, nativeUdp: true });
  const core = await ImsCore.start({ net, address: o.host, realm: o.realm, hss, ...(tracer ? { tracer } : {}) });
  let pcscf: PcscfProxy;
  try {
    pcscf = await PcscfProxy.start({
    net, address: o.host, port: o.port, protectedPorts: { client: o.clientPort, server: o.serverPort },
    core: { address: o.host, port: core.port }, policy: { defaultMode: o.mode }, noIpsec: o.noIpsec, wire: wires.wires, tcp: { net: new NodeTcpNetwork() },
    ...(o.registerRate !== undefined ? { unprotectedRegisterRate: o.registerRate } : {}),
    ...(o.registerRatePerImpi !== undefined ? { unprotectedRegisterRatePerImpi: o.registerRatePerImpi } : {}),
    ...(tracer ? { tracer } : {}),
    });
  } catch (e) {
    core.close();
    throw e;
  }
  core.trustProxy(pcscf.coreSocket.address, pcscf.coreSocket.port);
  const ev = o.onEvent;
  const counts = { registered: 0, refused: 0, aborted: 0, authFailed: 0 };
  pcscf.events.aborted = (e) => { counts.aborted++; ev ? ev({ event: 'aborted', impi: e.key, reason: e.reason }) : o.log(`registration of ${e.key} aborted: ${e.reason}`); };
  pcscf.events.refused = (e) => { counts.refused++; ev ? ev({ event: 'refused', impi: e.key, status: e.status, warning: e.warning }) : o.log(`registration of ${e.key} refused: ${e.status} (${e.warning})`); };
  pcscf.events.registered = (e) => { counts.registered++; ev ? ev({ event: 'registered', impi: e.key, alg: e.set.alg, ealg: e.set.ealg, mode: e.set.mode }) : o.log(`${e.key} registered over ${e.set.ealg === 'null' ? 'integrity-only' : e.set.ealg} + ${e.set.alg} SAs (mod=${e.set.mode})`); };
  core.events.authFailed = (e) => { counts.authFailed++; ev ? ev({ event: 'authFailed', impi: e.impi, reason: e.reason }) : o.log(`authentication of ${e.impi} failed: ${e.reason}`); };
  o.log(`P-CSCF listening on ${o.host}:${pcscf.port} (protected ports: port-c ${pcscf.portC.port}, port-s ${pcscf.portS.port}${pcscf.encapPort !== undefined ? `; UDP encapsulation on ${pcscf.encapPort}` : ''}); core on ${o.host}:${core.port}`);
  o.log(wires.note);
  const who = o.subscribers.length === 1 ? `subscriber ${o.subscribers[0]!.impi}` : `${o.subscribers.length} subscribers`;
  o.log(`realm ${o.realm}, ${who}, confidentiality mode "${o.mode}"${o.noIpsec ? ', --no-ipsec: protected-phase REGISTER accepted in clear' : ''}`);
  return {
    pcscf, core,
    statistics: () => ({
      ...counts, registrations: core.registrations.size, saSets: pcscf.db.size, attempts: pcscf.sec.attemptCount, rateLimited: pcscf.rateLimited,
      wire: { sent: pcscf.wire.counters.sent, received: pcscf.wire.counters.received, dropped: nonZeroDrops(pcscf.wire.counters) },
      sip: { retransmissions: pcscf.node.tx.retransmissions, malformed: pcscf.node.malformed, refused: pcscf.node.refused, tcpConnections: pcscf.node.streams?.connections ?? 0 },
    }),
    close(): void {
      pcscf.close();
      core.close();
      for (const sub of o.subscribers) hss.remove(sub.impi);
    },
  };
}
