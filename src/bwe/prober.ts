/**
 * Probing planner: decides when to send a short burst (a probe cluster) above the current estimate to find
 * out whether the path carries more, and measures the cluster from feedback. It sends nothing itself: the
 * pacer runs a cluster (media first, then padding/RTX up to the cluster's bytes) and every packet sent
 * while a cluster runs is reported with `isProbe`.
 *
 * When: an initial cluster at 3× the estimate, then exponential clusters at 2× while each result holds
 * (the estimate took it and it reached ≥ 70 % of its target), and periodic clusters at 2× every
 * `periodicMs` while the estimate is below what the subscriber wants, backing off (doubling up to
 * `maxPeriodicMs`) while periodic clusters find nothing, back to `periodicMs` when one does: a path that
 * clears (the weather lifts) is found within a second or two. Never when the estimate already
 * covers `wantedBps`: padding is never sent to a subscriber who already has everything they want.
 *
 * Result: min(send rate, receive rate) of the cluster's packets (the first arrival's / last send's bytes
 * excluded, they only open the interval); a receive rate clearly below the send rate saturated the
 * bottleneck, and 95 % of it is taken so the new estimate does not keep that queue.
 */

export interface ProbeCluster {
  id: number;
  /** Rate to send the cluster at (all packets, media and padding), bits per second. */
  targetBps: number;
  /** Bytes to send at that rate (≥ probeDurationMs worth)… */
  bytes: number;
  /** …and at least this many packets. */
  minPackets: number;
  startMs: number;
  /** Stop the cluster here even if its bytes were not all sent. */
  deadlineMs: number;
  reason: 'initial' | 'exponential' | 'periodic';
}

export interface ProberOptions {
  /** Default 15 ms worth of the target rate per cluster. */
  probeDurationMs?: number;
  /**
   * Default 10: arrival times of a handful of packets bunch on a busy receiver or a bursty link and measure
   * a rate the link does not have; ten smooth that out.
   */
  minPackets?: number;
  /** While estimate < wanted, probe this often. Default 1000 ms. */
  periodicMs?: number;
  /** Periodic clusters that find nothing back off up to this interval. Default 2000 ms: a path that clears is found within ~2 s. */
  maxPeriodicMs?: number;
  /** Never probe above wanted × this (room for a probe result that comes back a little low). Default 1.25. */
  wantedHeadroom?: number;
  /** Upper bound for any cluster. Default 20 Mbps. */
  maxBps?: number;
  /** Give up waiting for a cluster's feedback this long after its deadline. Default 1000 ms. */
  feedbackTimeoutMs?: number;
}

export const PROBE_INITIAL_FACTOR = 3;
export const PROBE_FACTOR = 2;
/** An exponential step continues only if the result reached this fraction of the cluster's target. */
const PROBE_CONTINUE_FRACTION = 0.7;
/** The estimate must still hold this fraction of the previous result to continue exponentially. */
const PROBE_HOLD_FRACTION = 0.9;
/** Less than this many received packets (or more than MAX_LOSS lost) makes a cluster unusable. */
const MIN_RECEIVED = 4;
const MAX_LOSS = 0.2;
/** Receive rate below this fraction of the send rate: the bottleneck was saturated. */
const SATURATED = 0.9;
const SATURATED_TAKE = 0.95;
/** A result this far above the estimate it was planned from found room. */
const PROBE_FOUND = 1.2;
/**
 * A cluster that left us slower than this share of its target did not test the path (our own loop was late:
 * a busy machine spreads the pacer's bursts); unless the path saturated, it is no reason to back off.
 */
const PROBE_SENT_SHARE = 0.7;
/**
 * A cluster that arrived within this share of the time it took to send was released in a burst — a stalled
 * process (ours or the receiver's) or jitter longer than the cluster let it go at once — and its rate is
 * the burst's, not the path's: unusable. Below PROBE_MIN_SEND_SPAN_MS of sending there is no span to compare.
 */
export const RELEASE_BURST_COMPRESSION = 0.35;
const PROBE_MIN_SEND_SPAN_MS = 10;
/**
 * Jitter stretches or squeezes a cluster's arrivals by its own size whatever the cluster's length, so a
 * cluster spans at least this many times the path's interarrival jitter (up to PROBE_MAX_MS): with σ 50 ms
 * jitter, 48 ms clusters read half their rate and never raised the estimate.
 */
const PROBE_JITTER_SPANS = 10;
const PROBE_MAX_MS = 200;

export interface ProberStats {
  clustersStarted: number;
  clustersEvaluated: number;
  clustersFailed: number;
  /** Clusters we could not send at their target rate (see PROBE_SENT_SHARE). */
  clustersSentShort: number;
  /** Clusters that arrived as a burst (see RELEASE_BURST_COMPRESSION), not measured. */
  clustersCompressed: number;
  lastResultBps: number;
}

