// `ipsec-3gpp bench`: the ESP benchmark (RFC 4303 seal and open, single and batch, every alg x ealg pair of
// TS 33.203 Annex H) on the user's own machine, next to the peers that are installed there (node:crypto
// always; WebCrypto, @noble/ciphers + @noble/hashes and hash-wasm when importable). Rounds are interleaved
// and every ratio is the median of per-round ratios with its margin and range (src/bench/). Node only.

import { availableParallelism, cpus, loadavg } from 'node:os';
import { initSync } from '../internal/init-sync.js';
import { formatCase } from '../bench/format.js';
import { runEspBench, type Direction, type EspBenchResult } from '../bench/esp-bench.js';
import { StatusLine } from '../bench/status.js';
import { type BenchArgs } from './program.js';

/** What the command prints with --json. */
export interface BenchReport extends EspBenchResult {
  tool: 'ipsec-3gpp bench';
  date: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  /** 1-minute load average at the start and at the end of the run. */
  load: [number, number];
  options: { sizes: number[]; ops: Direction[]; rounds: number; sampleMs: number; warmupMs: number; batch: number; clock: 'wall' | 'cpu' };
  /** True when fewer than 10 rounds were run: margins are then wide and the figures indicative only. */
  indicative: boolean;
  seconds: number;
}

/** Runs the benchmark; prints tables (or JSON with --json) through `log`. */
export async function bench(a: BenchArgs, log: (line: string) => void): Promise<BenchReport> {
  initSync();
  const started = Date.now();
  const load0 = loadavg()[0]!;
  const status = new StatusLine();
  const print = (l: string): void => { status.clear(); log(l); };
  const indicative = a.rounds < 10;
  if (!a.json) {
    print(`ESP benchmark: ${a.rounds} interleaved rounds of ~${a.sampleMs} ms (${a.clock === 'cpu' ? 'process CPU time' : 'wall time'}) per implementation and case; ratios are medians of per-round ratios, ±95 % margin, (min-max).`);
    if (indicative) print('Fewer than 10 rounds: the figures are indicative only.');
  }
  const r = await runEspBench({
    sizes: a.sizes, directions: a.ops, rounds: a.rounds, sampleMs: a.sampleMs, warmupMs: a.warmupMs, batch: a.batch, packets: a.packets, clock: a.clock,
    ...(a.combos ? { combos: a.combos } : {}), ...(a.peers ? { peers: a.peers } : {}),
    status: (s) => status.set(s),
    onCase: (c) => { if (!a.json) { print(''); for (const l of formatCase(c)) print(l); } },
  });
  status.clear();
  const report: BenchReport = {
    tool: 'ipsec-3gpp bench', date: new Date(started).toISOString(), node: process.version, platform: `${process.platform} ${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), load: [load0, loadavg()[0]!],
    options: { sizes: a.sizes, ops: a.ops, rounds: a.rounds, sampleMs: a.sampleMs, warmupMs: a.warmupMs, batch: a.batch, clock: a.clock },
    indicative, seconds: Math.round((Date.now() - started) / 100) / 10,
    ...r,
  };
  if (a.json) log(JSON.stringify(report, null, 2));
  else {
    log('');
    log(`Peers: ${r.peers.join(', ')}${r.missingPeers.length ? `; not installed: ${r.missingPeers.join(', ')}` : ''}. Every peer's packet opened in ipsec-3gpp and ours in every peer before timing.`);
    log(`${report.seconds} s; load average ${report.load[0].toFixed(2)} -> ${report.load[1].toFixed(2)} on ${report.cores} cores.`);
  }
  return report;
}
