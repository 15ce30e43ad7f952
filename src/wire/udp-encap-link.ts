// The UDP-encapsulation link of the wire (RFC 3948; TS 33.203 Annex M / TS 24.229 Annex F `mod=UDP-enc-tun`):
// one datagram socket on the encapsulation port carries the ESP packets of every UDP-enc-tun SA set of a
// WireProcessor, and NAT keep-alives (RFC 3948 2.3, 4: a single 0xFF octet, sent only when nothing else was
// sent to that peer for `keepAliveMs`, default 20 s at the UE, whose NAT binding it keeps; never at the
// P-CSCF). Works over any DatagramSocket: real UDP in Node (NodeUdpNetwork), the in-memory network, and the
// WebSocket relay in browsers, unprivileged everywhere. Browser-safe.

import { Ipsec3gppError } from '../errors.js';
import { type DatagramSocket } from '../net/datagram.js';
import { NAT_KEEPALIVE } from '../udp-encap.js';
import { type WireProcessor } from './processor.js';

/** Options of {@link UdpEncapLink}. */
export interface UdpEncapLinkOptions {
  /**
   * NAT keep-alive interval M in ms (RFC 3948 4): a keep-alive goes to the peer of every live UDP-enc-tun
   * set when nothing else was sent to it for M. 0 disables. Default 20 000 for the UE role, 0 for the P-CSCF.
   */
  keepAliveMs?: number;
  /** Time source in ms; default Date.now. */
  clock?: () => number;
  /**
   * The address family whose sets this socket serves; default from the socket's address (IPv6 when it
   * contains ':'). Both: a dual-stack socket.
   */
  family?: 4 | 6 | 'both';
}

/** A datagram socket serving a WireProcessor's UDP-enc-tun sets. */
export class UdpEncapLink {
  readonly processor: WireProcessor;
  readonly socket: DatagramSocket;
  /** NAT keep-alives sent. */
  keepAlivesSent = 0;
  readonly #keepAliveMs: number;
  readonly #clock: () => number;
  readonly #lastSent = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #family: 4 | 6 | undefined;

  /** Attaches `socket` (bound to the local encapsulation port) to `processor`. */
  constructor(processor: WireProcessor, socket: DatagramSocket, o: UdpEncapLinkOptions = {}) {
    const ka = o.keepAliveMs ?? (processor.db.role === 'ue' ? 20_000 : 0);
    if (!Number.isFinite(ka) || ka < 0) throw new Ipsec3gppError('INVALID_ARGUMENT', 'keepAliveMs must be >= 0');
    this.processor = processor;
    this.socket = socket;
    this.#keepAliveMs = ka;
    this.#clock = o.clock ?? Date.now;
    const family = o.family ?? (socket.address.includes(':') ? 6 : 4);
    this.#family = family === 'both' ? undefined : family;
    processor.attachEncap({
      // a socket that is done with the buffer when send returns (NativeUdpSocket) lets the processor reuse one
      synchronous: (socket as { synchronousSend?: boolean }).synchronousSend === true,
      send: (esp, address, port) => {
        if (this.#closed) return false;
        try {
          socket.send(esp, port, address);
        } catch {
          return false;
        }
        this.#lastSent.set(`${address}|${port}`, this.#clock());
        return true;
      },
    }, this.#family);
    socket.onMessage((d) => processor.fromEncap(d.data, { address: d.address, port: d.port }));
    if (ka > 0) {
      this.#timer = setInterval(() => this.sendKeepAlives(), Math.max(250, Math.floor(ka / 4)));
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** The local encapsulation port. */
  get port(): number {
    return this.socket.port;
  }

  /**
   * Sends a keep-alive to each peer of a live UDP-enc-tun set that has had nothing from this link for the
   * keep-alive interval; returns how many were sent. The timer calls it; tests may too.
   */
  sendKeepAlives(now = this.#clock()): number {
    if (this.#closed || this.#keepAliveMs === 0) return 0;
    const done = new Set<string>();
    let n = 0;
    for (const set of this.processor.db.all()) {
      if (set.mode !== 'UDP-enc-tun') continue;
      if (this.#family !== undefined && (set.sas[0]!.dstIp.length === 4 ? 4 : 6) !== this.#family) continue;
      const peer = this.processor.encapPeer(set);
      const key = `${peer.address}|${peer.port}`;
      if (done.has(key)) continue;
      done.add(key);
      if (now - (this.#lastSent.get(key) ?? -Infinity) < this.#keepAliveMs) continue;
      try {
        this.socket.send(NAT_KEEPALIVE.slice(), peer.port, peer.address);
      } catch {
        continue;
      }
      this.#lastSent.set(key, now);
      this.keepAlivesSent++;
      n++;
    }
    return n;
  }

  /** Detaches from the processor, stops the keep-alives and closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.processor.attachEncap(undefined, this.#family);
    this.socket.close();
  }
}
