/**
 * Received ("acknowledged") bitrate: bytes the receiver reported arriving during the last window of its
 * own clock. This is R_hat of draft-ietf-rmcat-gcc-02 §6 (measured over 0.5 s), used for the decrease
 * target and the increase cap, and exported for the allocator and the prober. Preallocated ring.
 */

export const ACKED_WINDOW_MS = 500;
/** Below this much arrival history the rate is not reported (one burst would look like a huge rate). */
const MIN_SPAN_MS = 250;

export class AckedBitrate {
  private readonly at: Float64Array;
  private readonly bytes: Float64Array;
  private readonly mask: number;
  private head = 0;
  private size = 0;
  private sum = 0;
  private latest = -Infinity;
  private first = NaN;

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
    return (Math.max(0, this.sum) * 8 * 1000) / span;
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
  }
}
