// Multi-core ESP (issue 7): N worker_threads, each with its own WASM instance and its own SAs (so each
// SA's sequence numbers stay in order within one thread), sealing and opening SIP-sized packets.
//   scaling: 1 .. N workers, each on one SA pair, packets/s and the speed-up over one worker, in rounds
//            (each round runs every worker count once, the order rotated; the speed-up is the median of
//            the per-round speed-ups, with min-max: on a shared machine one run alone says little);
//   load:    a load generator of many UEs (10 000 SA sets spread over the workers); every packet goes
//            from a random UE's SA1 to the P-CSCF side and is opened there; packets/s and the latency of
//            seal + open per packet (p50, p90, p99, p99.9).
// Run alone: node --import tsx bench/multicore.ts [--quick] [--workers N] [--ues N]

import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { EspSa, initSync } from '../src/index.js';
import { summarize } from '../src/bench/stats.js';
import { machine, writeResults, type Row, type Target } from './lib.js';

interface Job {
  mode: 'scaling' | 'load';
  seconds: number;
  size: number;
  sets: number;
  seed: number;
}

interface JobResult {
  packets: number;
  seconds: number;
  /** Sampled per-packet latencies in nanoseconds (load mode). */
  latencies: number[];
}

function work(job: Job): JobResult {
  initSync();
  const sets = Array.from({ length: job.sets }, (_, i) => {
    const ck = globalThis.crypto.getRandomValues(new Uint8Array(16));
    const ik = globalThis.crypto.getRandomValues(new Uint8Array(16));
    const spi = 4096 + job.seed * 1_000_000 + i;
    return {
      tx: EspSa.outbound({ spi, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik }),
      rx: EspSa.inbound({ spi, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik, replayWindow: 64 }),
    };
  });
  const payload = new Uint8Array(job.size).map((_, i) => i & 0xff);
  const buf = new Uint8Array(job.size + 128);
  const latencies: number[] = [];
  let packets = 0;
  let x = job.seed * 2654435761 + 1;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(job.seconds * 1e9));
  for (;;) {
    for (let i = 0; i < 64; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const s = sets[x % sets.length]!;
      if (job.mode === 'load' && (packets & 15) === 0) {
        const t0 = process.hrtime.bigint();
        s.rx.open(s.tx.seal(payload, 17, buf), buf);
        latencies.push(Number(process.hrtime.bigint() - t0));
      } else {
        s.rx.open(s.tx.seal(payload, 17, buf), buf);
      }
      packets++;
    }
    if (process.hrtime.bigint() >= end) break;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (const s of sets) { s.tx.delete(); s.rx.delete(); }
  return { packets, seconds, latencies };
}

if (!isMainThread) {
  parentPort!.postMessage(work(workerData as Job));
}

function runWorkers(n: number, job: Omit<Job, 'seed'>): Promise<JobResult[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => new Promise<JobResult>((resolve, reject) => {
    const w = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: { ...job, seed: i + 1, module: import.meta.url } });
    w.once('message', (r: JobResult) => resolve(r));
    w.once('error', reject);
  })));
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export interface MulticoreResult {
  rows: Row[];
  targets: Target[];
  scaling: Array<{ workers: number; packetsPerSecond: number; speedup: number; speedupMin: number; speedupMax: number; rounds: number }>;
  load: { ues: number; workers: number; packetsPerSecond: number; p50Us: number; p90Us: number; p99Us: number; p999Us: number };
}

export async function runMulticore(o: { quick: boolean; workers?: number; ues?: number; log?: (l: string) => void }): Promise<MulticoreResult> {
  const log = o.log ?? (() => {});
  const max = o.workers ?? availableParallelism();
  const seconds = o.quick ? 0.6 : 3; // the load generator's run
  const rounds = o.quick ? 3 : 5;
  const sampleSeconds = o.quick ? 0.4 : 1.2;
  const perRound: number[][] = Array.from({ length: max }, () => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < max; j++) {
      const n = ((j + r) % max) + 1;
      const res = await runWorkers(n, { mode: 'scaling', seconds: sampleSeconds, size: 600, sets: 1 });
      perRound[n - 1]!.push(res.reduce((s, x) => s + x.packets / x.seconds, 0));
    }
  }
  const scaling: MulticoreResult['scaling'] = perRound.map((pps, i) => {
    const sp = summarize(pps.map((v, r) => v / perRound[0]![r]!));
    return { workers: i + 1, packetsPerSecond: summarize(pps).median, speedup: sp.median, speedupMin: sp.min, speedupMax: sp.max, rounds };
  });
  for (const s of scaling) {
    log(`  ${s.workers} worker${s.workers > 1 ? 's' : ' '}: ${Math.round(s.packetsPerSecond).toLocaleString('en')} packets/s (seal + open, 600 B, aes-cbc + hmac-sha-1-96), x${s.speedup.toFixed(2)} (min-max ${s.speedupMin.toFixed(2)}-${s.speedupMax.toFixed(2)} over ${rounds} rounds)`);
  }
  const ues = o.ues ?? (o.quick ? 2000 : 10_000);
  const res = await runWorkers(max, { mode: 'load', seconds, size: 600, sets: Math.ceil(ues / max) });
  const pps = res.reduce((s, r) => s + r.packets / r.seconds, 0);
  const lat = res.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const load = { ues, workers: max, packetsPerSecond: pps, p50Us: percentile(lat, 50) / 1000, p90Us: percentile(lat, 90) / 1000, p99Us: percentile(lat, 99) / 1000, p999Us: percentile(lat, 99.9) / 1000 };
  log(`  load: ${ues.toLocaleString('en')} UE SA sets on ${max} worker(s): ${Math.round(pps).toLocaleString('en')} packets/s; latency of seal + open p50 ${load.p50Us.toFixed(1)} us, p90 ${load.p90Us.toFixed(1)} us, p99 ${load.p99Us.toFixed(1)} us, p99.9 ${load.p999Us.toFixed(1)} us`);
  const rows: Row[] = scaling.map((s) => ({ suite: 'multicore', name: `seal+open 600 B on ${s.workers} worker(s)`, size: 600, impl: 'ipsec-3gpp', opsPerSec: s.packetsPerSecond, mbPerSec: (s.packetsPerSecond * 600) / 1e6, samples: s.rounds, marginPercent: NaN, minOpsPerSec: NaN, maxOpsPerSec: NaN, ratios: {} }));
  rows.push({ suite: 'multicore', name: `load: ${ues} UEs, seal+open 600 B`, size: 600, impl: 'ipsec-3gpp', opsPerSec: pps, mbPerSec: (pps * 600) / 1e6, samples: lat.length, marginPercent: NaN, minOpsPerSec: NaN, maxOpsPerSec: NaN, ratios: {} });
  return { rows, targets: [], scaling, load };
}

if (isMainThread && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const quick = process.argv.includes('--quick');
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const opts: Parameters<typeof runMulticore>[0] = { quick, log: (l) => console.log(l) };
  const w = arg('--workers');
  const u = arg('--ues');
  if (w !== undefined) opts.workers = w;
  if (u !== undefined) opts.ues = u;
  const r = await runMulticore(opts);
  console.log(`Results: ${writeResults('multicore', { meta: { ...machine(), quick, cpus: availableParallelism() }, rows: r.rows, targets: [], extra: { scaling: r.scaling, load: r.load } }).join(', ')}`);
}
