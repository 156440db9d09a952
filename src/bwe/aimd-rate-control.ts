/**
 * The delay-based rate controller, draft-ietf-rmcat-gcc-02 §6: a three-state machine driven by the
 * over-use signal, multiplicative increase far from the last congestion point, additive near it, and a
 * decrease to beta × the measured received rate.
 *
 *   signal \ state | hold      | increase  | decrease
 *   overuse        | decrease  | decrease  | decrease
 *   normal         | increase  | increase  | hold
 *   underuse       | hold      | hold      | hold
 */
import type { BweSignal, BweState } from './estimator.ts';

/** §6: multiplicative increase, at most 8 % per second. */
export const AIMD_INCREASE_PER_S = 1.08;
/** §6: on overuse the estimate becomes beta × received rate. */
export const AIMD_BETA = 0.85;
/** §6: the estimate may not grow past 1.5 × the received rate (+10 kbps so a trickle can still grow). */
export const AIMD_THROUGHPUT_CAP = 1.5;
const AIMD_THROUGHPUT_SLACK_BPS = 10_000;
/**
 * §6: response time = RTT + 100 ms; near the congestion point the estimate grows by one expected packet per
 * response time (as the deployed GCC does; the draft says half). The expected packet is the estimate's
 * frame at 30 fps split into packets of at most 1200 bytes — not the packets measured on the wire: an SFU's
 * feedback mixes many small audio packets in, and their average made the increase ~10× slower than the
 * video it is for (4 kbps/s at 250 kbps, where one 1 kB frame a packet gives ~40).
 */
const RESPONSE_EXTRA_MS = 100;
const ADDITIVE_MIN_BPS_PER_S = 4000;
const EXPECTED_FPS = 30;
const MAX_PACKET_BYTES = 1200;

/** The average packet of a stream at `bps` (bytes): one frame at EXPECTED_FPS in MAX_PACKET_BYTES pieces. */
export function expectedPacketBytes(bps: number): number {
  const frame = bps / 8 / EXPECTED_FPS;
  return frame / Math.max(1, Math.ceil(frame / MAX_PACKET_BYTES));
}
/** §6: mean/variance of the received rate at decreases (kbps, EWMA 0.05); "near" = within 3 σ. */
const MAX_RATE_SMOOTHING = 0.05;
const MAX_RATE_VAR_MIN = 0.4;
const MAX_RATE_VAR_MAX = 2.5;

export class AimdRateControl {
  bps: number;
  state: BweState = 'hold';
  /** What the last update did (state is already back to hold after a decrease). */
  lastAction: BweState = 'hold';
  rttMs = 100;
  private lastUpdateMs = NaN;
  /** Average received rate at the last decreases (kbps), -1 = unknown / far from it. */
  private avgMaxKbps = -1;
  /** Variance normalised by the average (so σ = sqrt(var · avg)), as §6 suggests for scale independence. */
  private varMax = MAX_RATE_VAR_MIN;

  constructor(
    initialBps: number,
    private readonly minBps: number,
    private readonly maxBps: number,
  ) {
    this.bps = initialBps;
  }

  /** True while the controller increases additively (near the last congestion point). */
  get nearMax(): boolean {
    return this.avgMaxKbps >= 0;
  }

  private sigmaKbps(): number {
    return Math.sqrt(this.varMax * this.avgMaxKbps);
  }

