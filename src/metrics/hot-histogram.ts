/**
 * A histogram the packet path may fill: fixed bucket bounds, per-bucket counts in a typed array, so an
 * observation is a short scan and an increment (no labels, no allocation). The registry exports it as a
 * Prometheus histogram in seconds; media workers send their counts with their other stats.
 */
export interface HistogramCounts {
  /** Per bucket, not cumulative; the last is everything above the highest bound. */
  counts: number[];
  /** Sum of the observed values, in the histogram's unit (ms). */
  sum: number;
}

export class HotHistogram {
  /** Upper bounds, ascending, in the histogram's unit (ms for latencies). */
  readonly boundsMs: readonly number[];
  private readonly counts: Float64Array;
  private total = 0;

  constructor(boundsMs: readonly number[]) {
    for (let i = 1; i < boundsMs.length; i++) if (!(boundsMs[i]! > boundsMs[i - 1]!)) throw new Error('histogram bounds must ascend');
    this.boundsMs = boundsMs;
    this.counts = new Float64Array(boundsMs.length + 1);
  }

  observe(ms: number): void {
    const b = this.boundsMs;
    let i = 0;
    while (i < b.length && ms > b[i]!) i++;
    this.counts[i]!++;
    this.total += ms;
  }

  snapshot(): HistogramCounts {
    return { counts: Array.from(this.counts), sum: this.total };
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

/** Adds `b` into `a` (same bounds); a snapshot of other bounds is ignored rather than misread. */
export function addCounts(a: HistogramCounts, b: HistogramCounts): void {
  if (a.counts.length !== b.counts.length) return;
  for (let i = 0; i < a.counts.length; i++) a.counts[i]! += b.counts[i]!;
  a.sum += b.sum;
}
