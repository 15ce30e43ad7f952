// The bytes of the final responses non-INVITE server transactions keep for Timer J (src/sip/response-ring.ts):
// against a model (a copy of every entry) over random puts and releases in any order, every live entry reads
// back as written; a released entry's bytes are zeroed; segments grow from 4 KiB while entries are kept and
// go when all their entries are released (an idle ring holds nothing); what does not fit is refused (-1) and changes nothing. Through the
// transaction layer: a retransmitted request gets the response's bytes for as long as Timer J runs, and after
// it nothing of them is left in the ring.

import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ResponseRing } from '../src/sip/response-ring.js';
import { TransactionLayer } from '../src/sip/transaction.js';
import { parseSipMessage, serializeSipMessage } from '../src/sip/message.js';
import { makeResponse } from '../src/ims/sip-node.js';

/** A deterministic generator (xorshift32), so a failure replays. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

test('response ring: entries read back as written while live, in any release order (against a model)', () => {
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const ring = new ResponseRing();
    const live = new Map<number, Uint8Array>();
    const views = new Map<number, Uint8Array>();
    for (let i = 0; i < 20_000; i++) {
      if (live.size === 0 || r() < 0.55) {
        const n = 1 + Math.floor(r() ** 3 * 9000);
        const data = new Uint8Array(randomBytes(n));
        const h = ring.put(data);
        assert.ok(h >= 0 && h < 2 ** 30, `handle ${h}`);
        assert.not.ok(live.has(h), 'a handle of a live entry was given again');
        live.set(h, data);
        views.set(h, ring.view(h, n));
      } else {
        // Mostly the oldest (Timer J releases in order), sometimes any.
        const keys = [...live.keys()];
        const h = r() < 0.8 ? keys[0]! : keys[Math.floor(r() * keys.length)]!;
        const n = live.get(h)!.length;
        const v = views.get(h)!;
        ring.release(h, n);
        assert.ok(v.every((b) => b === 0), 'a released entry is zeroed');
        live.delete(h);
        views.delete(h);
      }
      if (i % 997 === 0) for (const [h, data] of live) assert.ok(Buffer.from(ring.view(h, data.length)).equals(Buffer.from(data)), `entry ${h} changed`);
    }
    for (const [h, data] of live) assert.ok(Buffer.from(ring.view(h, data.length)).equals(Buffer.from(data)));
    for (const [h, data] of live) ring.release(h, data.length);
    assert.is(ring.bytes, 0, 'nothing kept, nothing held');
  }
});

test('response ring: segments grow from 4 KiB while entries are kept; one all released is reused zeroed; more than a segment is refused', () => {
  const ring = new ResponseRing();
  const small = ring.put(new Uint8Array(300).fill(1));
  assert.is(ring.bytes, 4096, 'a few responses: one 4 KiB segment');
  const a = ring.put(new Uint8Array(200_000).fill(7));
  const b = ring.put(new Uint8Array(100_000).fill(9)); // does not fit after a: a new segment
  assert.ok(a >= 0 && b >= 0 && b >>> 18 !== a >>> 18 && a >>> 18 !== small >>> 18, 'each starts a segment of its own');
  assert.is(ring.bytes, 4096 + 2 * 262_144);
  ring.release(small, 300);
  assert.is(ring.bytes, 2 * 262_144, 'a 4 KiB segment released (not the spare: smaller than the next)');
  ring.release(a, 200_000);
  assert.is(ring.bytes, 2 * 262_144, 'the released segment is kept as the spare');
  const c = ring.put(new Uint8Array(200_000).fill(3)); // a new segment: the spare, zeroed
  assert.is(ring.bytes, 2 * 262_144);
  assert.ok(ring.view(c, 200_000).every((x) => x === 3));
  assert.ok(ring.view(b, 100_000).every((x) => x === 9));
  assert.is(ring.put(new Uint8Array((1 << 18) + 1)), -1, 'longer than a segment');
  assert.is(ring.put(new Uint8Array(0)), -1);
  assert.ok(ring.view(b, 100_000).every((x) => x === 9), 'a refused put changes nothing');
  ring.release(b, 100_000);
  ring.release(b, 100_000); // twice: nothing more happens
  assert.ok(ring.view(c, 200_000).every((x) => x === 3));
  ring.release(c, 200_000);
  assert.is(ring.bytes, 0, 'nothing kept, nothing held');
  const d = ring.put(new Uint8Array(10).fill(5));
  assert.is(ring.bytes, 4096, 'after idle, small again');
  ring.clear();
  assert.is(ring.bytes, 0);
  assert.ok(d >= 0);
});

test('response ring, through the transaction layer: the bytes go out again for a retransmission while Timer J runs, and are zeroed when it ends', async () => {
  const sent: Uint8Array[] = [];
  const resent: Uint8Array[] = [];
  const layer = new TransactionLayer<null>((m) => { const b = serializeSipMessage(m); sent.push(b); return b; }, { t1: 10 }, () => false, (b) => resent.push(b));
  const enc = new TextEncoder();
  const reqs = Array.from({ length: 50 }, (_, i) => enc.encode(`OPTIONS sip:x@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ring${i}\r\nFrom: <sip:a@example.org>;tag=1\r\nTo: <sip:x@example.org>\r\nCall-ID: c${i}@example.org\r\nCSeq: 1 OPTIONS\r\n\r\n`));
  for (const b of reqs) {
    const inc = layer.receive(parseSipMessage(b), null);
    if (inc.kind !== 'request') throw new Error(inc.kind);
    inc.respond(makeResponse(inc.request, 200, 'OK', [['X-N', String(sent.length)]]));
  }
  for (const b of reqs) assert.is(layer.receive(parseSipMessage(b), null).kind, 'absorbed');
  assert.is(resent.length, 50);
  for (let i = 0; i < 50; i++) assert.ok(Buffer.from(resent[i]!).equals(Buffer.from(sent[i]!)), `retransmission ${i} is the response's bytes`);
  // Timer J (64*T1 = 640 ms) ends: the transactions go, and the views handed out are zeroed.
  await new Promise((r) => setTimeout(r, 900));
  for (const v of resent) assert.ok(v.every((x) => x === 0), 'a response kept for Timer J is zeroed when its transaction ends');
  const again = layer.receive(parseSipMessage(reqs[0]!), null);
  assert.is(again.kind, 'request', 'after Timer J the request is new');
  layer.close();
});

test.run();