export class Prober {
  private readonly durationMs: number;
  private readonly minPackets: number;
  private readonly periodicMs: number;
  private readonly maxPeriodicMs: number;
  /** The current periodic interval (backs off while periodic clusters find nothing). */
  private periodicEveryMs: number;
  /** The last measured cluster left us under PROBE_SENT_SHARE of its target. */
  private sentShort = false;
  /** The estimate when the cluster in flight was planned, and whether it is periodic. */
  private plannedFrom = 0;
  private periodic = false;
  /** The last measured cluster hit the bottleneck (received clearly slower than sent). */
  private saturated = false;
  /** When the last cluster stopped sending (its queue shows in feedback for a while after). */
  private lastSentMs = -Infinity;
  private readonly headroom: number;
  private readonly maxBps: number;
  private readonly fbTimeoutMs: number;
  private nextId = 1;
  private initialDone = false;
  /** Wall time the last cluster finished (or was planned): base for the periodic timer. */
  private lastClusterMs = -Infinity;
  private continueFrom = 0;

  // The one cluster in flight (id 0 = none): sending while `sending`, then awaiting feedback.
  private id = 0;
  private target = 0;
  private bytesWanted = 0;
  private sending = false;
  private deadline = 0;
  private sentPackets = 0;
  private sentBytes = 0;
  private firstSend = 0;
  private lastSend = 0;
  private lastSendSize = 0;
  private received = 0;
  private lost = 0;
  private recvBytes = 0;
  private firstArrival = Infinity;
  private firstArrivalSize = 0;
  private lastArrival = -Infinity;

  readonly stats: ProberStats = { clustersStarted: 0, clustersEvaluated: 0, clustersFailed: 0, clustersSentShort: 0, clustersCompressed: 0, lastResultBps: 0 };

  constructor(opts: ProberOptions = {}) {
    this.durationMs = opts.probeDurationMs ?? 15;
    this.minPackets = opts.minPackets ?? 10;
    this.periodicMs = opts.periodicMs ?? 1000;
    this.maxPeriodicMs = Math.max(this.periodicMs, opts.maxPeriodicMs ?? 2000);
    this.periodicEveryMs = this.periodicMs;
    this.headroom = opts.wantedHeadroom ?? 1.25;
    this.maxBps = opts.maxBps ?? 20_000_000;
    this.fbTimeoutMs = opts.feedbackTimeoutMs ?? 1000;
  }

  /** Id of the cluster being sent, -1 when none. */
  get activeClusterId(): number {
    return this.id !== 0 && this.sending ? this.id : -1;
  }

  /** A cluster to start now, or null. Call it often (every pacer/media tick); it is cheap. */
  plan(nowMs: number, estimateBps: number, wantedBps: number, jitterMs = 0): ProbeCluster | null {
    if (this.id !== 0) {
      if (this.sending && nowMs >= this.deadline) this.sending = false;
      if (!this.sending && nowMs > this.deadline + this.fbTimeoutMs) this.finish(false);
      return null;
    }
    if (!(wantedBps > estimateBps)) {
      this.continueFrom = 0;
      return null;
    }
    let target: number;
    let reason: ProbeCluster['reason'];
    if (!this.initialDone) {
      target = PROBE_INITIAL_FACTOR * estimateBps;
      reason = 'initial';
    } else if (this.continueFrom > 0 && estimateBps >= PROBE_HOLD_FRACTION * this.continueFrom) {
      target = PROBE_FACTOR * Math.max(estimateBps, this.continueFrom);
      reason = 'exponential';
    } else if (nowMs - this.lastClusterMs >= this.periodicEveryMs) {
      target = PROBE_FACTOR * estimateBps;
      reason = 'periodic';
    } else {
      this.continueFrom = 0;
      return null;
    }
    this.continueFrom = 0;
    target = Math.min(target, wantedBps * this.headroom, this.maxBps);
    // Nothing to learn from a probe barely above the estimate.
    if (target <= estimateBps * 1.05) return null;
    this.initialDone = true;
    this.plannedFrom = estimateBps;
    this.periodic = reason === 'periodic';
    // A cluster shorter than the path's jitter measures the jitter, not the path (see PROBE_JITTER_SPANS).
    const durationMs = Math.min(PROBE_MAX_MS, Math.max(this.durationMs, PROBE_JITTER_SPANS * jitterMs));
    const bytes = Math.ceil((target * durationMs) / 8000);
    this.id = this.nextId++;
    this.target = target;
    this.bytesWanted = bytes;
    this.sending = true;
    // Long enough for the bytes at the target rate, or for minPackets of a full-size packet, with slack.
    const sendMs = Math.max(durationMs, (this.minPackets * 1200 * 8000) / target);
    this.deadline = nowMs + 2 * sendMs + 20;
    this.sentPackets = 0;
    this.sentBytes = 0;
    this.received = 0;
    this.lost = 0;
    this.recvBytes = 0;
    this.firstArrival = Infinity;
    this.lastArrival = -Infinity;
    this.lastClusterMs = nowMs;
    this.stats.clustersStarted++;
    return { id: this.id, targetBps: target, bytes, minPackets: this.minPackets, startMs: nowMs, deadlineMs: this.deadline, reason };
  }

