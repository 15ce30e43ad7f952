// Shared machinery of the benchmarks (issue 7): result rows, a benny wrapper that checks every peer's
// output against ours before timing it, an overall progress bar for long runs, and writers for JSON,
// CSV and the self-contained HTML report (report.ts).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import b from 'benny';
import cliProgress from 'cli-progress';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** One measured case. */
export interface Row {
  suite: string;
  /** What is measured, e.g. "aes-128-cbc encrypt" or "seal aes-cbc+hmac-sha-1-96". */
  name: string;
  /** Message size in bytes (0 when not applicable). */
  size: number;
  impl: string;
  opsPerSec: number;
  mbPerSec: number;
  /** Relative to node:crypto (per message) in the same run; NaN when it has no such peer. */
  ratioToNode: number;
  samples: number;
  marginPercent: number;
}

export interface Target {
  issue: number;
  target: string;
  /** The measured value (a ratio, nanoseconds, bytes or operations per second). */
  value: number;
  unit: 'x' | 'ns' | 'B' | 'ops/s';
  /** The bound the value must reach: >= min, or <= max. */
  min?: number;
  max?: number;
}

export const met = (t: Target): boolean => (t.min !== undefined ? t.value >= t.min : t.value <= (t.max ?? Infinity));

export interface Impl {
  name: string;
  /** Computes the output; its bytes must equal the reference (the first impl) before timing. */
  run: () => Uint8Array | Promise<Uint8Array> | void;
  /** Output check only (when `run` returns nothing useful); defaults to `run`. */
  check?: () => Uint8Array | Promise<Uint8Array>;
}

/** Peers kept in quick mode (the ones the targets are measured against). */
export const QUICK_PEERS = new Set(['ipsec-3gpp', 'node:crypto', '@noble/ciphers', '@noble/hashes']);

export interface BenchOptions {
  quick: boolean;
  /** benny case options. */
  caseOptions: { maxTime: number; minSamples: number; delay?: number };
  progress?: Progress;
}

export const options = (quick: boolean): BenchOptions['caseOptions'] => (quick ? { maxTime: 0.02, minSamples: 2, delay: 0 } : { maxTime: 0.8, minSamples: 5, delay: 0.02 });

const hex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.length).toString('hex');

/** A single progress bar over the whole run (silent when stdout is not a terminal). */
export class Progress {
  readonly #bar: cliProgress.SingleBar | undefined;
  #done = 0;
  constructor(total: number) {
    if (process.stdout.isTTY) {
      this.#bar = new cliProgress.SingleBar({ format: 'bench [{bar}] {value}/{total} cases | {case}', hideCursor: true }, cliProgress.Presets.shades_classic);
      this.#bar.start(total, 0, { case: '' });
    }
  }
  tick(label: string): void {
    this.#done++;
    this.#bar?.update(this.#done, { case: label });
  }
  stop(): void {
    this.#bar?.stop();
  }
}

/**
 * Times `impls` on one case with benny after checking that each produces the first one's output.
 * Returns one row per implementation, with its ratio to "node:crypto" when present.
 */
export async function measure(suite: string, name: string, size: number, all: Impl[], o: BenchOptions): Promise<Row[]> {
  const impls = o.quick ? all.filter((i) => QUICK_PEERS.has(i.name)) : all;
  const reference = hex(await ((impls[0]!.check ?? impls[0]!.run)() as Uint8Array));
  for (const impl of impls.slice(1)) {
    const got = hex(await ((impl.check ?? impl.run)() as Uint8Array));
    if (got !== reference) throw new Error(`${suite} / ${name} @ ${size} B: ${impl.name} disagrees with ${impls[0]!.name}`);
  }
  const summary = await b.suite(`${name} @ ${size} B`, ...impls.map((i) => b.add(i.name, async () => { await i.run(); }, o.caseOptions)));
  o.progress?.tick(`${name} @ ${size} B`);
  const node = summary.results.find((r) => r.name === 'node:crypto')?.ops ?? NaN;
  return summary.results.map((r) => ({
    suite, name, size, impl: r.name, opsPerSec: r.ops, mbPerSec: (r.ops * size) / 1e6, ratioToNode: r.ops / node,
    samples: r.samples, marginPercent: r.margin,
  }));
}

/** Prints rows as an aligned table. */
export function printRows(rows: Row[], log: (l: string) => void = console.log): void {
  log(`${'suite'.padEnd(10)} ${'case'.padEnd(34)} ${'bytes'.padStart(6)}  ${'implementation'.padEnd(24)} ${'ops/s'.padStart(10)} ${'MB/s'.padStart(9)}  vs node:crypto`);
  for (const r of rows) {
    log(`${r.suite.padEnd(10)} ${r.name.padEnd(34)} ${String(r.size).padStart(6)}  ${r.impl.padEnd(24)} ${Math.round(r.opsPerSec).toString().padStart(10)} ${r.size ? r.mbPerSec.toFixed(1).padStart(9) : '        -'}  ${Number.isNaN(r.ratioToNode) ? '     -' : `${r.ratioToNode.toFixed(2).padStart(6)}x`}`);
  }
}

export function printTargets(targets: Target[], log: (l: string) => void = console.log): void {
  for (const t of targets) {
    const bound = t.min !== undefined ? `>= ${t.min}${t.unit}` : `<= ${t.max}${t.unit}`;
    const v = t.unit === 'x' ? t.value.toFixed(2) : t.unit === 'ops/s' ? Math.round(t.value).toString() : t.value.toFixed(t.unit === 'ns' ? 1 : 0);
    log(`  ${met(t) ? 'met   ' : 'MISSED'} issue ${t.issue}: ${t.target.padEnd(70)} ${v}${t.unit} (target ${bound})`);
  }
}

const csvCell = (v: unknown): string => {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : '') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** Writes results.json and results.csv; returns their paths. */
export function writeResults(base: string, data: { meta: Record<string, unknown>; rows: Row[]; targets: Target[]; extra?: Record<string, unknown> }): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = join(RESULTS_DIR, `${base}.json`);
  writeFileSync(json, `${JSON.stringify({ ...data.meta, rows: data.rows, targets: data.targets.map((t) => ({ ...t, met: met(t) })), ...(data.extra ?? {}) }, null, 2)}\n`);
  const csv = join(RESULTS_DIR, `${base}.csv`);
  const cols: Array<keyof Row> = ['suite', 'name', 'size', 'impl', 'opsPerSec', 'mbPerSec', 'ratioToNode', 'samples', 'marginPercent'];
  writeFileSync(csv, `${cols.join(',')}\n${data.rows.map((r) => cols.map((c) => csvCell(r[c])).join(',')).join('\n')}\n`);
  return [json, csv];
}

export function machine(): Record<string, unknown> {
  return { date: new Date().toISOString(), node: process.version, platform: `${process.platform} ${process.arch}` };
}
