// SA database benchmark (issue 4): 100 000 registrations (400 000 SAs, keys expanded and key schedules in
// WASM) created in a P-CSCF database, looked up by SPI and by selector, then expired by the timer heap.
// Reports the time of each phase, the lookup cost in ns, and memory per registration (WASM and JS heap).
//
//   node --import tsx bench/sadb.ts [--quick]      (--quick: 20 000 registrations)

import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { SaDatabase, initSync, memoryStats, type SaSet } from '../src/index.js';
import { machine, printTargets, writeResults, type Row, type Target } from './lib.js';

initSync();

export function runSadb(o: { quick: boolean; log?: (l: string) => void }): { rows: Row[]; targets: Target[]; figures: Record<string, number> } {
const log = o.log ?? (() => {});
const N = o.quick ? 20_000 : 100_000;

let now = 0;
const db = new SaDatabase({ role: 'pcscf', clock: () => now, autoExpire: false, maxSets: N + 10 });
const ck = randomBytes(16);
const ik = randomBytes(16);
(globalThis as { gc?: () => void }).gc?.();
const heap0 = process.memoryUsage().heapUsed;
const wasm0 = memoryStats().liveContextBytes;

const t0 = performance.now();
const sets: SaSet[] = [];
for (let i = 0; i < N; i++) {
  const spiC = db.spis.allocate();
  const spiS = db.spis.allocate();
  const set = db.create({
    key: `sip:user${i}@ims.example.org`, ueAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, pcscfAddress: '10.255.0.1',
    ue: { spiC: 1000 + 2 * i, spiS: 1001 + 2 * i, portC: 30000 + (i % 20000), portS: 5064 },
    pcscf: { spiC, spiS, portC: 5100, portS: 5101 },
    alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik,
  });
  db.establish(set, 600_000 + (i % 3600) * 1000);
  sets.push(set);
}
const tCreate = performance.now() - t0;
(globalThis as { gc?: () => void }).gc?.();
const heapPer = (process.memoryUsage().heapUsed - heap0) / N;
const wasmPer = (memoryStats().liveContextBytes - wasm0) / N;

// Lookup by SPI: random inbound SPIs of live sets, many rounds, best round reported.
const spis = new Uint32Array(1 << 16);
for (let i = 0; i < spis.length; i++) spis[i] = sets[(i * 7919) % N]!.pcscf.spiS;
let best = Infinity;
let hits = 0;
for (let round = 0; round < 20; round++) {
  const s = process.hrtime.bigint();
  for (let i = 0; i < spis.length; i++) if (db.bySpi(spis[i]!) !== undefined) hits++;
  best = Math.min(best, Number(process.hrtime.bigint() - s) / spis.length);
}
let bestSel = Infinity;
for (let round = 0; round < 10; round++) {
  const s = process.hrtime.bigint();
  for (let i = 0; i < 10_000; i++) {
    const set = sets[(i * 104729) % N]!;
    if (db.bySelector(set.ueAddress, set.ue.portC, '10.255.0.1', 5101) === undefined) throw new Error('selector miss');
  }
  bestSel = Math.min(bestSel, Number(process.hrtime.bigint() - s) / 10_000);
}

const t1 = performance.now();
now += 10_000_000;
const expired = db.tick();
const tExpire = performance.now() - t1;

log(`registrations:            ${N} (${4 * N} SAs)`);
log(`create + establish:       ${(tCreate / 1000).toFixed(2)} s (${((tCreate * 1000) / N).toFixed(1)} us per registration, keys expanded)`);
log(`lookup by SPI:            ${best.toFixed(1)} ns (best of 20 rounds of 65 536; ${hits} hits)`);
log(`lookup by selector:       ${bestSel.toFixed(1)} ns`);
log(`expire all (heap):        ${(tExpire / 1000).toFixed(2)} s, ${expired} sets, ${db.size} left, ${db.spis.size} SPIs left`);
log(`memory per registration:  ${wasmPer} B in WASM (4 SA contexts) + ~${Math.round(heapPer)} B of JS heap${(globalThis as { gc?: unknown }).gc ? '' : ' (run with --expose-gc for a steadier figure)'}`);
const row = (name: string, ns: number): Row => ({ suite: 'sadb', name, size: 0, impl: 'ipsec-3gpp', opsPerSec: 1e9 / ns, mbPerSec: 0, samples: 20, marginPercent: NaN, minOpsPerSec: NaN, maxOpsPerSec: NaN, ratios: {} });
return {
  rows: [row('SA database lookup by SPI', best), row('SA database lookup by selector', bestSel), row('create + establish a registration (4 SAs)', (tCreate * 1e6) / N)],
  targets: [{ issue: 4, target: `SA database lookup by SPI with ${N} registrations (${4 * N} SAs)`, value: best, unit: 'ns', max: 200 }],
  figures: { registrations: N, createSeconds: tCreate / 1000, spiLookupNs: best, selectorLookupNs: bestSel, expireSeconds: tExpire / 1000, wasmBytesPerRegistration: wasmPer, heapBytesPerRegistration: heapPer },
};
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const quick = process.argv.includes('--quick');
  const r = runSadb({ quick, log: (l) => console.log(l) });
  printTargets(r.targets);
  console.log(`Results: ${writeResults('sadb', { meta: { ...machine(), quick }, rows: r.rows, targets: r.targets, extra: { figures: r.figures } }).join(', ')}`);
}
