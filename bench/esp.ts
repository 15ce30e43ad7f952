// ESP (issues 3 and 17): seal and open for every alg/ealg combination at 64, 600, 1400 and 16384 bytes, through
// the runner the installed package ships (src/bench/esp-bench.ts, also behind `ipsec-3gpp bench`): ours as
// users call it (allocating), with `out` and batch rows, next to node:crypto per packet and with reuse,
// WebCrypto, noble and hash-wasm, every packet cross-checked before timing. Targets are judged on the fair
// ratio: against node:crypto reuse (per packet for GCM/GMAC, where node:crypto has no reuse).
// Run alone: node --import tsx bench/esp.ts [--quick]

import { pathToFileURL } from 'node:url';
import { initSync } from '../src/index.js';
import { NODE_PER_PACKET, NODE_REUSE, fairRatio, runEspBench, type Combination, type EspCase } from '../src/bench/esp-bench.js';
import { Status, machine, printRows, printTargets, ratioTarget, runOptions, writeResults, type BenchOptions, type Row, type Target } from './lib.js';

initSync();

export const ESP_SIZES = [64, 600, 1400, 16384];
const AES_SHA1: Combination = { alg: 'hmac-sha-1-96', ealg: 'aes-cbc' };
const DES_SHA1: Combination = { alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc' };
const GCM: Combination = { alg: 'null', ealg: 'aes-gcm' };
/** Quick mode: the cases the targets are measured on. */
const QUICK: Array<{ combo: Combination; sizes: number[] }> = [
  { combo: AES_SHA1, sizes: [600, 1400] },
  { combo: DES_SHA1, sizes: [600] },
  { combo: GCM, sizes: [1400] },
];

export function espCaseCount(quick: boolean): number {
  return quick ? QUICK.reduce((n, q) => n + q.sizes.length * 2, 0) : ESP_SIZES.length * 8 * 2;
}

export const FASTEST_PEER = 'fastest peer';

function rowsOf(c: EspCase): Row[] {
  return c.rows.map((r) => {
    const ratios: Row['ratios'] = {};
    if (r.vsNodePerPacket) ratios[NODE_PER_PACKET] = r.vsNodePerPacket;
    if (r.vsNodeReuse) ratios[NODE_REUSE] = r.vsNodeReuse;
    if (r.vsBestPeer) ratios[FASTEST_PEER] = r.vsBestPeer;
    const s = r.opsPerSecond;
    return {
      suite: 'esp', name: `${c.direction} ${c.combo}`, size: c.size, impl: r.impl, opsPerSec: s.median, mbPerSec: r.mbPerSecond,
      samples: s.samples, marginPercent: s.marginPercent, minOpsPerSec: s.min, maxOpsPerSec: s.max, ratios, fairPeer: c.fairPeer,
    };
  });
}

export async function runEsp(o: BenchOptions): Promise<{ rows: Row[]; targets: Target[]; cases: EspCase[]; peers: string[] }> {
  const cases: EspCase[] = [];
  let peers: string[] = [];
  const plan = o.quick ? QUICK : [{ combo: undefined, sizes: ESP_SIZES }];
  for (const p of plan) {
    const r = await runEspBench({ ...(p.combo ? { combos: [p.combo] } : {}), sizes: p.sizes, ...o.run, status: (s) => o.status.text(`esp: ${s}`) });
    cases.push(...r.cases);
    peers = r.peers;
  }
  const find = (direction: string, combo: Combination, size: number, impl: string): { c: EspCase; row: EspCase['rows'][number] } | undefined => {
    const c = cases.find((x) => x.direction === direction && x.alg === combo.alg && x.ealg === combo.ealg && x.size === size);
    const row = c?.rows.find((r) => r.impl === impl);
    return c && row ? { c, row } : undefined;
  };
  const fair = (direction: string, combo: Combination, size: number, impl: string): [string, ReturnType<typeof fairRatio>] => {
    const f = find(direction, combo, size, impl);
    return [f?.c.fairPeer ?? NODE_REUSE, f ? fairRatio(f.c, f.row) : undefined];
  };
  const t = (issue: number, label: string, direction: string, combo: Combination, size: number, impl: string, min: number): Target => {
    const [against, s] = fair(direction, combo, size, impl);
    return ratioTarget(issue, label, against, s, { min });
  };
  const targets: Target[] = [
    t(3, 'ESP seal aes-cbc+hmac-sha-1-96 @600 B, tx.seal(p, 17)', 'seal', AES_SHA1, 600, 'ipsec-3gpp seal(p, 17)', 2),
    t(3, 'ESP seal aes-cbc+hmac-sha-1-96 @1400 B, tx.seal(p, 17)', 'seal', AES_SHA1, 1400, 'ipsec-3gpp seal(p, 17)', 1.2),
    t(3, 'ESP open aes-cbc+hmac-sha-1-96 @600 B, rx.open(pk)', 'open', AES_SHA1, 600, 'ipsec-3gpp open(pk)', 2),
    t(3, 'ESP seal des-ede3-cbc+hmac-sha-1-96 @600 B, tx.seal(p, 17)', 'seal', DES_SHA1, 600, 'ipsec-3gpp seal(p, 17)', 1),
    t(17, 'ESP sealBatch aes-cbc+hmac-sha-1-96 @600 B (16 packets per call)', 'seal', AES_SHA1, 600, 'ipsec-3gpp sealBatch(16)', 2.5),
    t(17, 'ESP openBatch aes-cbc+hmac-sha-1-96 @1400 B (16 packets per call)', 'open', AES_SHA1, 1400, 'ipsec-3gpp openBatch(16)', 1.5),
    t(17, 'ESP seal aes-gcm+null @1400 B, tx.seal(p, 17)', 'seal', GCM, 1400, 'ipsec-3gpp seal(p, 17)', 1),
  ];
  return { rows: cases.flatMap(rowsOf), targets, cases, peers };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const quick = process.argv.includes('--quick');
  const status = new Status(espCaseCount(quick));
  const { rows, targets, cases } = await runEsp({ quick, run: runOptions(quick), status });
  status.stop();
  printRows(rows);
  console.log('\nESP targets (fair ratios, measured in this run)');
  printTargets(targets);
  console.log(`\nResults: ${writeResults('esp', { meta: { ...machine(), quick }, rows, targets, extra: { cases } }).join(', ')}`);
}
