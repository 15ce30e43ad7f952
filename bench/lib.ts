// Shared machinery of `npm run bench` (issues 7 and 17): result rows, a wrapper around the interleaved
// runner of src/bench/runner.ts that checks every peer's output against ours before timing it, targets
// judged on the confidence interval of their median (met / missed / within the margin), one status line on
// stderr, and writers for JSON and CSV (report.ts writes the HTML).

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ratio, runCase, type BenchImpl, type RunOptions } from '../src/bench/runner.js';
import { type Summary } from '../src/bench/stats.js';
import { StatusLine } from '../src/bench/status.js';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** The node:crypto peers every ratio may be against. */
export const NODE = 'node:crypto';
export const NODE_REUSE = 'node:crypto reuse';

/** One measured implementation of one case. */
export interface Row {
  suite: string;
  /** What is measured, e.g. "aes-128-cbc encrypt" or "seal aes-cbc+hmac-sha-1-96". */
  name: string;
  /** Message size in bytes (0 when not applicable). */
  size: number;
  impl: string;
  /** Median over the rounds. */
  opsPerSec: number;
  mbPerSec: number;
  /** Rounds (samples) and the 95 % margin of the median, in percent; min and max over the rounds. */
  samples: number;
  marginPercent: number;
  minOpsPerSec: number;
  maxOpsPerSec: number;
  /** Per-round ratios to peers of the same case, by peer name (node:crypto, node:crypto reuse, fastest peer). */
  ratios: Record<string, Summary>;
  /** The peer the fair ratio is against (node:crypto reuse where it exists). */
  fairPeer?: string;
}

export interface Target {
  issue: number;
  target: string;
  /** The measured value (a ratio, nanoseconds, bytes or operations per second): the median for ratios. */
  value: number;
  unit: 'x' | 'ns' | 'B' | 'ops/s';
  /** The bound the value must reach: >= min, or <= max. */
  min?: number;
  max?: number;
  /** For ratios: what it is against, its 95 % interval, range and sample count. */
  against?: string;
  low?: number;
  high?: number;
  lowest?: number;
  highest?: number;
  marginPercent?: number;
  samples?: number;
}

export type Verdict = 'met' | 'missed' | 'within margin';

/** Met when the whole 95 % interval satisfies the bound, missed when none of it does. */
export function verdict(t: Target): Verdict {
  const lo = t.low ?? t.value;
  const hi = t.high ?? t.value;
  if (!Number.isFinite(t.value)) return 'missed';
  if (t.min !== undefined) return lo >= t.min ? 'met' : hi < t.min ? 'missed' : 'within margin';
  const max = t.max ?? Infinity;
  return hi <= max ? 'met' : lo > max ? 'missed' : 'within margin';
}

export const met = (t: Target): boolean => verdict(t) === 'met';

/** A ratio target from a summary. */
export function ratioTarget(issue: number, target: string, against: string, s: Summary | undefined, bound: { min?: number; max?: number }): Target {
  const t: Target = { issue, target, value: s?.median ?? NaN, unit: 'x', against, ...bound };
  if (s) Object.assign(t, { low: s.low, high: s.high, lowest: s.min, highest: s.max, marginPercent: s.marginPercent, samples: s.samples });
  return t;
}

export interface Impl {
  name: string;
  /** Computes the output; its bytes must equal the reference (the first impl) before timing. */
  run: () => Uint8Array | Promise<Uint8Array> | void;
  async?: boolean;
  /** Output check only (when `run` returns nothing useful); defaults to `run`. */
  check?: () => Uint8Array | Promise<Uint8Array>;
}

/** Peers kept in quick mode (the ones the targets are measured against). */
export const QUICK_PEERS = new Set(['ipsec-3gpp', 'ipsec-3gpp (out)', NODE, NODE_REUSE, '@noble/ciphers', '@noble/hashes']);

export interface BenchOptions {
  quick: boolean;
  run: Omit<RunOptions, 'onSample'>;
  status: Status;
}

