/**
 * A log-bucketed histogram of non-negative values (milliseconds here): constant memory however many
 * samples, percentiles within ~1% relative error. Buckets grow by 2% from 0.01; values above the top
 * land in the last bucket, values below 0.01 in the first.
 */
const MIN = 0.01;
const GROWTH = 1.02;
const BUCKETS = 1024; // 0.01 · 1.02^1023 ≈ 6e6: well past any delay we measure
const LOG_GROWTH = Math.log(GROWTH);

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  max = -Infinity;
  min = Infinity;

  add(v: number): void {
    if (!Number.isFinite(v)) return;
    const x = v < 0 ? 0 : v;
    const i = x <= MIN ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(x / MIN) / LOG_GROWTH));
    this.counts[i]++;
    this.count++;
    this.sum += x;
    if (x > this.max) this.max = x;
    if (x < this.min) this.min = x;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
    if (other.min < this.min) this.min = other.min;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = -Infinity;
    this.min = Infinity;
  }

  /** A plain copy (non-empty buckets only), to send to another process. */
  toJSON(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, count: this.count, sum: this.sum, max: this.count ? this.max : null, min: this.count ? this.min : null };
  }

  static fromJSON(d: HistogramData): Histogram {
    const h = new Histogram();
    for (const [i, n] of d.buckets) h.counts[i] = n;
    h.count = d.count;
    h.sum = d.sum;
    h.max = d.max ?? -Infinity;
    h.min = d.min ?? Infinity;
    return h;
  }

  /** The p-th percentile (0..100): the upper edge of the bucket holding it, clamped to [min, max]. NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, i === 0 ? MIN : MIN * GROWTH ** i));
    }
    return this.max;
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }
}

export interface HistogramData {
  buckets: Array<[number, number]>;
  count: number;
  sum: number;
  /** null when empty (JSON has no infinities). */
  max: number | null;
  min: number | null;
}
