// A datagram network with the faults of a bad access network, over real UDP sockets (node-udp.ts): each
// datagram sent is, with the given probabilities, dropped, duplicated, or delayed (and so reordered
// behind later ones). Used by the soak test; deterministic for a seed.

import { type Datagram, type DatagramNetwork, type DatagramSocket, type WireRecord } from '../../src/net/datagram.js';
import { NodeUdpNetwork, type NodeUdpOptions } from '../../src/node.js';

export interface Faults {
  drop: number;
  duplicate: number;
  /** Probability that a datagram is held back, by a random 20..300 ms. */
  delay: number;
}

export class FaultyNetwork implements DatagramNetwork {
  readonly #inner: NodeUdpNetwork;
  readonly #rng: () => number;
  faults: Faults;
  readonly counts = { sent: 0, dropped: 0, duplicated: 0, delayed: 0 };
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(faults: Faults, seed: number, udp: NodeUdpOptions = {}) {
    this.#inner = new NodeUdpNetwork(udp);
    this.faults = faults;
    let x = seed >>> 0 || 1;
    this.#rng = () => {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      return x / 0x100000000;
    };
  }

  tap(fn: (r: WireRecord) => void): () => void {
    return this.#inner.tap(fn);
  }

  async bind(address: string, port: number): Promise<DatagramSocket> {
    const s = await this.#inner.bind(address, port);
    const send = (data: Uint8Array, dstPort: number, dstAddress: string): void => {
      this.counts.sent++;
      const r = this.#rng();
      const f = this.faults;
      if (r < f.drop) { this.counts.dropped++; return; }
      if (r < f.drop + f.duplicate) {
        this.counts.duplicated++;
        s.send(data, dstPort, dstAddress);
        s.send(data, dstPort, dstAddress);
        return;
      }
      if (r < f.drop + f.duplicate + f.delay) {
        this.counts.delayed++;
        const copy = data.slice();
        const t = setTimeout(() => {
          this.#timers.delete(t);
          try { s.send(copy, dstPort, dstAddress); } catch { /* the socket closed meanwhile: lost, as on a real link */ }
        }, 20 + Math.floor(this.#rng() * 280));
        this.#timers.add(t);
        return;
      }
      s.send(data, dstPort, dstAddress);
    };
    return {
      address: s.address, port: s.port, send,
      onMessage: (h: (d: Datagram) => void) => s.onMessage(h),
      close: () => s.close(),
    };
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
