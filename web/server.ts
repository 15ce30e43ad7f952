// `npm run demo:web`: the browser UE demo's server. Runs the core (S-CSCF, HSS, presence server) and the
// P-CSCF of the main job on 127.0.0.1 over real UDP, a Node presentity (alice) walking through Paris and
// publishing her location, and a WebSocket datagram relay (src/net/ws-relay.ts) through which each browser
// UE binds its own UDP ports here. The browser does TS 33.203 itself: IMS AKA, the ipsec-3gpp security
// agreement, ESP in WebAssembly; the relay only carries its datagrams. The server also streams to each page
// the messages its network elements send about that UE, for the ladder.

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
import { type ConfidentialityMode } from '../src/secagree/pcscf.js';
import { startHttp, type HttpServer } from './http.js';

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
  log?: (line: string) => void;
}

export interface WebDemo {
  url: string;
  network: ImsNetwork;
  /** Browser UEs connected now. */
  readonly sessions: number;
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
  if (o.testPages) {
    pages['/test/'] = join(root, 'test', 'browser', 'index.html');
    bundles['/test/suite.js'] = join(root, 'test', 'browser', 'suite.ts');
    folders['/vectors/'] = join(root, 'test', 'vectors');
  }
  const http: HttpServer = await startHttp({ port: o.port, host: o.host ?? '127.0.0.1', pages, bundles, folders });

  let counter = 0;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 70_000 });
  http.server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/relay') { socket.destroy(); return; }
    wss.handleUpgrade(req, socket, head, (ws) => session(ws));
  });

  function session(ws: WebSocket): void {
    const user = `web${++counter}`;
    const label = `UE ${user}`;
    const impi = `${user}@${network.realm}`;
    network.hss.addSubscriber({ impi, ...demoKeys() });
    // Name the browser's relayed ports, so the ladder says who is who.
    const named: DatagramNetwork = {
      tap: (fn) => udp.tap(fn),
      bind: async (a, p) => {
        const s = await udp.bind(a, p);
        network.names.set(`${s.address}:${s.port}`, label);
        return s;
      },
    };
    const conn = { send: (d: Uint8Array | string): void => { if (ws.readyState === ws.OPEN) ws.send(d); } };
    const relay = new RelaySession(named, conn, address);
    const mine = new RegExp(`sip:${user}@`);
    watchers.set(user, (e) => {
      if (e.to !== label && !mine.test(e.message.headers.get('from') ?? '') && !mine.test(e.message.headers.get('to') ?? '')) return;
      conn.send(JSON.stringify({ t: 'trace', ...serializeTrace(e) }));
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) relay.receive(new Uint8Array(data as Buffer));
      else relay.receive(String(data));
    });
    ws.on('close', () => {
      watchers.delete(user);
      relay.close();
      log(`${label} disconnected`);
    });
    conn.send(JSON.stringify({
      t: 'hello', user, impi, impu: `sip:${impi}`, realm: network.realm, pcscf: { address, port: network.pcscf.port },
      pcscfPorts: [network.pcscf.port, network.pcscf.portC.port, network.pcscf.portS.port],
      accessNetwork: WEB_ACCESS_NETWORK, mode: o.mode ?? 'ipsec', presentity: aliceUri,
    }));
    log(`${label} connected`);
  }

  return {
    url: http.url,
    network,
    get sessions() { return watchers.size; },
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
    .parse();
  const opts = cmd.opts<{ port: string; host: string; mode: ConfidentialityMode }>();
  const demo = await startWebDemo({ port: Number(opts.port), host: opts.host, mode: opts.mode, testPages: true, log: (l) => console.log(l) });
  console.log(`ipsec-3gpp browser UE demo: open ${demo.url}/ (P-CSCF on udp 127.0.0.1:${demo.network.pcscf.port}; browser tests at ${demo.url}/test/)`);
  const stop = (): void => { void demo.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
