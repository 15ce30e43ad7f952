// `npm run demo:web`: the browser UE demo's server. Runs the core (S-CSCF, HSS, presence server) and the
// P-CSCF of the main job on 127.0.0.1 over real UDP, a Node presentity (alice) walking through Paris and
// publishing her location, and a WebSocket datagram relay (src/net/ws-relay.ts) through which each browser
// UE binds its own UDP ports here. The browser does TS 33.203 itself: IMS AKA, the ipsec-3gpp security
// agreement, ESP in WebAssembly; the relay only carries its datagrams. The server also streams to each page
// the messages its network elements send about that UE, for the ladder.
//
// The relay is reachable by any page the browser loads, so the upgrade is refused (HTTP 403) unless its
// Origin is this server's own (or one the operator lists: DNS rebinding cannot forge Origin), connections
// are capped (HTTP 503 beyond), each connection's datagrams may go only to the P-CSCF's three ports, and
// everything a connection created (its UDP sockets, its HSS subscriber, its names in the ladder) goes when
// it closes. Protocol errors of the WebSocket itself (invalid UTF-8, oversized frames) close that
// connection and nothing else.

import { STATUS_CODES } from 'node:http';
import { type Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { WebSocketServer, type WebSocket } from 'ws';
import { initSync } from '../src/index.js';
import {
  DEMO_WALK, RelaySession, demoKeys, buildPidf, startNetwork, serializeTrace,
  type DatagramNetwork, type ImsNetwork, type TraceEvent, type UeClient,
} from '../src/ims/index.js';
import { NodeUdpNetwork } from '../src/node.js';
import { relayDropCounters, type RelayDropReason } from '../src/net/ws-relay.js';
import { type ConfidentialityMode } from '../src/secagree/pcscf.js';
import { requestUrl, startHttp, type HttpServer } from './http.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

export interface WebDemoOptions {
  port: number;
  host?: string;
  /** P-CSCF confidentiality mode for the browser's access network. */
  mode?: ConfidentialityMode;
  /** Milliseconds between alice's location updates. */
  publishEveryMs?: number;
  /** Also serve the browser test suite (test/browser) and the vectors. */
  testPages?: boolean;
  /**
   * Origins (e.g. "http://demo.example:8080") allowed to open the relay besides this server's own URL
   * (and http://localhost:port when listening on 127.0.0.1).
   */
  allowedOrigins?: readonly string[];
  /** Relay connections open at once (default {@link DEFAULT_MAX_CONNECTIONS}); more are refused with 503. */
  maxConnections?: number;
  log?: (line: string) => void;
}

/** Concurrent relay connections by default. */
export const DEFAULT_MAX_CONNECTIONS = 32;
/** A connection whose outgoing buffer is over this loses frames (UDP semantics) instead of growing it. */
const MAX_BUFFERED = 1 << 20;

/** What the relay has done so far, for tests and the operator. */
export interface RelayStats {
  /** Relay connections open now. */
  connections: number;
  /** UDP sockets bound for browsers now (and binds under way). */
  sockets: number;
  /** Frames dropped and requests refused, by reason, over all connections so far. */
  drops: Record<RelayDropReason, number>;
  /** Upgrades refused, by reason. */
  refusedUpgrades: { path: number; origin: number; capacity: number };
  /** Connections closed by a WebSocket protocol error (invalid UTF-8, oversized or malformed frames). */
  protocolErrors: number;
  /** Frames not sent to a page because its connection's buffer was full. */
  backpressure: number;
}

export interface WebDemo {
  url: string;
  network: ImsNetwork;
  /** Browser UEs connected now. */
  readonly sessions: number;
  relayStats(): RelayStats;
  close(): Promise<void>;
}

export const WEB_ACCESS_NETWORK = '3GPP-E-UTRAN-FDD';

export async function startWebDemo(o: WebDemoOptions): Promise<WebDemo> {
  initSync();
  const log = o.log ?? (() => {});
  const address = '127.0.0.1';
  const udp = new NodeUdpNetwork();
  const watchers = new Map<string, (e: TraceEvent) => void>();
  const network = await startNetwork({
    net: udp, address,
    policy: { defaultMode: 'ipsec', accessNetworks: { [WEB_ACCESS_NETWORK]: o.mode ?? 'ipsec' } },
    onTrace: (e) => { for (const w of watchers.values()) w(e); },
    record: 0, // streamed to the pages (secrets redacted), not kept: the server runs for long
  });

  // alice, the presentity: registers like any UE, then publishes a location every few seconds.
  const alice: UeClient = await network.ue({ user: 'alice', release: 6, accessNetwork: WEB_ACCESS_NETWORK });
  const reg = await alice.register();
  if (reg.status !== 200) throw new Error(`alice could not register: ${reg.status} ${reg.reason}`);
  const aliceUri = `sip:alice@${network.realm}`;
  let step = 0;
  const publish = (): void => {
    const where = DEMO_WALK[step % DEMO_WALK.length]!;
    step++;
    alice.publish(buildPidf({ entity: aliceUri, basic: 'open', note: `walking, stop ${step}`, location: where })).catch(() => {});
  };
  publish();
  const timer = setInterval(publish, o.publishEveryMs ?? 2500);

  const pages: Record<string, string> = { '/': join(here, 'index.html') };
  const bundles: Record<string, string> = { '/app.js': join(here, 'app.ts') };
  const folders: Record<string, string> = { '/dist/': join(root, 'dist'), '/static/': here };
  const workerBundles: Record<string, string> = {};
  if (o.testPages) {
    pages['/test/'] = join(root, 'test', 'browser', 'index.html');
    bundles['/test/suite.js'] = join(root, 'test', 'browser', 'suite.ts');
    folders['/vectors/'] = join(root, 'test', 'vectors');
    // examples/esp-seal-worker.mjs as a browser module Worker (bundled, as an application's bundler would),
    // driven by test/browser/worker.ts.
    pages['/test/worker/'] = join(root, 'test', 'browser', 'worker.html');
    bundles['/test/worker.js'] = join(root, 'test', 'browser', 'worker.ts');
    workerBundles['/test/esp-seal-worker.js'] = join(root, 'examples', 'esp-seal-worker.mjs');
  }
  const http: HttpServer = await startHttp({ port: o.port, host: o.host ?? '127.0.0.1', pages, bundles, workerBundles, folders });

  const port = new URL(http.url).port;
  const origins = new Set([http.url, ...(o.host ?? '127.0.0.1') === '127.0.0.1' ? [`http://localhost:${port}`] : []]);
  for (const a of o.allowedOrigins ?? []) origins.add(new URL(a).origin);
  const maxConnections = o.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new Error(`maxConnections must be a positive integer, not ${maxConnections}`);
  // The only destinations (and sources) of relayed datagrams: the P-CSCF's unprotected port and its UDP
  // encapsulation port (the browser UE's ESP is UDP-enc-tun: the relay is a NAT, TS 33.203 Annex M).
  const pcscfPorts = [network.pcscf.port, network.pcscf.encapPort!];
  const peers = pcscfPorts.map((p) => ({ address, port: p }));

  const live = new Set<{ relay: RelaySession }>();
  const closedDrops = relayDropCounters();
  const refusedUpgrades = { path: 0, origin: 0, capacity: 0 };
  let protocolErrors = 0;
  let backpressure = 0;
  let counter = 0;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 70_000 });
  const refuse = (socket: Duplex, status: number, why: keyof typeof refusedUpgrades): void => {
    refusedUpgrades[why]++;
    const body = `${STATUS_CODES[status]}\n`;
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  };
  http.server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => { /* a reset during the handshake concerns that client only */ });
    if (requestUrl(req.url)?.pathname !== '/relay') { refuse(socket, 404, 'path'); return; }
    const origin = req.headers.origin;
    if (origin === undefined || !origins.has(origin.toLowerCase())) { refuse(socket, 403, 'origin'); return; }
    if (live.size >= maxConnections) { refuse(socket, 503, 'capacity'); return; }
    wss.handleUpgrade(req, socket, head, (ws) => session(ws));
  });

  function session(ws: WebSocket): void {
    ws.on('error', () => { protocolErrors++; }); // ws closes the connection itself; unhandled, it would throw
    if (live.size >= maxConnections) { ws.close(1013, 'too many connections'); return; }
    const user = `web${++counter}`;
    const label = `UE ${user}`;
    const impi = `${user}@${network.realm}`;
    network.hss.addSubscriber({ impi, ...demoKeys() });
    // Name the browser's relayed ports, so the ladder says who is who (until they close).
    const named: DatagramNetwork = {
      tap: (fn) => udp.tap(fn),
      bind: async (a, p) => {
        const s = await udp.bind(a, p);
        const key = `${s.address}:${s.port}`;
        network.names.set(key, label);
        return {
          address: s.address, port: s.port,
          send: (d, dp, da) => s.send(d, dp, da),
          onMessage: (h) => s.onMessage(h),
          close: () => { network.names.delete(key); s.close(); },
        };
      },
    };
    const conn = {
      send: (d: Uint8Array | string): void => {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > MAX_BUFFERED) { backpressure++; return; }
        ws.send(d);
      },
    };
    const relay = new RelaySession(named, conn, address, { peers });
    const entry = { relay };
    live.add(entry);
    const mine = new RegExp(`sip:${user}@`);
    watchers.set(user, (e) => {
      if (e.to !== label && !mine.test(e.message.headers.get('from') ?? '') && !mine.test(e.message.headers.get('to') ?? '')) return;
      conn.send(JSON.stringify({ t: 'trace', ...serializeTrace(e) }));
    });
    ws.on('message', (data, isBinary) => {
      const b = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) relay.receive(new Uint8Array(b.buffer, b.byteOffset, b.length));
      else relay.receive(b.toString('utf8'));
    });
    ws.on('close', () => {
      live.delete(entry);
      watchers.delete(user);
      relay.close();
      for (const [r, n] of Object.entries(relay.drops)) closedDrops[r as RelayDropReason] += n;
      network.hss.removeSubscriber(impi);
      log(`${label} disconnected`);
    });
    conn.send(JSON.stringify({
      t: 'hello', user, impi, impu: `sip:${impi}`, realm: network.realm, pcscf: { address, port: network.pcscf.port, encapPort: network.pcscf.encapPort! },
      pcscfPorts, accessNetwork: WEB_ACCESS_NETWORK, mode: o.mode ?? 'ipsec', presentity: aliceUri,
    }));
    log(`${label} connected`);
  }

  return {
    url: http.url,
    network,
    get sessions() { return live.size; },
    relayStats() {
      const drops = { ...closedDrops };
      let sockets = 0;
      for (const { relay } of live) {
        sockets += relay.sockets;
        for (const [r, n] of Object.entries(relay.drops)) drops[r as RelayDropReason] += n;
      }
      return { connections: live.size, sockets, drops, refusedUpgrades: { ...refusedUpgrades }, protocolErrors, backpressure };
    },
    async close() {
      clearInterval(timer);
      for (const c of wss.clients) c.terminate();
      wss.close();
      await http.close();
      network.close();
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cmd = new Command('demo:web')
    .description('browser UE demo: open the printed URL in a browser')
    .option('--port <n>', 'HTTP and WebSocket port', '8080')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--mode <mode>', 'P-CSCF confidentiality mode for the browser: ipsec | access-network | refuse', 'ipsec')
    .option('--allow-origin <origin...>', 'origins allowed to open the relay besides this server\'s own URL')
    .option('--max-connections <n>', 'relay connections open at once', String(DEFAULT_MAX_CONNECTIONS))
    .parse();
  const opts = cmd.opts<{ port: string; host: string; mode: ConfidentialityMode; allowOrigin?: string[]; maxConnections: string }>();
  const demo = await startWebDemo({
    port: Number(opts.port), host: opts.host, mode: opts.mode, testPages: true, log: (l) => console.log(l),
    allowedOrigins: opts.allowOrigin ?? [], maxConnections: Number(opts.maxConnections),
  });
  console.log(`ipsec-3gpp browser UE demo: open ${demo.url}/ (P-CSCF on udp 127.0.0.1:${demo.network.pcscf.port}; browser tests at ${demo.url}/test/)`);
  const stop = (): void => { void demo.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
