// An interleaved benchmark runner (issue 17): every round times every implementation of a case once, in an
// order rotated from round to round, so that whatever drifts during a run (other processes on a shared
// machine, CPU frequency, the state of the heap) lands on all of them alike; ratios are then taken per
// round and summarised by their median, range and a distribution-free confidence interval (stats.ts).
// tinybench and mitata (the maintained runners) time one task to its end before starting the next, so a
// ratio between two of their tasks compares two different stretches of time; hence this small runner.
// Two clocks: wall time (performance.now, the default: what a caller waits) or, in Node, the process's CPU
// time (user + system of all its threads, from getrusage), which leaves out the time the process was
// descheduled and so stays usable on a machine shared with other work; it counts the work of helper
// threads (concurrent GC, WebCrypto's thread pool) and not the time spent waiting for them.
// Node and browsers (the CPU clock is Node only); no dependency.

import { summarize, type Summary } from './stats.js';

/** One implementation of a case. */
export interface BenchImpl {
  name: string;
  /** One call. Synchronous, unless `async` is set (then it returns a promise, awaited per call). */
  run: () => unknown;
  async?: boolean;
  /** Operations (packets) per call: 1, or the batch size of a batch form. */
  perCall?: number;
  /** Most calls one sample may make (the size of a pool of distinct packets). */
  maxCalls?: number;
  /** Called before every sample and warm-up stretch, outside the timed region (e.g. a fresh replay window). */
  reset?: () => void;
}

/** How long and how often to measure. */
export interface RunOptions {
  /** Rounds, i.e. samples per implementation. */
  rounds: number;
  /** Target duration of one sample in milliseconds (calls per sample are calibrated to it). */
  sampleMs: number;
  /** Warm-up per implementation before calibration, in milliseconds. */
  warmupMs: number;
  /** `wall` (default) or `cpu` (Node: process CPU time, see above). */
  clock?: Clock;
  /** Called after every sample (for a progress display). */
  onSample?: (done: number, total: number) => void;
}

export type Clock = 'wall' | 'cpu';

/** What the runner measured for one implementation. */
export interface ImplMeasurement {
  name: string;
  perCall: number;
  callsPerSample: number;
  /** Operations per second, one value per round. */
  perRound: number[];
  opsPerSecond: Summary;
}

export interface CaseMeasurement {
  rounds: number;
  clock: Clock;
  impls: ImplMeasurement[];
}

const wall = (): number => performance.now();
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
async function timeCalls(impl: BenchImpl, calls: number, now: () => number): Promise<number> {
  const run = impl.run;
  if (impl.async) {
    const t0 = now();
    for (let i = 0; i < calls; i++) await run();
    return now() - t0;
  }
  const t0 = now();
  for (let i = 0; i < calls; i++) run();
  return now() - t0;
}

/** Runs `impl` for about `ms` milliseconds in pool-sized stretches; returns milliseconds per call. */
async function warm(impl: BenchImpl, ms: number, now: () => number): Promise<number> {
  const cap = impl.maxCalls ?? Infinity;
  let calls = 1;
  let spent = 0;
  let perCall = Infinity;
  for (;;) {
    impl.reset?.();
    const n = Math.min(calls, cap);
    const dt = await timeCalls(impl, n, now);
    spent += dt;
    if (dt > 0) perCall = dt / n;
    if (spent >= ms) return perCall;
    if (dt < ms / 8) calls = Math.min(calls * 2, cap);
  }
}

/**
 * Measures the implementations of one case: warm-up and calibration of each, then `rounds` rounds, each
 * timing every implementation once for about `sampleMs`, the order rotated by one per round.
 */
export async function runCase(impls: readonly BenchImpl[], o: RunOptions): Promise<CaseMeasurement> {
  const now = o.clock === 'cpu' ? cpu : wall;
  const calls: number[] = [];
  for (const impl of impls) {
    const msPerCall = await warm(impl, o.warmupMs, now);
    calls.push(Math.max(1, Math.min(impl.maxCalls ?? Infinity, Math.round(o.sampleMs / Math.max(msPerCall, 1e-6)))));
  }
  const perRound: number[][] = impls.map(() => []);
  const total = o.rounds * impls.length;
  let done = 0;
  for (let r = 0; r < o.rounds; r++) {
    for (let j = 0; j < impls.length; j++) {
      const i = (j + r) % impls.length;
      const impl = impls[i]!;
      impl.reset?.();
      const ms = await timeCalls(impl, calls[i]!, now);
      perRound[i]!.push((calls[i]! * (impl.perCall ?? 1) * 1000) / Math.max(ms, 1e-6));
      o.onSample?.(++done, total);
    }
  }
  return {
    rounds: o.rounds,
    clock: o.clock ?? 'wall',
    impls: impls.map((impl, i) => ({ name: impl.name, perCall: impl.perCall ?? 1, callsPerSample: calls[i]!, perRound: perRound[i]!, opsPerSecond: summarize(perRound[i]!) })),
  };
}

/** The per-round ratio a / b (same rounds), summarised. */
export function ratio(a: ImplMeasurement, b: ImplMeasurement): Summary {
  return summarize(a.perRound.map((v, r) => v / b.perRound[r]!));
}

/** The per-round ratio of `a` to the fastest of `others` in that round, summarised. */
export function ratioToBest(a: ImplMeasurement, others: readonly ImplMeasurement[]): Summary {
  return summarize(a.perRound.map((v, r) => v / Math.max(...others.map((o) => o.perRound[r]!))));
}
