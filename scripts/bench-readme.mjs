#!/usr/bin/env node
// Regenerates the "Current figures" table of README.md (between the bench:start / bench:end markers) from
// bench/results/bench.json, as written by `npm run bench` (or bench:quick). Run: npm run bench:readme

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const data = JSON.parse(readFileSync(join(root, 'bench', 'results', 'bench.json'), 'utf8'));
const fmt = (t) => (t.unit === 'x' ? `${t.value.toFixed(2)}x` : t.unit === 'ops/s' ? `${Math.round(t.value).toLocaleString('en')} ops/s` : `${t.value.toFixed(t.unit === 'ns' ? 1 : 0)} ${t.unit}`);
const bound = (t) => (t.min !== undefined ? `>= ${t.unit === 'ops/s' ? t.min.toLocaleString('en') : t.min}${t.unit === 'x' ? 'x' : ` ${t.unit}`}` : `<= ${t.max} ${t.unit}`);
const lines = [
  `Measured ${data.date.slice(0, 10)} on ${data.cpu} (${data.cores} cores), Node ${data.node}, ${data.quick ? '`npm run bench:quick`' : '`npm run bench`'}; ratios are against peers in the same run.`,
  '',
  '| issue | target | bound | measured | |',
  '| --- | --- | --- | --- | --- |',
  ...data.targets.map((t) => `| ${t.issue} | ${t.target} | ${bound(t)} | ${fmt(t)} | ${t.met ? 'met' : '**missed**'} |`),
];
if (data.scaling) {
  lines.push('', `Multi-core (seal + open, 600 B): ${data.scaling.map((s) => `${s.workers} worker(s) ${Math.round(s.packetsPerSecond).toLocaleString('en')} packets/s (x${s.speedup.toFixed(2)})`).join(', ')}.`);
}
if (data.load) {
  const l = data.load;
  lines.push(`Load generator: ${l.ues.toLocaleString('en')} UE SA sets, ${Math.round(l.packetsPerSecond).toLocaleString('en')} packets/s, seal + open latency p50 ${l.p50Us.toFixed(1)} us, p99 ${l.p99Us.toFixed(1)} us, p99.9 ${l.p999Us.toFixed(1)} us.`);
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