/** Full: 30 rounds of ~8 ms; quick: 15 rounds of ~3 ms (margins stay meaningful, the cases are fewer); --cpu-clock: process CPU time. */
export const runOptions = (quick: boolean): BenchOptions['run'] => ({
  ...(quick ? { rounds: 15, sampleMs: 3, warmupMs: 25 } : { rounds: 30, sampleMs: 8, warmupMs: 60 }),
  clock: process.argv.includes('--cpu-clock') ? 'cpu' : 'wall',
});

/**
 * The progress display: one status line on stderr (only on a terminal) with a case counter. It also
 * samples the 1-minute load average between samples (outside the timed code), every 2 s at most.
 */
export class Status {
  readonly line = new StatusLine();
  #done = 0;
  #lastLoad = 0;
  readonly loads: number[] = [];
  constructor(readonly total: number) {}
  case(label: string): (d: number, t: number) => void {
    this.#done++;
    return (d, t) => {
      this.#sampleLoad();
      this.line.set(`bench ${this.#done}/${this.total}: ${label} ${Math.round((100 * d) / t)} %`);
    };
  }
  text(s: string): void {
    this.#sampleLoad();
    this.line.set(s);
  }
  #sampleLoad(): void {
    const t = Date.now();
    if (t - this.#lastLoad < 2000) return;
    this.#lastLoad = t;
    this.loads.push(loadavg()[0]!);
  }
  log(l: string): void {
    this.line.log(l);
  }
  stop(): void {
    this.line.clear();
  }
}

const hex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.length).toString('hex');

/**
 * Times `impls` on one case, interleaved, after checking that each produces the first one's output.
 * Returns one row per implementation with its per-round ratios to node:crypto and node:crypto reuse.
 */
export async function measure(suite: string, name: string, size: number, all: Impl[], o: BenchOptions): Promise<Row[]> {
  const impls = o.quick ? all.filter((i) => QUICK_PEERS.has(i.name)) : all;
  const reference = hex(await ((impls[0]!.check ?? impls[0]!.run)() as Uint8Array));
  for (const impl of impls.slice(1)) {
    const got = hex(await ((impl.check ?? impl.run)() as Uint8Array));
    if (got !== reference) throw new Error(`${suite} / ${name} @ ${size} B: ${impl.name} disagrees with ${impls[0]!.name}`);
  }
  const runnable: BenchImpl[] = impls.map((i) => ({ name: i.name, run: i.run, ...(i.async ? { async: true } : {}) }));
  const m = await runCase(runnable, { ...o.run, onSample: o.status.case(`${suite} ${name} @ ${size} B`) });
  const node = m.impls.find((x) => x.name === NODE);
  const reuse = m.impls.find((x) => x.name === NODE_REUSE);
  return m.impls.map((x) => {
    const ratios: Record<string, Summary> = {};
    if (node && x !== node) ratios[NODE] = ratio(x, node);
    if (reuse && x !== reuse) ratios[NODE_REUSE] = ratio(x, reuse);
    for (const peer of m.impls) if (peer !== x && peer !== node && peer !== reuse && !peer.name.startsWith('ipsec-3gpp') && x.name.startsWith('ipsec-3gpp')) ratios[peer.name] = ratio(x, peer);
    const s = x.opsPerSecond;
    return {
      suite, name, size, impl: x.name, opsPerSec: s.median, mbPerSec: (s.median * size) / 1e6, samples: s.samples, marginPercent: s.marginPercent,
      minOpsPerSec: s.min, maxOpsPerSec: s.max, ratios, ...(reuse ? { fairPeer: NODE_REUSE } : node ? { fairPeer: NODE } : {}),
    };
  });
}

const fmtRatio = (s: Summary | undefined): string => (s ? `${s.median.toFixed(2)}x ±${Math.round(s.marginPercent)}% (${s.min.toFixed(2)}-${s.max.toFixed(2)})` : '-');

