// A protected port of TS 33.203 7.1 (port_uc / port_us at the UE, port_pc / port_ps at the P-CSCF): SIP over
// the SAs whose selectors name it. The ESP is the wire's (src/wire/processor.ts): transport mode as IP
// protocol 50, or UDP-encapsulated tunnel mode, as the SA set's `mod` says; this class only binds the port
// on the role's WireProcessor and hands the SIP layer what arrives over an accepted SA.
//
// The port number is held by a datagram socket bound on it (so that no other socket of the host, or of the
// same network, takes it while SAs name it). In transport mode the kernel's own UDP never sees ESP, and in
// UDP-enc-tun the inner ports exist only inside the tunnel, so that socket receives nothing protected: what
// arrives on it is clear UDP, dropped and counted, or, with acceptClear (the P-CSCF's --no-ipsec mode for
// tools without ESP), SIP in clear.
//
// A packet accepted on a set tells the SA database that the peer used it (old-set retirement, TS 33.203 7.4).

import { Ipsec3gppError } from '../errors.js';
import { type DatagramSocket } from '../net/datagram.js';
import { type SaDatabase, type SaEntry } from '../secagree/sadb.js';
import { type Endpoint, type WirePort, type WireProcessor } from '../wire/processor.js';

/** Counters of one protected port (the wire's own drop counters are on its processor). */
export interface ProtectedPortStats {
  /** SIP messages sent over an SA from this port. */
  sent: number;
  /** SIP messages received over an SA on this port. */
  received: number;
  /** SIP octets sent / received (the UDP payloads inside ESP). */
  bytesSent: number;
  bytesReceived: number;
  /** Datagrams that reached the port's socket in clear, by reason (`clear`; `clear-sip` when not accepted). */
  dropped: Record<string, number>;
}

const SIP_START = /^(?:[A-Z]+ \S+ SIP\/2\.0|SIP\/2\.0 \d{3} )/;

/** One protected port of a role, served by its WireProcessor. */
export class ProtectedPort {
  /** The socket that holds the port number (and carries clear SIP with acceptClear). */
  readonly socket: DatagramSocket;
  readonly stats: ProtectedPortStats = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0, dropped: {} };
  readonly #db: SaDatabase;
  readonly #port: WirePort;
  #handler: ((sip: Uint8Array, sa: SaEntry, from: Endpoint) => void) | undefined;
  #clear: ((sip: Uint8Array, from: Endpoint) => void) | undefined;

  /** Serves `socket`'s port on `processor` (whose SA database is `processor.db`). */
  constructor(socket: DatagramSocket, processor: WireProcessor) {
    this.socket = socket;
    this.#db = processor.db;
    this.#port = processor.bindPort(socket.port);
    this.#port.onMessage((sip, sa, from) => {
      this.stats.received++;
      this.stats.bytesReceived += sip.length;
      this.#db.peerUsed(sa.set);
      this.#handler?.(sip, sa, from);
    });
    socket.onMessage((d) => this.#clearDatagram(d.data, d.address, d.port));
  }

  get port(): number {
    return this.socket.port;
  }

  /** Receives the SIP bytes of every accepted packet, with the SA it arrived on and its inner source. */
  onSip(handler: (sip: Uint8Array, sa: SaEntry, from: Endpoint) => void): void {
    this.#handler = handler;
  }

  /**
   * Also accept SIP in clear on this port (the P-CSCF's --no-ipsec mode for tools without ESP): datagrams
   * on the port's socket that start like a SIP message go to `handler`.
   */
  acceptClear(handler: (sip: Uint8Array, from: Endpoint) => void): void {
    this.#clear = handler;
  }

  /**
   * Sends SIP bytes over the outbound SA `sa`, which must leave from this port (ESP_DIRECTION otherwise),
   * in its set's mode (WIRE_UNAVAILABLE when the role has no wire for it).
   */
  send(sa: SaEntry, sip: Uint8Array): void {
    if (sa.direction !== 'outbound' || sa.srcPort !== this.socket.port) {
      throw new Ipsec3gppError('ESP_DIRECTION', `${sa.name} does not leave from port ${this.socket.port}`);
    }
    this.#port.send(sa, sip);
    this.stats.sent++;
    this.stats.bytesSent += sip.length;
  }

  #clearDatagram(data: Uint8Array, address: string, port: number): void {
    if (this.#clear !== undefined && SIP_START.test(new TextDecoder('latin1').decode(data.subarray(0, 256)))) {
      this.#clear(data, { address, port });
      return;
    }
    this.stats.dropped.clear = (this.stats.dropped.clear ?? 0) + 1;
  }

  /** Unbinds the port from the wire and closes its socket. */
  close(): void {
    this.#port.close();
    this.socket.close();
  }
}
