// `ipsec-3gpp core`: the IMS core on its own (src/ims/core.ts: an S-CSCF registrar with IMS AKA on its HSS,
// TS 24.229 5.4.1, RFC 3310; the presence and reg-event servers), for one or more `ipsec-3gpp pcscf --core`
// processes in front of it, as an S-CSCF is another node than the P-CSCF in an IMS (TS 23.228 4.6, Mw).
// It takes REGISTERs and asserted identities only from the P-CSCFs it is told to trust (--trust-proxy: the
// P-CSCF's core-side address, its --core-side-port): the 401 it sends carries CK and IK for the P-CSCF
// (TS 33.203 7.1; between real nodes the Zb interface protects them, TS 33.210), so anyone else gets 403.
// The Mw hop here is plain UDP: keep it on loopback or a network of the operator's.

import { Hss, type SubscriberInit } from '../aka/hss.js';
import { ImsCore } from '../ims/core.js';
import { type TraceEvent } from '../ims/sip-node.js';
import { initSync } from '../index.js';
import { hostPort, normalizeAddress } from '../ip.js';
import { NodeUdpNetwork } from '../net/node-udp.js';

/** Options of {@link startCore}, as the `core` command passes them. */
export interface CoreCliOptions {
  host: string;
  /** The core's SIP port (0: any free port). */
  port: number;
  /** The HSS's subscribers (one from --impi/--k/--op, or a --subscribers file). */
  subscribers: SubscriberInit[];
  realm: string;
  /** The P-CSCFs' core-side addresses (--trust-proxy). */
  trustProxies: Array<{ address: string; port: number }>;
  quiet: boolean;
  log: (line: string) => void;
  /** Events as data (the CLI's --json): registered, deregistered, authFailed. */
  onEvent?: ((e: Record<string, unknown>) => void) | undefined;
}

/** A running `core`. */
export interface RunningCore {
  core: ImsCore;
  /** Registrations, subscriptions, what was registered, de-registered and failed, SIP retransmissions. */
  statistics(): Record<string, unknown>;
  /** Stops: the socket closes and the subscribers' keys go from the HSS. */
  close(): void;
}

/** One line per SIP message a role sends (the `pcscf` and `core` commands without --quiet). */
export function messageTracer(log: (line: string) => void): (e: TraceEvent) => void {
  return (e) => {
    const m = e.message;
    const what = m.type === 'request' ? `${m.method} ${m.uri}` : `${m.status} ${m.reason}`;
    log(`${new Date(e.time).toISOString().slice(11, 23)}  ${e.from.padEnd(7)} -> ${e.to.padEnd(21)} ${what}${e.sa ? `  [ESP ${e.sa.name} ${e.sa.ealg}+${e.sa.alg}]` : ''}`);
  };
}

/** Starts the core; resolves once it listens. */
export async function startCore(o: CoreCliOptions): Promise<RunningCore> {
  initSync();
  const hss = new Hss();
  for (const sub of o.subscribers) hss.addSubscriber(sub);
  let core: ImsCore;
  try {
    const trusted = new Set(o.trustProxies.map((t) => hostPort(normalizeAddress(t.address), t.port)));
    const names = (address: string, port: number): string => (trusted.has(hostPort(address, port)) ? 'P-CSCF' : hostPort(address, port));
    core = await ImsCore.start({ net: new NodeUdpNetwork(), address: o.host, port: o.port, realm: o.realm, hss, trustedProxies: o.trustProxies, names, ...(o.quiet ? {} : { tracer: messageTracer(o.log) }) });
  } catch (e) {
    for (const sub of o.subscribers) hss.remove(sub.impi);
    throw e;
  }
  const counts = { registered: 0, deregistered: 0, authFailed: 0 };
  const ev = o.onEvent;
  core.events.registered = (e) => { counts.registered++; ev ? ev({ event: 'registered', impi: e.impi, impu: e.impu }) : o.log(`${e.impu} registered (${e.impi})`); };
  core.events.deregistered = (impu) => { counts.deregistered++; ev ? ev({ event: 'deregistered', impu }) : o.log(`${impu} de-registered`); };
  core.events.authFailed = (e) => { counts.authFailed++; ev ? ev({ event: 'authFailed', impi: e.impi, reason: e.reason }) : o.log(`authentication of ${e.impi} failed: ${e.reason}`); };
  o.log(`core listening on ${hostPort(core.socket.address, core.port)}; trusting P-CSCF ${o.trustProxies.map((t) => hostPort(t.address, t.port)).join(', ')}`);
  const who = o.subscribers.length === 1 ? `subscriber ${o.subscribers[0]!.impi}` : `${o.subscribers.length} subscribers`;
  o.log(`realm ${o.realm}, ${who}`);
  return {
    core,
    statistics: () => ({
      ...counts, registrations: core.registrations.size, subscriptions: core.subscriptions.size,
      sip: { retransmissions: core.node.tx.retransmissions, malformed: core.node.malformed, refused: core.node.refused },
    }),
    close(): void {
      core.close();
      for (const sub of o.subscribers) hss.remove(sub.impi);
    },
  };
}
