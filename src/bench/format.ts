// Text output of the ESP benchmark (esp-bench.ts): one table per case with packets per second, margin,
// MB/s, and each ratio as its median of per-round ratios with the 95 % margin and the min-max range, so
// that no figure is shown without its spread. Node and browsers.

import { type EspCase } from './esp-bench.js';
import { type Summary } from './stats.js';

/** `1.89x ±4% (1.72-2.04)`: median of the per-round ratios, margin of the median, min-max. */
export function formatRatio(s: Summary | undefined): string {
  if (!s || !Number.isFinite(s.median)) return '-';
  return `${s.median.toFixed(2)}x ±${Math.round(s.marginPercent)}% (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
}

const k = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${Math.round(v / 1e3)}k` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));

/** The table of one case, as lines. */
export function formatCase(c: EspCase): string[] {
  const lines = [`${c.direction} ${c.combo} @${c.size} B: ${c.rounds} rounds interleaved; fair ratio against ${c.fairPeer}`];
  lines.push(`  ${'implementation'.padEnd(30)} ${'packets/s'.padStart(9)} ${'±%'.padStart(4)} ${'MB/s'.padStart(7)}  ${'vs node:crypto per packet'.padEnd(28)} ${'vs node:crypto reuse'.padEnd(28)} vs fastest peer`);
  for (const r of c.rows) {
    lines.push(`  ${r.impl.padEnd(30)} ${k(r.opsPerSecond.median).padStart(9)} ${Math.round(r.opsPerSecond.marginPercent).toString().padStart(4)} ${r.mbPerSecond.toFixed(1).padStart(7)}  ${formatRatio(r.vsNodePerPacket).padEnd(28)} ${formatRatio(r.vsNodeReuse).padEnd(28)} ${r.ours ? formatRatio(r.vsBestPeer) : ''}`);
  }
  return lines;
}
