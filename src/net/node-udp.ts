// Real UDP sockets (node:dgram) for the IMS roles: Node only, never imported by the library entry point.

import { Ipsec3gppError } from '../errors.js';
import { createSocket } from 'node:dgram';
import { type Datagram, type DatagramNetwork, type DatagramSocket, type WireRecord } from './datagram.js';

/** Options of a {@link NodeUdpNetwork}. */
export interface NodeUdpOptions {
  /**
   * SO_RCVBUF of every socket bound, in bytes (the kernel caps it at net.core.rmem_max). A server socket
   * that many peers send to (a P-CSCF's) loses every datagram that arrives while its buffer is full, as
   * during a pause of its event loop; the default (often 208 KiB, ~100 SIP requests) is small for that.
   */
  receiveBufferBytes?: number;
}

/**
 * A {@link DatagramNetwork} of real UDP sockets (node:dgram; udp6 for IPv6 addresses). Node only, from
 * `ipsec-3gpp/node`. `bind` rejects with INVALID_ARGUMENT naming the problem (port in use, address not of this
 * host, privileges needed); `drop` injects loss before sending.
 *
 * @example
 * ```ts
 * import { NodeUdpNetwork } from 'ipsec-3gpp/node';
 * const net = new NodeUdpNetwork();
 * const s = await net.bind('127.0.0.1', 0);
 * console.log('listening on', s.port);
 * ```
 */
export class NodeUdpNetwork implements DatagramNetwork {
  readonly #taps = new Set<(r: WireRecord) => void>();
  readonly #o: NodeUdpOptions;
  /** Fault injection: return true to drop a datagram before it is sent (taps still see it). */
  drop: ((r: WireRecord) => boolean) | undefined;

  constructor(options: NodeUdpOptions = {}) {
    this.#o = options;
  }

  tap(fn: (r: WireRecord) => void): () => void {
    this.#taps.add(fn);
    return () => this.#taps.delete(fn);
  }

  bind(address: string, port: number): Promise<DatagramSocket> {
    const rcv = this.#o.receiveBufferBytes;
    const sock = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', ...(rcv !== undefined ? { recvBufferSize: rcv } : {}) });
    const taps = this.#taps;
    const self = this;
    return new Promise((resolve, reject) => {
      sock.once('error', (e: NodeJS.ErrnoException) => {
        sock.close();
        const hint = e.code === 'EADDRINUSE' ? `UDP port ${port} on ${address} is in use: choose another`
          : e.code === 'EADDRNOTAVAIL' ? `${address} is not an address of this host`
            : e.code === 'EACCES' ? `UDP port ${port} needs privileges` : `cannot bind UDP ${address}:${port}: ${e.code ?? e.message}`;
        reject(new Ipsec3gppError('INVALID_ARGUMENT', hint));
      });
      sock.bind(port, address, () => {
        sock.off('error', reject);
        sock.on('error', () => { /* ICMP port unreachable and similar: UDP is best effort */ });
        const bound = sock.address().port;
        const s: DatagramSocket = {
          address,
          port: bound,
          send(data: Uint8Array, dstPort: number, dstAddress: string): void {
            // The record (a copy of the datagram) only when someone observes or filters the traffic.
            if (taps.size > 0 || self.drop !== undefined) {
              const r: WireRecord = { time: Date.now(), srcAddress: address, srcPort: bound, dstAddress, dstPort, data: data.slice() };
              for (const t of taps) t(r);
              if (self.drop?.(r)) return;
            }
            sock.send(data, dstPort, dstAddress);
          },
          onMessage(handler: (d: Datagram) => void): void {
            sock.on('message', (msg, rinfo) => handler({ data: new Uint8Array(msg.buffer, msg.byteOffset, msg.length), address: rinfo.address, port: rinfo.port }));
          },
          close(): void {
            try { sock.close(); } catch { /* already closed */ }
          },
        };
        resolve(s);
      });
    });
  }
}
