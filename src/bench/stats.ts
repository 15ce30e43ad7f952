// Statistics of the interleaved benchmark runner (runner.ts): medians, minimum-maximum and a
// distribution-free 95 % confidence interval of the median from order statistics (the binomial / normal
// approximation of the ranks, as in Conover, "Practical Nonparametric Statistics", 3.2), which needs no
// assumption about the shape of the timing distribution (right-skewed, with GC and scheduling outliers).
// Node and browsers alike; no dependency.

/** Summary of a series of per-round values (operations per second, or ratios between two implementations). */
export interface Summary {
  /** Median over the rounds. */
  median: number;
  min: number;
  max: number;
  /** 95 % confidence interval of the median (the extreme values when there are fewer than 6 samples). */
  low: number;
  high: number;
  /** Half-width of that interval relative to the median, in percent (the larger side). */
  marginPercent: number;
  /** Number of rounds (samples) the summary is built from. */
  samples: number;
}

/** The median of `values` (not modified). NaN for an empty series. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * 0-based ranks [lo, hi] of the sorted sample bounding a 95 % confidence interval of the median: the
 * 1-based ranks round(n/2 - 1.96 sqrt(n)/2) and round(1 + n/2 + 1.96 sqrt(n)/2) (coverage 95.7 % at n = 30,
 * 96.5 % at 15, 97.9 % at 10). With fewer than 6 samples no such interval exists at 95 %, and the full
 * range is returned.
 */
export function medianCiRanks(n: number): [number, number] {
  if (n < 6) return [0, Math.max(0, n - 1)];
  const h = (1.96 * Math.sqrt(n)) / 2;
  return [Math.max(0, Math.round(n / 2 - h) - 1), Math.min(n - 1, Math.round(1 + n / 2 + h) - 1)];
}

/** Median, range, confidence interval and margin of a series. */
export function summarize(values: readonly number[]): Summary {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  if (n === 0) return { median: NaN, min: NaN, max: NaN, low: NaN, high: NaN, marginPercent: NaN, samples: 0 };
  const s = [...finite].sort((a, b) => a - b);
  const med = median(s);
  const [lo, hi] = medianCiRanks(n);
  const low = s[lo]!;
  const high = s[hi]!;
  return {
    median: med, min: s[0]!, max: s[n - 1]!, low, high,
    marginPercent: med > 0 ? (Math.max(med - low, high - med) / med) * 100 : NaN,
    samples: n,
  };
}
