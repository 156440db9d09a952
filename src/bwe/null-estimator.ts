/**
 * A fixed budget: for tests, and for subscribers that negotiated neither transport-cc nor REMB (we
 * then have no signal, so the allocator works against a configured ceiling).
 */
import { plainStats, type BandwidthEstimator, type BweStats, type TwccFeedback } from './estimator.ts';

export class NullEstimator implements BandwidthEstimator {
  private feedbacks = 0;
  /** `bps` defaults to unlimited. */
  constructor(private readonly bps: number = Infinity) {
    if (!(bps > 0)) throw new RangeError(`budget must be > 0, got ${bps}`);
  }
  onPacketSent(_transportSeq: number, _sizeBytes: number, _nowMs: number, _isProbe?: boolean): void {}
  onTransportFeedback(_fb: TwccFeedback, _nowMs: number): void {
    this.feedbacks++;
  }
  estimate(_nowMs: number): number {
    return this.bps;
  }
  stats(): BweStats {
    return plainStats('null', this.bps, this.feedbacks);
  }
}
