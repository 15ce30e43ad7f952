// NodeUdpNetwork (src/net/node-udp.ts): a socket's receive buffer (SO_RCVBUF) decides how many datagrams
// survive while its event loop cannot read them, as the soak's P-CSCF found out when its loop stalled on a
// loaded machine. A burst larger than the default buffer is cut short; the same burst into a socket bound
// with `receiveBufferBytes` large enough arrives whole.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeUdpNetwork } from '../src/node.js';
import type { DatagramSocket, WireRecord } from '../src/net/datagram.js';
import { nativeUdpHere } from './helpers.js';

/** Sockets a test bound, closed after it whether it passed or not (an open socket keeps the run alive). */
const open: DatagramSocket[] = [];
const opened = (s: DatagramSocket): DatagramSocket => (open.push(s), s);
test.after.each(() => {
  for (const s of open.splice(0)) s.close();
});

/** The error `p` rejects with (fails the test if it resolves). */
async function refusal(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a refusal');
}

const nativeHere = await nativeUdpHere();

const BURST = 1000;
const SIZE = 1000;
// What the kernel allows (it caps SO_RCVBUF there); Linux only.
const rmemMax = ((): number => { try { return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')); } catch { return 0; } })();
const rmemDefault = ((): number => { try { return Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8')); } catch { return 0; } })();

/** Sends BURST datagrams in one go to a socket of `rx`, waits, and counts what arrived. */
async function burst(rx: NodeUdpNetwork): Promise<number> {
  const tx = new NodeUdpNetwork();
  const a = await rx.bind('127.0.0.1', 0);
  const b = await tx.bind('127.0.0.1', 0);
  let got = 0;
  a.onMessage(() => { got++; });
  const data = new Uint8Array(SIZE).fill(0x5a);
  for (let i = 0; i < BURST; i++) b.send(data, a.port, '127.0.0.1');
  for (let i = 0; i < 50 && got < BURST; i++) await new Promise((r) => setTimeout(r, 20));
  a.close();
  b.close();
  return got;
}

test('a burst larger than the receive buffer: the default buffer loses part of it, a 4 MiB one none', async () => {
  if (rmemMax < 4 * 1024 * 1024 || rmemDefault === 0 || rmemDefault > 1024 * 1024) {
    console.log(`  (skipped: net.core.rmem_max ${rmemMax}, rmem_default ${rmemDefault}: no room for the comparison here)`);
    return;
  }
  const small = await burst(new NodeUdpNetwork());
  const large = await burst(new NodeUdpNetwork({ receiveBufferBytes: 4 * 1024 * 1024 }));
  assert.ok(small < BURST, `the default buffer (${rmemDefault} bytes) held all ${BURST} datagrams of ${SIZE} bytes`);
  assert.is(large, BURST, `a 4 MiB buffer received ${large} of ${BURST}`);
});

// nativeUdp: the same DatagramSocket contract on the addon's socket, against node:dgram as the peer (a
// socket this code did not write): payloads byte for byte both ways, the sender's address and port as
// node:dgram reports them, taps and drop as before, and node:dgram where the option does not apply.
test('nativeUdp: datagrams to and from a node:dgram peer arrive whole, with the sender named; taps and drop see them', async () => {
  if (!nativeHere) {
    console.log('  (skipped: the native addon is not built here)');
    return;
  }
  const nat = new NodeUdpNetwork({ nativeUdp: true });
  const plain = new NodeUdpNetwork();
  const a = opened(await nat.bind('127.0.0.1', 0));
  const b = opened(await plain.bind('127.0.0.1', 0));
  // The addon's socket is not node:dgram's: the fd it binds is reported by the addon, and a second bind of the port is refused.
  assert.match((await refusal(plain.bind('127.0.0.1', a.port))).message, /in use/);
  // It is the addon's socket: the kernel (ss, not this code) reports its 4 MiB receive buffer (SO_RCVBUFFORCE,
  // doubled by the kernel, as root; capped at rmem_max otherwise), node:dgram's socket the default.
  const rb = (port: number): number | undefined => {
    try {
      const out = execFileSync('ss', ['-u', '-a', '-n', '-m', `( sport = :${port} )`], { encoding: 'utf8' });
      const m = /rb(\d+)/.exec(out);
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  };
  const [rbA, rbB] = [rb(a.port), rb(b.port)];
  if (rbA !== undefined && rbB !== undefined && (process.getuid?.() === 0 || rmemMax > rmemDefault)) assert.ok(rbA > rbB, `receive buffers ${rbA} (nativeUdp) and ${rbB} (node:dgram)`);
  else console.log('  (ss or room for a larger buffer missing: which socket it is not checked)');
  const seen: WireRecord[] = [];
  nat.tap((r) => seen.push(r));
  const atA: Array<{ data: Uint8Array; address: string; port: number }> = [];
  const atB: Array<{ data: Uint8Array; address: string; port: number }> = [];
  a.onMessage((d) => atA.push(d));
  b.onMessage((d) => atB.push({ ...d, data: d.data.slice() }));
  const sizes = [1, 100, 1500, 9000, 60000];
  const payload = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
  for (const [i, n] of sizes.entries()) {
    a.send(payload(n, i), b.port, '127.0.0.1');
    b.send(payload(n, 100 + i), a.port, '127.0.0.1');
  }
  nat.drop = (r) => r.data.length === 7;
  a.send(new Uint8Array(7), b.port, '127.0.0.1'); // dropped before sending, tapped
  nat.drop = undefined;
  for (let i = 0; i < 100 && (atA.length < sizes.length || atB.length < sizes.length); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(atA.map((d) => [d.address, d.port, d.data.length]), sizes.map((n) => ['127.0.0.1', b.port, n]));
  assert.equal(atB.map((d) => [d.address, d.port, d.data.length]), sizes.map((n) => ['127.0.0.1', a.port, n]));
  for (const [i, n] of sizes.entries()) {
    assert.equal(atA[i]!.data, payload(n, 100 + i));
    assert.equal(atB[i]!.data, payload(n, i));
  }
  assert.equal(seen.map((r) => [r.srcPort, r.dstPort, r.data.length]), [...sizes, 7].map((n) => [a.port, b.port, n]));
  // A datagram handed to the handler is its own copy: the next read does not overwrite it.
  assert.ok(atA[0]!.data.buffer !== atA[1]!.data.buffer);
  a.close();
  b.close();
  // After close nothing more is read, and send is a no-op.
  a.send(new Uint8Array(3), b.port, '127.0.0.1');
});

test('nativeUdp: port in use refused as node:dgram refuses it; receiveBufferBytes and the IPv6 wildcard stay on node:dgram', async () => {
  if (!nativeHere) return;
  const nat = new NodeUdpNetwork({ nativeUdp: true });
  const a = opened(await nat.bind('127.0.0.1', 0));
  const e = await refusal(nat.bind('127.0.0.1', a.port));
  assert.is(e.code, 'INVALID_ARGUMENT');
  assert.match(e.message, /UDP port \d+ on 127\.0\.0\.1 is in use/);
  a.close();
  // node:dgram (dual-stack on "::") receives IPv4 on the wildcard; so must the socket the option gives there.
  const w = opened(await nat.bind('::', 0));
  const got: string[] = [];
  w.onMessage((d) => got.push(d.address));
  const s = opened(await new NodeUdpNetwork().bind('127.0.0.1', 0));
  s.send(new Uint8Array(5), w.port, '127.0.0.1');
  for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(got, ['::ffff:127.0.0.1']);
  w.close();
  s.close();
});

test.run();
