// The WebSocket datagram relay (src/net/ws-relay.ts) without a browser: a WebSocketNetwork and a
// RelaySession joined by an in-memory "WebSocket", the relay's sockets on a MemoryNetwork, its one allowed
// peer 10.0.0.1:5060 (test/ws-relay-hardening.test.ts has the real server over real UDP). Round trips both
// ways with addresses and ports intact, and refusals (malformed frames, unknown sockets, too many binds,
// oversized datagrams) that are counted and change nothing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MemoryNetwork, RELAY_HEADER, RELAY_MAX_SOCKETS, RelaySession, WebSocketNetwork, type Datagram, type DatagramSocket, type WebSocketLike,
} from '../src/ims/index.js';
import { throwsCode } from './helpers.js';

/** A browser-side WebSocket whose frames go to a RelaySession, and back, asynchronously like a real one. */
function pair(net: MemoryNetwork): { ws: WebSocketLike & { toBrowser(d: unknown): void }; relay: RelaySession } {
  const listeners: Record<string, Array<(ev: { data: unknown }) => void>> = { message: [], close: [] };
  const toBrowser = (d: unknown): void => { queueMicrotask(() => { for (const l of listeners['message']!) l({ data: d }); }); };
  const relay = new RelaySession(net, { send: (d) => toBrowser(typeof d === 'string' ? d : d.slice().buffer) }, '10.0.0.9', { peers: [{ address: '10.0.0.1', port: 5060 }] });
  const ws = {
    binaryType: 'blob', readyState: 1,
    send: (d: string | Uint8Array) => { queueMicrotask(() => relay.receive(typeof d === 'string' ? d : d.slice())); },
    close: () => {},
    addEventListener: (type: string, fn: (ev: { data: unknown }) => void) => { listeners[type]!.push(fn); },
    toBrowser,
  };
  return { ws: ws as WebSocketLike & { toBrowser(d: unknown): void }, relay };
}

const next = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

test('round trip: a browser socket bound on the relay exchanges datagrams with a server socket', async () => {
  const net = new MemoryNetwork();
  const { ws, relay } = pair(net);
  const browser = new WebSocketNetwork(ws);
  assert.is(ws.binaryType, 'arraybuffer');
  const server = await net.bind('10.0.0.1', 5060);
  const atServer: Datagram[] = [];
  server.onMessage((d) => atServer.push(d));
  const s = await browser.bind('1.2.3.4', 0); // the relay binds on its own address, whatever was asked
  assert.is(s.address, '10.0.0.9');
  assert.equal(relay.ports(), [s.port]);
  const atBrowser: Datagram[] = [];
  s.onMessage((d) => atBrowser.push(d));
  s.send(new Uint8Array([1, 2, 3]), 5060, '10.0.0.1');
  await next();
  assert.equal(atServer.map((d) => [Array.from(d.data), d.address, d.port]), [[[1, 2, 3], '10.0.0.9', s.port]]);
  server.send(new Uint8Array(1400).fill(7), s.port, '10.0.0.9');
  await next();
  assert.is(atBrowser.length, 1);
  assert.equal([atBrowser[0]!.data.length, atBrowser[0]!.data[1399], atBrowser[0]!.address, atBrowser[0]!.port], [1400, 7, '10.0.0.1', 5060]);
  s.close();
  await next();
  assert.equal(relay.ports(), []);
});

test('refusals are counted and deliver nothing: malformed frames, unknown sockets, bad JSON', async () => {
  const net = new MemoryNetwork();
  const { ws, relay } = pair(net);
  const browser = new WebSocketNetwork(ws);
  const server = await net.bind('10.0.0.1', 5060);
  let delivered = 0;
  server.onMessage(() => delivered++);
  await browser.bind('0.0.0.0', 0);
  relay.receive(new Uint8Array(RELAY_HEADER - 1));
  relay.receive(new Uint8Array([99, 0x13, 0xc4, 10, 0, 0, 1, 0xff])); // socket 99 was never bound
  relay.receive('{not json');
  assert.is(relay.refused, 3);
  ws.toBrowser(new Uint8Array(3).buffer);
  ws.toBrowser(new Uint8Array([42, 0, 1, 10, 0, 0, 1, 5]).buffer);
  ws.toBrowser('nope');
  await next();
  assert.is(browser.malformed, 3);
  assert.is(delivered, 0);
});

test('limits: at most RELAY_MAX_SOCKETS sockets per connection; datagrams over 65507 bytes and IPv6 refused', async () => {
  const net = new MemoryNetwork();
  const { ws } = pair(net);
  const browser = new WebSocketNetwork(ws);
  const socks: DatagramSocket[] = [];
  for (let i = 0; i < RELAY_MAX_SOCKETS; i++) socks.push(await browser.bind('0.0.0.0', 0));
  let err: unknown;
  try { await browser.bind('0.0.0.0', 0); } catch (e) { err = e; }
  assert.is((err as { code?: string }).code, 'RELAY');
  throwsCode(() => socks[0]!.send(new Uint8Array(65508), 5060, '10.0.0.1'), 'RELAY');
  // Binds sent at once count against the limit before any of them completes.
  const { ws: ws2 } = pair(net);
  const burst = new WebSocketNetwork(ws2);
  const results = await Promise.allSettled(Array.from({ length: RELAY_MAX_SOCKETS + 4 }, () => burst.bind('0.0.0.0', 0)));
  assert.is(results.filter((r) => r.status === 'fulfilled').length, RELAY_MAX_SOCKETS);
  assert.is(results.filter((r) => r.status === 'rejected').length, 4);
  throwsCode(() => socks[0]!.send(new Uint8Array(8), 5060, '2001:db8::1'), 'RELAY');
});

test('destinations outside the policy are refused with an error frame the page counts; non-object JSON is malformed on both sides', async () => {
  const net = new MemoryNetwork();
  const { ws, relay } = pair(net);
  const browser = new WebSocketNetwork(ws);
  const other = await net.bind('10.0.0.1', 5061);
  let delivered = 0;
  other.onMessage(() => delivered++);
  const s = await browser.bind('0.0.0.0', 0);
  const told: Array<Record<string, unknown>> = [];
  browser.onControl = (m) => told.push(m);
  s.send(Uint8Array.of(1), 5061, '10.0.0.1');
  s.send(Uint8Array.of(1), 5060, '10.0.0.2');
  await next();
  assert.is(delivered, 0);
  assert.equal([relay.drops.destination, browser.relayErrors, browser.malformed], [2, 2, 0]);
  assert.equal(told.map((m) => [m['t'], m['reason'], m['sock']]), [['error', 'destination', 1], ['error', 'destination', 1]]);
  relay.receive('null');
  relay.receive('[1]');
  assert.is(relay.drops.malformed, 2);
  ws.toBrowser('null');
  ws.toBrowser('[]');
  await next();
  assert.is(browser.malformed, 2);
});

test.run();
