// UDP over a WebSocket, so that a browser UE can take part in TS 33.203 access security with a Node P-CSCF:
// browsers have no UDP sockets, so the page binds its sockets (unprotected port, port_uc, port_us) on the
// server through this relay, and every datagram, ESP-in-UDP (RFC 3948 framing as in udp-encap.ts) or clear SIP,
// travels as one binary WebSocket frame. The ESP processing stays in the browser: the relay only moves opaque
// bytes, as an access network would. A project extension, not a 3GPP or IETF protocol.
//
// Binary frame (both directions): u8 socket id, u16 port, 4 bytes IPv4 address, then the datagram. From the
// browser the port/address are the destination; from the relay, the source.
// Text frame: JSON control. Browser -> relay: {t:'bind', id, port}, {t:'close', sock}.
// Relay -> browser: {t:'bound', id, sock, address, port}, {t:'error', id?, sock?, code, reason, message}, and
// anything the server adds (e.g. {t:'trace', ...} events of the demo), passed to `onControl`.
//
// The server side is what a web page reaches from the network, so it is a closed relay: datagrams go only to
// the peers its host names (the demo: the P-CSCF's unprotected port, port_pc and port_ps) and only theirs come
// back; sockets are bound on the relay's own address, on ephemeral or unprivileged ports (>= 1024); and no
// frame, however malformed, throws out of `receive`: every refusal is counted by reason and answered with an
// error frame.

import { Ipsec3gppError } from '../errors.js';
import { formatAddress, parseAddress } from '../ip.js';
import { type Datagram, type DatagramNetwork, type DatagramSocket, type WireRecord } from './datagram.js';

/** Bytes before the datagram in a binary frame. */
export const RELAY_HEADER = 7;
/** Sockets one WebSocket may bind on the relay. */
export const RELAY_MAX_SOCKETS = 16;
/** The largest datagram the relay carries (a UDP payload over IPv4). */
export const RELAY_MAX_DATAGRAM = 65507;
/** The lowest port a browser may ask the relay to bind explicitly (0 asks for an ephemeral port). */
export const RELAY_MIN_PORT = 1024;

