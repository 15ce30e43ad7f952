// Summarises a V8 CPU profile (node --cpu-prof): self time per function and per source file, the top
// entries, so that a profile of the P-CSCF process under load (bench/pcscf.ts --cpu-prof DIR) can be read
// without DevTools; or a sampling heap profile (bench/pcscf.ts --alloc-prof FILE): bytes allocated per
// function and file.   node --import tsx bench/profile-summary.ts FILE.cpuprofile|FILE.heapprofile [--top 40]

import { readFileSync } from 'node:fs';
import { allocations, type AllocProfile } from './alloc-profile.js';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
/** Bytes allocated by source file and by function (bench/alloc-profile.ts), as shares. */
function heapSummary(h: AllocProfile): void {
  const { byFile, byFunction, total } = allocations(h);
  const pct = (t: number): string => `${((100 * t) / total).toFixed(1).padStart(5)} %`;
  console.log(`${(total / 2 ** 20).toFixed(1)} MiB allocated (sampled, ${h.samples.length} samples)`);
  console.log('--- allocated by file');
  for (const [k, t] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(t)}  ${short(k)}`);
  console.log('--- allocated by function');
  for (const [k, t] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
}

interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--top N]');
const ti = process.argv.indexOf('--top');
const top = ti > 0 ? Number(process.argv[ti + 1]) : 40;
const raw = JSON.parse(readFileSync(file, 'utf8')) as Profile | AllocProfile;
if ('head' in raw) {
  heapSummary(raw);
  process.exit(0);
}
const p = raw;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
function short(url: string): string {
  return url.replace(/^.*\/(src|node_modules|bench|test)\//, '$1/').replace(/^node:/, 'node:') || '(native)';
}
const fn = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  const k = `${n.callFrame.functionName || '(anonymous)'}  ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  fn.set(k, (fn.get(k) ?? 0) + t);
  const f = short(n.callFrame.url);
  files.set(f, (files.get(f) ?? 0) + t);
}
const pct = (t: number): string => `${((100 * t) / total).toFixed(1).padStart(5)} %`;
console.log(`${(total / 1e6).toFixed(2)} s sampled`);
console.log('--- self time by file');
for (const [k, t] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(t)}  ${k}`);
console.log('--- self time by function');
for (const [k, t] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);

// Inclusive time: each sample counted once for every distinct function on its stack.
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: Node): string => `${n.callFrame.functionName || '(anonymous)'}  ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const incl = new Map<string, number>();
for (const [id, t] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + t);
  }
}
console.log('--- inclusive time by function');
for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).filter(([k]) => !k.startsWith('(root)')).slice(0, top)) console.log(`${pct(t)}  ${k}`);
