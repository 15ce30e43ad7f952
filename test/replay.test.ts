// Anti-replay (RFC 4303 3.4.3, RFC 6479, ESN inference RFC 4303 A2.2): the anti-replay.json scenarios and
// ESN table, a model test against a simple reference on 10^5 reordered, lost and duplicated packets per
// window size (with and without ESN), the batch form, and the same behaviour through real ESP packets.

import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EspSa, ReplayStatus, ReplayWindow, initSync } from '../src/index.js';
import { Rng, loadVectors, seed, throwsCode } from './helpers.js';

initSync();

interface Step {
  seq: number;
  icv_valid: boolean;
  decision: string;
  accepted: boolean;
  highest_after: number;
}
interface Scenario {
  id: string;
  window: 'classic' | 'rfc6479';
  W: number;
  steps: Step[];
  source?: string;
}
interface EsnCase {
  Tl: number;
  Th: number;
  W: number;
  Seql: number;
  case: 'A' | 'B';
  inferred_Seqh: number;
  full_seq: number;
}

const file = loadVectors<never>('anti-replay') as unknown as { scenarios: Scenario[]; esn_inference: EsnCase[]; source: string };

test('anti-replay.json: every scenario step (classic W=32/64, ICV failure, RFC 6479 4x32 ring)', () => {
  assert.is(file.scenarios.length, 4);
  for (const s of file.scenarios) {
    // An RFC 6479 ring "W = 96" accepts T-96..T: 97 positions, i.e. a window of size 97 here.
    const size = s.window === 'rfc6479' ? s.W + 1 : s.W;
    const w = new ReplayWindow({ size });
    for (const [i, step] of s.steps.entries()) {
      const verdict = w.check(step.seq);
      const expected = step.decision.startsWith('accept') || step.decision === 'reject-icv' ? 'accept'
        : step.decision === 'reject-duplicate' ? 'duplicate' : 'too-old';
      assert.is(verdict, expected, `${s.id} step ${i} seq ${step.seq}`);
      if (verdict === 'accept' && step.icv_valid) w.commit(step.seq);
      assert.is(w.highest, step.highest_after, `${s.id} step ${i} highest`);
    }
    w.destroy();
  }
});

test('anti-replay.json: ESN inference table (RFC 4303 A2.2, cases A and B)', () => {
  assert.is(file.esn_inference.length, 13);
  for (const c of file.esn_inference) {
    const w = new ReplayWindow({ size: c.W, esn: true });
    // Reach T = Th:Tl the way a receiver does: an in-order walk to it (each step well inside 2^32 - W).
    const target = c.Th * 2 ** 32 + c.Tl;
    let t = 0;
    while (t < target) {
      t = Math.min(target, t + 2 ** 31);
      w.commit(w.infer(t % 2 ** 32));
    }
    assert.is(w.highest, target);
    assert.is(w.infer(c.Seql), c.full_seq, `Tl=${c.Tl} Th=${c.Th} Seql=${c.Seql} (case ${c.case})`);
    w.destroy();
  }
});

/** The reference: the definition of RFC 4303 3.4.3 with a Set, no cleverness. */
class Model {
  t = 0;
  seen = new Set<number>();
  constructor(readonly w: number) {}
  decide(seq: number): 'accept' | 'duplicate' | 'too-old' {
    if (seq === 0) return 'too-old';
    if (seq > this.t) return 'accept';
    if (this.t - seq >= this.w) return 'too-old';
    return this.seen.has(seq) ? 'duplicate' : 'accept';
  }
  commit(seq: number): void {
    this.seen.add(seq);
    if (seq > this.t) this.t = seq;
    if (this.seen.size > 4 * this.w + 1000) for (const s of this.seen) if (this.t - s >= this.w) this.seen.delete(s);
  }
}

/** 1..n sent from `start`; the channel reorders (within about two windows), loses 5% and duplicates 10%. */
function traffic(rng: Rng, start: number, n: number, w: number): number[] {
  const out: number[] = [];
  const pending: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const seq = start + i;
    if (rng.int(100) < 5) continue;
    pending.push([i + rng.int(Math.min(2 * w, 5000)), seq]);
    if (rng.int(100) < 10) pending.push([i + rng.int(3 * w + 10), seq]);
  }
  pending.sort((a, b) => a[0] - b[0]);
  for (const [, s] of pending) out.push(s);
  return out;
}

