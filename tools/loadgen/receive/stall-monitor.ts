/**
 * When the generator's own event loop was blocked. A packet that waited in the socket while the loop was
 * busy is stamped late, so a frame gap can be the generator's and not the server's. A timer every 10 ms
 * records how late it fired; `blockedMs(from, to)` sums the blocked time inside an interval, so a freeze
 * can be told apart: a gap that is not a freeze without the generator's own stalls is the generator's.
 */
import type { Clock, TimerHandle } from '../../../src/util/clock.ts';

const TICK_MS = 10;
/** Lateness below this is ordinary timer jitter. */
const MIN_STALL_MS = 15;
const KEEP = 4096;

export class StallMonitor {
  private readonly starts = new Float64Array(KEEP);
  private readonly ends = new Float64Array(KEEP);
  private n = 0;
  private last: number;
  private timer: TimerHandle | null;

  constructor(private readonly clock: Clock) {
    this.last = clock.now();
    this.timer = clock.setInterval(() => this.tick(), TICK_MS);
  }

  /** Record a stall directly (tests, or a caller that knows it blocked). */
  record(startMs: number, endMs: number): void {
    const i = this.n++ % KEEP;
    this.starts[i] = startMs;
    this.ends[i] = endMs;
  }

  /** Milliseconds the loop was blocked within [fromMs, toMs]. */
  blockedMs(fromMs: number, toMs: number): number {
    let sum = 0;
    for (let k = Math.max(0, this.n - KEEP); k < this.n; k++) {
      const i = k % KEEP;
      const a = Math.max(fromMs, this.starts[i]!);
      const b = Math.min(toMs, this.ends[i]!);
      if (b > a) sum += b - a;
    }
    return sum;
  }

  close(): void {
    if (this.timer) this.clock.clear(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const now = this.clock.now();
    const late = now - this.last - TICK_MS;
    if (late >= MIN_STALL_MS) this.record(this.last + TICK_MS, now);
    this.last = now;
  }
}
