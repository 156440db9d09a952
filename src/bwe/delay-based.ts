/**
 * Delay-based over-use detection, after draft-ietf-rmcat-gcc-02 §5: packets are grouped by send time
 * (§5.2), the inter-group delay variation d(i) is accumulated, smoothed, and its trend is the slope of a
 * least-squares line over the last groups (the "trendline" filter that replaced the draft's Kalman filter in
 * later GCC implementations). The trend, scaled, is compared with an adaptive threshold (§5.4) to yield
 * overuse / normal / underuse (§5.5). Pure arithmetic on preallocated state: no allocation per packet.
 */
import type { BweSignal } from './estimator.ts';

/** §5.2 burst_time: packets sent within this of a group's first packet belong to it. */
export const BURST_MS = 5;
/** A group never spans more arrival time than this, however bursty the delivery. */
const MAX_BURST_SPAN_MS = 100;
/** An arrival gap this long means the path was idle or restarted: start over. */
const RESET_GAP_MS = 3000;

/**
 * Splits packets (in arrival order) into send-time groups; add() returns true when a group completed and
 * `sendDelta`/`arrivalDelta`/`groupArrival` describe it relative to the group before.
 */
export class PacketGrouper {
  private active = false;
  private firstSend = 0;
  private lastSend = 0;
  private firstArrival = 0;
  private lastArrival = 0;
  private hasPrev = false;
  private prevSend = 0;
  private prevArrival = 0;
  sendDelta = 0;
  arrivalDelta = 0;
  groupArrival = 0;

  reset(): void {
    this.active = false;
    this.hasPrev = false;
  }

  add(sendMs: number, arrivalMs: number): boolean {
    if (!this.active) {
      this.start(sendMs, arrivalMs);
      return false;
    }
    if (arrivalMs - this.lastArrival > RESET_GAP_MS) {
      this.reset();
      this.start(sendMs, arrivalMs);
      return false;
    }
    // §5.2: a packet sent before the current group started arrived out of order: it carries no new trend.
    if (sendMs < this.firstSend) return false;
    if (this.belongs(sendMs, arrivalMs)) {
      if (sendMs > this.lastSend) this.lastSend = sendMs;
      if (arrivalMs > this.lastArrival) this.lastArrival = arrivalMs;
      return false;
    }
    let done = false;
    if (this.hasPrev) {
      this.sendDelta = this.lastSend - this.prevSend;
      this.arrivalDelta = this.lastArrival - this.prevArrival;
      this.groupArrival = this.lastArrival;
      // A group arriving before its predecessor means reordering across groups: no usable sample.
      done = this.arrivalDelta >= 0;
    }
    this.hasPrev = true;
    this.prevSend = this.lastSend;
    this.prevArrival = this.lastArrival;
    this.start(sendMs, arrivalMs);
    return done;
  }

  private start(sendMs: number, arrivalMs: number): void {
    this.active = true;
    this.firstSend = sendMs;
    this.lastSend = sendMs;
    this.firstArrival = arrivalMs;
    this.lastArrival = arrivalMs;
  }

  /**
   * §5.2: same send burst, or delivered in a burst (arrived within burst_time of the previous packet and
   * with negative delay variation: it queued behind it, e.g. on Wi-Fi aggregation).
   */
  private belongs(sendMs: number, arrivalMs: number): boolean {
    if (sendMs - this.firstSend <= BURST_MS) return true;
    const arrDelta = arrivalMs - this.lastArrival;
    const sendDelta = sendMs - this.lastSend;
    return arrDelta - sendDelta < 0 && arrDelta <= BURST_MS && arrivalMs - this.firstArrival < MAX_BURST_SPAN_MS;
  }
}

/** Trendline window (groups) and smoothing of the accumulated delay. */
export const TREND_WINDOW = 20;
const TREND_SMOOTHING = 0.9;
/** The slope is scaled by min(groups seen, 60) × 4 so it is comparable with a threshold in ms. */
const TREND_GAIN = 4;
const TREND_MAX_DELTAS = 60;
/**
 * §5.4 adaptive threshold: start 12.5 ms, clamped to [6, 600], trends more than 15 ms above it not adapted
 * to. Gains per ms: 0.0087 above the threshold, 0.039 below it (the values of later trendline-based GCC
 * implementations), not the draft's K_u = 0.01 / K_d = 0.00018: with the draft's, the threshold climbed
 * with our own queue and a 300 kbps bottleneck kept a 200–430 ms standing queue in the tests, against
 * 10–110 ms with these, with no more false overuse under jitter.
 */
export const THRESHOLD_INITIAL = 12.5;
const THRESHOLD_K_UP = 0.0087;
const THRESHOLD_K_DOWN = 0.039;
const THRESHOLD_MIN = 6;
const THRESHOLD_MAX = 600;
const THRESHOLD_MAX_ADAPT_OFFSET = 15;
const THRESHOLD_MAX_DT_MS = 100;
/** §5.5: the trend must stay above the threshold this long (ms of send time) before overuse is signalled. */
const OVERUSE_TIME_MS = 10;

