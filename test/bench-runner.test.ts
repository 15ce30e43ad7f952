// The interleaved runner and its statistics (src/bench/runner.ts, stats.ts): rounds rotate the order of
// the implementations, every implementation gets one sample per round, per-round ratios pair the same
// rounds, and the confidence interval of the median uses the order statistics it documents. No timing is
// asserted: the implementations are counters.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ratio, runCase, type ImplMeasurement } from '../src/bench/runner.js';
import { median, medianCiRanks, summarize } from '../src/bench/stats.js';

test('each round times every implementation once, the order rotated by one per round', async () => {
  const order: string[] = [];
  const impl = (name: string) => ({ name, maxCalls: 1, reset: () => order.push(name), run: () => name.length });
  const m = await runCase([impl('a'), impl('b'), impl('c')], { rounds: 4, sampleMs: 1, warmupMs: 0 });
  // warm-up resets each implementation once (warmupMs 0: one stretch), then 4 rounds of 3 samples.
  assert.equal(order.slice(0, 3), ['a', 'b', 'c']);
  assert.equal(order.slice(3), ['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b', 'a', 'b', 'c']);
  assert.is(m.rounds, 4);
  for (const x of m.impls) {
    assert.is(x.perRound.length, 4);
    assert.is(x.callsPerSample, 1, 'capped by maxCalls');
    assert.is(x.opsPerSecond.samples, 4);
  }
});

test('async implementations are awaited per call; perCall scales operations', async () => {
  let pending = 0;
  let maxPending = 0;
  const m = await runCase([{
    name: 'async', async: true, perCall: 16, maxCalls: 3,
    run: async () => { pending++; maxPending = Math.max(maxPending, pending); await Promise.resolve(); pending--; },
  }], { rounds: 2, sampleMs: 1, warmupMs: 1 });
  assert.is(maxPending, 1, 'never two calls in flight');
  assert.is(m.impls[0]!.perCall, 16);
});

test('ratios are per round, then summarised', () => {
  const mk = (perRound: number[]): ImplMeasurement => ({ name: 'x', perCall: 1, callsPerSample: 1, perRound, opsPerSecond: summarize(perRound) });
  const r = ratio(mk([10, 20, 40]), mk([5, 20, 10]));
  assert.is(r.median, 2);
  assert.is(r.min, 1);
  assert.is(r.max, 4);
  // The ratio of medians (20 / 10) and the median of ratios differ in general: this is the latter.
  const r2 = ratio(mk([1, 100, 100]), mk([1, 10, 1000]));
  assert.is(r2.median, 1);
});

test('median and its 95 % interval from order statistics', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  // n = 30: 1-based ranks round(15 - 5.37) = 10 and round(16 + 5.37) = 21.
  assert.equal(medianCiRanks(30), [9, 20]);
  // n = 15: ranks 4 and 12; n = 10: ranks 2 and 9; under 6: the whole range.
  assert.equal(medianCiRanks(15), [3, 11]);
  assert.equal(medianCiRanks(10), [1, 8]);
  assert.equal(medianCiRanks(5), [0, 4]);
  const s = summarize(Array.from({ length: 30 }, (_, i) => 30 - i));
  assert.is(s.median, 15.5);
  assert.is(s.low, 10);
  assert.is(s.high, 21);
  assert.is(s.min, 1);
  assert.is(s.max, 30);
  assert.is(s.samples, 30);
  assert.ok(Math.abs(s.marginPercent - (5.5 / 15.5) * 100) < 1e-9);
  assert.is(summarize([1, NaN, 3]).samples, 2, 'non-finite samples are dropped');
});

test.run();
