// ESP batch calls with multi-buffer HMAC (assembly/esp.ts over assembly/hmac-x4.ts): sealBatch's packets
// open in the node:crypto reference (test/esp-reference.ts) and the reference's packets open in
// openBatch, for random batches (1..37 packets of 0..1500 bytes, SAs of every combination mixed, ESN
// too); openBatch gives exactly what one open() per packet in order gives (results, counters, windows),
// with corrupted, duplicated and reordered packets and with an ESN subspace that the batch itself moves;
// a batch with one corrupted packet rejects that one only and leaves its window as it was.

import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EspSa, allCombinations, expandKeys, initSync, memoryStats, openBatch, sealBatch,
  type EncryptionAlgorithm, type EspSaOptions, type IntegrityAlgorithm, type EspPacket,
} from '../src/index.js';
import { wasm } from '../src/internal/wasm.js';
import { refOpen, refSeal, type RefSa } from './esp-reference.js';
import { Rng, cases, hex, seed } from './helpers.js';

initSync();

const COMBOS = allCombinations();

interface Set {
  tx: EspSa;
  rx: EspSa;
  /** A second receiver with the same keys, fed one packet at a time (the sequential oracle). */
  rx2: EspSa;
  ref: RefSa;
  opts: EspSaOptions;
}

function makeSet(rng: Rng, alg: IntegrityAlgorithm, ealg: EncryptionAlgorithm, esn = false, replayWindow = 64): Set {
  for (;;) {
    const ck = rng.bytes(16);
    const ik = rng.bytes(16);
    if (ealg === 'des-ede3-cbc' && hex(ck.subarray(0, 8)) === hex(ck.subarray(8))) continue;
    const spi = 256 + rng.int(2 ** 32 - 256);
    const opts: EspSaOptions = { spi, alg, ealg, ck, ik, esn, replayWindow };
    const k = expandKeys({ alg, ealg, ck, ik });
    const ref: RefSa = { spi, alg, ealg, encKey: k.encKey, authKey: k.authKey, esn };
    if (k.salt) ref.salt = k.salt;
    return { tx: EspSa.outbound(opts), rx: EspSa.inbound(opts), rx2: EspSa.inbound(opts), ref, opts };
  }
}

/** The WASM core's path counters: [4-lane HMAC steps, 8-lane AES-CBC passes] so far. */
function counters(): [number, number] {
  const c = wasm();
  c.x.simd_counters!(c.paramPtr + 512);
  return [c.u32[(c.paramPtr + 512) >>> 2]!, c.u32[((c.paramPtr + 512) >>> 2) + 1]!];
}

function drop(sets: Set[]): void {
  for (const s of sets) { s.tx.delete(); s.rx.delete(); s.rx2.delete(); }
}

/** One comparable line per result: the error code, null, or payload / next header / sequence number. */
function show(r: EspPacket | null | Error): string {
  if (r === null) return 'dummy';
  if (r instanceof Error) return (r as { code?: string }).code ?? r.message;
  return `${hex(r.payload)}/${r.nextHeader}/${r.seq}`;
}

function sequential(items: Array<{ sa: EspSa; packet: Uint8Array }>): string[] {
  return items.map(({ sa, packet }) => {
    try {
      return show(sa.open(packet));
    } catch (e) {
      return show(e as Error);
    }
  });
}

