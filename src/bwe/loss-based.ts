/**
 * Loss-based controller, draft-ietf-rmcat-gcc-02 §7, fed from transport-cc feedback instead of receiver
 * reports: loss is measured over windows of reported packets; < 2 % lets the estimate grow (8 %/s),
 * 2–10 % holds it, > 10 % cuts it to As·(1 − 0.5·p), at most once per RTT + 300 ms so one loss episode
 * seen in several windows is not punished twice. The caller keeps it at or below the delay-based estimate.
 *
 * One departure from §7: 2–10 % loss while no queue builds (the caller says so) is the medium's own loss —
 * radio, a bad link — not congestion, and lets the estimate grow as below 2 %: otherwise a path with a
 * steady few percent of random loss could never ramp up at all, and the delay-based controller is what
 * watches the queue there. And a second: over 10 % loss without a queue cuts only once it has lasted
 * LOSS_PERSIST_MS. A blackout (a second of 100 % loss, then the link is back as it was) is reported all at once
 * after it ends and says nothing about the rate the link carries; a policer dropping what exceeds its rate
 * keeps dropping, and is cut for then.
 */

export const LOSS_LOW = 0.02;
export const LOSS_HIGH = 0.1;
const LOSS_INCREASE_PER_S = 1.08;
/** A window closes after this many reported packets, or after WINDOW_MS with at least MIN_PACKETS. */
const WINDOW_PACKETS = 100;
const WINDOW_MS = 1000;
const MIN_PACKETS = 20;
const DECREASE_GAP_MS = 300;
/** High loss without a queue must last this long (by when its windows close) before it cuts. */
const LOSS_PERSIST_MS = 1000;

export class LossBasedControl {
  bps: number;
  /** Loss fraction of the last closed window. */
  lossFraction = 0;
  rttMs = 100;
  private lost = 0;
  private total = 0;
  private windowStart = NaN;
  private lastIncrease = NaN;
  private lastDecrease = -Infinity;
  /** When windows of high loss without a queue began (NaN: the last window was not one). */
  private highLossSince = NaN;
  /** Windows of high loss that held instead of cutting (no queue, not yet persistent). */
  outageHolds = 0;

  constructor(
    initialBps: number,
    private readonly minBps: number,
    private readonly maxBps: number,
  ) {
    this.bps = initialBps;
  }

  /** Reported packets of one feedback (`lost` of `total`; `recovered` = earlier "lost" now received). */
  onFeedback(lost: number, total: number, recovered: number, nowMs: number, queueing = true): void {
    if (Number.isNaN(this.windowStart)) this.windowStart = nowMs;
    this.lost = Math.max(0, this.lost + lost - recovered);
    this.total += total;
    const enough = this.total >= WINDOW_PACKETS || (this.total >= MIN_PACKETS && nowMs - this.windowStart >= WINDOW_MS);
    if (!enough) return;
    const p = this.lost / this.total;
    this.lossFraction = p;
    this.lost = 0;
    this.total = 0;
    this.windowStart = nowMs;
    const dt = Number.isNaN(this.lastIncrease) ? 0 : Math.min(2000, nowMs - this.lastIncrease);
    this.lastIncrease = nowMs;
    const outage = p > LOSS_HIGH && !queueing;
    if (!outage) this.highLossSince = NaN;
    else if (Number.isNaN(this.highLossSince)) this.highLossSince = nowMs;
    if (p < LOSS_LOW || (p <= LOSS_HIGH && !queueing)) {
      this.bps = this.bps * Math.pow(LOSS_INCREASE_PER_S, dt / 1000) + dt; // + 1 kbps/s
    } else if (outage && nowMs - this.highLossSince < LOSS_PERSIST_MS) {
      this.outageHolds++;
    } else if (p > LOSS_HIGH && nowMs - this.lastDecrease >= DECREASE_GAP_MS + this.rttMs) {
      this.bps *= 1 - 0.5 * p;
      this.lastDecrease = nowMs;
    }
    this.bps = Math.min(this.maxBps, Math.max(this.minBps, this.bps));
  }

  /** §7: the loss-based estimate never exceeds the delay-based one. */
  capTo(bps: number): void {
    if (this.bps > bps) this.bps = Math.max(this.minBps, bps);
  }

  raiseTo(bps: number): void {
    if (bps > this.bps) this.bps = Math.min(this.maxBps, bps);
  }

  scale(f: number): void {
    this.bps = Math.min(this.maxBps, Math.max(this.minBps, this.bps * f));
  }
}
