// What the UE, the P-CSCF and the core share: a SIP element with a transaction layer (RFC 3261 17) over
// routes that are either plain UDP or protected (an outbound SA on a protected port), a trace of every
// message for the ladder (AKA secrets redacted), and helpers to build requests and responses (RFC 3261 8.1.1, 8.2.6).

import { type DatagramSocket } from '../net/datagram.js';
import { type SaDatabase, type SaEntry } from '../secagree/sadb.js';
import { SIP_METHODS, SipHeaders, SipParseError, detached, parseSipMessage, serializeSipMessage, serializeSipMessageWith, type SipMessage, type SipRequest, type SipResponse } from '../sip/message.js';
import { TransactionLayer, type ClientTxOptions, type ClientTxSettle, type Incoming, type TimerValues } from '../sip/transaction.js';
import { type ProtectedPort } from './protected-port.js';
import { type StreamConnection } from '../net/stream.js';
import { SipStreams, type SipTcpOptions } from './sip-streams.js';
import { redactMessage } from './redact.js';
import { randomHex } from '../sip/random-id.js';
import { ByteSlab } from '../sip/byte-slab.js';

/** Where a message goes (or came from). */
export type Route =
  /** Unprotected: UDP from `socket`, or over the TCP connection `stream` (whose local end shares the socket's address and port). */
  | { kind: 'plain'; socket: DatagramSocket; address: string; port: number; stream?: StreamConnection | undefined }
  /** Protected: over the outbound SA `sa` from `port`, in UDP, or inside the SAs over the TCP connection `stream` (the kernel path). */
  | { kind: 'protected'; port: ProtectedPort; sa: SaEntry; stream?: StreamConnection | undefined };

/** One message as the ladder shows it. */
export interface TraceEvent {
  time: number;
  from: string;
  to: string;
  /** The message as sent, with its AKA secrets (ck, ik, auts) redacted (src/ims/redact.ts). */
  message: SipMessage;
  bytes: number;
  /** For protected messages: the SA and its algorithms. */
  sa?: { name: string; spi: number; alg: string; ealg: string };
  /** 'TCP' for a message on a connection (RFC 3261 18); absent for UDP. */
  transport?: 'TCP';
}

/**
 * Receives each SIP message a node sends (and, with traceReceived, receives), for ladders and logs; AKA
 * secrets are already redacted.
 */
export type Tracer = (e: TraceEvent) => void;

// From a CSPRNG pool (sip/random-id.ts): one getRandomValues per ~500 identifiers, not one each.
const hexRandom = randomHex;

export const newBranch = (): string => `z9hG4bK${hexRandom(8)}`;
export const newTag = (): string => hexRandom(4);
export const newCallId = (host: string): string => `${hexRandom(8)}@${host}`;

const enc = new TextEncoder();
/** The body of a message without one (shared: a zero-length array cannot be written to). */
const NO_BODY = new Uint8Array(0);


/** A response to `req` (Via, From, To, Call-ID and CSeq copied; a To tag added to final responses). */
export function makeResponse(req: SipRequest, status: number, reason: string, extra: Array<[string, string]> = [], body?: { type: string; data: Uint8Array }): SipResponse {
  const h = new SipHeaders();
  for (const v of req.headers.getAll('via')) h.add('Via', detached(v));
  h.add('From', detached(req.headers.get('from')!));
  let to = req.headers.get('to')!;
  if (status >= 200 && !/;\s*tag=/i.test(to)) to = `${to};tag=${newTag()}`;
  h.add('To', detached(to));
  h.add('Call-ID', detached(req.headers.get('call-id')!));
  h.add('CSeq', detached(req.headers.get('cseq')!));
  // Extra values are often the request's own (a registrar's Contact and Path): detached as well.
  for (const [n, v] of extra) h.add(n, detached(v));
  if (body) h.add('Content-Type', body.type);
  return { type: 'response', status, reason, headers: h, body: body?.data ?? NO_BODY };
}

/**
 * What {@link makeResponse} reads of a request (its Via lines, From, To, Call-ID, CSeq, method and URI), as a
 * request of its own: a proxy keeps this for the 408 it may have to answer (RFC 3261 16.8) while the next hop
 * answers, instead of the whole parsed request (its header list, body and datagram).
 */
