// The message buffers SipNode serialises into (src/sip/byte-slab.ts): every view is its message's alone
// (no overlap, never written again by later takes), large messages get their own buffer, and the
// serialised bytes are those of serializeSipMessage.

import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteSlab } from '../src/sip/byte-slab.js';
import { parseSipMessage, serializeSipMessage, serializeSipMessageWith } from '../src/sip/message.js';

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

test.run();
