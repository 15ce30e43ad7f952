// The message buffers SipNode serialises into (src/sip/byte-slab.ts): every view is its message's alone
// (no overlap, never written again by later takes), large messages get their own buffer, and the
// serialised bytes are those of serializeSipMessage.

import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteSlab } from '../src/sip/byte-slab.js';
import { parseSipMessage, serializeSipMessage, serializeSipMessageWith, type SipRequest } from '../src/sip/message.js';
import { SipNode, makeResponse } from '../src/ims/sip-node.js';
import type { DatagramSocket } from '../src/net/datagram.js';

test('views of a slab never overlap and keep what was written in them while later ones are cut and written', () => {
  const slab = new ByteSlab();
  const taken: Array<{ view: Uint8Array; data: Uint8Array }> = [];
  for (let i = 0; i < 4000; i++) {
    const n = [0, 1, 7, 8, 9, 600, 1400, 8192, 8193, 20000][i % 10]!;
    const view = slab.take(n);
    assert.is(view.length, n);
    assert.ok(view.every((b) => b === 0), 'a new view is zero-filled');
    const data = randomBytes(n);
    view.set(data);
    taken.push({ view, data: new Uint8Array(data) });
  }
  for (const { view, data } of taken) assert.ok(Buffer.from(view).equals(Buffer.from(data)), `view of ${view.length} bytes changed`);
  // Views of one chunk: disjoint ranges (byteOffset order), 8-aligned.
  const byBuffer = new Map<ArrayBufferLike, Uint8Array[]>();
  for (const { view } of taken) byBuffer.set(view.buffer, [...(byBuffer.get(view.buffer) ?? []), view]);
  let shared = 0;
  for (const views of byBuffer.values()) {
    views.sort((a, b) => a.byteOffset - b.byteOffset);
    for (let i = 1; i < views.length; i++) assert.ok(views[i - 1]!.byteOffset + views[i - 1]!.length <= views[i]!.byteOffset, 'views overlap');
    for (const v of views) assert.is(v.byteOffset % 8, 0);
    if (views.length > 1) shared++;
  }
  assert.ok(shared > 10, `${shared} chunks shared by several views`);
  // Large messages (more than a quarter chunk): a buffer of their own.
  for (const { view } of taken) if (view.length > 8192) assert.is(view.buffer.byteLength, view.length);
});

test('drop() starts a new chunk: later views are in another buffer', () => {
  const slab = new ByteSlab();
  const a = slab.take(100);
  const b = slab.take(100);
  assert.is(a.buffer, b.buffer);
  slab.drop();
  assert.is.not(slab.take(100).buffer, a.buffer);
});

test('serialised into a slab: the bytes serializeSipMessage writes, parsed and edited messages alike', () => {
  const slab = new ByteSlab();
  const text = 'MESSAGE sip:bob@ims.example.org SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n'
    + 'From: <sip:alice@ims.example.org>;tag=1\r\nTo: <sip:bob@ims.example.org>\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello';
  for (let i = 0; i < 200; i++) {
    const m = parseSipMessage(new TextEncoder().encode(text.replace('c1', `c${i}`)), true);
    if (i % 2 === 1) m.headers.prepend('Via', `SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKp${i}`);
    const mine = serializeSipMessageWith(m, (n) => slab.take(n));
    assert.ok(Buffer.from(mine).equals(Buffer.from(serializeSipMessage(m))), `message ${i}`);
  }
});

test('a SipNode sends from shared chunks, but a 401 or 407 (the core\'s carries CK and IK) from a buffer of its own', () => {
  const sent: Uint8Array[] = [];
  const socket = { send: (data: Uint8Array) => { sent.push(data); } } as unknown as DatagramSocket;
  const node = new SipNode('slab');
  const route = { kind: 'plain' as const, socket, address: '127.0.0.1', port: 5060 };
  const req = parseSipMessage(new TextEncoder().encode('REGISTER sip:ims.example.org SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n'
    + 'From: <sip:alice@ims.example.org>;tag=1\r\nTo: <sip:alice@ims.example.org>\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n')) as SipRequest;
  const challenge = 'Digest realm="ims.example.org", nonce="AAAA", algorithm=AKAv1-MD5, ik="00112233445566778899aabbccddeeff", ck="ffeeddccbbaa99887766554433221100"';
  for (const [status, reason] of [[200, 'OK'], [401, 'Unauthorized'], [200, 'OK'], [407, 'Proxy Authentication Required'], [200, 'OK']] as const) {
    node.send(makeResponse(req, status, reason, status === 200 ? [] : [[status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate', challenge]]), route);
  }
  node.close();
  assert.is(sent.length, 5);
  const [ok1, c401, ok2, c407, ok3] = sent as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  assert.is(ok1.buffer, ok2.buffer, 'the 200s share a chunk');
  assert.is(ok2.buffer, ok3.buffer);
  for (const c of [c401, c407]) {
    assert.is(c.byteOffset, 0);
    assert.is(c.buffer.byteLength, c.length, 'a challenge is in a buffer of its own');
  }
  assert.ok(new TextDecoder().decode(c401).includes('ck="ffeeddcc'));
});

test.run();
