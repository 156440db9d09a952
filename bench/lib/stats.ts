/** Summary statistics for benchmark samples. */

/** Median; the mean of the two middle values for an even count. NaN for no samples. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Percentile by linear interpolation between closest ranks (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

/**
 * Quantile (q in 0..1) by linear interpolation between closest ranks, like percentile(), but exact with
 * infinite samples (a run that never recovered): a quantile reaching into them is Infinity. NaN for none.
 */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = q * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const frac = rank - lo;
  if (frac === 0 || s[lo] === s[hi]) return s[lo]!;
  return s[lo]! + (s[hi]! - s[lo]!) * frac;
}

/** How a figure spreads over runs: median, the 90th percentile on its bad side, and its worst run. */
export interface Spread {
  median: number;
  /** Lower is better: the 90th percentile; higher is better: the 10th (nine runs in ten at least this good). */
  p90: number;
  worst: number;
}

export function spread(xs: readonly number[], better: 'lower' | 'higher'): Spread {
  if (xs.length === 0) return { median: NaN, p90: NaN, worst: NaN };
  return better === 'lower'
    ? { median: quantile(xs, 0.5), p90: quantile(xs, 0.9), worst: Math.max(...xs) }
    : { median: quantile(xs, 0.5), p90: quantile(xs, 0.1), worst: Math.min(...xs) };
}
