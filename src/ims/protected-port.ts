// A protected port of TS 33.203 (port_uc / port_us at the UE, port_pc / port_ps at the P-CSCF): SIP carried
// in ESP over UDP. Node has no raw IP sockets, so each ESP packet travels as the payload of a UDP datagram
// (the RFC 3948 framing, 2.1) between the protected ports of its SA; the ESP payload is the transport-mode
// UDP segment (next header 17) with the same ports, as the SIP datagram would be without the framing.
//
// Inbound checks (RFC 4303 3.4 and the SA selectors of TS 33.203 7.1): the datagram must be ESP (RFC 3948:
// keep-alives and Non-ESP-Marker packets are dropped), its SPI an inbound SA of this side whose source
// address and port are the datagram's and whose destination port is this socket's; the ESP checks pass;
// the inner UDP checksum verifies and its ports equal the SA's. Anything else is dropped and counted by
// reason. A packet accepted on a set tells the SA database that the peer used it (old-set retirement).

import { ErrorCode, Ipsec3gppError } from '../errors.js';
import { buildUdp, parseUdp } from '../ip.js';
import { type SaDatabase, type SaEntry } from '../secagree/sadb.js';
import { classifyUdpPayload, espSpi } from '../udp-encap.js';
import { type DatagramSocket } from '../net/datagram.js';

export interface ProtectedPortStats {
  sent: number;
  received: number;
  bytesSent: number;
  bytesReceived: number;
  dropped: Record<string, number>;
}

export class ProtectedPort {
  readonly socket: DatagramSocket;
  readonly #db: SaDatabase;
  readonly stats: ProtectedPortStats = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0, dropped: {} };
  #handler: ((sip: Uint8Array, sa: SaEntry, from: { address: string; port: number }) => void) | undefined;
  #clear: ((sip: Uint8Array, from: { address: string; port: number }) => void) | undefined;

  constructor(socket: DatagramSocket, db: SaDatabase) {
    this.socket = socket;
    this.#db = db;
    socket.onMessage((d) => this.#receive(d.data, d.address, d.port));
  }

  get port(): number {
    return this.socket.port;
  }

  /** Receives the SIP bytes of every accepted packet, with the SA it arrived on. */
  onSip(handler: (sip: Uint8Array, sa: SaEntry, from: { address: string; port: number }) => void): void {
    this.#handler = handler;
  }

  /**
   * Also accept SIP in clear on this port (the P-CSCF's --no-ipsec mode for tools without ESP): datagrams
   * that are not ESP of a known SA but start like a SIP message go to `handler`.
   */
  acceptClear(handler: (sip: Uint8Array, from: { address: string; port: number }) => void): void {
    this.#clear = handler;
  }

  /** Sends SIP bytes over the outbound SA `sa`, which must leave from this port. */
  send(sa: SaEntry, sip: Uint8Array): void {
    if (sa.direction !== 'outbound' || sa.srcPort !== this.socket.port) {
      throw new Ipsec3gppError(ErrorCode.ESP_DIRECTION, `${sa.name} does not leave from port ${this.socket.port}`);
    }
    const inner = buildUdp({ srcPort: sa.srcPort, dstPort: sa.dstPort, payload: sip, src: sa.srcIp, dst: sa.dstIp });
    const packet = sa.esp.seal(inner, 17);
    this.stats.sent++;
    this.stats.bytesSent += packet.length;
    this.socket.send(packet, sa.dstPort, sa.dstAddress);
  }

  #drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  #receive(data: Uint8Array, address: string, port: number): void {
    let kind;
    try {
      kind = classifyUdpPayload(data);
    } catch {
      return this.#drop('not-esp');
    }
    if (kind === 'nat-keepalive') return this.#drop('keepalive');
    if (kind === 'non-esp') return this.#drop('non-esp-marker');
    const spi = espSpi(data);
    const sa = this.#db.bySpi(spi);
    if (sa === undefined) {
      if (this.#clear && /^(?:[A-Z]+ \S+ SIP\/2\.0|SIP\/2\.0 \d{3} )/.test(new TextDecoder("latin1").decode(data.subarray(0, 256)))) {
        return this.#clear(data, { address, port });
      }
      return this.#drop('unknown-spi');
    }
    if (sa.srcAddress !== address || sa.srcPort !== port || sa.dstPort !== this.socket.port) return this.#drop('selector');
    let opened;
    try {
      opened = sa.esp.open(data);
    } catch (e) {
      return this.#drop((e as { code?: string }).code ?? 'esp');
    }
    if (opened === null) return this.#drop('dummy');
    let udp;
    try {
      if (opened.nextHeader !== 17) throw new Error('not UDP');
      udp = parseUdp(opened.payload, sa.srcIp, sa.dstIp);
    } catch {
      return this.#drop('inner-udp');
    }
    if (udp.srcPort !== sa.srcPort || udp.dstPort !== sa.dstPort) return this.#drop('inner-ports');
    this.stats.received++;
    this.stats.bytesReceived += data.length;
    this.#db.peerUsed(sa.set);
    this.#handler?.(udp.payload, sa, { address, port });
  }

  close(): void {
    this.socket.close();
  }
}
