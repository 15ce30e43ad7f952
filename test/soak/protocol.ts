// What the soak's parent (P-CSCF + IMS core + the checks, test/soak/run.ts) and its UE processes
// (test/soak/ue-process.ts) say to each other over the node:child_process IPC channel, and the figures
// both sides compute the same way (operation counts, memory flatness, event-loop delay).

import { type IntervalHistogram } from 'node:perf_hooks';

export type Op = 'register' | 'reregister' | 'deregister' | 'subscribe' | 'publish';
export const OPS: readonly Op[] = ['register', 'reregister', 'deregister', 'subscribe', 'publish'];

/** What a UE process counts: operations started and answered 2xx, failures by kind, UE events. */
export interface UeStats {
  ops: Record<Op, number>;
  ok: Record<Op, number>;
  failed: Record<string, number>;
  inFlight: number;
  lostEvents: number;
  networkEvents: number;
  refreshFailures: number;
}

export const newStats = (): UeStats => ({
  ops: { register: 0, reregister: 0, deregister: 0, subscribe: 0, publish: 0 },
  ok: { register: 0, reregister: 0, deregister: 0, subscribe: 0, publish: 0 },
  failed: {}, inFlight: 0, lostEvents: 0, networkEvents: 0, refreshFailures: 0,
});

/** Adds b into a. */
export function addStats(a: UeStats, b: UeStats): void {
  for (const o of OPS) { a.ops[o] += b.ops[o]; a.ok[o] += b.ok[o]; }
  for (const [k, v] of Object.entries(b.failed)) a.failed[k] = (a.failed[k] ?? 0) + v;
  a.inFlight += b.inFlight;
  a.lostEvents += b.lostEvents;
  a.networkEvents += b.networkEvents;
  a.refreshFailures += b.refreshFailures;
}

/** How often the event-loop delay is sampled (monitorEventLoopDelay's timer), in milliseconds. */
export const LOOP_RESOLUTION_MS = 10;
/**
 * Event-loop delay in milliseconds: how late the sampling timer fired, beyond its interval
 * (monitorEventLoopDelay records the whole interval, in nanoseconds, so an idle loop reads 10 ms).
 */
export interface LoopDelay { p50: number; p99: number; max: number }
export const loopDelay = (h: IntervalHistogram): LoopDelay => {
  const ms = (ns: number): number => Number(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS).toFixed(1));
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
};

export interface MemorySample { t: number; heap: number; wasm: number; live: number }

/** The sampler's full collections: how many, and how long they held the event loop. */
export interface ForcedGc { count: number; totalMs: number; maxMs: number }
/** A full collection, timed. */
export function timedGc(gc: () => void, acc: ForcedGc): void {
  const t = performance.now();
  gc();
  const ms = performance.now() - t;
  acc.count++;
  acc.totalMs = Math.round(acc.totalMs + ms);
  acc.maxMs = Math.max(acc.maxMs, Math.round(ms));
}

/** Growth over the second half of the run: the last quarter of its samples against the first quarter. */
export interface Growth { heap: number; wasmLinearBytes: number; wasmLive: number }
export function secondHalfGrowth(samples: MemorySample[], seconds: number): Growth {
  const half = samples.filter((s) => s.t >= (seconds * 1000) / 2);
  const first = half.slice(0, Math.max(1, Math.floor(half.length / 4)));
  const last = half.slice(-Math.max(1, Math.floor(half.length / 4)));
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    heap: Number((avg(last.map((s) => s.heap)) / Math.max(1, avg(first.map((s) => s.heap))) - 1).toFixed(4)),
    wasmLinearBytes: avg(last.map((s) => s.wasm)) - avg(first.map((s) => s.wasm)),
    wasmLive: Number((avg(last.map((s) => s.live)) / Math.max(1, avg(first.map((s) => s.live))) - 1).toFixed(4)),
  };
}

/** The run's parameters, given to a UE process as its first message. */
export interface InitMsg {
  t: 'init';
  /** This process's UEs are u<from> .. u<to - 1> of <ues>. */
  from: number; to: number; ues: number;
  index: number; seconds: number; t1: number; seed: number; loss: number; realm: string; pcscfPort: number;
}

/** Parent to UE process. */
export type ToUe =
  | InitMsg
  | { t: 'start'; t0: number; deadline: number }
  /** The run is over: faults off, no more automatic refresh, then every UE de-registers. */
  | { t: 'deregisterAll' }
  /** Close every UE and send the final report. */
  | { t: 'close' }
  | { t: 'exit' }
  /** Answer to a 'bound?' question. */
  | { t: 'bound'; id: number; yes: boolean };

export interface UeReport {
  t: 'report';
  stats: UeStats;
  faults: { sent: number; dropped: number; duplicated: number; delayed: number };
  fds: { base: number; end: number };
  ues: number;
  memory: Growth & { heapEnd: number; wasmEnd: number; wasmLiveBase: number; wasmLiveEnd: number; forcedGc: ForcedGc };
  loopDelay: LoopDelay;
}

/** UE process to parent. */
export type FromUe =
  | { t: 'ready'; fds: number }
  | { t: 'progress'; registered: number; stats: UeStats }
  /** Every UE's life is over (the deadline passed and its last operation settled). */
  | { t: 'lifeDone' }
  /** A de-registration of u<i> started at <since> (ms since the epoch) timed out. */
  | { t: 'dereg408'; i: number; since: number }
  /** Is this IMPU bound at the core? (A UE that lost its P-CSCF may still be.) */
  | { t: 'bound?'; id: number; impu: string }
  | { t: 'deregDone' }
  | UeReport;
