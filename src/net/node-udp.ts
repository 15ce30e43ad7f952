// Real UDP sockets (node:dgram) for the IMS roles: Node only, never imported by the library entry point.
// With `nativeUdp`, sockets are the native addon's where it loads (src/wire/native-udp.ts: up to 32
// datagrams read per wake-up with one JavaScript call, a synchronous sendto per datagram instead of
// node:dgram's event, rinfo object and send request per datagram); node:dgram otherwise.

import { isIPv4, isIPv6 } from 'node:net';
import { Ipsec3gppError } from '../errors.js';
import { createSocket } from 'node:dgram';
import { NativeUdpSocket } from '../wire/native-udp.js';
import { type Datagram, type DatagramNetwork, type DatagramSocket, type WireRecord } from './datagram.js';

/** Options of a {@link NodeUdpNetwork}. */
export interface NodeUdpOptions {
  /**
   * SO_RCVBUF of every socket bound, in bytes (the kernel caps it at net.core.rmem_max). A server socket
   * that many peers send to (a P-CSCF's) loses every datagram that arrives while its buffer is full, as
   * during a pause of its event loop; the default (often 208 KiB, ~100 SIP requests) is small for that.
   */
  receiveBufferBytes?: number;
  /**
   * Bind with the native addon's UDP socket where it loads (Linux, addon built; no privilege needed) and
   * the address is IPv4 or a specific IPv6 one (not `::`, which node:dgram binds dual-stack): datagrams
   * are read in batches, one wake-up and one JavaScript call per batch, and sent with one synchronous
   * sendto (a datagram the kernel refuses is dropped, as UDP may). SO_RCVBUF is then 4 MiB (or what the
   * kernel caps it at); with `receiveBufferBytes` given, node:dgram is used. Taps and `drop` see every
   * datagram as before. Default false: node:dgram.
   */
  nativeUdp?: boolean;
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
    if (this.#o.nativeUdp === true && rcv === undefined && (isIPv4(address) || (isIPv6(address) && address !== '::'))) {
      const s = this.#bindNative(address, port);
      if (s !== undefined) return Promise.resolve(s);
    }
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
            if ((taps.size > 0 || self.drop !== undefined) && self.#observe(address, bound, dstAddress, dstPort, data)) return;
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

  /**
   * A datagram about to be sent, shown to the taps and the drop filter (the record, a copy of the
   * datagram, made only when someone observes or filters the traffic); true when it is dropped.
   */
  #observe(srcAddress: string, srcPort: number, dstAddress: string, dstPort: number, data: Uint8Array): boolean {
    const r: WireRecord = { time: Date.now(), srcAddress, srcPort, dstAddress, dstPort, data: data.slice() };
    for (const t of this.#taps) t(r);
    return this.drop?.(r) === true;
  }

  /** A native socket as a DatagramSocket with the taps, or undefined when the addon or the OS refuses (node:dgram then binds, and names any error). */
  #bindNative(address: string, port: number): DatagramSocket | undefined {
    let sock: NativeUdpSocket;
    try {
      sock = NativeUdpSocket.bind(address, port);
    } catch {
      return undefined;
    }
    const taps = this.#taps;
    const self = this;
    const bound = sock.port;
    return {
      address,
      port: bound,
      send(data: Uint8Array, dstPort: number, dstAddress: string): void {
        if ((taps.size > 0 || self.drop !== undefined) && self.#observe(address, bound, dstAddress, dstPort, data)) return;
        // UDP is best effort: an address this socket cannot reach (another family) is dropped, as a refused send.
        try {
          sock.send(data, dstPort, dstAddress);
        } catch {
          sock.sendErrors++;
        }
      },
      onMessage(handler: (d: Datagram) => void): void {
        sock.onMessage(handler);
      },
      close(): void {
        sock.close();
      },
    };
  }
}