test('random batches (1..37 packets, 0..1500 bytes, every combination mixed): sealBatch -> reference, reference -> openBatch', () => {
  const mem = memoryStats().memoryBytes;
  cases('batch x4 random', 60, (rng) => {
    const sets = COMBOS.flatMap(({ alg, ealg }) => [makeSet(rng, alg, ealg), makeSet(rng, alg, ealg, true)]);
    const hmacSha1 = sets.filter((s) => s.opts.alg === 'hmac-sha-1-96');
    for (let round = 0; round < 2; round++) {
      const n = 1 + rng.int(37);
      // Mostly HMAC-SHA-1 SAs (the common IMS case), the rest from every combination.
      const items = Array.from({ length: n }, () => ({
        sa: rng.int(2) === 0 ? rng.pick(hmacSha1) : rng.pick(sets),
        payload: rng.bytes(rng.int(1501)),
        nextHeader: rng.pick([17, 6, 4, 41]),
      }));
      const sealed = sealBatch(items.map((it) => ({ sa: it.sa.tx, payload: it.payload, nextHeader: it.nextHeader })));
      const seqs = new Map<Set, number>();
      const seqOf: number[] = [];
      sealed.forEach((p, i) => {
        assert.instance(p, Uint8Array, `item ${i}`);
        const s = items[i]!.sa;
        const seq = (seqs.get(s) ?? s.rx.seq) + 1;
        seqs.set(s, seq);
        seqOf.push(seq);
        const r = refOpen(s.ref, p as Uint8Array, 0);
        assert.is(r.payload.toString('hex'), hex(items[i]!.payload), `engine -> reference, item ${i} of ${n} (${s.opts.alg}/${s.opts.ealg}${s.opts.esn ? '/esn' : ''})`);
        assert.is(r.seq, seq, `item ${i} sequence number`);
      });
      const opened = openBatch(sealed.map((p, i) => ({ sa: items[i]!.sa.rx, packet: p as Uint8Array })));
      opened.forEach((r, i) => assert.is(show(r), `${hex(items[i]!.payload)}/${items[i]!.nextHeader}/${seqOf[i]}`, `openBatch item ${i}`));
      // The reference's packets (its own IVs) for the next sequence numbers open in openBatch.
      const next = new Map<Set, number>();
      const refItems = items.map((it) => {
        const seq = (next.get(it.sa) ?? it.sa.rx.seq) + 1;
        next.set(it.sa, seq);
        const iv = randomBytes(it.sa.tx.ivLength);
        return { sa: it.sa.rx, packet: new Uint8Array(refSeal(it.sa.ref, seq, it.payload, it.nextHeader, iv)), want: `${hex(it.payload)}/${it.nextHeader}/${seq}` };
      });
      openBatch(refItems).forEach((r, i) => assert.is(show(r), refItems[i]!.want, `reference -> openBatch item ${i} of ${n}`));
      for (const s of sets) s.tx.setOutboundSeq(s.rx.seq); // the next round goes on from the reference's numbers
    }
    drop(sets);
  });
  assert.is(memoryStats().memoryBytes, mem, 'batch calls never grow WASM memory');
});

test('AES-CBC across packets: 8..37 packets of one SA (bitsliced lanes, 128/192/256-bit keys) among others open in the reference', () => {
  cases('batch x4 aes lanes', 40, (rng) => {
    const heavy = makeSet(rng, rng.pick(['hmac-sha-1-96', 'hmac-md5-96'] as const), 'aes-cbc', rng.int(3) === 0);
    const keyLen = rng.pick([16, 24, 32]);
    if (keyLen !== 16) {
      // Keys other than TS 33.203's 128 bits, given already expanded.
      const encKey = rng.bytes(keyLen);
      const authKey = rng.bytes(heavy.opts.alg === 'hmac-md5-96' ? 16 : 20);
      const opts: EspSaOptions = { spi: heavy.opts.spi, alg: heavy.opts.alg, ealg: 'aes-cbc', encKey, authKey, esn: heavy.opts.esn! };
      heavy.tx.delete(); heavy.rx.delete(); heavy.rx2.delete();
      Object.assign(heavy, { tx: EspSa.outbound(opts), rx: EspSa.inbound(opts), rx2: EspSa.inbound(opts), opts, ref: { ...heavy.ref, encKey, authKey } });
    }
    const others = [makeSet(rng, 'hmac-sha-1-96', 'aes-cbc'), makeSet(rng, 'hmac-md5-96', 'des-ede3-cbc')];
    // Every other case: 6, 7, 8, 16 or 24 packets of one length, which the lanes take for sure (>= 2/3 full).
    const even = rng.int(2) === 0;
    const n = even ? rng.pick([6, 7, 8, 16, 24]) : 8 + rng.int(30);
    const len = rng.int(1501);
    const items: Array<{ s: Set; payload: Uint8Array }> = [];
    for (let i = 0; i < n; i++) items.push({ s: heavy, payload: rng.bytes(even ? len : rng.int(1501)) });
    for (let i = 0; i < rng.int(8); i++) items.splice(rng.int(items.length + 1), 0, { s: rng.pick(others), payload: rng.bytes(rng.int(1501)) });
    const before = counters();
    const sealed = sealBatch(items.map((it) => ({ sa: it.s.tx, payload: it.payload })));
    if (even) assert.ok(counters()[1] >= before[1] + Math.ceil(((len + 2 + 15) >> 4) * n / 8), 'the 8-lane AES path ran');
    const seq = new Map<Set, number>();
    sealed.forEach((p, i) => {
      const s = items[i]!.s;
      seq.set(s, (seq.get(s) ?? 0) + 1);
      const r = refOpen(s.ref, p as Uint8Array, 0);
      assert.is(r.payload.toString('hex'), hex(items[i]!.payload), `item ${i} of ${items.length} (${keyLen}-byte key)`);
      assert.is(r.seq, seq.get(s)!);
    });
    drop([heavy, ...others]);
  });
});