export function answerBase(req: SipRequest): SipRequest {
  const h = new SipHeaders();
  for (const v of req.headers.getAll('via')) h.add('Via', v);
  for (const n of ANSWERED_FROM) {
    const v = req.headers.get(n);
    if (v !== undefined) h.add(n, v);
  }
  return { type: 'request', method: req.method, uri: req.uri, headers: h, body: NO_BODY };
}
const ANSWERED_FROM = ['From', 'To', 'Call-ID', 'CSeq'] as const;

export interface RequestInit {
  method: string;
  uri: string;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  via: string;
  headers?: Array<[string, string]>;
  body?: { type: string; data: Uint8Array | string };
}

export function makeRequest(r: RequestInit): SipRequest {
  const h = new SipHeaders();
  h.add('Via', r.via);
  h.add('Max-Forwards', '70');
  h.add('From', r.from);
  h.add('To', r.to);
  h.add('Call-ID', r.callId);
  h.add('CSeq', `${r.cseq} ${r.method}`);
  for (const [n, v] of r.headers ?? []) h.add(n, v);
  let body: Uint8Array = NO_BODY;
  if (r.body) {
    h.add('Content-Type', r.body.type);
    body = typeof r.body.data === 'string' ? enc.encode(r.body.data) : r.body.data;
  }
  return { type: 'request', method: r.method, uri: r.uri, headers: h, body };
}

/** Request-URI schemes every element here handles (RFC 3261 19.1, RFC 3966); others get 416. */
const URI_SCHEMES = new Set(['sip', 'sips', 'tel']);