  /** A packet flagged as probe left: the id of the cluster it counts for, or -1. No allocation. */
  onProbeSent(sizeBytes: number, nowMs: number): number {
    if (this.id === 0 || !this.sending) return -1;
    if (nowMs >= this.deadline) {
      this.sending = false;
      return -1;
    }
    if (this.sentPackets === 0) this.firstSend = nowMs;
    this.lastSend = nowMs;
    this.lastSentMs = nowMs;
    this.lastSendSize = sizeBytes;
    this.sentPackets++;
    this.sentBytes += sizeBytes;
    if (this.sentBytes >= this.bytesWanted && this.sentPackets >= this.minPackets) this.sending = false;
    return this.id;
  }

  /** Feedback for one probe packet: arrival in the receiver's clock (ms), NaN when reported lost. */
  onProbeFeedback(clusterId: number, arrivalMs: number, sizeBytes: number): void {
    if (clusterId !== this.id || this.id === 0) return;
    if (Number.isNaN(arrivalMs)) {
      this.lost++;
      return;
    }
    this.received++;
    this.recvBytes += sizeBytes;
    if (arrivalMs < this.firstArrival) {
      this.firstArrival = arrivalMs;
      this.firstArrivalSize = sizeBytes;
    }
    if (arrivalMs > this.lastArrival) this.lastArrival = arrivalMs;
  }

  /**
   * After feeding a feedback's probe packets: the finished cluster's measured rate (bps), or 0 when no
   * cluster finished or it was unusable. The caller applies it; plan() then checks whether it held.
   */
  evaluate(nowMs: number): number {
    if (this.id === 0) return 0;
    if (this.sending && nowMs >= this.deadline) this.sending = false;
    if (this.sending) return 0;
    const reported = this.received + this.lost;
    if (reported < this.sentPackets && nowMs <= this.deadline + this.fbTimeoutMs) return 0;
    const result = this.measure();
    this.finish(result > 0, result);
    if (result > 0) {
      this.stats.lastResultBps = result;
      if (result >= PROBE_CONTINUE_FRACTION * this.target) this.continueFrom = result;
    }
    return result;
  }

  /**
   * Whether a cluster was sent within the last `windowMs` (or is being sent): an over-use the detector sees
   * then may be the probe's own burst queueing at the bottleneck, not the media's.
   */
  probedWithin(nowMs: number, windowMs: number): boolean {
    return this.sending || nowMs - this.lastSentMs < windowMs;
  }

  private measure(): number {
    this.saturated = false;
    this.sentShort = false;
    const reported = this.received + this.lost;
    if (this.received < MIN_RECEIVED || (reported > 0 && this.lost / reported > MAX_LOSS)) return 0;
    const recvSpan = this.lastArrival - this.firstArrival;
    if (!(recvSpan > 0)) return 0;
    const recvRate = ((this.recvBytes - this.firstArrivalSize) * 8000) / recvSpan;
    const sendSpan = this.lastSend - this.firstSend;
    if (sendSpan >= PROBE_MIN_SEND_SPAN_MS && recvSpan < RELEASE_BURST_COMPRESSION * sendSpan) {
      this.stats.clustersCompressed++;
      return 0;
    }
    // A cluster released in one instant has no meaningful send rate: the receive rate alone speaks.
    const sendRate = sendSpan > 0 ? ((this.sentBytes - this.lastSendSize) * 8000) / sendSpan : Infinity;
    this.saturated = recvRate < SATURATED * sendRate;
    this.sentShort = sendRate < PROBE_SENT_SHARE * this.target;
    if (this.saturated) return Math.min(this.target, recvRate * SATURATED_TAKE);
    // A cluster proves at most the rate it tried: a few packets sent close together measure high.
    return Math.min(this.target, sendRate, recvRate);
  }

  private finish(ok: boolean, result = 0): void {
    this.stats.clustersEvaluated++;
    if (!ok) this.stats.clustersFailed++;
    // A probe the path carried in full found room and resets the periodic interval; a periodic one that
    // found none, or ran into the bottleneck (it measured the capacity we are already near), backs it off.
    if (this.sentShort && !this.saturated) this.stats.clustersSentShort++;
    if ((result >= PROBE_FOUND * this.plannedFrom || this.sentShort) && !this.saturated) this.periodicEveryMs = this.periodicMs;
    else if (this.periodic) this.periodicEveryMs = Math.min(this.maxPeriodicMs, this.periodicEveryMs * 2);
    this.id = 0;
    this.sending = false;
  }
}
