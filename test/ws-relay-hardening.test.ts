// The demo's WebSocket relay (web/server.ts over src/net/ws-relay.ts) as a hostile page meets it: real `ws`
// connections to the real server on 127.0.0.1, real UDP sockets behind it. Frames that used to kill the
// server process (a datagram to port 0, a JSON `null`, an invalid UTF-8 text frame, request targets such as
// "//" or a bad %-escape), upgrades from foreign
// or missing origins, connections over the cap, datagrams to anything but the P-CSCF, privileged binds, and
// what a connection leaves behind when it goes (UDP sockets, the HSS subscriber and its WASM keys, ladder
// names).

import { spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Hss, initSync, memoryStats, serializeSipMessage } from '../src/index.js';
import { MemoryNetwork, RelaySession, type DatagramNetwork } from '../src/ims/index.js';
import { makeRequest, newBranch } from '../src/ims/sip-node.js';
import { allMemory } from '../src/internal/wasm.js';
import { NodeUdpNetwork } from '../src/node.js';
import { DEFAULT_MAX_CONNECTIONS, startWebDemo, type WebDemo } from '../web/server.js';
import { contains } from './helpers.js';
import { connect, eventually, udpHandles, upgradeStatus, type Control, type RelayClient } from './ws-relay-client.js';

initSync();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

let demo: WebDemo;
test.before(async () => { demo = await startWebDemo({ port: 0, allowedOrigins: ['http://demo.test:8080'] }); });
test.after(async () => { await demo.close(); });

const open = (d: WebDemo = demo): Promise<RelayClient> => connect(d.url, d.url);
const isError = (reason: string) => (m: Control): boolean => m['t'] === 'error' && m['reason'] === reason;

/** Sends `request` on a raw TCP connection and resolves with the status line of the answer ('' if none). */
function rawHttp(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((ok) => {
    let got = '';
    const sock = createConnection({ host: hostname, port: Number(port) }, () => sock.write(request));
    sock.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    sock.on('error', () => {});
    sock.on('close', () => ok(got.split('\r\n')[0]!));
    sock.setTimeout(3000, () => sock.destroy());
  });
}

