// NativeUdpSocket's batched I/O (src/wire/native-udp.ts, native/wire.c sendMany and the batch reader)
// against node:dgram peers, the independent reference: every datagram queued in one task arrives
// once, whole, in order per destination, at the destination it was queued for (sendmmsg's per-datagram
// addresses), the caller's buffer reusable as soon as send() returns; a datagram the kernel refuses is
// counted and the rest still go; datagrams that node:dgram sends in a burst are read whole with their
// senders; close() sends what is queued. Skipped where the addon cannot be had (not Linux, not built).

import { createSocket, type Socket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NativeUdpSocket } from '../src/wire/native-udp.js';
import { nativeUdpHere } from './helpers.js';

const nativeHere = await nativeUdpHere();

const closers: Array<() => void> = [];
test.after.each(() => {
  for (const c of closers.splice(0)) c();
});

async function dgramPeer(): Promise<{ sock: Socket; port: number; got: Array<{ data: Buffer; port: number }> }> {
  // A receive buffer for a whole test's datagrams (the largest are 64 KiB): none lost while this loop is busy.
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const got: Array<{ data: Buffer; port: number }> = [];
  sock.on('message', (m, r) => got.push({ data: m, port: r.port }));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  closers.push(() => sock.close());
  return { sock, port: sock.address().port, got };
}

// Batched sends are opt-in (sendBatch defaults to 1): these sockets batch unless a test says otherwise.
function native(o?: Parameters<typeof NativeUdpSocket.bind>[2]): NativeUdpSocket {
  const s = NativeUdpSocket.bind('127.0.0.1', 0, { sendBatch: 32, ...o });
  closers.push(() => s.close());
  return s;
}

const until = async (ok: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

/** Datagram i: its index in the first 4 bytes, then a pattern of it, of a length that varies with i. */
function datagram(i: number, len: number): Uint8Array {
  const d = new Uint8Array(len);
  for (let k = 0; k < len; k++) d[k] = (i * 31 + k * 7) & 0xff;
  if (len >= 4) new DataView(d.buffer).setUint32(0, i);
  return d;
}

const LENGTHS = [0, 1, 4, 600, 1400, 9000, 65507];

test('the sends of one task to two node:dgram peers: all arrive, whole, in order, each where it was sent; the buffer is reusable at once', async () => {
  if (!nativeHere) return;
  const a = await dgramPeer();
  const b = await dgramPeer();
  const s = native();
  const sentA: Uint8Array[] = [];
  const sentB: Uint8Array[] = [];
  // 150 datagrams: more than a queue (32) and more than one sendmmsg (64); one scratch buffer reused.
  const scratch = new Uint8Array(65507);
  for (let i = 0; i < 150; i++) {
    const d = datagram(i, LENGTHS[i % LENGTHS.length]!);
    scratch.set(d);
    const toA = i % 3 !== 1;
    s.send(scratch.subarray(0, d.length), toA ? a.port : b.port, '127.0.0.1');
    scratch.fill(0xee, 0, d.length); // what send() was handed is changed once it returns
    (toA ? sentA : sentB).push(d);
  }
  await until(() => a.got.length >= sentA.length && b.got.length >= sentB.length);
  await new Promise((r) => setTimeout(r, 30)); // nothing more (no duplicates)
  assert.is(s.sendErrors, 0);
  assert.is(a.got.length, sentA.length);
  assert.is(b.got.length, sentB.length);
  for (let i = 0; i < sentA.length; i++) {
    assert.equal(new Uint8Array(a.got[i]!.data), sentA[i], `datagram ${i} to A`);
    assert.is(a.got[i]!.port, s.port);
  }
  for (let i = 0; i < sentB.length; i++) assert.equal(new Uint8Array(b.got[i]!.data), sentB[i], `datagram ${i} to B`);
});

test('sendBatch 1, and flush() twice: the datagram arrives once', async () => {
  if (!nativeHere) return;
  const a = await dgramPeer();
  for (const s of [native({ sendBatch: 1 }), native()]) {
    const before = a.got.length;
    s.send(datagram(7, 100), a.port, '127.0.0.1');
    s.flush();
    s.flush(); // nothing left to send
    await until(() => a.got.length > before);
    await new Promise((r) => setTimeout(r, 30));
    assert.is(a.got.length, before + 1);
    assert.equal(new Uint8Array(a.got[before]!.data), datagram(7, 100));
  }
  assert.throws(() => NativeUdpSocket.bind('127.0.0.1', 0, { sendBatch: 0 }), /sendBatch/);
  assert.throws(() => NativeUdpSocket.bind('127.0.0.1', 0, { sendBatch: 65 }), /sendBatch/);
});

test('a datagram the kernel refuses (65 508 bytes over IPv4) is counted; those queued before and after it still go', async () => {
  if (!nativeHere) return;
  const a = await dgramPeer();
  const s = native();
  const ok = [datagram(1, 10), datagram(2, 20), datagram(3, 30), datagram(4, 40)];
  s.send(ok[0]!, a.port, '127.0.0.1');
  s.send(ok[1]!, a.port, '127.0.0.1');
  s.send(new Uint8Array(65508), a.port, '127.0.0.1');
  s.send(new Uint8Array(65508), a.port, '127.0.0.1');
  s.send(ok[2]!, a.port, '127.0.0.1');
  s.send(new Uint8Array(70000), a.port, '127.0.0.1'); // refused before the queue
  s.send(ok[3]!, a.port, '127.0.0.1');
  await until(() => a.got.length >= 4);
  await new Promise((r) => setTimeout(r, 30));
  assert.is(s.sendErrors, 3);
  assert.equal(a.got.map((g) => new Uint8Array(g.data)), ok);
});

test('close() sends what is queued', async () => {
  if (!nativeHere) return;
  const a = await dgramPeer();
  const s = NativeUdpSocket.bind('127.0.0.1', 0);
  for (let i = 0; i < 5; i++) s.send(datagram(i, 50), a.port, '127.0.0.1');
  s.close();
  s.send(datagram(9, 50), a.port, '127.0.0.1'); // after close: nothing
  await until(() => a.got.length >= 5);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(a.got.map((g) => new Uint8Array(g.data)), [0, 1, 2, 3, 4].map((i) => datagram(i, 50)));
});

test('a burst from two node:dgram senders is read whole (batch reads), each datagram with its sender', async () => {
  if (!nativeHere) return;
  const s = native();
  const got: Array<{ data: Uint8Array; port: number; address: string }> = [];
  s.onMessage((d) => got.push(d));
  const x = await dgramPeer();
  const y = await dgramPeer();
  const sent = new Map<number, Uint8Array[]>([[x.port, []], [y.port, []]]);
  // 300 datagrams in one go: several reads of 32 per wake-up.
  for (let i = 0; i < 300; i++) {
    const d = datagram(i, LENGTHS[i % LENGTHS.length]!);
    const p = i % 2 === 0 ? x : y;
    p.sock.send(d, s.port, '127.0.0.1');
    sent.get(p.port)!.push(d);
  }
  await until(() => got.length >= 300);
  await new Promise((r) => setTimeout(r, 30));
  assert.is(got.length, 300);
  for (const [port, list] of sent) {
    const from = got.filter((g) => g.port === port);
    assert.is(from.length, list.length);
    for (let i = 0; i < list.length; i++) assert.equal(from[i]!.data, list[i], `from ${port}, datagram ${i}`);
  }
  for (const g of got) assert.is(g.address, '127.0.0.1');
});

test.run();
