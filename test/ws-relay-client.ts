// A WebSocket client of the demo's relay (web/server.ts) for the relay tests and the relay fuzz target: a
// real `ws` connection, as a page would open it (or as a hostile one would), that collects the relay's
// control messages and datagram frames and waits for them.

import WebSocket from 'ws';

/** A control message from the relay. */
export type Control = Record<string, unknown>;

/** A datagram frame from the relay: the socket it arrived on and its source. */
export interface Frame {
  sock: number;
  port: number;
  address: string;
  data: Uint8Array;
}

export interface RelayClient {
  ws: WebSocket;
  /** The server's first message: user, impi, P-CSCF address and ports. */
  hello: Control;
  /** Control messages other than trace events and hello, in order. */
  controls: Control[];
  frames: Frame[];
  /** Resolves with the close code once the connection is closed. */
  closed: Promise<number>;
  /** The first control message from `from` on (default: all so far) that `pred` accepts. */
  waitFor(pred: (m: Control) => boolean, what: string, ms?: number): Promise<Control>;
  /** Sends a bind and resolves with the relay's answer (bound or error) for its id. */
  bind(port: unknown): Promise<Control>;
  /** One binary frame: socket id, destination port and IPv4 address, datagram. */
  send(sock: number, port: number, address: string, data: Uint8Array): void;
  close(): Promise<void>;
}

/** Builds a browser-to-relay binary frame. */
export function relayFrame(sock: number, port: number, address: string, data: Uint8Array): Uint8Array {
  const a = address.split('.').map(Number);
  return Uint8Array.from([sock, port >>> 8, port & 0xff, ...a, ...data]);
}

/** Opens the relay; rejects with `{ status }` when the upgrade is refused (HTTP status), else the error. */
export function connect(url: string, origin: string | undefined, ms = 5000): Promise<RelayClient> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/relay`, origin === undefined ? {} : { origin });
  const controls: Control[] = [];
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  let id = 0;
  const closed = new Promise<number>((ok) => ws.on('close', (code) => { ok(code); for (const w of waiters) w(); }));
  let hello: ((m: Control) => void) | undefined;
  ws.on('message', (data, isBinary) => {
    const b = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      frames.push({ sock: b[0]!, port: (b[1]! << 8) | b[2]!, address: [...b.subarray(3, 7)].join('.'), data: new Uint8Array(b.subarray(7)) });
    } else {
      const m = JSON.parse(b.toString('utf8')) as Control;
      if (m['t'] === 'hello') hello?.(m);
      else if (m['t'] !== 'trace') controls.push(m);
    }
    for (const w of waiters) w();
  });
  const waitFor = (pred: (m: Control) => boolean, what: string, wait = ms): Promise<Control> => new Promise((ok, fail) => {
    const look = (): void => {
      const m = controls.find(pred);
      if (m) { done(); ok(m); } else if (ws.readyState >= WebSocket.CLOSING) { done(); fail(new Error(`connection closed waiting for ${what}`)); }
    };
    const timer = setTimeout(() => { done(); fail(new Error(`no ${what} within ${wait} ms`)); }, wait);
    const done = (): void => { clearTimeout(timer); waiters.delete(look); };
    waiters.add(look);
    look();
  });
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => { ws.terminate(); fail(new Error('no hello from the relay')); }, ms);
    ws.on('error', (e) => {
      clearTimeout(timer);
      const m = /Unexpected server response: (\d+)/.exec(e.message);
      fail(m ? Object.assign(new Error(`upgrade refused: ${m[1]}`), { status: Number(m[1]) }) : e);
    });
    ws.on('close', () => { clearTimeout(timer); fail(new Error('closed before hello')); });
    hello = (h) => {
      clearTimeout(timer);
      ok({
        ws, hello: h, controls, frames, closed, waitFor,
        bind: (port) => {
          const mine = ++id;
          ws.send(JSON.stringify({ t: 'bind', id: mine, port }));
          return waitFor((m) => m['id'] === mine, `the answer to bind ${mine}`);
        },
        send: (sock, port, address, data) => ws.send(relayFrame(sock, port, address, data)),
        close: async () => { ws.close(); await closed; },
      });
    };
  });
}

/** The HTTP status an upgrade is refused with, or 'open' (then closed again) when it is accepted. */
export async function upgradeStatus(url: string, origin: string | undefined): Promise<number | 'open'> {
  try {
    const c = await connect(url, origin);
    await c.close();
    return 'open';
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === undefined) throw e;
    return status;
  }
}

/** UDP sockets open in this process (libuv handles, whoever holds them). */
export function udpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

/** Polls `cond` until it holds or `ms` pass; returns its last value. */
export async function eventually(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