/** Prints rows as an aligned table. */
export function printRows(rows: Row[], log: (l: string) => void = console.log): void {
  const w = Math.max(34, ...rows.map((r) => r.name.length));
  log(`${'suite'.padEnd(10)} ${'case'.padEnd(w)} ${'bytes'.padStart(6)}  ${'implementation'.padEnd(30)} ${'ops/s'.padStart(10)} ${'±%'.padStart(4)} ${'MB/s'.padStart(8)}  ${'vs node:crypto'.padEnd(26)} vs node:crypto reuse`);
  for (const r of rows) {
    log(`${r.suite.padEnd(10)} ${r.name.padEnd(w)} ${String(r.size).padStart(6)}  ${r.impl.padEnd(30)} ${Math.round(r.opsPerSec).toString().padStart(10)} ${Number.isFinite(r.marginPercent) ? Math.round(r.marginPercent).toString().padStart(4) : '   -'} ${r.size ? r.mbPerSec.toFixed(1).padStart(8) : '       -'}  ${fmtRatio(r.ratios[NODE] ?? r.ratios['node:crypto per packet']).padEnd(26)} ${fmtRatio(r.ratios[NODE_REUSE])}`);
  }
}

/** `1.40x ±3% [1.35-1.46], min-max 1.30-1.52, n = 30`, or the plain value for non-ratios. */
export function formatTargetValue(t: Target): string {
  if (t.unit === 'x') {
    if (t.low === undefined) return `${t.value.toFixed(2)}x`;
    return `${t.value.toFixed(2)}x ±${Math.round(t.marginPercent ?? NaN)}% (95 % CI ${t.low.toFixed(2)}-${t.high!.toFixed(2)}, min-max ${t.lowest!.toFixed(2)}-${t.highest!.toFixed(2)}, n = ${t.samples})`;
  }
  if (t.unit === 'ops/s') return `${Math.round(t.value).toLocaleString('en')} ops/s`;
  return `${t.value.toFixed(t.unit === 'ns' ? 1 : 0)} ${t.unit}`;
}

export function printTargets(targets: Target[], log: (l: string) => void = console.log): void {
  for (const t of targets) {
    const bound = t.min !== undefined ? `>= ${t.min}${t.unit}` : `<= ${t.max}${t.unit}`;
    const v = verdict(t);
    log(`  ${(v === 'met' ? 'met' : v === 'missed' ? 'MISSED' : 'MARGIN').padEnd(6)} issue ${String(t.issue).padEnd(2)} ${t.target}${t.against ? ` (vs ${t.against})` : ''}: ${formatTargetValue(t)}; target ${bound}`);
  }
}

const csvCell = (v: unknown): string => {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : '') : String(v ?? '');
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** Writes <base>.json and <base>.csv; returns their paths. */
export function writeResults(base: string, data: { meta: Record<string, unknown>; rows: Row[]; targets: Target[]; extra?: Record<string, unknown> }): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = join(RESULTS_DIR, `${base}.json`);
  writeFileSync(json, `${JSON.stringify({ ...data.meta, rows: data.rows, targets: data.targets.map((t) => ({ ...t, verdict: verdict(t), met: met(t) })), ...(data.extra ?? {}) }, null, 2)}\n`);
  const csv = join(RESULTS_DIR, `${base}.csv`);
  const cols = ['suite', 'name', 'size', 'impl', 'opsPerSec', 'marginPercent', 'samples', 'mbPerSec', 'vsNode', 'vsNodeMargin', 'vsNodeReuse', 'vsNodeReuseMargin'];
  const line = (r: Row): unknown[] => [r.suite, r.name, r.size, r.impl, r.opsPerSec, r.marginPercent, r.samples, r.mbPerSec, r.ratios[NODE]?.median, r.ratios[NODE]?.marginPercent, r.ratios[NODE_REUSE]?.median, r.ratios[NODE_REUSE]?.marginPercent];
  writeFileSync(csv, `${cols.join(',')}\n${data.rows.map((r) => line(r).map(csvCell).join(',')).join('\n')}\n`);
  return [json, csv];
}

export function machine(): Record<string, unknown> {
  return { date: new Date().toISOString(), node: process.version, platform: `${process.platform} ${process.arch}` };
}
