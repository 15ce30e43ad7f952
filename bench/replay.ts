// Anti-replay (issue 3): the batch form at windows 64 to 65 536 (nanoseconds per sequence number, best of
// several runs over 2^20 numbers with some reordering), memory per SA at window 64, and WASM memory
// growth over many seal/open operations. Run alone: node --import tsx bench/replay.ts [--quick] [--long]

import { pathToFileURL } from 'node:url';
import { EspSa, ReplayWindow, initSync, memoryStats } from '../src/index.js';
import { machine, printTargets, writeResults, type Row, type Target } from './lib.js';

initSync();

export const WINDOWS = [64, 1024, 4096, 65536];

export function runReplay(o: { quick: boolean; long?: boolean }): { rows: Row[]; targets: Target[]; memory: Record<string, number> } {
  const rows: Row[] = [];
  const n = 1 << 20;
  const seqs = new Uint32Array(n);
  for (let i = 0; i < n; i++) seqs[i] = i + 1;
  for (let i = 0; i + 8 < n; i += 97) { const t = seqs[i]!; seqs[i] = seqs[i + 7]!; seqs[i + 7] = t; }
  const results = new Uint8Array(n);
  const ns: Record<number, number> = {};
  for (const window of WINDOWS) {
    let best = Infinity;
    for (let round = 0; round < (o.quick ? 3 : 8); round++) {
      const w = new ReplayWindow({ size: window });
      const t0 = process.hrtime.bigint();
      w.acceptBatch(seqs, results);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
      w.destroy();
    }
    ns[window] = best;
    rows.push({ suite: 'replay', name: `anti-replay batch, window ${window}`, size: 0, impl: 'ipsec-3gpp', opsPerSec: 1e9 / best, mbPerSec: 0, samples: o.quick ? 3 : 8, marginPercent: NaN, minOpsPerSec: NaN, maxOpsPerSec: NaN, ratios: {} });
  }
  const ck = new Uint8Array(16).fill(1);
  const ik = new Uint8Array(16).fill(2);
  const before = memoryStats();
  const sas = Array.from({ length: 10_000 }, (_, i) => EspSa.inbound({ spi: 1000 + i, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik }));
  const perSa = (memoryStats().liveContextBytes - before.liveContextBytes) / sas.length;
  for (const sa of sas) sa.delete();
  const ops = o.long ? 10_000_000 : o.quick ? 100_000 : 1_000_000;
  const tx = EspSa.outbound({ spi: 777, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
  const rx = EspSa.inbound({ spi: 777, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
  const msg = new Uint8Array(600);
  const buf = new Uint8Array(700);
  const mem0 = memoryStats().memoryBytes;
  for (let i = 0; i < ops / 2; i++) rx.open(tx.seal(msg, 17, buf), buf);
  const grown = memoryStats().memoryBytes - mem0;
  tx.delete();
  rx.delete();
  const targets: Target[] = [
    { issue: 3, target: 'anti-replay, batch form, window 64 (ns per sequence number)', value: ns[64]!, unit: 'ns', max: 5 },
    { issue: 3, target: 'anti-replay, batch form, window 4096 (ns per sequence number)', value: ns[4096]!, unit: 'ns', max: 5 },
    { issue: 3, target: 'WASM memory per inbound SA at window 64', value: perSa, unit: 'B', max: 1024 },
    { issue: 3, target: `WASM memory growth over ${ops} seal/open${o.long ? '' : ' (10^7 with --long)'}`, value: grown, unit: 'B', max: 0 },
  ];
  return { rows, targets, memory: { bytesPerSa: perSa, growthBytes: grown, operations: ops } };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const quick = process.argv.includes('--quick');
  const r = runReplay({ quick, long: process.argv.includes('--long') });
  for (const row of r.rows) console.log(`${row.name.padEnd(40)} ${(1e9 / row.opsPerSec).toFixed(2)} ns per sequence number`);
  printTargets(r.targets);
  console.log(`Results: ${writeResults('replay', { meta: { ...machine(), quick }, rows: r.rows, targets: r.targets, extra: { memory: r.memory } }).join(', ')}`);
}