export class TrendlineDetector {
  private readonly xs = new Float64Array(TREND_WINDOW);
  private readonly ys = new Float64Array(TREND_WINDOW);
  private count = 0;
  private head = 0;
  private origin = NaN;
  private accumulated = 0;
  private smoothed = 0;
  private deltas = 0;
  private slope = 0;
  private prevSlope = 0;
  private overuseMs = -1;
  private overuseHits = 0;
  private lastThresholdAt = NaN;
  /** Latest modified trend (ms) and threshold, for stats. */
  trend = 0;
  threshold = THRESHOLD_INITIAL;
  signal: BweSignal = 'normal';

  reset(): void {
    this.count = 0;
    this.head = 0;
    this.origin = NaN;
    this.accumulated = 0;
    this.smoothed = 0;
    this.deltas = 0;
    this.slope = 0;
    this.prevSlope = 0;
    this.overuseMs = -1;
    this.overuseHits = 0;
    this.trend = 0;
    this.signal = 'normal';
  }

  /** One completed group: its send and arrival deltas to the previous group and its arrival time (ms). */
  update(sendDeltaMs: number, arrivalDeltaMs: number, arrivalMs: number): BweSignal {
    if (Number.isNaN(this.origin)) this.origin = arrivalMs;
    if (this.deltas < TREND_MAX_DELTAS) this.deltas++;
    // §5.3: d(i) = (t_i - t_{i-1}) - (T_i - T_{i-1}), accumulated so a queue shows as a rising line.
    this.accumulated += arrivalDeltaMs - sendDeltaMs;
    this.smoothed = TREND_SMOOTHING * this.smoothed + (1 - TREND_SMOOTHING) * this.accumulated;
    this.xs[this.head] = arrivalMs - this.origin;
    this.ys[this.head] = this.smoothed;
    this.head = (this.head + 1) % TREND_WINDOW;
    if (this.count < TREND_WINDOW) this.count++;
    if (this.count === TREND_WINDOW) this.slope = this.regression(this.slope);
    this.detect(sendDeltaMs, arrivalMs);
    return this.signal;
  }

  /** Least-squares slope of the window (ms of queueing per ms); keeps `prev` when x does not vary. */
  private regression(prev: number): number {
    const n = this.count;
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < n; i++) {
      sx += this.xs[i];
      sy += this.ys[i];
    }
    const mx = sx / n;
    const my = sy / n;
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      const dx = this.xs[i] - mx;
      num += dx * (this.ys[i] - my);
      den += dx * dx;
    }
    return den === 0 ? prev : num / den;
  }

  private detect(sendDeltaMs: number, arrivalMs: number): void {
    const m = Math.min(this.deltas, TREND_MAX_DELTAS) * this.slope * TREND_GAIN;
    this.trend = m;
    if (this.deltas >= 2) {
      if (m > this.threshold) {
        // §5.5: overuse only after it persisted overuse_time_th and the trend is not already falling.
        this.overuseMs = this.overuseMs < 0 ? sendDeltaMs / 2 : this.overuseMs + sendDeltaMs;
        this.overuseHits++;
        if (this.overuseMs > OVERUSE_TIME_MS && this.overuseHits > 1 && this.slope >= this.prevSlope) {
          this.overuseMs = 0;
          this.overuseHits = 0;
          this.signal = 'overuse';
        }
      } else if (m < -this.threshold) {
        this.overuseMs = -1;
        this.overuseHits = 0;
        this.signal = 'underuse';
      } else {
        this.overuseMs = -1;
        this.overuseHits = 0;
        this.signal = 'normal';
      }
    }
    this.prevSlope = this.slope;
    this.adaptThreshold(m, arrivalMs);
  }

  /**
   * §5.4: gamma(i) = gamma(i-1) + dt · k · (|m| − gamma(i-1)), the "down" gain when |m| is below it, the
   * "up" gain above, so the threshold follows the noise level. Spikes far above it are not adapted to, so
   * a real queue still triggers.
   */
  private adaptThreshold(m: number, nowMs: number): void {
    if (Number.isNaN(this.lastThresholdAt)) this.lastThresholdAt = nowMs;
    const a = Math.abs(m);
    if (a > this.threshold + THRESHOLD_MAX_ADAPT_OFFSET) {
      this.lastThresholdAt = nowMs;
      return;
    }
    const k = a < this.threshold ? THRESHOLD_K_DOWN : THRESHOLD_K_UP;
    const dt = Math.max(0, Math.min(nowMs - this.lastThresholdAt, THRESHOLD_MAX_DT_MS));
    this.threshold += k * (a - this.threshold) * dt;
    if (this.threshold < THRESHOLD_MIN) this.threshold = THRESHOLD_MIN;
    else if (this.threshold > THRESHOLD_MAX) this.threshold = THRESHOLD_MAX;
    this.lastThresholdAt = nowMs;
  }
}
