// How an IMS role's protected ports reach the network (TS 33.203 7.1, Annex M; TS 24.229 Annex F): the
// role owns a WireProcessor over its SA database (src/wire/processor.ts) and attaches one or more wires to
// it, each carrying the SA sets of one `mod`:
//
//   - `trans`: ESP directly in IP (protocol 50, RFC 4303 3.1.1). Needs raw sockets: transportModeWire()
//     from `ipsec-3gpp/node` (Linux, CAP_NET_RAW, the native addon).
//   - `UDP-enc-tun`: UDP-encapsulated tunnel mode (RFC 3948 + RFC 4303 3.1.2), the inner packet a whole
//     IPv4/IPv6 packet with the protected ports. Plain UDP sockets, unprivileged, in Node and in browsers
//     (through the WebSocket relay): udpEncapWire() here.
//
// The modes a role has wires for are the modes it offers (UE) or accepts (P-CSCF): a wire that is not
// there is never negotiated, so nothing is ever sent in a mode the headers do not say.
//
// Encapsulation ports: the P-CSCF's encapsulation socket is on 4500 (NAT_T_PORT, RFC 3948; the Annex M
// summary available to this project puts it there, the clause text itself could not be read: see
// wire/processor.ts) unless configured; the UE's is any free port (port_Uenc), which the P-CSCF learns from
// the first protected packet and follows when a NAT moves it. Browser-safe.

import { Ipsec3gppError } from '../errors.js';
import { type DatagramNetwork, type DatagramSocket } from '../net/datagram.js';
import { type StreamNetwork } from '../net/stream.js';
import { NAT_T_PORT } from '../udp-encap.js';
import { type WireProcessor } from '../wire/processor.js';
import { UdpEncapLink } from '../wire/udp-encap-link.js';

/** A TS 33.203 `mod` the wire layer carries. */
export type WireMode = 'trans' | 'UDP-enc-tun';

/** What a role gives a wire when it attaches it. */
export interface RoleWireContext {
  /** The role's packet processor (its SA database inside). */
  processor: WireProcessor;
  /** The role's datagram network (the one its SIP sockets are bound on). */
  net: DatagramNetwork;
  /** The role's own address (normalised). */
  address: string;
  role: 'ue' | 'pcscf';
}

/** A wire attached to a role. */
export interface AttachedWire {
  readonly mode: WireMode;
  /** UDP-enc-tun: the local encapsulation port. */
  readonly encapPort?: number;
  /**
   * TCP inside the SAs (the kernel path: a TUN device): sockets on the protected ports that only take what
   * came through an SA. Absent where the wire has no kernel path.
   */
  readonly streams?: StreamNetwork;
  /** Detaches the wire and closes its sockets. */
  close(): void;
}

/** A wire a role can attach: what the `wire` option of UeClient and PcscfProxy takes. */
export interface RoleWire {
  readonly mode: WireMode;
  attach(ctx: RoleWireContext): Promise<AttachedWire>;
}

/** Options of {@link udpEncapWire}. */
export interface UdpEncapWireOptions {
  /** The local encapsulation port; default 4500 at the P-CSCF, a free one at the UE. */
  port?: number;
  /** NAT keep-alive interval in ms (RFC 3948 4); default 20 000 at the UE, none at the P-CSCF. */
  keepAliveMs?: number;
  /**
   * How to bind the encapsulation socket; default the role's own network (`ctx.net.bind`). In Node, the
   * addon's batched `NativeUdpSocket` is faster than node:dgram (it then bypasses the network's taps).
   */
  bind?: (address: string, port: number) => Promise<DatagramSocket>;
}

/**
 * UDP-encapsulated tunnel mode (`mod=UDP-enc-tun`) on the role's own datagram network: one socket on
 * the encapsulation port for every set, NAT keep-alives from the UE. Works unprivileged everywhere.
 *
 * @example
 * ```ts
 * const pcscf = await PcscfProxy.start({ net, address, core, wire: [udpEncapWire({ port: 4500 })] });
 * ```
 */
export function udpEncapWire(o: UdpEncapWireOptions = {}): RoleWire {
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) {
    throw new Ipsec3gppError('INVALID_ARGUMENT', 'encapsulation port must be 0..65535');
  }
  return {
    mode: 'UDP-enc-tun',
    async attach(ctx: RoleWireContext): Promise<AttachedWire> {
      const port = o.port ?? (ctx.role === 'pcscf' ? NAT_T_PORT : 0);
      const socket = await (o.bind ?? ((a: string, p: number) => ctx.net.bind(a, p)))(ctx.address, port);
      const link = new UdpEncapLink(ctx.processor, socket, o.keepAliveMs !== undefined ? { keepAliveMs: o.keepAliveMs } : {});
      return { mode: 'UDP-enc-tun', encapPort: socket.port, close: () => link.close() };
    },
  };
}

/** The modes of a list of wires, in the list's order, each once. */
export function wireModes(wires: readonly { mode: WireMode }[]): WireMode[] {
  return [...new Set(wires.map((w) => w.mode))];
}
