/**
 * Fallback for subscribers that send REMB (draft-alvestrand-rmcat-remb-03) but not transport-cc: the
 * browser estimates the path itself and we follow its number, only bounded (the receiver already filters
 * it). A REMB that stops arriving is not trusted forever: after `staleMs` the estimate halves once per
 * stale period towards `minBps`, as the path may be gone.
 */
import { plainStats, type BandwidthEstimator, type BweStats, type TwccFeedback } from './estimator.ts';

export interface RembEstimatorOptions {
  /** Used until the first REMB arrives. Default 300 kbps. */
  initialBps?: number;
  minBps?: number;
  maxBps?: number;
  /** After this long without REMB the estimate halves, once per period. 0 disables. Default 5000. */
  staleMs?: number;
}

export class RembEstimator implements BandwidthEstimator {
  private readonly minBps: number;
  private readonly maxBps: number;
  private readonly staleMs: number;
  private bps: number;
  private lastRembMs = -1;
  private rembs = 0;

  constructor(opts: RembEstimatorOptions = {}) {
    this.minBps = opts.minBps ?? 30_000;
    this.maxBps = opts.maxBps ?? 20_000_000;
    this.staleMs = opts.staleMs ?? 5000;
    if (!(this.minBps > 0 && this.maxBps >= this.minBps)) throw new RangeError('need 0 < minBps <= maxBps');
    this.bps = this.clamp(opts.initialBps ?? 300_000);
  }

  private clamp(v: number): number {
    return Math.min(this.maxBps, Math.max(this.minBps, v));
  }

  onPacketSent(_transportSeq: number, _sizeBytes: number, _nowMs: number, _isProbe?: boolean): void {}
  onTransportFeedback(_fb: TwccFeedback, _nowMs: number): void {}

  onRemb(bps: number, nowMs: number): void {
    if (!(bps >= 0) || !Number.isFinite(bps)) return;
    this.bps = this.clamp(bps);
    this.lastRembMs = nowMs;
    this.rembs++;
  }

  estimate(nowMs: number): number {
    if (this.staleMs > 0 && this.lastRembMs >= 0 && nowMs - this.lastRembMs >= this.staleMs) {
      const periods = Math.floor((nowMs - this.lastRembMs) / this.staleMs);
      this.bps = this.clamp(this.bps / 2 ** periods);
      this.lastRembMs += periods * this.staleMs;
    }
    return this.bps;
  }

  stats(): BweStats {
    return plainStats('remb', this.bps, this.rembs);
  }
}