for (const esn of [false, true]) {
  test(`model test: 10^5 packets per window (32, 64, 1024, 4096, 65536)${esn ? ' with ESN across 2^32' : ''}`, () => {
    const s = seed();
    for (const size of [32, 64, 1024, 4096, 65536]) {
      const rng = new Rng(s + size);
      const w = new ReplayWindow({ size, esn });
      const m = new Model(size);
      // With ESN, start 50 000 below 2^32 (after a first packet at 2^31, as a receiver would see).
      const start = esn ? 2 ** 32 - 50_000 : 1;
      if (esn) {
        w.commit(w.infer(2 ** 31));
        m.commit(2 ** 31);
      }
      const counts = { accept: 0, duplicate: 0, 'too-old': 0 };
      for (const seq of traffic(rng, start, 100_000, size)) {
        const wire = seq % 2 ** 32;
        const full = w.infer(wire);
        // A wrongly inferred high half means the ICV would not verify: the packet is rejected.
        const verdict = full === seq ? w.check(full) : 'too-old';
        const expected = m.decide(seq);
        if (verdict !== expected) {
          assert.unreachable(`W=${size}${esn ? ' ESN' : ''} seq ${seq}: engine ${verdict}, model ${expected} (T=${m.t}; TEST_SEED=${s})`);
        }
        counts[verdict]++;
        if (verdict === 'accept') {
          w.commit(full);
          m.commit(seq);
        }
      }
      assert.is(w.highest, m.t);
      // The traffic exercises every branch: new, in-window, duplicate and too old.
      assert.ok(counts.accept > 50_000 && counts.duplicate > 1000 && counts['too-old'] > 1000, JSON.stringify(counts));
      w.destroy();
    }
  });
}

test('batch form: acceptBatch decides like check + commit, one status per number', () => {
  const s = seed();
  for (const size of [64, 4096]) {
    const rng = new Rng(s ^ size);
    const seqs = Uint32Array.from(traffic(rng, 1, 50_000, size));
    const a = new ReplayWindow({ size });
    const b = new ReplayWindow({ size });
    const results = new Uint8Array(seqs.length);
    const accepted = a.acceptBatch(seqs, results);
    let n = 0;
    for (const [i, seq] of seqs.entries()) {
      const v = b.check(seq);
      const code = v === 'accept' ? ReplayStatus.ACCEPTED : v === 'duplicate' ? ReplayStatus.DUPLICATE : ReplayStatus.TOO_OLD;
      assert.is(results[i], code, `seq ${seq} (TEST_SEED=${s})`);
      if (v === 'accept') {
        b.commit(seq);
        n++;
      }
    }
    assert.is(accepted, n);
    assert.is(a.highest, b.highest);
    a.destroy();
    b.destroy();
  }
});

test('replay through ESP packets: reordered, lost and duplicated traffic on an SA, with and without ESN', () => {
  const s = seed();
  for (const esn of [false, true]) {
    const rng = new Rng(s + (esn ? 1 : 0));
    const ck = randomBytes(16);
    const ik = randomBytes(16);
    const tx = EspSa.outbound({ spi: 7000, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik, esn });
    const rx = EspSa.inbound({ spi: 7000, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik, esn, replayWindow: 64 });
    const m = new Model(64);
    const start = esn ? 2 ** 32 - 3000 : 0;
    if (esn) {
      tx.setOutboundSeq(2 ** 31 - 1);
      rx.open(tx.seal(new Uint8Array(1)));
      m.commit(2 ** 31);
    }
    tx.setOutboundSeq(start);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 6000; i++) sent.push(tx.seal(rng.bytes(rng.int(200))));
    for (const seq of traffic(rng, start + 1, 6000, 64)) {
      const packet = sent[seq - start - 1]!;
      const expected = m.decide(seq);
      let got: string;
      try {
        got = rx.open(packet)!.seq === seq ? 'accept' : 'wrong-seq';
      } catch (e) {
        const code = (e as { code: string }).code;
        got = code === 'ESP_REPLAY_DUPLICATE' ? 'duplicate' : code === 'ESP_REPLAY_TOO_OLD' || code === 'ESP_INTEGRITY' ? 'too-old' : code;
      }
      if (got !== expected) assert.unreachable(`${esn ? 'ESN ' : ''}seq ${seq}: SA ${got}, model ${expected} (TEST_SEED=${s})`);
      if (expected === 'accept') m.commit(seq);
    }
    assert.is(rx.seq, m.t);
    tx.delete();
    rx.delete();
  }
});

test('replay window: negative cases', () => {
  throwsCode(() => new ReplayWindow({ size: 31 }), 'REPLAY_WINDOW_SIZE');
  throwsCode(() => new ReplayWindow({ size: 262145 }), 'REPLAY_WINDOW_SIZE');
  throwsCode(() => new ReplayWindow({ size: 64.5 }), 'REPLAY_WINDOW_SIZE');
  const w = new ReplayWindow();
  assert.is(w.size, 64);
  assert.is(w.check(0), 'too-old');
  throwsCode(() => w.commit(0), 'INVALID_ARGUMENT');
  throwsCode(() => w.check(-1), 'INVALID_ARGUMENT');
  throwsCode(() => w.infer(2 ** 32), 'INVALID_ARGUMENT');
  throwsCode(() => w.acceptBatch([1, 2] as unknown as Uint32Array), 'INVALID_ARGUMENT');
  w.commit(5);
  throwsCode(() => w.commit(5), 'INVALID_ARGUMENT');
  assert.is(w.highest, 5);
  w.destroy();
});

test.run();
