// An in-memory datagram network: sockets on made-up addresses deliver to each other asynchronously, with
// optional loss (a predicate over each datagram) for retransmission tests. Works in browsers.

import { Ipsec3gppError } from '../errors.js';
import { type Datagram, type DatagramNetwork, type DatagramSocket, type WireRecord } from './datagram.js';

/**
 * An in-memory {@link DatagramNetwork}: sockets on any made-up addresses deliver to each other asynchronously
 * (a microtask), with optional loss through `drop`. Works in browsers; what the tests and the web demo use.
 * `bind` with port 0 picks a free port from 40000 up, and rejects with an Error for a port in use.
 *
 * @example
 * ```ts
 * const net = new MemoryNetwork();
 * const a = await net.bind('10.0.0.1', 5060), b = await net.bind('10.0.0.2', 0);
 * b.onMessage((d) => console.log(d.address, d.port, d.data));
 * a.send(new TextEncoder().encode('hi'), b.port, '10.0.0.2');
 * ```
 */
export class MemoryNetwork implements DatagramNetwork {
  readonly #sockets = new Map<string, (d: Datagram) => void>();
  readonly #taps = new Set<(r: WireRecord) => void>();
  #nextPort = 40000;
  /** Return true to drop a datagram (it is still seen by taps, as it was sent). */
  drop: ((r: WireRecord) => boolean) | undefined;

  tap(fn: (r: WireRecord) => void): () => void {
    this.#taps.add(fn);
    return () => this.#taps.delete(fn);
  }

  async bind(address: string, port: number): Promise<DatagramSocket> {
    let p = port;
    if (p === 0) while (this.#sockets.has(`${address}|${this.#nextPort}`)) this.#nextPort++;
    if (p === 0) p = this.#nextPort++;
    const key = `${address}|${p}`;
    if (this.#sockets.has(key)) throw new Ipsec3gppError('INVALID_ARGUMENT', `UDP port ${p} on ${address} is in use: choose another`);
    let handler: (d: Datagram) => void = () => {};
    this.#sockets.set(key, (d) => handler(d));
    return {
      address,
      port: p,
      send: (data, dstPort, dstAddress) => {
        const r: WireRecord = { time: Date.now(), srcAddress: address, srcPort: p, dstAddress, dstPort, data: data.slice() };
        for (const t of this.#taps) t(r);
        if (this.drop?.(r)) return;
        const target = this.#sockets.get(`${dstAddress}|${dstPort}`);
        if (target) queueMicrotask(() => target({ data: r.data, address, port: p }));
      },
      onMessage: (h) => { handler = h; },
      close: () => { this.#sockets.delete(key); },
    };
  }
}
