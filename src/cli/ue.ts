// `ipsec-3gpp ue`: a UE that registers with a real P-CSCF (TS 33.203 SM1 ... SM12 over IMS AKA and the
// ipsec-3gpp security agreement, TS 24.229 5.1.1), prints the ladder, optionally sends a MESSAGE over the
// SAs and stays registered for a while, then de-registers. The ESP goes on the real wire: transport mode
// (IP protocol 50, needs CAP_NET_RAW) and/or UDP-encapsulated tunnel mode (RFC 3948, unprivileged), as
// --mode says; the P-CSCF chooses among what is offered (Annex M: UDP-enc-tun behind a NAT).

import { createSocket } from 'node:dgram';
import { UeClient } from '../ims/ue-client.js';
import { type TraceEvent } from '../ims/sip-node.js';
import { initSync } from '../index.js';
import { normalizeAddress } from '../ip.js';
import { NodeUdpNetwork } from '../net/node-udp.js';
import { NodeTcpNetwork } from '../net/node-tcp.js';
import { type UeRelease } from '../secagree/ue.js';
import { ladderPrinter } from './demo.js';
import { chooseWires, type WireChoice } from './wires.js';

export interface UeCliOptions {
  pcscf: { host: string; port: number };
  /** The P-CSCF's encapsulation port (UDP-enc-tun); default 4500. */
  encapPort: number;
  /** This UE's address; default the one the host routes toward the P-CSCF from. */
  local?: string | undefined;
  /** The unprotected SIP port; default 5060 (what Kamailio's P-CSCF expects), a free one if 5060 is taken. */
  port?: number | undefined;
  impi: string;
  impu?: string | undefined;
  realm?: string | undefined;
  k: Uint8Array;
  op?: Uint8Array | undefined;
  opc?: Uint8Array | undefined;
  release: UeRelease;
  mode: WireChoice;
  /** The kernel path (TUN device): TCP inside the SAs. Needs CAP_NET_ADMIN. */
  tun?: boolean | undefined;
  /** Send one MESSAGE to this URI over the SAs once registered. */
  message?: string | undefined;
  /** The MESSAGE body's size in octets (padded); default its text's. */
  messageBytes?: number | undefined;
  /** Seconds to stay registered (refreshing by itself) before de-registering; default 0. */
  hold: number;
  expires: number;
  quiet: boolean;
  log: (line: string) => void;
}

/** The local address the host would use toward `host` (a connected UDP socket; nothing is sent). */
export async function routeSource(host: string): Promise<string> {
  const family = host.includes(':') ? 'udp6' : 'udp4';
  const s = createSocket(family);
  try {
    await new Promise<void>((ok, fail) => {
      s.once('error', fail);
      s.connect(9, host, () => ok());
    });
    return s.address().address;
  } finally {
    s.close();
  }
}

/** Registers, does what was asked, de-registers; resolves with the exit code (0 registered and done). */
export async function runUe(o: UeCliOptions, signal?: AbortSignal): Promise<number> {
  initSync();
  const pcscf = normalizeAddress(o.pcscf.host);
  const local = normalizeAddress(o.local ?? await routeSource(pcscf));
  const wires = chooseWires(o.mode, { tun: o.tun === true, nativeUdp: true });
  const realm = o.realm ?? o.impi.split('@')[1] ?? '';
  if (realm === '') throw new Error('--realm is needed when the IMPI has no domain part');
  const impu = o.impu ?? `sip:${o.impi}`;
  o.log(`UE ${o.impi} on ${local} -> P-CSCF ${pcscf}:${o.pcscf.port} (UDP encapsulation port ${o.encapPort}); ${wires.note}`);
  const pcscfPorts = new Set<number>([o.pcscf.port, o.encapPort]);
  const names = (a: string, p: number): string => (a === pcscf && pcscfPorts.has(p) ? 'P-CSCF' : a === local ? 'UE' : `${a}:${p}`);
  const printer = o.quiet ? undefined : ladderPrinter(o.log);
  const start = (port: number): Promise<UeClient> => UeClient.start({
    net: new NodeUdpNetwork(), address: local, port, name: 'UE', impi: o.impi, impu, realm, k: o.k,
    ...(o.op ? { op: o.op } : { opc: o.opc! }),
    pcscf: { address: pcscf, port: o.pcscf.port, encapPort: o.encapPort }, release: o.release, expires: o.expires,
    wire: wires.wires, names, traceReceived: true, tcp: { net: new NodeTcpNetwork() }, ...(printer ? { tracer: (e: TraceEvent) => printer(e) } : {}),
  });
  let ue: UeClient;
  try {
    ue = await start(o.port ?? 5060);
  } catch (e) {
    if (o.port !== undefined) throw e;
    o.log(`port 5060 is taken on ${local}: using a free port (a Kamailio 5.6 P-CSCF needs the UE on 5060)`);
    ue = await start(0);
  }
  ue.db.on((set) => pcscfPorts.add(set.pcscf.portC).add(set.pcscf.portS));
  try {
    const r = await ue.register();
    if (r.status !== 200 || r.set === undefined) {
      o.log(`registration failed: ${r.status} ${r.reason}${r.detail ? ` (${r.detail})` : ''}`);
      return 1;
    }
    const s = r.set;
    o.log(`registered over ${s.mode === 'trans' ? 'transport-mode' : 'UDP-encapsulated tunnel-mode'} ESP: ${s.ealg === 'null' ? 'no encryption' : s.ealg} + ${s.alg}; SPIs UE ${s.ue.spiC}/${s.ue.spiS}, P-CSCF ${s.pcscf.spiC}/${s.pcscf.spiS}; ports UE ${s.ue.portC}/${s.ue.portS}, P-CSCF ${s.pcscf.portC}/${s.pcscf.portS}`);
    let failed = false;
    if (o.message !== undefined) {
      const text = 'hello from ipsec-3gpp';
      const m = await ue.message(o.message, o.messageBytes !== undefined && o.messageBytes > text.length ? text + '.'.repeat(o.messageBytes - text.length) : text);
      o.log(`MESSAGE to ${o.message}: ${m.status} ${m.reason}`);
      failed ||= m.status >= 300;
    }
    if (o.hold > 0 && !signal?.aborted) {
      o.log(`staying registered for ${o.hold} s (Ctrl-C to de-register now)`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, o.hold * 1000);
        signal?.addEventListener('abort', () => { clearTimeout(t); ok(); }, { once: true });
      });
    }
    const d = await ue.deregister();
    o.log(`de-registered: ${d.status} ${d.reason}`);
    const drops = Object.entries(ue.wire.counters.dropped).filter(([, n]) => n > 0);
    o.log(`wire: ${ue.wire.counters.sent} ESP packets sent, ${ue.wire.counters.received} received; drops: ${drops.length ? drops.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`);
    return failed || d.status !== 200 ? 1 : 0;
  } finally {
    ue.close();
  }
}
