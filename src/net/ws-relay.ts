// UDP over a WebSocket, so that a browser UE can take part in TS 33.203 access security with a Node P-CSCF:
// browsers have no UDP sockets, so the page binds its sockets (unprotected port, port_uc, port_us) on the
// server through this relay, and every datagram, ESP-in-UDP (RFC 3948 framing as in udp-encap.ts) or clear SIP,
// travels as one binary WebSocket frame. The ESP processing stays in the browser: the relay only moves opaque
// bytes, as an access network would. A project extension, not a 3GPP or IETF protocol.
//
// Binary frame (both directions): u8 socket id, u16 port, 4 bytes IPv4 address, then the datagram. From the
// browser the port/address are the destination; from the relay, the source.
// Text frame: JSON control. Browser -> relay: {t:'bind', id, address, port}, {t:'close', sock}.
// Relay -> browser: {t:'bound', id, sock, address, port}, {t:'error', id, code, message}, and anything the
// server adds (e.g. {t:'trace', ...} events of the demo), passed to `onControl`.

import { ErrorCode, Ipsec3gppError } from '../errors.js';
import { formatAddress, parseAddress } from '../ip.js';
import { type Datagram, type DatagramNetwork, type DatagramSocket, type WireRecord } from './datagram.js';

/** Bytes before the datagram in a binary frame. */
export const RELAY_HEADER = 7;
/** Sockets one WebSocket may bind on the relay. */
export const RELAY_MAX_SOCKETS = 16;
/** The largest datagram the relay carries (a UDP payload over IPv4). */
export const RELAY_MAX_DATAGRAM = 65507;

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
  if (a.length !== 4) throw new Ipsec3gppError(ErrorCode.RELAY, 'the relay carries IPv4 only');
  if (data.length > RELAY_MAX_DATAGRAM) throw new Ipsec3gppError(ErrorCode.RELAY, `datagram longer than ${RELAY_MAX_DATAGRAM} bytes`);
  const f = new Uint8Array(RELAY_HEADER + data.length);
  f[0] = sock;
  f[1] = port >>> 8;
  f[2] = port & 0xff;
  f.set(a, 3);
  f.set(data, RELAY_HEADER);
  return f;
}

function unframe(f: Uint8Array): { sock: number; port: number; address: string; data: Uint8Array } {
  if (f.length < RELAY_HEADER) throw new Ipsec3gppError(ErrorCode.RELAY, 'relay frame shorter than its header');
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

  constructor(ws: WebSocketLike) {
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (ev) => this.#onMessage(ev.data));
    ws.addEventListener('close', () => {
      for (const p of this.#pending.values()) p.reject(new Ipsec3gppError(ErrorCode.RELAY, 'relay connection closed'));
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
      let msg: Record<string, unknown>;
      try { msg = JSON.parse(data) as Record<string, unknown>; } catch { this.malformed++; return; }
      if (msg['t'] === 'bound' || msg['t'] === 'error') {
        const p = this.#pending.get(Number(msg['id']));
        if (!p) { this.malformed++; return; }
        this.#pending.delete(Number(msg['id']));
        if (msg['t'] === 'error') p.reject(new Ipsec3gppError(ErrorCode.RELAY, `relay: ${String(msg['message'])}`));
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

/**
 * Serves one browser on the relay: binds its sockets on `net` (at most {@link RELAY_MAX_SOCKETS}, on
 * `address` only, whatever the browser asked for) and moves datagrams both ways. Feed it every frame the
 * connection receives with `receive`; call `close` when the connection ends.
 */
export class RelaySession {
  readonly #net: DatagramNetwork;
  readonly #conn: RelayConnection;
  readonly #address: string;
  readonly #sockets = new Map<number, DatagramSocket>();
  #nextSock = 1;
  /** Binds under way: they count against the limit before their sockets exist. */
  #binding = 0;
  #closed = false;
  /** Frames refused (malformed, unknown socket, over limits). */
  refused = 0;
  /** Called for control messages the relay does not handle itself. */
  onControl: ((msg: Record<string, unknown>) => void) | undefined;

  constructor(net: DatagramNetwork, conn: RelayConnection, address: string) {
    this.#net = net;
    this.#conn = conn;
    this.#address = address;
  }

  /** The sockets bound for this browser, by the port they have on the server. */
  ports(): number[] {
    return [...this.#sockets.values()].map((s) => s.port);
  }

  receive(data: Uint8Array | string): void {
    if (this.#closed) return;
    if (typeof data === 'string') {
      let msg: Record<string, unknown>;
      try { msg = JSON.parse(data) as Record<string, unknown>; } catch { this.refused++; return; }
      if (msg['t'] === 'bind') void this.#bind(Number(msg['id']), Number(msg['port']));
      else if (msg['t'] === 'close') {
        const s = this.#sockets.get(Number(msg['sock']));
        if (s) { s.close(); this.#sockets.delete(Number(msg['sock'])); }
      } else this.onControl?.(msg);
      return;
    }
    let f;
    try { f = unframe(data); } catch { this.refused++; return; }
    const s = this.#sockets.get(f.sock);
    if (!s) { this.refused++; return; }
    s.send(f.data, f.port, f.address); // each WebSocket message arrives in a buffer of its own
  }

  async #bind(id: number, port: number): Promise<void> {
    if (this.#sockets.size + this.#binding >= RELAY_MAX_SOCKETS || this.#nextSock > 255) {
      this.#conn.send(JSON.stringify({ t: 'error', id, code: ErrorCode.RELAY, message: `at most ${RELAY_MAX_SOCKETS} sockets per connection` }));
      return;
    }
    const sock = this.#nextSock++;
    this.#binding++;
    try {
      const s = await this.#net.bind(this.#address, Number.isInteger(port) && port >= 0 && port <= 65535 ? port : 0).finally(() => { this.#binding--; });
      if (this.#closed) { s.close(); return; }
      this.#sockets.set(sock, s);
      s.onMessage((d) => {
        if (!this.#closed) this.#conn.send(frame(sock, d.port, d.address, d.data));
      });
      this.#conn.send(JSON.stringify({ t: 'bound', id, sock, address: s.address, port: s.port }));
    } catch (e) {
      this.#conn.send(JSON.stringify({ t: 'error', id, code: ErrorCode.RELAY, message: e instanceof Error ? e.message : 'bind failed' }));
    }
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#sockets.values()) s.close();
    this.#sockets.clear();
  }
}