test('sealBatch over 600 AES-CBC SAs at once (1..9 packets each, interleaved: the per-SA grouping), every packet opens in the reference', () => {
  cases('batch x4 many SAs', 2, (rng) => {
    const sets = Array.from({ length: 600 }, () => makeSet(rng, rng.pick(['hmac-sha-1-96', 'hmac-md5-96'] as const), 'aes-cbc'));
    const items: Array<{ s: Set; payload: Uint8Array }> = [];
    for (const s of sets) for (let k = 1 + rng.int(9); k > 0; k--) items.push({ s, payload: rng.bytes(rng.int(200)) });
    for (let i = items.length - 1; i > 0; i--) { const j = rng.int(i + 1); [items[i], items[j]] = [items[j]!, items[i]!]; }
    const sealed = sealBatch(items.map((it) => ({ sa: it.s.tx, payload: it.payload })));
    const seq = new Map<Set, number>();
    sealed.forEach((p, i) => {
      const s = items[i]!.s;
      seq.set(s, (seq.get(s) ?? 0) + 1);
      const r = refOpen(s.ref, p as Uint8Array, 0);
      assert.is(r.payload.toString('hex'), hex(items[i]!.payload), `item ${i} of ${items.length}`);
      assert.is(r.seq, seq.get(s)!, 'per-SA order');
    });
    drop(sets);
  });
});

test('openBatch equals one open() per packet in order: corrupted, duplicated, reordered, dummy and foreign packets', () => {
  cases('batch x4 vs sequential', 80, (rng) => {
    const sets = [
      makeSet(rng, 'hmac-sha-1-96', 'aes-cbc'), makeSet(rng, 'hmac-sha-1-96', 'null'), makeSet(rng, 'hmac-md5-96', 'aes-cbc'),
      makeSet(rng, 'hmac-md5-96', 'des-ede3-cbc'), makeSet(rng, 'hmac-sha-1-96', 'aes-cbc', true), makeSet(rng, 'aes-gmac', 'null'),
    ];
    const n = 1 + rng.int(37);
    const pool: Array<{ s: Set; packet: Uint8Array }> = [];
    for (let i = 0; i < n; i++) {
      const s = rng.int(2) === 0 ? sets[0]! : rng.pick(sets);
      if (rng.int(10) === 0) s.tx.setOutboundSeq(s.tx.seq + rng.int(100)); // gaps, some beyond the window
      pool.push({ s, packet: s.tx.seal(rng.bytes(rng.int(1501)), rng.int(12) === 0 ? 59 : 17) });
    }
    const batch: Array<{ s: Set; packet: Uint8Array }> = [];
    for (const p of pool) {
      const r = rng.int(12);
      const packet = p.packet.slice();
      if (r === 0) packet[rng.int(packet.length)]! ^= 1 << rng.int(8); // any byte: SPI, Seq, IV, ciphertext or ICV
      batch.push({ s: p.s, packet });
      if (r === 1) batch.push({ s: p.s, packet: p.packet.slice() }); // duplicate
      if (r === 2 && batch.length > 1) batch.splice(rng.int(batch.length), 0, batch.pop()!); // reorder
      if (r === 3) batch.push({ s: rng.pick(sets), packet: p.packet.slice() }); // possibly another SA's
    }
    const viaBatch = openBatch(batch.map((b) => ({ sa: b.s.rx, packet: b.packet.slice() }))).map(show);
    const viaOne = sequential(batch.map((b) => ({ sa: b.s.rx2, packet: b.packet.slice() })));
    assert.equal(viaBatch, viaOne);
    for (const s of sets) {
      assert.is(s.rx.seq, s.rx2.seq, 'highest authenticated sequence number');
      assert.equal(s.rx.stats, s.rx2.stats, 'counters');
    }
    // The windows are equal too: every original packet again meets the same verdict in both.
    const again = pool.map((p) => ({ sa: p.s.rx, packet: p.packet }));
    assert.equal(openBatch(again).map(show), sequential(pool.map((p) => ({ sa: p.s.rx2, packet: p.packet }))));
    drop(sets);
  });
});

