/**
 * The contract every send-side bandwidth estimator towards one subscriber implements. The subscribe
 * session reports every packet it sends (with the transport-wide seq the consumer wrote, see
 * draft-holmer-rmcat-transport-wide-cc-extensions-01 §2) and every feedback the browser returns; the
 * allocator reads `estimate()` a few times a second.
 */
import type { TwccPacket } from '../rtp/rtcp-types.ts';

/** Parsed transport-cc feedback (RTPFB FMT 15), as `parseRtcp` yields it. */
export type TwccFeedback = TwccPacket;

/** Rate-control state (draft-ietf-rmcat-gcc-02 §6, the AIMD state machine). */
export type BweState = 'increase' | 'hold' | 'decrease';
/** Over-use detector output (draft-ietf-rmcat-gcc-02 §5.5). */
export type BweSignal = 'normal' | 'overuse' | 'underuse';

export interface BweStats {
  /** Which estimator produced this. */
  kind: 'transport-cc' | 'remb' | 'null';
  estimateBps: number;
  state: BweState;
  signal: BweSignal;
  /** Modified delay trend (ms: slope × min(groups, 60) × gain) and the adaptive threshold it is compared with. */
  delayTrend: number;
  threshold: number;
  /** Loss fraction of the last completed loss window (0..1). */
  lossFraction: number;
  /** Rate the receiver reported receiving over the last 500 ms, 0 until measured. */
  ackedBps: number;
  delayBasedBps: number;
  lossBasedBps: number;
  feedbacks: number;
  /** Probe clusters whose result raised the estimate / were evaluated in total. */
  probesApplied: number;
  probesEvaluated: number;
}

export interface BandwidthEstimator {
  /**
   * One packet handed to the socket. Hot path: must not allocate. `transportSeq` is the 16-bit wrapping
   * transport-wide seq written into the packet; `isProbe` marks packets sent as part of a probe cluster;
   * `receiverDrops` marks a packet the receiver is known to discard unseen (RTX or padding to a receiver
   * that throws them away): its loss is not the path's.
   */
  onPacketSent(transportSeq: number, sizeBytes: number, nowMs: number, isProbe?: boolean, receiverDrops?: boolean): void;
  onTransportFeedback(fb: TwccFeedback, nowMs: number): void;
  /** Receiver estimate (REMB, draft-alvestrand-rmcat-remb-03), bits per second. */
  onRemb?(bps: number, nowMs: number): void;
  /** Round-trip time from RTCP receiver reports. */
  onRtt?(rttMs: number): void;
  /** Current estimate in bits per second. */
  estimate(nowMs: number): number;
  /** Diagnostics for metrics and plots (allocates: call at a low rate). */
  stats(): BweStats;
}

/** Stats of an estimator that has no delay/loss machinery. */
export function plainStats(kind: BweStats['kind'], estimateBps: number, feedbacks: number): BweStats {
  return {
    kind,
    estimateBps,
    state: 'hold',
    signal: 'normal',
    delayTrend: 0,
    threshold: 0,
    lossFraction: 0,
    ackedBps: 0,
    delayBasedBps: estimateBps,
    lossBasedBps: estimateBps,
    feedbacks,
    probesApplied: 0,
    probesEvaluated: 0,
  };
}
