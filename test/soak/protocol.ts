// What the soak's parent (P-CSCF + IMS core + the checks, test/soak/run.ts) and its UE processes
// (test/soak/ue-process.ts) say to each other over the node:child_process IPC channel, and the figures
// both sides compute the same way (operation counts, memory flatness, event-loop delay).

import { constants, type IntervalHistogram, PerformanceObserver } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { memoryStats } from '../../src/index.js';

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

/** CPU time this process used since `since` (process.cpuUsage()), as a percentage of one core over `ms` of wall time. */
export const cpuPercent = (since: NodeJS.CpuUsage, ms: number): number => {
  const u = process.cpuUsage(since);
  return Math.round(((u.user + u.system) / 1000 / Math.max(1, ms)) * 100);
};

/** The sampler's forced full collections: how many, and how long they held the event loop. */
export interface ForcedGc { count: number; totalMs: number; maxMs: number }

/** Growth over a window of the run: the last quarter of its samples against the first quarter. */
export interface Growth {
  /** Of the old generation's live size after major collections, relative. */
  heap: number;
  wasmLinearBytes: number;
  /** Of the WASM key contexts' bytes, relative. */
  wasmLive: number;
  /** How many heap samples the window had (major collections: V8's own and the forced ones). */
  heapSamples: number;
}

/** A process's memory over the run (ms since the run's start). */
export interface MemorySamples {
  heap: Array<{ t: number; v: number }>;
  wasm: Array<{ t: number; wasm: number; live: number }>;
}

/** Growth over the samples from `fromMs` to `toMs` (since the run's start). */
export function growthFrom(samples: MemorySamples, fromMs: number, toMs: number): Growth {
  const heap = samples.heap.filter((s) => s.t >= fromMs && s.t <= toMs).map((s) => s.v);
  const wasm = samples.wasm.filter((s) => s.t >= fromMs && s.t <= toMs);
  return {
    heap: Number((quarters(heap) - 1).toFixed(4)),
    wasmLinearBytes: Math.round(avg(last(wasm.map((s) => s.wasm))) - avg(first(wasm.map((s) => s.wasm)))),
    wasmLive: Number((quarters(wasm.map((s) => s.live)) - 1).toFixed(4)),
    heapSamples: heap.length,
  };
}

/**
 * UDP datagrams the kernel dropped for a full receive buffer, and datagrams received, so far (Linux
 * /proc/net/snmp; the network namespace's, so other programs' count too): a process too slow to read its
 * sockets loses datagrams there, on top of the faults the soak injects.
 */
export function udpCounters(): { received: number; receiveBufferDrops: number } {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/).map(Number);
    return { received: values[names.indexOf('InDatagrams')] ?? 0, receiveBufferDrops: values[names.indexOf('RcvbufErrors')] ?? 0 };
  } catch {
    return { received: 0, receiveBufferDrops: 0 };
  }
}

/**
 * Datagrams dropped on full receive buffers by socket (Linux /proc/net/udp, IPv4): for the sockets bound to
 * 127.0.0.1 by port, and the sum for all others (the UEs' 127.0.x.y). A closed socket's count is gone.
 */
export function udpDropsBySocket(): { byPort: Map<number, number>; others: number } {
  const byPort = new Map<number, number>();
  let others = 0;
  try {
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const [addr, port] = f[1]!.split(':');
      const drops = Number(f[f.length - 1]);
      if (addr === '0100007F') byPort.set(parseInt(port!, 16), (byPort.get(parseInt(port!, 16)) ?? 0) + drops);
      else others += drops;
    }
  } catch { /* not Linux */ }
  return { byPort, others };
}

/** What survived a major collection: every V8 heap space but the young generation's. */
const oldGeneration = (): number => getHeapSpaceStatistics().filter((s) => !s.space_name.startsWith('new_')).reduce((a, s) => a + s.space_used_size, 0);

/**
 * Memory over the run, measured without loading the process being measured: WASM memory and key contexts
 * every 2 s (explicitly managed, no collection needed), and the heap at major collections only (V8's own,
 * seen through a PerformanceObserver, and one forced after 20 s without any, so that the window judged has
 * samples whatever V8 does). A full collection forced every 2 s cost the P-CSCF process of a 2000-UE run 99 s of
 * its 340 s, in pauses of up to 2.9 s on a loaded machine: the soak was measuring its own sampler.
 */
export class MemorySampler {
  readonly forcedGc: ForcedGc = { count: 0, totalMs: 0, maxMs: 0 };
  readonly samples: MemorySamples = { heap: [], wasm: [] };
  readonly #timers: Array<ReturnType<typeof setInterval>>;
  readonly #observer: PerformanceObserver;
  #lastMajor = Date.now();

  /** `t0`: the run's start (ms since the epoch); `gc`: a full collection; `tick`: called with every 2-s sample. */
  constructor(t0: number, gc: () => void, tick?: () => void) {
    this.#observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
        this.#lastMajor = Date.now();
        this.samples.heap.push({ t: Date.now() - t0, v: oldGeneration() });
      }
    });
    this.#observer.observe({ entryTypes: ['gc'] });
    this.#timers = [
      setInterval(() => { const m = memoryStats(); this.samples.wasm.push({ t: Date.now() - t0, wasm: m.memoryBytes, live: m.liveContextBytes }); tick?.(); }, 2000),
      setInterval(() => {
        if (Date.now() - this.#lastMajor < 20_000) return;
        const t = performance.now();
        gc();
        const ms = performance.now() - t;
        this.forcedGc.count++;
        this.forcedGc.totalMs = Math.round(this.forcedGc.totalMs + ms);
        this.forcedGc.maxMs = Math.max(this.forcedGc.maxMs, Math.round(ms));
      }, 5000),
    ];
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#observer.disconnect();
  }
}

const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const first = (xs: number[]): number[] => xs.slice(0, Math.max(1, Math.floor(xs.length / 4)));
const last = (xs: number[]): number[] => xs.slice(-Math.max(1, Math.floor(xs.length / 4)));
/** The last quarter's mean over the first quarter's. */
const quarters = (xs: number[]): number => avg(last(xs)) / Math.max(1, avg(first(xs)));

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
  /** Judged by the parent, which knows when the P-CSCF's state was steady again after its restart. */
  samples: MemorySamples;
  memory: { heapEnd: number; wasmEnd: number; wasmLiveBase: number; wasmLiveEnd: number; forcedGc: ForcedGc };
  loopDelay: LoopDelay;
  /** CPU used from the start to the end of the de-registrations, in % of one core. */
  cpuPercent: number;
}

/** UE process to parent. */
export type FromUe =
  | { t: 'ready'; fds: number }
  | { t: 'progress'; registered: number; stats: UeStats }
  /** Every UE's life is over (the deadline passed and its last operation settled). */
  | { t: 'lifeDone' }
  /** A de-registration of u<i> started at <since> (ms since the epoch) timed out. */
  /** (With the UE's detail, and whether a reg-event NOTIFY ended its registration meanwhile.) */
  | { t: 'dereg408'; i: number; since: number; detail: string | undefined; notifiedEnded: boolean }
  /** Is this IMPU bound at the core? (A UE that lost its P-CSCF may still be.) */
  | { t: 'bound?'; id: number; impu: string }
  | { t: 'deregDone' }
  | UeReport;