test('negative: one corrupted packet in a batch is rejected alone, the others pass, its window is untouched', () => {
  cases('batch x4 one bad', 40, (rng) => {
    const alg = rng.pick(['hmac-sha-1-96', 'hmac-md5-96'] as const);
    const s = makeSet(rng, alg, rng.pick(['aes-cbc', 'null', 'des-ede3-cbc'] as const), rng.int(2) === 1);
    const n = 2 + rng.int(36);
    const payloads = Array.from({ length: n }, () => rng.bytes(rng.int(1501)));
    const packets = sealBatch(payloads.map((payload) => ({ sa: s.tx, payload }))) as Uint8Array[];
    const bad = rng.int(n);
    const corrupted = packets.map((p) => p.slice());
    // The ICV or any byte it covers after the header (IV, ciphertext, trailer).
    corrupted[bad]![8 + rng.int(corrupted[bad]!.length - 8)]! ^= 1 << rng.int(8);
    const r = openBatch(corrupted.map((packet) => ({ sa: s.rx, packet })));
    r.forEach((x, i) => {
      if (i === bad) assert.is((x as { code?: string }).code, 'ESP_INTEGRITY', `packet ${i} of ${n}`);
      else assert.is(hex((x as EspPacket).payload), hex(payloads[i]!), `packet ${i} of ${n}`);
    });
    assert.is(s.rx.stats.dropped.integrity, 1);
    assert.is(s.rx.stats.packets, n - 1);
    assert.is(s.rx.seq, bad === n - 1 ? n - 1 : n, 'highest authenticated');
    // The genuine packet is still new to the window; every other one is now a duplicate.
    const replay = openBatch(packets.map((packet) => ({ sa: s.rx, packet })));
    replay.forEach((x, i) => {
      if (i === bad) assert.is(hex((x as EspPacket).payload), hex(payloads[i]!), 'the genuine packet is accepted');
      else assert.is((x as { code?: string }).code, 'ESP_REPLAY_DUPLICATE', `packet ${i}`);
    });
    drop([s]);
  });
});

test('ESN: a batch that moves the window changes the inferred Seq-high of a later packet, as one open() per packet does', () => {
  // RFC 4303 A2.2: with T = 2^32 + 10 (Tl = 10 < W - 1) a wire value 2^32 - 6 is inferred in the lower
  // subspace (seq 2^32 - 6, in the window); once a packet of the batch moves T to 2^32 + 100 the same
  // wire value is inferred as 2^33 - 6, whose ICV (computed with Seq-high 1) does not verify. A MAC
  // computed ahead for the first inference must not be used for the second.
  const rng = new Rng(seed());
  const s = makeSet(rng, 'hmac-sha-1-96', 'aes-cbc', true);
  const old = EspSa.outbound(s.opts);
  old.setOutboundSeq(2 ** 32 - 7);
  const late = old.seal(new Uint8Array(33)); // seq 2^32 - 6, authentic in the lower subspace
  for (const rx of [s.rx, s.rx2]) {
    s.tx.setOutboundSeq(2 ** 31 - 1);
    rx.open(s.tx.seal(new Uint8Array(1)));
    s.tx.setOutboundSeq(2 ** 32 - 2);
    rx.open(s.tx.seal(new Uint8Array(1)));
    s.tx.setOutboundSeq(2 ** 32 + 9);
    rx.open(s.tx.seal(new Uint8Array(1)));
    assert.is(rx.seq, 2 ** 32 + 10);
  }
  s.tx.setOutboundSeq(2 ** 32 + 99);
  const ahead = s.tx.seal(new Uint8Array(600)); // seq 2^32 + 100
  const items = [ahead, late, new Uint8Array(late)];
  const viaBatch = openBatch(items.map((packet) => ({ sa: s.rx, packet: packet.slice() }))).map(show);
  const viaOne = sequential(items.map((packet) => ({ sa: s.rx2, packet: packet.slice() })));
  assert.equal(viaBatch, viaOne);
  assert.is(viaBatch[1], 'ESP_INTEGRITY');
  assert.is(s.rx.seq, 2 ** 32 + 100);
  old.delete();
  drop([s]);
});