/** The subset of the WHATWG WebSocket the browser side needs (a browser's WebSocket, or Node 22's). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(): void;
  addEventListener(type: 'message', fn: (ev: { data: unknown }) => void): void;
  addEventListener(type: 'close', fn: () => void): void;
}

function frame(sock: number, port: number, address: string, data: Uint8Array): Uint8Array<ArrayBuffer> {
  const a = parseAddress(address);
  if (a.length !== 4) throw new Ipsec3gppError('RELAY', 'the relay carries IPv4 only');
  if (data.length > RELAY_MAX_DATAGRAM) throw new Ipsec3gppError('RELAY', `datagram longer than ${RELAY_MAX_DATAGRAM} bytes`);
  const f = new Uint8Array(RELAY_HEADER + data.length);
  f[0] = sock;
  f[1] = port >>> 8;
  f[2] = port & 0xff;
  f.set(a, 3);
  f.set(data, RELAY_HEADER);
  return f;
}

/** A text frame's JSON object, or undefined (bad JSON, or JSON that is not an object). */
function controlMessage(text: string): Record<string, unknown> | undefined {
  let v: unknown;
  try { v = JSON.parse(text); } catch { return undefined; }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

function unframe(f: Uint8Array): { sock: number; port: number; address: string; data: Uint8Array } {
  if (f.length < RELAY_HEADER) throw new Ipsec3gppError('RELAY', 'relay frame shorter than its header');
  return { sock: f[0]!, port: (f[1]! << 8) | f[2]!, address: formatAddress(f.subarray(3, 7)), data: f.subarray(RELAY_HEADER) };
}

/**
 * The browser side: a {@link DatagramNetwork} whose sockets live on the relay server. Create it once the
 * WebSocket is open.
 */
export class WebSocketNetwork implements DatagramNetwork {
  readonly #ws: WebSocketLike;
  readonly #taps = new Set<(r: WireRecord) => void>();
  readonly #sockets = new Map<number, { address: string; port: number; handler: (d: Datagram) => void }>();
  readonly #pending = new Map<number, { resolve: (s: DatagramSocket) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  /** Control messages the relay's host adds (e.g. the demo's trace events). */
  onControl: ((msg: Record<string, unknown>) => void) | undefined;
  /** Frames that could not be decoded or were for an unknown socket. */
  malformed = 0;
  /** Error frames from the relay about something other than a bind (e.g. a refused destination). */
  relayErrors = 0;

  constructor(ws: WebSocketLike) {
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (ev) => this.#onMessage(ev.data));
    ws.addEventListener('close', () => {
      for (const p of this.#pending.values()) p.reject(new Ipsec3gppError('RELAY', 'relay connection closed'));
      this.#pending.clear();
    });
  }

  tap(fn: (r: WireRecord) => void): () => void {
    this.#taps.add(fn);
    return () => this.#taps.delete(fn);
  }

  /** Sends a control message to the relay's host. */
  control(msg: Record<string, unknown>): void {
    this.#ws.send(JSON.stringify(msg));
  }

  bind(address: string, port: number): Promise<DatagramSocket> {
    const id = this.#nextId++;
    return new Promise<DatagramSocket>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.control({ t: 'bind', id, address, port });
    });
  }

  #onMessage(data: unknown): void {
    if (typeof data === 'string') {
      const msg = controlMessage(data);
      if (msg === undefined) { this.malformed++; return; }
      if (msg['t'] === 'error' && msg['id'] === undefined) {
        this.relayErrors++;
        this.onControl?.(msg);
        return;
      }
      if (msg['t'] === 'bound' || msg['t'] === 'error') {
        const p = this.#pending.get(Number(msg['id']));
        if (!p) { this.malformed++; return; }
        this.#pending.delete(Number(msg['id']));
        if (msg['t'] === 'error') p.reject(new Ipsec3gppError('RELAY', `relay: ${String(msg['message'])}`));
        else p.resolve(this.#socket(Number(msg['sock']), String(msg['address']), Number(msg['port'])));
        return;
      }
      this.onControl?.(msg);
      return;
    }
    if (!(data instanceof ArrayBuffer)) { this.malformed++; return; }
    let f;
    try { f = unframe(new Uint8Array(data)); } catch { this.malformed++; return; }
    const s = this.#sockets.get(f.sock);
    if (!s) { this.malformed++; return; }
    s.handler({ data: f.data, address: f.address, port: f.port });
  }

  #socket(sock: number, address: string, port: number): DatagramSocket {
    const entry = { address, port, handler: (_d: Datagram): void => {} };
    this.#sockets.set(sock, entry);
    return {
      address,
      port,
      send: (data, dstPort, dstAddress) => {
        const r: WireRecord = { time: Date.now(), srcAddress: address, srcPort: port, dstAddress, dstPort, data: data.slice() };
        for (const t of this.#taps) t(r);
        if (this.#ws.readyState !== 1) return; // closed: lost, as UDP would lose it
        this.#ws.send(frame(sock, dstPort, dstAddress, data));
      },
      onMessage: (h) => { entry.handler = h; },
      close: () => {
        if (!this.#sockets.delete(sock)) return;
        if (this.#ws.readyState === 1) this.control({ t: 'close', sock });
      },
    };
  }
}

/** The server side of one WebSocket connection, independent of the WebSocket library. */
export interface RelayConnection {
  /** Sends a binary frame (Uint8Array) or a text frame (string). */
  send(data: Uint8Array | string): void;
}

/** What a {@link RelaySession} may do on its host's behalf. */
export interface RelayPolicy {
  /**
   * The only destinations datagrams may go to, and the only sources whose datagrams are passed back (the
   * demo: the P-CSCF's address with its unprotected port, port_pc and port_ps). Empty or absent: nothing
   * is relayed.
   */
  peers?: ReadonlyArray<{ address: string; port: number }>;
}

/** Why a {@link RelaySession} dropped a frame or refused a request. */
export type RelayDropReason =
  /** A binary frame shorter than its header, or a text frame that is not a JSON object. */
  | 'malformed'
  /** A binary frame for a socket this connection does not hold. */
  | 'unknown-socket'
  /** A datagram to an address and port that is not one of the policy's peers (port 0 included). */
  | 'destination'
  /** A datagram longer than {@link RELAY_MAX_DATAGRAM}. */
  | 'too-large'
  /** The network threw while sending (closed socket, bad argument). */
  | 'send-error'
  /** A datagram that arrived on a relayed socket from a source other than the peers: not passed on. */
  | 'source'
  /** A bind whose port is not an integer 0...65535. */
  | 'bad-port'
  /** A bind below {@link RELAY_MIN_PORT} (explicit, or an ephemeral port the network gave that low). */
  | 'privileged-port'
  /** A bind beyond {@link RELAY_MAX_SOCKETS} sockets, or after 255 binds on one connection. */
  | 'socket-limit'
  /** The network refused the bind (port in use). */
  | 'bind-error'
  /** A control message the relay's host threw on. */
  | 'control-error';

const DROP_REASONS: readonly RelayDropReason[] = [
  'malformed', 'unknown-socket', 'destination', 'too-large', 'send-error', 'source', 'bad-port', 'privileged-port',
  'socket-limit', 'bind-error', 'control-error',
];

/** Zeroed counters for every {@link RelayDropReason}. */
export function relayDropCounters(): Record<RelayDropReason, number> {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<RelayDropReason, number>;
}

/**
 * Serves one browser on the relay: binds its sockets on `net` (at most {@link RELAY_MAX_SOCKETS}, on
 * `address` only, whatever the browser asked for, on port 0 or >= {@link RELAY_MIN_PORT}) and moves
 * datagrams both ways between them and the policy's peers, nowhere else. Feed it every frame the connection
 * receives with `receive` (which never throws); call `close` when the connection ends.
 *
 * @example
 * ```ts
 * const relay = new RelaySession(udp, { send: (d) => ws.send(d) }, '127.0.0.1', { peers: [{ address: '127.0.0.1', port: 5060 }] });
 * ws.on('message', (d, binary) => relay.receive(binary ? new Uint8Array(d) : String(d)));
 * ws.on('close', () => relay.close());
 * ```
 */
export class RelaySession {
  readonly #net: DatagramNetwork;
  readonly #conn: RelayConnection;
  readonly #address: string;
  /** Allowed peers as "a.b.c.d:port" (IPv4, as frames carry it). */
  readonly #peers = new Set<string>();
  readonly #sockets = new Map<number, DatagramSocket>();
  #nextSock = 1;
  /** Binds under way: they count against the limit before their sockets exist. */
  #binding = 0;
  #closed = false;
  /** Refusals by reason (frames dropped, binds refused, inbound datagrams not passed on). */
  readonly drops: Record<RelayDropReason, number> = relayDropCounters();
  /** Called for control messages the relay does not handle itself. */
  onControl: ((msg: Record<string, unknown>) => void) | undefined;

  constructor(net: DatagramNetwork, conn: RelayConnection, address: string, policy: RelayPolicy = {}) {
    this.#net = net;
    this.#conn = conn;
    this.#address = address;
    for (const p of policy.peers ?? []) {
      if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw new Ipsec3gppError('INVALID_ARGUMENT', `relay peer port must be 1...65535, not ${p.port}`);
      const a = parseAddress(p.address);
      if (a.length === 4) this.#peers.add(`${formatAddress(a)}:${p.port}`); // the relay carries IPv4 only
    }
  }

  /** Frames and requests refused, all reasons together. */
  get refused(): number {
    let n = 0;
    for (const r of DROP_REASONS) n += this.drops[r];
    return n;
  }

  /** The sockets bound for this browser, by the port they have on the server. */
  ports(): number[] {
    return [...this.#sockets.values()].map((s) => s.port);
  }

  /** Sockets this connection holds now, and binds under way. */
  get sockets(): number {
    return this.#sockets.size + this.#binding;
  }

  /** One frame from the browser. Never throws: a frame that cannot be carried out is counted and answered. */
  receive(data: Uint8Array | string): void {
    if (this.#closed) return;
    if (typeof data === 'string') this.#control(data);
    else this.#datagram(data);
  }

  #drop(reason: RelayDropReason, message: string, about: { id?: number; sock?: number } = {}): void {
    this.drops[reason]++;
    this.#tell({ t: 'error', ...about, code: 'RELAY', reason, message });
  }

  /** Sends a control message; a host whose send throws loses it (the connection is going away). */
  #tell(msg: Record<string, unknown>): void {
    try { this.#conn.send(JSON.stringify(msg)); } catch { /* nothing to tell it with */ }
  }

  #control(text: string): void {
    const msg = controlMessage(text);
    if (msg === undefined) { this.#drop('malformed', 'a text frame must be a JSON object'); return; }
    if (msg['t'] === 'bind') this.#bind(msg);
    else if (msg['t'] === 'close') {
      const sock = Number(msg['sock']);
      const s = this.#sockets.get(sock);
      if (!s) { this.#drop('unknown-socket', 'close: no such socket', { sock }); return; }
      this.#sockets.delete(sock);
      s.close();
    } else {
      try { this.onControl?.(msg); } catch { this.#drop('control-error', 'control message refused'); }
    }
  }

  #datagram(f: Uint8Array): void {
    if (f.length < RELAY_HEADER) { this.#drop('malformed', 'binary frame shorter than its header'); return; }
    const sock = f[0]!;
    const s = this.#sockets.get(sock);
    if (!s) { this.#drop('unknown-socket', 'no such socket', { sock }); return; }
    const { port, address, data } = unframe(f);
    if (!this.#peers.has(`${address}:${port}`)) { this.#drop('destination', `destination ${address}:${port} not allowed`, { sock }); return; }
    if (data.length > RELAY_MAX_DATAGRAM) { this.#drop('too-large', `datagram longer than ${RELAY_MAX_DATAGRAM} bytes`, { sock }); return; }
    try {
      s.send(data, port, address); // each WebSocket message arrives in a buffer of its own
    } catch {
      this.#drop('send-error', 'send failed', { sock });
    }
  }

  #bind(msg: Record<string, unknown>): void {
    const id = Number(msg['id']);
    const port = msg['port'] === undefined ? 0 : msg['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      this.#drop('bad-port', 'port must be an integer 0...65535', { id });
      return;
    }
    if (port !== 0 && port < RELAY_MIN_PORT) {
      this.#drop('privileged-port', `ports below ${RELAY_MIN_PORT} are not bound (0 picks an ephemeral port)`, { id });
      return;
    }
    if (this.#sockets.size + this.#binding >= RELAY_MAX_SOCKETS || this.#nextSock > 255) {
      this.#drop('socket-limit', `at most ${RELAY_MAX_SOCKETS} sockets per connection`, { id });
      return;
    }
    const sock = this.#nextSock++;
    this.#binding++;
    let pending: Promise<DatagramSocket>;
    try {
      pending = this.#net.bind(this.#address, port);
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then((s) => {
      this.#binding--;
      if (this.#closed) { s.close(); return; }
      if (s.port < RELAY_MIN_PORT) {
        s.close();
        this.#drop('privileged-port', `the network gave port ${s.port}`, { id });
        return;
      }
      this.#sockets.set(sock, s);
      s.onMessage((d) => this.#inbound(sock, d));
      this.#tell({ t: 'bound', id, sock, address: s.address, port: s.port });
    }, (e: unknown) => {
      this.#binding--;
      if (!this.#closed) this.#drop('bind-error', e instanceof Error ? e.message : 'bind failed', { id });
    });
  }

  /** A datagram for the browser, from one of the peers only. Runs in the network's receive event: never throws. */
  #inbound(sock: number, d: Datagram): void {
    if (this.#closed) return;
    if (!this.#peers.has(`${d.address}:${d.port}`)) { this.drops.source++; return; }
    try { this.#conn.send(frame(sock, d.port, d.address, d.data)); } catch { this.drops['send-error']++; }
  }

  /** Closes every socket of this connection; later frames are ignored. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const s of this.#sockets.values()) {
      try { s.close(); } catch { /* already closed */ }
    }
    this.#sockets.clear();
  }
}