  /**
   * One feedback's verdict. `ackedBps` is the 500 ms received rate (0 = not measured yet), `recentBps` the
   * last 200 ms one (a decrease takes it when measured, see AckedBitrate.recentRate).
   */
  update(signal: BweSignal, ackedBps: number, recentBps: number, nowMs: number): number {
    const dt = Number.isNaN(this.lastUpdateMs) ? 0 : Math.max(0, nowMs - this.lastUpdateMs);
    this.lastUpdateMs = nowMs;
    if (signal === 'overuse') this.state = 'decrease';
    else if (signal === 'underuse') this.state = 'hold';
    else if (this.state === 'hold') this.state = 'increase';
    else if (this.state === 'decrease') this.state = 'hold';

    const ackedKbps = ackedBps / 1000;
    this.lastAction = this.state;
    if (this.state === 'increase') {
      // Received more than ever before at a decrease: the old congestion point no longer applies.
      if (ackedBps > 0 && this.avgMaxKbps >= 0 && ackedKbps > this.avgMaxKbps + 3 * this.sigmaKbps()) this.avgMaxKbps = -1;
      let next: number;
      if (this.avgMaxKbps >= 0) {
        const perS = Math.max(ADDITIVE_MIN_BPS_PER_S, (expectedPacketBytes(this.bps) * 8 * 1000) / (this.rttMs + RESPONSE_EXTRA_MS));
        next = this.bps + (perS * Math.min(dt, 1000)) / 1000;
      } else {
        next = this.bps * Math.pow(AIMD_INCREASE_PER_S, Math.min(dt, 1000) / 1000) + dt; // + 1 kbps/s
      }
      // §6: never run far ahead of what the path demonstrably carried (app-limited senders).
      if (ackedBps > 0) next = Math.min(next, Math.max(this.bps, AIMD_THROUGHPUT_CAP * ackedBps + AIMD_THROUGHPUT_SLACK_BPS));
      this.bps = next;
    } else if (this.state === 'decrease') {
      if (ackedBps > 0) {
        // Under over-use the link is saturated and delivers at its rate: the last 200 ms measure it (after a
        // sudden drop the 500 ms window still averages in what came before, and a cut from it lands too high).
        const next = AIMD_BETA * (recentBps > 0 ? recentBps : ackedBps);
        if (next < this.bps) this.bps = next;
        if (this.avgMaxKbps >= 0 && ackedKbps < this.avgMaxKbps - 3 * this.sigmaKbps()) this.avgMaxKbps = -1;
        this.trackMax(ackedKbps);
      } else {
        this.bps *= AIMD_BETA;
      }
      // Wait for the next signal before deciding again (a hold between decreases, as after any change).
      this.state = 'hold';
    }
    this.bps = Math.min(this.maxBps, Math.max(this.minBps, this.bps));
    return this.bps;
  }

  /** A probe showed the path carries `bps`: jump there; it is past the old congestion point if clearly above it. */
  raiseTo(bps: number): void {
    if (bps <= this.bps) return;
    this.bps = Math.min(this.maxBps, bps);
    if (this.avgMaxKbps >= 0 && bps / 1000 > this.avgMaxKbps + 3 * this.sigmaKbps()) this.avgMaxKbps = -1;
  }

  /** External ceiling (a standing queue to drain): never above `bps` from now; hold before growing again. */
  limitTo(bps: number): void {
    if (bps >= this.bps) return;
    this.bps = Math.min(this.maxBps, Math.max(this.minBps, bps));
    this.state = 'hold';
  }

  /** External cut (feedback timeout). */
  scale(f: number): void {
    this.bps = Math.min(this.maxBps, Math.max(this.minBps, this.bps * f));
  }

  private trackMax(kbps: number): void {
    if (this.avgMaxKbps < 0) this.avgMaxKbps = kbps;
    else this.avgMaxKbps = (1 - MAX_RATE_SMOOTHING) * this.avgMaxKbps + MAX_RATE_SMOOTHING * kbps;
    const norm = Math.max(this.avgMaxKbps, 1);
    const d = this.avgMaxKbps - kbps;
    this.varMax = (1 - MAX_RATE_SMOOTHING) * this.varMax + (MAX_RATE_SMOOTHING * d * d) / norm;
    this.varMax = Math.min(MAX_RATE_VAR_MAX, Math.max(MAX_RATE_VAR_MIN, this.varMax));
  }
}
