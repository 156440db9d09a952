/**
 * Received ("acknowledged") bitrate: bytes the receiver reported arriving during the last window of its
 * own clock. This is R_hat of draft-ietf-rmcat-gcc-02 §6 (measured over 0.5 s), used for the decrease
 * target and the increase cap, and exported for the allocator and the prober. Preallocated ring.
 */

export const ACKED_WINDOW_MS = 500;
/** Below this much arrival history the rate is not reported (one burst would look like a huge rate). */
const MIN_SPAN_MS = 250;
/** Rates kept for peakRate (one per feedback: ~20 a second, so 64 cover ≥ 1 s at any feedback rate in use). */
const PEAK_SAMPLES = 64;

export class AckedBitrate {
  private readonly at: Float64Array;
  private readonly bytes: Float64Array;
  private readonly mask: number;
  private head = 0;
  private size = 0;
  private sum = 0;
  private latest = -Infinity;
  private first = NaN;
  /** Arrival time of each peak sample; -Infinity marks an empty slot. */
  private readonly peakAt = new Float64Array(PEAK_SAMPLES).fill(-Infinity);
  private readonly peakBps = new Float64Array(PEAK_SAMPLES);
  private peakNext = 0;

  constructor(capacity = 4096) {
    if ((capacity & (capacity - 1)) !== 0) throw new RangeError('capacity must be a power of two');
    this.at = new Float64Array(capacity);
    this.bytes = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  add(arrivalMs: number, sizeBytes: number): void {
    if (Number.isNaN(this.first)) this.first = arrivalMs;
    if (this.size === this.at.length) this.evictOne();
    const i = (this.head + this.size) & this.mask;
    this.at[i] = arrivalMs;
    this.bytes[i] = sizeBytes;
    this.size++;
    this.sum += sizeBytes;
    if (arrivalMs > this.latest) this.latest = arrivalMs;
  }

  private evictOne(): void {
    this.sum -= this.bytes[this.head];
    this.head = (this.head + 1) & this.mask;
    this.size--;
  }

  /** Bits per second over the window ending at the latest arrival; 0 until enough history. */
  rate(): number {
    const from = this.latest - ACKED_WINDOW_MS;
    while (this.size > 0 && this.at[this.head] <= from) this.evictOne();
    const span = Math.min(ACKED_WINDOW_MS, this.latest - this.first);
    if (!(span >= MIN_SPAN_MS)) return 0;
    const bps = (Math.max(0, this.sum) * 8 * 1000) / span;
    const last = (this.peakNext + PEAK_SAMPLES - 1) % PEAK_SAMPLES;
    // One sample per arrival time: computed again without new arrivals, it replaces its own.
    if (this.peakAt[last] === this.latest) this.peakBps[last] = bps;
    else {
      this.peakAt[this.peakNext] = this.latest;
      this.peakBps[this.peakNext] = bps;
      this.peakNext = (this.peakNext + 1) % PEAK_SAMPLES;
    }
    return bps;
  }

  /**
   * The highest 500 ms rate measured over the last `windowMs` of arrivals (0 if none). One window can read far
   * below what the path carries — across a pause in arrivals (a stall of ours or the receiver's, a delay step,
   * jitter holding packets back) — while the path carried the peak a moment ago.
   */
  peakRate(windowMs: number): number {
    const from = this.latest - windowMs;
    let max = 0;
    for (let k = 0; k < PEAK_SAMPLES; k++) if (this.peakAt[k] > from && this.peakBps[k] > max) max = this.peakBps[k];
    return max;
  }

  /**
   * Rate over the last `windowMs` only (must be ≤ the 500 ms window), 0 with fewer than 4 packets in it. Right after the rate went up the 500 ms rate still averages in the old
   * one; a decrease based on it alone would overshoot far below what the path just carried.
   */
  recentRate(windowMs: number): number {
    const from = this.latest - windowMs;
    let bytes = 0;
    let n = 0;
    for (let k = this.size - 1; k >= 0; k--) {
      const i = (this.head + k) & this.mask;
      if (this.at[i] <= from) break;
      bytes += this.bytes[i];
      n++;
    }
    if (n < 4 || this.latest - this.first < windowMs) return 0;
    return (bytes * 8 * 1000) / windowMs;
  }

  reset(): void {
    this.head = 0;
    this.size = 0;
    this.sum = 0;
    this.latest = -Infinity;
    this.first = NaN;
    this.peakAt.fill(-Infinity);
    this.peakBps.fill(0);
    this.peakNext = 0;
  }
}
