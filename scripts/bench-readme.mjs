#!/usr/bin/env node
// Regenerates the "Current figures" of README.md (between the bench:start / bench:end markers) from
// bench/results/bench.json, as written by `npm run bench`: the targets with the peer each ratio is against,
// its median of per-round ratios, 95 % margin, min-max and sample count, and a table of ESP ratios. Refuses
// a quick run unless --allow-quick is given (the README shows full runs). Run: npm run bench:readme

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const data = JSON.parse(readFileSync(join(root, 'bench', 'results', 'bench.json'), 'utf8'));
if (data.quick && !process.argv.includes('--allow-quick')) {
  console.error('bench/results/bench.json is from `npm run bench:quick`: run `npm run bench` (or pass --allow-quick)');
  process.exit(1);
}

const ratio = (s) => (s ? `${s.median.toFixed(2)}x ±${Math.round(s.marginPercent)}% (${s.min.toFixed(2)}-${s.max.toFixed(2)})` : '-');
const value = (t) => {
  if (t.unit === 'x') return t.low === undefined ? `${t.value.toFixed(2)}x` : `**${t.value.toFixed(2)}x** ±${Math.round(t.marginPercent)}% (CI ${t.low.toFixed(2)}-${t.high.toFixed(2)}; min-max ${t.lowest.toFixed(2)}-${t.highest.toFixed(2)}; n = ${t.samples})`;
  if (t.unit === 'ops/s') return `${Math.round(t.value).toLocaleString('en')} ops/s`;
  return `${t.value.toFixed(t.unit === 'ns' ? 1 : 0)} ${t.unit}`;
};
const bound = (t) => (t.min !== undefined ? `>= ${t.unit === 'ops/s' ? t.min.toLocaleString('en') : t.min}${t.unit === 'x' ? 'x' : ` ${t.unit}`}` : `<= ${t.max} ${t.unit}`);
const la = data.loadAverage;
const load = la ? ` Load average (1, 5, 15 min) ${la.start.map((l) => l.toFixed(2)).join(', ')} at the start, ${la.end.map((l) => l.toFixed(2)).join(', ')} at the end${la.duringMedian !== undefined ? `; 1-min load during the run: median ${la.duringMedian.toFixed(2)}, max ${la.duringMax.toFixed(2)}` : ''}.` : '';

const lines = [
  `Measured ${data.date.slice(0, 10)} on ${data.cpu} (${data.cores} cores, shared), Node ${data.node}, ${data.quick ? '`npm run bench:quick`' : '`npm run bench`'}: ${data.rounds} interleaved rounds of ~${data.sampleMs} ms (${data.clock === 'cpu' ? 'process CPU time, `--cpu-clock`' : 'wall time'}) per implementation and case, ${data.seconds} s.${load}`,
  'Each ratio is the median of the per-round ratios, ± the 95 % margin of that median, with the min-max over the rounds and the number of rounds (n).',
  'A target is **met** when its whole 95 % interval clears the bound, **missed** when none of it does, otherwise *within margin*.',
  'Ratios are ours (as users call it: allocating its result) to the peer named; for ESP that is the fair peer, node:crypto with reuse',
  '(one long-lived CBC cipher per SA, the IV folded into block 1, HMAC from copied ipad/opad states), or node:crypto per packet for',
  'AES-GCM, for which node:crypto has no reuse.',
  '',
  '| issue | target | against | bound | measured | |',
  '| --- | --- | --- | --- | --- | --- |',
  ...data.targets.map((t) => `| ${t.issue} | ${t.target} | ${t.against ?? ''} | ${bound(t)} | ${value(t)} | ${t.verdict === 'met' ? 'met' : t.verdict === 'missed' ? '**missed**' : '*within margin*'} |`),
];

// ESP: the combinations IMS uses most, our allocating form and the batch form against each node:crypto peer.
const esp = data.rows.filter((r) => r.suite === 'esp');
const shown = [
  ['aes-cbc+hmac-sha-1-96', [64, 600, 1400, 16384]],
  ['aes-gcm+null', [64, 600, 1400, 16384]],
  ['des-ede3-cbc+hmac-sha-1-96', [600, 1400]],
  ['null+hmac-sha-1-96', [600]],
  ['null+aes-gmac', [600]],
];
lines.push('', 'ESP per packet (packets/s of ours; ratios against the peer in the column header):', '',
  '| case | bytes | ours, packets/s | vs node:crypto per packet | vs node:crypto reuse | `out` form vs reuse | batch of 16 vs reuse | vs fastest peer |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const direction of ['seal', 'open']) {
  for (const [combo, sizes] of shown) {
    for (const size of sizes) {
      const rows = esp.filter((r) => r.name === `${direction} ${combo}` && r.size === size);
      if (rows.length === 0) continue;
      const main = rows.find((r) => r.impl === (direction === 'seal' ? 'ipsec-3gpp seal(p, 17)' : 'ipsec-3gpp open(pk)'));
      const out = rows.find((r) => r.impl.includes(', out)'));
      const batch = rows.find((r) => r.impl.includes('Batch'));
      const fair = main.fairPeer === 'node:crypto reuse' ? 'node:crypto reuse' : 'node:crypto per packet';
      const k = (r) => `${Math.round(r.opsPerSec / 1000).toLocaleString('en')}k ±${Math.round(r.marginPercent)}%`;
      lines.push(`| ${direction} ${combo} | ${size} | ${k(main)} | ${ratio(main.ratios['node:crypto per packet'])} | ${ratio(main.ratios['node:crypto reuse'])} | ${ratio(out?.ratios[fair])}${fair === 'node:crypto reuse' ? '' : ' (vs per packet)'} | ${ratio(batch?.ratios[fair])}${fair === 'node:crypto reuse' ? '' : ' (vs per packet)'} | ${ratio(main.ratios['fastest peer'])} |`);
    }
  }
}
if (data.peers) lines.push('', `ESP peers in this run: ${data.peers.join(', ')}. The full per-case tables (every combination, every peer) are in bench/results/.`);
if (data.scaling) {
  lines.push('', `Multi-core (seal + open, 600 B, median of ${data.scaling[0]?.rounds ?? '?'} rounds, min-max): ${data.scaling.map((s) => `${s.workers} worker(s) ${Math.round(s.packetsPerSecond).toLocaleString('en')} packets/s (x${s.speedup.toFixed(2)}, ${s.speedupMin.toFixed(2)}-${s.speedupMax.toFixed(2)})`).join(', ')}.`);
}
const lg = data.load;
if (lg) {
  lines.push(`Load generator: ${lg.ues.toLocaleString('en')} UE SA sets, ${Math.round(lg.packetsPerSecond).toLocaleString('en')} packets/s, seal + open latency p50 ${lg.p50Us.toFixed(1)} us, p99 ${lg.p99Us.toFixed(1)} us, p99.9 ${lg.p999Us.toFixed(1)} us.`);
}
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- bench:start -->';
const end = '<!-- bench:end -->';
const a = readme.indexOf(start);
const b = readme.indexOf(end);
if (a < 0 || b < a) throw new Error('README.md has no bench:start / bench:end markers');
writeFileSync(readmePath, `${readme.slice(0, a + start.length)}\n${lines.join('\n')}\n${readme.slice(b)}`);
console.log(`README.md figures updated from bench/results/bench.json (${data.targets.length} targets)`);