// SECURITY.md: sealBatch encrypts an SA's packets with the constant-time 8-lane AES when they keep the
// lanes at least 2/3 full (six or more packets of one length), otherwise with the T-tables.
test('the lane threshold: six packets of one length and SA take the bitsliced lanes, five the T-tables', () => {
  cases('batch x4 lane threshold', 10, (rng) => {
    const s = makeSet(rng, 'hmac-sha-1-96', 'aes-cbc');
    const len = rng.int(1501);
    const blocks = (len + 2 + 15) >> 4;
    for (const [n, lanes] of [[5, false], [6, true]] as const) {
      const payloads = Array.from({ length: n }, () => rng.bytes(len));
      const before = counters()[1];
      const sealed = sealBatch(payloads.map((payload) => ({ sa: s.tx, payload })));
      assert.is(counters()[1] - before, lanes ? blocks : 0, `${n} packets of ${len} bytes`);
      sealed.forEach((p, i) => assert.is(refOpen(s.ref, p as Uint8Array, 0).payload.toString('hex'), hex(payloads[i]!)));
    }
    drop([s]);
  });
});

test('the scalar path: single packets, batches of one, and the batch path with multi-buffer off give the same verdicts', () => {
  cases('batch x4 scalar', 30, (rng) => {
    const x = wasm().x;
    const s = makeSet(rng, rng.pick(['hmac-sha-1-96', 'hmac-md5-96'] as const), rng.pick(['aes-cbc', 'null'] as const), rng.int(2) === 1);
    const n = 1 + rng.int(20);
    const payloads = Array.from({ length: n }, () => rng.bytes(rng.int(1501)));
    const before = counters();
    const single = payloads.map((p) => s.tx.seal(p));
    const ones = payloads.map((p) => sealBatch([{ sa: s.tx, payload: p }])[0] as Uint8Array);
    const singleOpen = makeSet(rng, s.opts.alg, s.opts.ealg!);
    for (const p of [singleOpen.tx.seal(payloads[0]!)]) openBatch([{ sa: singleOpen.rx, packet: p }]);
    drop([singleOpen]);
    assert.equal(counters(), before, 'single packets and batches of one take the scalar paths');
    x.esp_simd_paths!(0);
    let off: Array<Uint8Array | Error>;
    try {
      off = sealBatch(payloads.map((payload) => ({ sa: s.tx, payload })));
    } finally {
      x.esp_simd_paths!(7);
    }
    const all = [...single, ...ones, ...(off as Uint8Array[])];
    all.forEach((p, i) => assert.is(refOpen(s.ref, p, 0).payload.toString('hex'), hex(payloads[i % n]!), `packet ${i}`));
    // Receivers: one packet at a time (scalar), and a batch with multi-buffer off, flip a bit in half.
    const tampered = all.map((p) => {
      const q = p.slice();
      if (rng.int(2) === 0) q[q.length - 1 - rng.int(12)]! ^= 1;
      return q;
    });
    x.esp_simd_paths!(0);
    let viaOff: string[];
    try {
      viaOff = openBatch(tampered.map((packet) => ({ sa: s.rx, packet: packet.slice() }))).map(show);
    } finally {
      x.esp_simd_paths!(7);
    }
    assert.equal(viaOff, sequential(tampered.map((packet) => ({ sa: s.rx2, packet: packet.slice() }))));
    drop([s]);
  });
});

test.run();
