// SIP over TCP for a SIP element (RFC 3261 18): a listener beside each of its UDP sockets (same address and
// port: "All SIP elements MUST implement UDP and TCP"), connections to peers pooled and reused (18.1.1, one
// per peer address and port), each cut into messages by a SipStreamFramer (Content-Length, bounded), and
// the RFC 5626 keep-alive ping answered with a pong. A message that arrives on a connection is delivered
// with a route that names it, so that responses go back on the connection the request came on (18.2.2).
// A connection that cannot be framed is closed; an idle one is closed after `idleMs`. Browser-safe (the
// stream network is Node's NodeTcpNetwork or none).

import { type DatagramSocket } from '../net/datagram.js';
import { type SaEntry } from '../secagree/sadb.js';
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

/** A protected route over a connection inside the SAs (the kernel path: TCP through the TUN device). */
export interface ProtectedStreamRoute<P> {
  kind: 'protected';
  port: P;
  sa: SaEntry;
  stream: StreamConnection;
}

/** How a connection's messages are routed (undefined: no route any more, the message is dropped). */
export type RouteFor<R> = (c: StreamConnection) => R | undefined;

/** The TCP side of one SIP element (or of its protected ports). */
export class SipStreams<R = StreamRoute> {
  readonly #o: SipTcpOptions;
  readonly #deliver: (bytes: Uint8Array, route: R) => void;
  readonly #routes = new Map<StreamConnection, RouteFor<R>>();
  /** Messages that arrived on a connection whose route is gone (e.g. its SA set deleted). */
  unrouted = 0;
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

  constructor(o: SipTcpOptions, deliver: (bytes: Uint8Array, route: R) => void) {
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
  listen(socket: DatagramSocket): Promise<StreamListener> {
    return this.listenOn(socket.address, socket.port, (c) => ({ kind: 'plain', socket, address: c.remoteAddress, port: c.remotePort, stream: c }) as unknown as R);
  }

  /** Listens on `address:port`; each message on an accepted connection is delivered with `routeFor(connection)`. */
  async listenOn(address: string, port: number, routeFor: RouteFor<R>): Promise<StreamListener> {
    const l = await this.#o.net.listen(address, port, (c) => {
      if (this.#closed || this.#live.size >= (this.#o.maxConnections ?? 1024)) {
        this.refused++;
        c.close();
        return;
      }
      this.#attach(c, routeFor);
    });
    this.#listeners.push(l);
    return l;
  }

  /** A route to `address:port` over a (new or pooled) connection from `socket`'s address. */
  async routeTo(socket: DatagramSocket, address: string, port: number): Promise<R> {
    const routeFor: RouteFor<R> = (c) => ({ kind: 'plain', socket, address, port, stream: c }) as unknown as R;
    const c = await this.connectTo(hopKey(address, port), { address, port, localAddress: socket.address }, routeFor);
    return routeFor(c)!;
  }

  /** A (new or pooled, by `key`) connection; messages that arrive on it are delivered with `routeFor`. */
  async connectTo(key: string, o: { address: string; port: number; localAddress?: string; localPort?: number }, routeFor: RouteFor<R>): Promise<StreamConnection> {
    let p = this.#pool.get(key);
    if (p === undefined) {
      p = this.#o.net.connect(o).then((c) => {
        this.#attach(c, routeFor, key);
        return c;
      });
      this.#pool.set(key, p);
      p.catch(() => { if (this.#pool.get(key) === p) this.#pool.delete(key); });
    }
    return p;
  }

  /** Closes the connections whose current route `pred` matches (or that have no route any more). */
  closeWhere(pred: (route: R) => boolean): number {
    let n = 0;
    for (const [c, routeFor] of [...this.#routes]) {
      const r = routeFor(c);
      if (r === undefined || pred(r)) { c.close(); n++; }
    }
    return n;
  }

  #attach(c: StreamConnection, routeFor: RouteFor<R>, poolKey?: string): void {
    this.#live.add(c);
    this.#routes.set(c, routeFor);
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
      this.#routes.delete(c);
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
        else {
          const r = routeFor(c);
          if (r === undefined) this.unrouted++;
          else this.#deliver(m.bytes, r);
        }
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
