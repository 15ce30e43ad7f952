// SIP over TCP for a SIP element (RFC 3261 18): a listener beside each of its UDP sockets (same address and
// port: "All SIP elements MUST implement UDP and TCP"), connections to peers pooled and reused (18.1.1, one
// per peer address and port), each cut into messages by a SipStreamFramer (Content-Length, bounded), and
// the RFC 5626 keep-alive ping answered with a pong. A message that arrives on a connection is delivered
// with a route that names it, so that responses go back on the connection the request came on (18.2.2).
// A connection that cannot be framed is closed; an idle one is closed after `idleMs`. Browser-safe (the
// stream network is Node's NodeTcpNetwork or none).

import { type DatagramSocket } from '../net/datagram.js';
import { type StreamConnection, type StreamListener, type StreamNetwork } from '../net/stream.js';
import { SipStreamFramer, type SipStreamLimits } from '../sip/stream-framer.js';
import { hopKey } from './hop.js';

/** Options of SIP over TCP for an element. */
export interface SipTcpOptions {
  net: StreamNetwork;
  limits?: SipStreamLimits;
  /** Close a connection after this long without traffic; default 32 000 ms. */
  idleMs?: number;
  /** At most this many connections at once (new incoming ones are refused past it); default 1024. */
  maxConnections?: number;
  /**
   * Whether a large request (RFC 3261 18.1.1) to `address:port` goes over TCP; default: never (this
   * element only accepts connections). A UE says yes for its P-CSCF's unprotected port.
   */
  upgrade?: (address: string, port: number) => boolean;
}

/** A plain (unprotected) route over a connection, as SipNode takes it. */
export interface StreamRoute {
  kind: 'plain';
  socket: DatagramSocket;
  address: string;
  port: number;
  stream: StreamConnection;
}

const CRLF = new Uint8Array([13, 10]);

/** The TCP side of one SIP element. */
export class SipStreams {
  readonly #o: SipTcpOptions;
  readonly #deliver: (bytes: Uint8Array, route: StreamRoute) => void;
  readonly #listeners: StreamListener[] = [];
  readonly #pool = new Map<string, Promise<StreamConnection>>();
  readonly #live = new Set<StreamConnection>();
  /** Connections closed because they could not be framed. */
  framingErrors = 0;
  /** Connections refused at the bound. */
  refused = 0;
  /** Called with each connection as it opens (`incoming` when accepted), e.g. to name it in a ladder. */
  onOpen: ((c: StreamConnection, incoming: boolean) => void) | undefined;
  #closed = false;

  constructor(o: SipTcpOptions, deliver: (bytes: Uint8Array, route: StreamRoute) => void) {
    this.#o = o;
    this.#deliver = deliver;
  }

  /** Whether requests to `address:port` larger than 1300 octets go over TCP (SipTcpOptions.upgrade). */
  upgrades(address: string, port: number): boolean {
    return this.#o.upgrade?.(address, port) === true;
  }

  /** Open connections. */
  get connections(): number {
    return this.#live.size;
  }

  /** Listens for TCP on `socket`'s address and port; messages arrive as if on `socket`, over the connection. */
  async listen(socket: DatagramSocket): Promise<StreamListener> {
    const l = await this.#o.net.listen(socket.address, socket.port, (c) => {
      if (this.#closed || this.#live.size >= (this.#o.maxConnections ?? 1024)) {
        this.refused++;
        c.close();
        return;
      }
      this.#attach(c, socket);
    });
    this.#listeners.push(l);
    return l;
  }

  /** A route to `address:port` over a (new or pooled) connection from `socket`'s address. */
  async routeTo(socket: DatagramSocket, address: string, port: number): Promise<StreamRoute> {
    const key = hopKey(address, port);
    let p = this.#pool.get(key);
    if (p === undefined) {
      p = this.#o.net.connect({ address, port, localAddress: socket.address }).then((c) => {
        this.#attach(c, socket, key);
        return c;
      });
      this.#pool.set(key, p);
      p.catch(() => { if (this.#pool.get(key) === p) this.#pool.delete(key); });
    }
    const stream = await p;
    return { kind: 'plain', socket, address, port, stream };
  }

  #attach(c: StreamConnection, socket: DatagramSocket, poolKey?: string): void {
    this.#live.add(c);
    this.onOpen?.(c, poolKey === undefined);
    const framer = new SipStreamFramer(this.#o.limits);
    const idleMs = this.#o.idleMs ?? 32_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const touch = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => c.close(), idleMs);
      (timer as { unref?: () => void }).unref?.();
    };
    touch();
    const write = c.write.bind(c);
    (c as { write: (d: Uint8Array) => boolean }).write = (d) => { touch(); return write(d); };
    c.onClose(() => {
      if (timer) clearTimeout(timer);
      this.#live.delete(c);
      if (poolKey !== undefined) this.#pool.delete(poolKey);
    });
    c.onData((d) => {
      touch();
      let out;
      try {
        out = framer.push(d);
      } catch {
        this.framingErrors++;
        c.close();
        return;
      }
      for (const m of out) {
        if (m.kind === 'ping') c.write(CRLF);
        else this.#deliver(m.bytes, { kind: 'plain', socket, address: c.remoteAddress, port: c.remotePort, stream: c });
      }
    });
  }

  /** Closes every listener and connection. */
  close(): void {
    this.#closed = true;
    for (const l of this.#listeners.splice(0)) l.close();
    for (const c of [...this.#live]) c.close();
    this.#pool.clear();
  }
}
