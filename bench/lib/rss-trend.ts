import { median } from './stats.ts';

/** What the soak's memory check compares: the median RSS of the first K waves after warm-up and of the last K. */
export interface RssTrend {
  /** Waves in each window: min(10, floor(n / 3)), at least 1 (with fewer than 3 waves the windows may overlap). */
  k: number;
  firstMedianMb: number;
  lastMedianMb: number;
  /** (last − first) / first; NaN for no samples. */
  growth: number;
}

/**
 * RSS after each wave swings by ~10 % with no trend (GC, allocator), so one sample against another flags
 * noise; medians of windows at either end show only what grows steadily.
 */
export function rssTrend(rssMb: readonly number[]): RssTrend {
  const k = Math.max(1, Math.min(10, Math.floor(rssMb.length / 3)));
  const firstMedianMb = median(rssMb.slice(0, k));
  const lastMedianMb = median(rssMb.slice(-k));
  return { k, firstMedianMb, lastMedianMb, growth: (lastMedianMb - firstMedianMb) / firstMedianMb };
}