/** A Warning value (RFC 3261 20.43): code 399, the element's name as a token, the text as a quoted-string. */
function warning(agent: string, text: string): string {
  const name = agent.replace(/[^A-Za-z0-9.!%*_+`'~-]+/g, '-') || 'sip';
  const quoted = text.replace(/[\\"]/g, "'").replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 200);
  return `399 ${name} "${quoted}"`;
}

/** Describes a route for the ladder. */
function describe(route: Route, names: (address: string, port: number) => string): string {
  return route.kind === 'plain' ? names(route.address, route.port) : names(route.sa.dstAddress, route.sa.dstPort);
}

/** A SIP element: transactions, routes, tracing, and a request handler. */
export class SipNode {
  readonly name: string;
  readonly tx: TransactionLayer<Route>;
  readonly #tracer: Tracer | undefined;
  readonly #names: (address: string, port: number) => string;
  /** Trace received messages too (an element whose peers do not trace, e.g. a UE against a real P-CSCF). */
  readonly #traceReceived: boolean;
  #handler: ((i: Extract<Incoming<Route>, { kind: 'request' }>) => void) | undefined;
  /** Messages that failed to parse (requests among them may have been answered, see `refused`). */
  malformed = 0;
  /** Requests this node answered itself with an error (400, 405, 416, 420, 501, 505) instead of passing them on. */
  refused = 0;
  #supported: { methods: Set<string> | undefined; require: Set<string> | undefined; proxyRequire: Set<string> | undefined; proxied: Set<string> } | undefined;
  /** Messages that could not be sent (e.g. their SA was deleted meanwhile). */
  sendFailures = 0;
  #closed = false;
  /** The bytes of the messages this element sends (what its server transactions keep for Timer J is copied to the layer's ResponseRing). */
  readonly #slab = new ByteSlab();
  readonly #take = (n: number): Uint8Array => this.#slab.take(n);

  /** SIP over TCP (RFC 3261 18), when the element was given a stream network. */
  readonly streams: SipStreams | undefined;
  /** SIP over TCP inside the SAs, when the role's wire has a kernel path (serveProtectedStreams). */
  protectedStreams: SipStreams<Route> | undefined;

  constructor(name: string, o: { tracer?: Tracer | undefined; timers?: Partial<TimerValues> | undefined; names?: ((address: string, port: number) => string) | undefined; traceReceived?: boolean | undefined; tcp?: SipTcpOptions | undefined } = {}) {
    this.name = name;
    this.#traceReceived = o.traceReceived === true;
    if (o.tcp) this.streams = new SipStreams(o.tcp, (bytes, route) => this.receive(bytes, route));
    this.#tracer = o.tracer;
    this.#names = o.names ?? ((a, p) => `${a}:${p}`);
    this.tx = new TransactionLayer<Route>((m, r) => this.#send(m, r), o.timers ?? {}, (r) => r.stream !== undefined, (b, r) => this.#resend(b, r));
  }

  onRequest(handler: (i: Extract<Incoming<Route>, { kind: 'request' }>) => void): void {
    this.#handler = handler;
  }

  /**
   * Serialises and sends `m`; returns the bytes sent when there is no tracer (the transaction layer then
   * keeps those for a retransmitted request, see #resend), else undefined (a retransmission is traced as
   * a message again).
   */
  #send(m: SipMessage, route: Route): Uint8Array | undefined {
    if (this.#closed) return undefined;
    // A challenge gets a buffer of its own: on the Mw hop the core's 401 carries CK and IK, and in a shared
    // chunk those bytes would live as long as the chunk's other messages (or, on an idle element, until
    // the chunk fills). Its own buffer is garbage once sent; the copy its transaction keeps for Timer J
    // (the layer's ResponseRing) is zeroed when the transaction ends.
    const bytes = serializeSipMessageWith(m, m.type === 'response' && (m.status === 401 || m.status === 407) ? undefined : this.#take);
    const time = Date.now();
    if (!this.#sendBytes(bytes, route)) return undefined;
    if (this.#tracer === undefined) return bytes;
    // A copy without ck/ik/auts: a trace outlives the message, and the core's 401 carries CK and IK.
    const ev: TraceEvent = { time, from: this.name, to: describe(route, this.#names), message: redactMessage(m), bytes: bytes.length };
    if (route.kind === 'protected') ev.sa = { name: route.sa.name, spi: route.sa.spi, alg: route.sa.set.alg, ealg: route.sa.set.ealg };
    if (route.stream) ev.transport = 'TCP';
    this.#tracer(ev);
    return undefined;
  }

  /** Sends bytes #send returned again (a server transaction's response to a retransmitted request). */
  #resend(bytes: Uint8Array, route: Route): void {
    if (!this.#closed) this.#sendBytes(bytes, route);
  }

  /** Puts `bytes` on `route`; false (counted in sendFailures) when that failed. */
  #sendBytes(bytes: Uint8Array, route: Route): boolean {
    try {
      if (route.kind === 'plain' && route.stream) {
        if (!route.stream.write(bytes)) throw new Error('connection closed');
      } else if (route.kind === 'plain') route.socket.send(bytes, route.port, route.address);
      else if (route.stream) {
        if (route.sa.set.state === 'deleted' || !route.stream.write(bytes)) throw new Error('connection closed');
      } else route.port.send(route.sa, bytes);
    } catch {
      // UDP is best effort: an SA deleted in the meantime means the message is lost, as on a real link.
      this.sendFailures++;
      return false;
    }
    return true;
  }

  /**
   * Declares what the element's role implements, so that other requests are answered here instead of
   * reaching the handler: a method outside `methods` gets 405 with Allow (one of {@link "ipsec-3gpp"!SIP_METHODS | SIP_METHODS}) or
   * 501 (RFC 3261 8.2.1); option tags outside `require` (checked in Require, as a UAS does, 8.2.2.3) or
   * `proxyRequire` (checked in Proxy-Require, as a proxy does, 16.3 step 5) get 420 Bad Extension with an
   * Unsupported header. A set left undefined is not checked. ACK is never answered, CANCEL never gets 420.
   * Methods in `proxied` are ones the element proxies rather than serves (a UAS's Require is not its
   * business, RFC 3261 16.3): only their Proxy-Require is checked.
   */
  supported(o: { methods?: Iterable<string> | undefined; require?: Iterable<string> | undefined; proxyRequire?: Iterable<string> | undefined; proxied?: Iterable<string> | undefined }): void {
    const set = (v: Iterable<string> | undefined, f: (x: string) => string): Set<string> | undefined => (v === undefined ? undefined : new Set([...v].map(f)));
    this.#supported = { methods: set(o.methods, (m) => m), require: set(o.require, (t) => t.toLowerCase()), proxyRequire: set(o.proxyRequire, (t) => t.toLowerCase()), proxied: new Set(o.proxied ?? []) };
  }

  /**
   * Feeds received bytes that came along `route` (the route answers go back on). A request the parser
   * refuses is answered statelessly (400, 505 or 501 with a Warning naming the fault, RFC 3261 8.2, 21.4)
   * when its Via, From, To, Call-ID and CSeq could be read; otherwise, and for any malformed response, the
   * datagram is dropped (RFC 3261 18.1.2, 18.3) and counted in `malformed`. The node keeps `bytes` (the
   * parsed message's body is a view of them, and a forward copies its unchanged lines from them): the
   * caller hands them over and does not change them afterwards.
   */
  receive(bytes: Uint8Array, route: Route): void {
    let msg: SipMessage;
    try {
      // Received bytes are this node's (every network and wire hands over a copy of its own): adopted.
      msg = parseSipMessage(bytes, true);
    } catch (e) {
      this.malformed++;
      if (e instanceof SipParseError && e.request !== undefined) this.#refuseMalformed(e, e.request, route);
      return;
    }
    if (this.#traceReceived && this.#tracer !== undefined) this.#traceIn(msg, route, bytes.length);
    const inc = this.tx.receive(msg, route);
    if (inc.kind !== 'request') return;
    const refusal = this.#refusal(inc.request);
    if (refusal === undefined) {
      this.#handler?.(inc);
      return;
    }
    this.refused++;
    inc.respond(refusal);
  }

  /** A received message as the ladder shows it (traceReceived): from the peer, over the inbound SA. */
  #traceIn(m: SipMessage, route: Route, bytes: number): void {
    const ev: TraceEvent = { time: Date.now(), from: describe(route, this.#names), to: this.name, message: redactMessage(m), bytes };
    if (route.stream) ev.transport = 'TCP';
    if (route.kind === 'protected') {
      const out = route.sa;
      const inb = out.set.sas.find((x) => x.direction === 'inbound' && x.srcPort === out.dstPort && x.dstPort === out.srcPort) ?? out;
      ev.sa = { name: inb.name, spi: inb.spi, alg: out.set.alg, ealg: out.set.ealg };
    }
    this.#tracer!(ev);
  }

  /** A stateless answer to a request that did not parse, if it carries what a response copies (RFC 3261 8.2.6.2). */
  #refuseMalformed(e: SipParseError, req: SipRequest, route: Route): void {
    if (req.method === 'ACK') return; // never answered (RFC 3261 17.1.1.3)
    for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) if (!req.headers.get(h)) return;
    this.refused++;
    this.#send(makeResponse(req, e.status, e.reason, [['Warning', warning(this.name, e.message)]]), route);
  }

  /** Checks of a well-formed request before the application sees it: URI scheme (416), then {@link supported}. */
  #refusal(req: SipRequest): SipResponse | undefined {
    if (req.method === 'ACK') return undefined;
    const scheme = req.uri.slice(0, req.uri.indexOf(':')).toLowerCase();
    if (!URI_SCHEMES.has(scheme)) {
      // RFC 3261 8.2.2.1 (UAS) and 16.3 step 2 (proxy); RFC 4475 3.3.2 / 3.3.3.
      return makeResponse(req, 416, 'Unsupported URI Scheme', [['Warning', warning(this.name, `Request-URI scheme ${scheme} is not supported`)]]);
    }
    const sup = this.#supported;
    if (sup === undefined) return undefined;
    if (sup.methods !== undefined && !sup.methods.has(req.method)) {
      return SIP_METHODS.has(req.method)
        ? makeResponse(req, 405, 'Method Not Allowed', [['Allow', [...sup.methods].join(', ')]])
        : makeResponse(req, 501, 'Not Implemented', [['Warning', warning(this.name, `method ${req.method} is not implemented`)]]);
    }
    if (req.method === 'CANCEL') return undefined;
    // Created only for a request that names an unknown option tag (nearly never).
    let unsupported: Set<string> | undefined;
    const check = (name: 'require' | 'proxy-require', known: Set<string> | undefined): void => {
      if (known === undefined || (name === 'require' && sup.proxied.has(req.method)) || !req.headers.has(name)) return;
      for (const tag of req.headers.values(name)) if (!known.has(tag.toLowerCase())) (unsupported ??= new Set()).add(tag);
    };
    check('require', sup.require);
    check('proxy-require', sup.proxyRequire);
    if (unsupported === undefined) return undefined;
    return makeResponse(req, 420, 'Bad Extension', [['Unsupported', [...unsupported].join(', ')]]);
  }

  /**
   * Starts a client transaction (INVITE included: `o` sees its provisional responses and 2xx retransmissions). A request over UDP that is larger than 1300 octets goes over TCP instead
   * when the element has TCP (RFC 3261 18.1.1: the path MTU is unknown), its top Via saying so; if the
   * connection cannot be made, over UDP after all (18.1.1 SHOULD).
   */
  async request(req: SipRequest, route: Route, o?: ClientTxOptions): Promise<SipResponse> {
    let r = route;
    if (r.kind === 'plain' && this.#mayUseTcp(r) && serializeSipMessage(req).length > TCP_THRESHOLD) {
      try {
        r = await this.streams!.routeTo(r.socket, r.address, r.port);
        setTopViaTransport(req, 'TCP');
      } catch { /* UDP after all */ }
    }
    if (r.kind === 'protected' && this.#mayUseTcp(r) && serializeSipMessage(req).length > TCP_THRESHOLD) {
      const sa = r.sa;
      const port = r.port;
      try {
        const c = await this.protectedStreams!.connectTo(`${sa.srcPort}>${sa.dstAddress}|${sa.dstPort}`, { address: sa.dstAddress, port: sa.dstPort, localAddress: sa.srcAddress, localPort: sa.srcPort }, (conn) => (sa.set.state === 'deleted' ? undefined : { kind: 'protected', port, sa, stream: conn }));
        r = { kind: 'protected', port, sa, stream: c };
        setTopViaTransport(req, 'TCP');
      } catch { /* UDP over the SAs after all */ }
    }
    return this.tx.request(req, r, o);
  }

  /**
   * Whether request() may move a request on `route` to TCP, if it is large enough (RFC 3261 18.1.1): a UDP
   * destination TCP upgrades to, or a protected route when the element has TCP inside the SAs.
   */
  #mayUseTcp(route: Route): boolean {
    return route.stream === undefined && (route.kind === 'plain' ? this.streams?.upgrades(route.address, route.port) === true : this.protectedStreams !== undefined);
  }

  /**
   * @internal {@link request} reporting to `settle` (transaction.ts ClientTxSettle; called once, maybe before
   * this returns) instead of a promise: the proxies' forwarding. A request that may go over TCP instead
   * (its destination is one TCP upgrades to, or the element has TCP inside the SAs) takes the promise path.
   */
  requestWith(req: SipRequest, route: Route, o: ClientTxOptions | undefined, settle: ClientTxSettle): void {
    if (this.#mayUseTcp(route)) {
      this.request(req, route, o).then((r) => settle(undefined, r), (e: Error) => settle(e, undefined)).catch(() => { /* settle's own error: dropped, as transaction.ts does */ });
      return;
    }
    try {
      this.tx.start(req, route, o, settle);
    } catch (e) {
      settle(e as Error, undefined);
    }
  }

  /**
   * SIP over TCP inside the SAs (the role's wire has a kernel path, TS 33.203 7.1: the SA pairs are shared
   * by UDP and TCP): the protected server port `port` accepts connections, each routed over the outbound SA
   * whose selectors answer it; requests over 1300 octets on a protected route go on a connection between
   * the SA's ports; every connection of a set closes when the set is deleted or expires.
   */
  async serveProtectedStreams(o: SipTcpOptions & { db: SaDatabase; address: string; port: ProtectedPort }): Promise<void> {
    const { db, address, port, ...tcp } = o;
    const streams = new SipStreams<Route>(tcp, (bytes, route) => this.receive(bytes, route));
    this.protectedStreams = streams;
    await streams.listenOn(address, port.port, (c) => {
      const sa = db.bySelector(address, port.port, c.remoteAddress, c.remotePort);
      return sa && sa.direction === 'outbound' && sa.set.state !== 'deleted' ? { kind: 'protected', port, sa, stream: c } : undefined;
    });
    db.on((set, event) => {
      if (event === 'deleted' || event === 'expired') streams.closeWhere((r) => r.kind === 'protected' && r.sa.set === set);
    });
  }

  /**
   * Sends a message outside any transaction: the ACK to a 2xx (RFC 3261 13.2.2.4), a proxy forwarding such
   * an ACK or a 2xx retransmission (16.7, 16.11). Traced like everything else.
   */
  send(m: SipMessage, route: Route): void {
    this.#send(m, route);
  }

  close(): void {
    this.#closed = true;
    this.tx.close();
    this.#slab.drop();
    this.streams?.close();
    this.protectedStreams?.close();
  }
}

/** RFC 3261 18.1.1: larger than this (path MTU unknown), a request goes over a congestion-controlled transport. */
export const TCP_THRESHOLD = 1300;

/** Sets the transport of a request's top Via (the one this element added), in place. */
export function setTopViaTransport(req: SipRequest, transport: 'UDP' | 'TCP'): void {
  const top = req.headers.shift('via');
  if (top === undefined) return;
  req.headers.prepend('Via', top.replace(/^(\s*SIP\s*\/\s*2\.0\s*\/\s*)[A-Za-z0-9.!%*_+`'~-]+/i, `$1${transport}`));
}