test('the server process survives a datagram to port 0, a JSON null, an invalid UTF-8 text frame and unparsable request targets, and serves the next page', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'web', 'server.ts'), '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  try {
    assert.ok(await eventually(() => /open (http:\/\/127\.0\.0\.1:\d+)\//.test(out) || child.exitCode !== null, 30_000), 'the server started');
    const url = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)![1]!;
    const alive = async (what: string): Promise<RelayClient> => {
      const c = await connect(url, url).catch((e: Error) => { throw new Error(`after ${what}, no second connection: ${e.message}; server output: ${out.slice(-400)}`); });
      assert.is(child.exitCode, null, `the server is still running after ${what}`);
      return c;
    };
    const a = await connect(url, url);
    const bound = await a.bind(0);
    assert.is(bound['t'], 'bound');
    a.send(Number(bound['sock']), 0, '127.0.0.1', Uint8Array.of(1, 2, 3)); // ERR_SOCKET_BAD_PORT, thrown in the message handler
    await a.waitFor(isError('destination'), 'an error frame for the port-0 datagram').catch(() => {});
    const b = await alive('a datagram to port 0');
    b.ws.send('null'); // JSON.parse gives null, and null['t'] throws
    await b.waitFor(isError('malformed'), 'an error frame for null').catch(() => {});
    const c = await alive('a JSON null text frame');
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }); // ws emits 'error' on the server's socket
    assert.is(await c.closed, 1007, 'invalid UTF-8 closes that connection with 1007');
    const d = await alive('an invalid UTF-8 text frame');
    // Request targets that new URL() or decodeURIComponent() throw on, in the request and upgrade handlers.
    const upgrade = `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: ${url}\r\n`;
    assert.is(await rawHttp(url, 'GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 'HTTP/1.1 400 Bad Request');
    assert.is(await rawHttp(url, 'GET /dist/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 'HTTP/1.1 404 Not Found');
    assert.is(await rawHttp(url, `GET //[ HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`), 'HTTP/1.1 404 Not Found');
    const e = await alive('unparsable request targets');
    for (const x of [a, b, d, e]) await x.close();
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test('upgrades: refused with 403 without an Origin or with a foreign one; the page\'s own origin and configured ones open', async () => {
  const port = new URL(demo.url).port;
  for (const origin of [undefined, 'http://evil.example', `http://127.0.0.1:${Number(port) + 1}`, `https://127.0.0.1:${port}`, 'null', `http://127.0.0.1.evil.example:${port}`]) {
    assert.is(await upgradeStatus(demo.url, origin), 403, `Origin ${String(origin)}`);
  }
  assert.is(demo.relayStats().refusedUpgrades.origin, 6);
  for (const origin of [demo.url, `http://localhost:${port}`, 'http://demo.test:8080', 'HTTP://DEMO.TEST:8080']) {
    assert.is(await upgradeStatus(demo.url, origin), 'open', `Origin ${origin}`);
  }
  assert.ok(await eventually(() => demo.sessions === 0), 'every test connection closed');
});

test(`connections: at most maxConnections (default ${DEFAULT_MAX_CONNECTIONS}) at once, 503 beyond; a closed one frees its place`, async () => {
  assert.is(DEFAULT_MAX_CONNECTIONS, 32);
  const small = await startWebDemo({ port: 0, maxConnections: 3 });
  try {
    const three = await Promise.all([open(small), open(small), open(small)]);
    assert.is(await upgradeStatus(small.url, small.url), 503);
    await three[0]!.close();
    assert.ok(await eventually(() => small.sessions === 2));
    const again = await open(small);
    assert.is(await upgradeStatus(small.url, small.url), 503);
    assert.is(small.relayStats().refusedUpgrades.capacity, 2);
    for (const c of [...three.slice(1), again]) await c.close();
  } finally {
    await small.close();
  }
  const full = await Promise.all(Array.from({ length: DEFAULT_MAX_CONNECTIONS }, () => open()));
  assert.is(demo.sessions, DEFAULT_MAX_CONNECTIONS);
  assert.is(await upgradeStatus(demo.url, demo.url), 503);
  await Promise.all(full.map((c) => c.close()));
  assert.ok(await eventually(() => demo.sessions === 0));
});

test('destinations: only the P-CSCF\'s address and its three ports; everything else dropped, counted and answered with an error frame', async () => {
  const net = new NodeUdpNetwork();
  const bystander = await net.bind('127.0.0.1', 0);
  let reached = 0;
  bystander.onMessage(() => reached++);
  const c = await open();
  try {
    const bound = await c.bind(0);
    const sock = Number(bound['sock']);
    const relayPort = Number(bound['port']);
    const pcscf = demo.network.pcscf;
    const refused: Array<[number, string]> = [
      [bystander.port, '127.0.0.1'], [demo.network.core.port, '127.0.0.1'], [pcscf.coreSocket.port, '127.0.0.1'],
      [pcscf.port, '127.0.0.2'],
    ];
    for (const [port, address] of refused) c.send(sock, port, address, Uint8Array.of(0x55));
    // The P-CSCF's unprotected port is reached, and its answer comes back through the relay.
    const options = makeRequest({
      method: 'OPTIONS', uri: `sip:${demo.network.realm}`, from: `<sip:${String(c.hello['impi'])}>;tag=x1`, to: `<sip:${demo.network.realm}>`,
      callId: 'relay-test@127.0.0.1', cseq: 1, via: `SIP/2.0/UDP 127.0.0.1:${relayPort};branch=${newBranch()}`, headers: [],
    });
    c.send(sock, pcscf.port, '127.0.0.1', serializeSipMessage(options));
    c.send(sock, 0, '127.0.0.1', Uint8Array.of(0x55));
    refused.push([0, '127.0.0.1']);
    assert.ok(await eventually(() => c.frames.length > 0), 'the P-CSCF answered through the relay');
    assert.equal([c.frames[0]!.sock, c.frames[0]!.address, c.frames[0]!.port], [sock, '127.0.0.1', pcscf.port]);
    assert.match(new TextDecoder().decode(c.frames[0]!.data), /^SIP\/2\.0 \d{3} /);
    assert.is(reached, 0, 'nothing reached the bystander socket');
    for (const [port, address] of refused) {
      await c.waitFor((m) => isError('destination')(m) && String(m['message']).includes(`${address}:${port} `), `the refusal of ${address}:${port}`);
    }
    assert.is(demo.relayStats().drops.destination, refused.length);
    // A datagram to the relayed port from anyone but the P-CSCF is not passed to the page.
    const framesBefore = c.frames.length;
    bystander.send(Uint8Array.of(9, 9, 9), relayPort, '127.0.0.1');
    assert.ok(await eventually(() => demo.relayStats().drops.source === 1), 'counted as a foreign source');
    assert.is(c.frames.length, framesBefore);
  } finally {
    await c.close();
    bystander.close();
  }
});

test('binds: port 0 or >= 1024 only, on the relay\'s address; privileged and malformed ports refused without a socket', async () => {
  const c = await open();
  try {
    const handles = udpHandles();
    for (const port of [999, 1, 1023]) {
      const r = await c.bind(port);
      assert.equal([r['t'], r['reason']], ['error', 'privileged-port'], `port ${port}`);
    }
    for (const port of [-1, 65536, 1.5, '5060', null, { port: 1 }]) {
      const r = await c.bind(port);
      assert.equal([r['t'], r['reason']], ['error', 'bad-port'], `port ${JSON.stringify(port)}`);
    }
    assert.is(udpHandles(), handles, 'no socket was opened for a refused bind');
    const ephemeral = await c.bind(0);
    assert.is(ephemeral['t'], 'bound');
    assert.ok(Number(ephemeral['port']) >= 1024);
    assert.is(ephemeral['address'], '127.0.0.1');
    const probe = await new NodeUdpNetwork().bind('127.0.0.1', 0);
    const free = probe.port;
    probe.close();
    await eventually(() => udpHandles() === handles + 1);
    const explicit = await c.bind(free);
    assert.equal([explicit['t'], explicit['port']], ['bound', free]);
    assert.is(udpHandles(), handles + 2);
  } finally {
    await c.close();
  }
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * The live WASM contexts once what earlier tests dropped is collected: a FinalizationRegistry frees a dropped
 * object's context in a task after some GC, which would otherwise land in the middle of a count here.
 */
async function settledContexts(): Promise<number> {
  let last = -1;
  for (let i = 0; i < 20; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
    const now = memoryStats().liveContexts;
    if (now === last) return now;
    last = now;
  }
  return last;
}

test('cleanup: when pages go, their UDP sockets, HSS subscribers (and WASM keys) and ladder names go with them', async () => {
  const d = await startWebDemo({ port: 0 });
  try {
    const base = { udp: udpHandles(), names: d.network.names.size, contexts: await settledContexts() };
    const pages = await Promise.all([open(d), open(d), open(d)]);
    for (const p of pages) for (let i = 0; i < 3; i++) assert.is((await p.bind(0))['t'], 'bound');
    const impis = pages.map((p) => String(p.hello['impi']));
    assert.ok(impis.every((i) => d.network.hss.has(i)));
    assert.is(udpHandles(), base.udp + 9);
    assert.is(d.network.names.size, base.names + 9);
    assert.is(memoryStats().liveContexts, base.contexts + 3, 'one Milenage context per page');
    await pages[0]!.close();
    pages[1]!.ws.terminate(); // gone without a closing handshake
    pages[2]!.ws.close();
    assert.ok(await eventually(() => d.sessions === 0), 'the server saw every page go');
    assert.ok(await eventually(() => udpHandles() === base.udp), `UDP sockets back to ${base.udp} (now ${udpHandles()})`);
    assert.equal(impis.map((i) => d.network.hss.has(i)), [false, false, false], 'subscribers removed');
    assert.is(memoryStats().liveContexts, base.contexts, 'their Milenage contexts freed');
    assert.is(d.network.names.size, base.names, 'their ladder names dropped');
    assert.is(d.relayStats().sockets, 0);
  } finally {
    await d.close();
  }
});

test('Hss.removeSubscriber: deletes the subscriber and zeroes its OPc and key schedule in WASM memory', () => {
  const hss = new Hss();
  const k = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const opc = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const contexts = memoryStats().liveContexts;
  hss.addSubscriber({ impi: 'gone@test', k, opc });
  hss.addSubscriber({ impi: 'stays@test', k: globalThis.crypto.getRandomValues(new Uint8Array(16)), opc: globalThis.crypto.getRandomValues(new Uint8Array(16)) });
  assert.ok(contains(allMemory(), opc), 'OPc present while the subscriber exists (so the scan can find it)');
  assert.ok(contains(allMemory(), k), 'round key 0 (K) present while the subscriber exists');
  assert.is(hss.removeSubscriber('gone@test'), true);
  assert.not.ok(contains(allMemory(), opc), 'OPc wiped');
  assert.not.ok(contains(allMemory(), k), 'K wiped');
  assert.is(hss.has('gone@test'), false);
  assert.is(hss.has('stays@test'), true);
  assert.is(memoryStats().liveContexts, contexts + 1);
  assert.throws(() => hss.vector('gone@test'), (e: { code?: string }) => e.code === 'AKA_STATE');
  assert.is(hss.removeSubscriber('gone@test'), false, 'a second removal finds nothing');
  assert.is(hss.removeSubscriber('never@test'), false);
  hss.removeSubscriber('stays@test');
  assert.is(memoryStats().liveContexts, contexts);
});

test('RelaySession: a network that throws on send or bind is caught and counted, never thrown to the caller', async () => {
  const mem = new MemoryNetwork();
  const told: Control[] = [];
  let sendThrows = true;
  const net: DatagramNetwork = {
    tap: (fn) => mem.tap(fn),
    bind: async (a, p) => {
      const s = await mem.bind(a, p);
      return { ...s, send: (d, dp, da) => { if (sendThrows) throw new RangeError('ERR_SOCKET_DGRAM_NOT_RUNNING'); s.send(d, dp, da); } };
    },
  };
  const relay = new RelaySession(net, { send: (d) => { if (typeof d === 'string') told.push(JSON.parse(d) as Control); } }, '10.0.0.9', { peers: [{ address: '10.0.0.1', port: 5060 }] });
  relay.receive(JSON.stringify({ t: 'bind', id: 1, port: 0 }));
  await new Promise((r) => setTimeout(r, 0));
  relay.receive(Uint8Array.of(1, 0x13, 0xc4, 10, 0, 0, 1, 7));
  assert.is(relay.drops['send-error'], 1);
  sendThrows = false;
  relay.receive(Uint8Array.of(1, 0x13, 0xc4, 10, 0, 0, 1, 7));
  assert.is(relay.drops['send-error'], 1, 'a working send is not counted');
  const throwing = new RelaySession({ tap: () => () => true, bind: () => { throw new Error('bind exploded'); } }, { send: (d) => { if (typeof d === 'string') told.push(JSON.parse(d) as Control); } }, '10.0.0.9');
  throwing.receive(JSON.stringify({ t: 'bind', id: 7, port: 0 }));
  await new Promise((r) => setTimeout(r, 0));
  assert.is(throwing.drops['bind-error'], 1);
  assert.is(throwing.sockets, 0);
  const hostile = new RelaySession(mem, { send: () => { throw new Error('connection gone'); } }, '10.0.0.9');
  hostile.onControl = () => { throw new Error('host bug'); };
  for (const f of ['null', '[]', '7', '"x"', '{"t":"other"}', '{"t":"close","sock":3}']) hostile.receive(f);
  assert.equal([hostile.drops.malformed, hostile.drops['control-error'], hostile.drops['unknown-socket']], [4, 1, 1]);
  assert.equal(told.filter((m) => m['t'] === 'error').map((m) => m['reason']), ['send-error', 'bind-error']);
});

test.run();
