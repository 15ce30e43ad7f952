// The benchmark report as one self-contained HTML file: tables (with margins, sample counts and the peer
// each ratio is against) and bar charts drawn as inline SVG, no script and no external resource, so it
// renders offline.

import { formatTargetValue, verdict, type Row, type Target } from './lib.js';
import { type Summary } from '../src/bench/stats.js';

const COLORS = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d'];
const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (v: number): string => (v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(v >= 10 ? 1 : 2));

/** A grouped bar chart: one group per size, one bar per implementation. */
function chart(title: string, rows: Row[], metric: (r: Row) => number, unit: string): string {
  const sizes = [...new Set(rows.map((r) => r.size))];
  const impls = [...new Set(rows.map((r) => r.impl))];
  const max = Math.max(...rows.map(metric), 1e-9);
  const barW = 14;
  const gap = 22;
  const groupW = impls.length * barW + gap;
  const h = 180;
  const w = Math.max(360, 60 + sizes.length * groupW);
  const bars = sizes.map((size, g) => impls.map((impl, i) => {
    const r = rows.find((x) => x.size === size && x.impl === impl);
    if (!r) return '';
    const v = metric(r);
    const bh = Math.max(1, (v / max) * (h - 40));
    const x = 50 + g * groupW + i * barW;
    return `<rect x="${x}" y="${h - 20 - bh}" width="${barW - 2}" height="${bh}" fill="${COLORS[i % COLORS.length]}"><title>${esc(`${impl} @ ${size} B: ${fmt(v)} ${unit}`)}</title></rect>`;
  }).join('') + `<text x="${50 + g * groupW + (impls.length * barW) / 2}" y="${h - 5}" font-size="10" text-anchor="middle">${size ? `${size} B` : ''}</text>`).join('');
  const axis = `<line x1="45" y1="${h - 20}" x2="${w}" y2="${h - 20}" stroke="#888"/><text x="4" y="14" font-size="10">${esc(fmt(max))} ${esc(unit)}</text><line x1="45" y1="20" x2="45" y2="${h - 20}" stroke="#888"/>`;
  const legend = impls.map((impl, i) => `<span class="key"><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(impl)}</span>`).join(' ');
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${w}" height="${h}" role="img" aria-label="${esc(title)}">${axis}${bars}</svg><div class="legend">${legend}</div></figure>`;
}

const ratioCell = (s: Summary | undefined): string => (s ? `${s.median.toFixed(2)}x &plusmn;${Math.round(s.marginPercent)}% (${s.min.toFixed(2)}&ndash;${s.max.toFixed(2)})` : '');

export function renderReport(data: { meta: Record<string, unknown>; rows: Row[]; targets: Target[]; scaling?: Array<{ workers: number; packetsPerSecond: number; speedup: number; speedupMin: number; speedupMax: number; rounds: number }>; load?: Record<string, number> }): string {
  const byCase = new Map<string, Row[]>();
  for (const r of data.rows) {
    const k = `${r.suite}|${r.name}`;
    byCase.set(k, [...(byCase.get(k) ?? []), r]);
  }
  const charts = [...byCase.entries()].map(([k, rows]) => {
    const [suite, name] = k.split('|') as [string, string];
    const hasSize = rows.some((r) => r.size > 0) && suite !== 'multicore';
    return chart(`${suite}: ${name}`, rows, hasSize ? (r) => r.mbPerSec : (r) => r.opsPerSec, hasSize ? 'MB/s' : 'ops/s');
  }).join('\n');
  const targets = data.targets.map((t) => { const v = verdict(t); return `<tr class="${v === 'met' ? 'ok' : v === 'missed' ? 'miss' : 'margin'}"><td>${t.issue}</td><td>${esc(t.target)}</td><td>${esc(t.against ?? '')}</td><td>${esc(formatTargetValue(t))}</td><td>${t.min !== undefined ? `&ge; ${t.min}` : `&le; ${t.max}`} ${esc(t.unit)}</td><td>${v}</td></tr>`; }).join('');
  const first = (r: Row, ...names: string[]): Summary | undefined => names.map((n) => r.ratios[n]).find((x) => x !== undefined);
  const table = data.rows.map((r) => `<tr><td>${esc(r.suite)}</td><td>${esc(r.name)}</td><td>${r.size || ''}</td><td>${esc(r.impl)}</td><td>${fmt(r.opsPerSec)}</td><td>${Number.isFinite(r.marginPercent) ? `&plusmn;${Math.round(r.marginPercent)}%` : ''}</td><td>${r.samples}</td><td>${r.size ? fmt(r.mbPerSec) : ''}</td><td>${ratioCell(first(r, 'node:crypto', 'node:crypto per packet'))}</td><td>${ratioCell(r.ratios['node:crypto reuse'])}</td></tr>`).join('');
  const scaling = data.scaling ? `<h2>Multi-core</h2><p>${data.scaling.map((s) => `${s.workers} worker(s): ${fmt(s.packetsPerSecond)} packets/s (x${s.speedup.toFixed(2)}, min-max ${s.speedupMin.toFixed(2)}&ndash;${s.speedupMax.toFixed(2)} over ${s.rounds} rounds)`).join('; ')}.</p>${data.load ? `<p>Load generator: ${fmt(data.load['ues'] ?? 0)} UE SA sets on ${data.load['workers']} worker(s): ${fmt(data.load['packetsPerSecond'] ?? 0)} packets/s; seal + open latency p50 ${fmt(data.load['p50Us'] ?? 0)} &micro;s, p90 ${fmt(data.load['p90Us'] ?? 0)} &micro;s, p99 ${fmt(data.load['p99Us'] ?? 0)} &micro;s, p99.9 ${fmt(data.load['p999Us'] ?? 0)} &micro;s.</p>` : ''}` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ipsec-3gpp benchmarks</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
tr.ok td:last-child{color:#2b8a3e;font-weight:bold}tr.miss td:last-child{color:#c92a2a;font-weight:bold}tr.margin td:last-child{color:#e67700;font-weight:bold}
figure{display:inline-block;margin:0 1.5em 1.5em 0;vertical-align:top}figcaption{font-weight:bold;margin-bottom:4px}
.legend{font-size:11px}.key i{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px}
</style></head><body>
<h1>ipsec-3gpp benchmarks</h1>
<p>${esc(Object.entries(data.meta).map(([k, v]) => `${k}: ${String(v)}`).join(' | '))}. Every case ran in interleaved rounds; each ratio is the median of the per-round ratios, &plusmn; the 95 % margin of that median, (min&ndash;max). A target is met when its whole interval clears the bound, judged against the peer named (node:crypto with reuse where it exists).</p>
<h2>Targets (issues 2-5, 17)</h2><table><tr><th>issue</th><th>target</th><th>against</th><th>measured</th><th>bound</th><th></th></tr>${targets}</table>
${scaling}
<h2>Charts</h2>${charts}
<h2>All results</h2><table><tr><th>suite</th><th>case</th><th>bytes</th><th>implementation</th><th>ops/s (median)</th><th>margin</th><th>rounds</th><th>MB/s</th><th>vs node:crypto per message</th><th>vs node:crypto reuse</th></tr>${table}</table>
</body></html>
`;
}
