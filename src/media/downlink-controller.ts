/**
 * Bandwidth control towards one subscriber: the loop of docs/allocation.md, "How it is driven".
 *
 *   browser feedback (transport-cc / REMB / RR) ─► BandwidthEstimator ─► budget
 *   consumers (layers, priorities, caps) ─► prioritize ─► applyReceiveCaps ─► allocate(budget, …, previous)
 *   ─► changed? ─► Consumer.setTarget per video;  estimate ─► pacer rate;  wanted > estimate ─► probe
 *
 * Decide, then apply: the allocation is a value; the only state here is the previous one and timers.
 */
import { allocate, allocationChanged, describe } from '../allocation/allocate.ts';
import type { Logger } from '../util/logger.ts';
import { prioritize } from '../allocation/prioritize.ts';
import { applyReceiveCaps, NO_CAPS, type ReceiveCaps } from '../allocation/receive-caps.ts';
import type { Allocation, TrackSubscription } from '../allocation/types.ts';
import type { BandwidthEstimator, BweStats, TwccFeedback } from '../bwe/estimator.ts';
import { NullEstimator } from '../bwe/null-estimator.ts';
import { RembEstimator } from '../bwe/remb-estimator.ts';
import { LOSS_QUEUE_MS, TransportCcEstimator } from '../bwe/transport-cc-estimator.ts';
import { burstMsFor } from '../bwe/pacer.ts';
import { bweStats } from '../metrics/registry.ts';
import type { Consumer } from './consumer.ts';
import type { PacedSender } from './paced-sender.ts';

/** How often the allocation is recomputed (and whenever consumers change). */
export const ALLOCATE_INTERVAL_MS = 200;

export type EstimatorKind = 'transport-cc' | 'remb' | 'null';

/** What the controller asks of the rest of the server about this subscriber. */
export interface DownlinkInputs {
  /** Priority of a publisher for this subscriber (proximity rules, 0..1000); 0 when not linked. */
  priorityOf(publisherId: string): number;
  /** The subscriber's device limits (client reports); NO_CAPS without any. */
  caps(): ReceiveCaps;
}

export interface DownlinkOptions {
  /** Estimate before any feedback (bps). Default 1 Mbps (TransportCcEstimator's). */
  initialBps?: number;
  /** Probing towards more bandwidth. Default true. */
  probing?: boolean;
  /** Each applied allocation is logged at debug level. */
  log?: Logger;
}

/** A reading for dashboards, tests and plots (allocates: call at a low rate). */
export interface DownlinkSnapshot {
  estimator: BweStats;
  allocation: Allocation | null;
  /** Allocations applied so far (changes only). */
  changes: number;
  pacer: { queuedPackets: number; queuedBytes: number; pacingBps: number };
  probes: { packets: number; bytes: number };
  rtxLimited: number;
}

export class DownlinkController {
  estimator: BandwidthEstimator;
  kind: EstimatorKind = 'transport-cc';
  allocation: Allocation | null = null;
  changes = 0;
  /**
   * Called after an allocation that changed what is forwarded, or only why (a reason), with its inputs: the
   * subscriptions in priority order and the receive caps (the flight recorder keeps them).
   */
  onAllocation: ((a: Allocation, inputs: { subscriptions: readonly TrackSubscription[]; caps: ReceiveCaps }) => void) | null = null;
  /** Transport-wide feedback reported this packet lost (transport-cc only). */
  onPacketLost: ((transportSeq: number) => void) | null = null;
  private lastAllocateMs = -Infinity;
  private redUntil = -Infinity;
  private dirty = true;
  /** Feedback (transport-cc, REMB, RTT) received so far, and at the last allocation: see quiet(). */
  private feedbacks = 0;
  private feedbacksAtAllocate = -1;
  // The estimates of the last PAUSE_PERSIST_MS (ring, one per allocation), for pauses that need a lasting shortage.
  private readonly recentEst = new Float64Array(RECENT_ESTIMATES);
  private readonly recentAt = new Float64Array(RECENT_ESTIMATES).fill(-Infinity);
  private recentNext = 0;
  // The highest delivered rate per CARRIED_BUCKET_MS bucket, CARRIED_BUCKETS of them (see carriedBps).
  private readonly carried = new Float64Array(CARRIED_BUCKETS);
  private carriedBucket = -1;

  constructor(
    private readonly sender: PacedSender,
    private readonly inputs: DownlinkInputs,
    private readonly opts: DownlinkOptions = {},
  ) {
    this.estimator = this.create('transport-cc');
    sender.estimator = this.estimator;
  }

  /**
   * What the subscriber's answer negotiated: transport-cc feedback (the real estimator), else REMB (follow
   * the browser's number), else nothing (no adaptation: a null estimator, unlimited). Changing it restarts
   * estimation.
   */
  useEstimator(kind: EstimatorKind): void {
    if (kind === this.kind) return;
    this.kind = kind;
    this.estimator = this.create(kind);
    this.sender.estimator = this.estimator;
    this.dirty = true;
  }

  onTransportFeedback(fb: TwccFeedback, nowMs: number): void {
    this.feedbacks++;
    this.estimator.onTransportFeedback(fb, nowMs);
  }

  onRemb(bps: number, nowMs: number): void {
    this.feedbacks++;
    this.estimator.onRemb?.(bps, nowMs);
  }

  onRtt(rttMs: number): void {
    this.feedbacks++;
    this.estimator.onRtt?.(rttMs);
  }

  /** Called by invalidate() (the session wakes from quiet for it). */
  onInvalidate: (() => void) | null = null;

  /** Consumers came or went, or a priority changed: allocate at the next tick instead of waiting. */
  invalidate(): void {
    this.dirty = true;
    this.onInvalidate?.();
  }

  /** Media loop (~20 ms): allocation every ALLOCATE_INTERVAL_MS (or when invalidated), probing, pacing. */
  tick(nowMs: number, consumers: readonly Consumer[]): void {
    // A sharp fall of the estimate is acted on at once: a link that just dropped overflows in ~100 ms.
    const fell = this.allocation !== null && this.estimator.estimate(nowMs) < SHARP_FALL * this.allocation.budget;
    if (this.dirty || fell || (nowMs - this.lastAllocateMs >= ALLOCATE_INTERVAL_MS && !this.quiet(nowMs, consumers))) this.allocateNow(nowMs, consumers);
    const est = this.estimator;
    if (est instanceof TransportCcEstimator && this.allocation !== null && this.sender.connected) {
      // Probe only while the subscriber wants more than the estimate (never pad for nothing).
      const cluster = est.planProbe(nowMs, this.allocation.wantedBitrate);
      if (cluster !== null) {
        bweStats.probeClusters++;
        this.sender.pacer.startCluster(cluster, nowMs);
      }
    }
    this.sender.process(nowMs);
  }

  /**
   * Nothing an allocation reads can have moved since the last one: the same estimate, no feedback, and no
   * packet from any consumed track for QUIET_AFTER_MS (longer than every window the allocation reads: the
   * layer meters, freshness, the carried rate). An idle subscriber then costs no allocation every 200 ms; the
   * first packet, feedback or invalidate() brings the periodic allocation back at the next tick.
   */
  quiet(nowMs: number, consumers: readonly Consumer[]): boolean {
    const a = this.allocation;
    if (this.dirty || a === null || this.feedbacks !== this.feedbacksAtAllocate || this.estimator.estimate(nowMs) !== a.budget) return false;
    for (let i = 0; i < consumers.length; i++) {
      const last = consumers[i].producer.lastPacketMs;
      if (last >= 0 && nowMs - last < QUIET_AFTER_MS) return false;
    }
    return true;
  }

  /** Decide and apply now. */
  allocateNow(nowMs: number, consumers: readonly Consumer[]): Allocation {
    this.dirty = false;
    this.lastAllocateMs = nowMs;
    this.feedbacksAtAllocate = this.feedbacks;
    const budget = this.estimator.estimate(nowMs);
    if (Number.isFinite(budget)) this.sender.pacer.setEstimate(budget);
    else this.sender.pacer.setPacingRate(UNPACED_BPS);
    const subs: TrackSubscription[] = [];
    for (const c of consumers) if (!c.closed) subs.push(this.subscriptionOf(c, nowMs));
    const caps = this.inputs.caps() ?? NO_CAPS;
    const prioritized = applyReceiveCaps(prioritize(subs), caps);
    const carried = this.carriedBps(nowMs);
    const next = allocate(budget, prioritized, this.allocation, { carriedBps: carried, holdBps: this.holdBps(budget, nowMs) });
    const changed = allocationChanged(this.allocation, next);
    const explained = changed || reasonsChanged(this.allocation, next);
    this.allocation = next;
    // Repairs use what the media leaves, and at least RTX_MIN_SHARE of the estimate: a lost packet of a
    // video being watched matters more than the next frame's bits (and on a lossy path each is sent twice).
    this.sender.rtxBudgetBps = Number.isFinite(budget) ? Math.max(RTX_MIN_SHARE * budget, budget - next.totalBitrate) : NaN;
    // Loss without a queue is the path's (radio, a bad cable), not congestion: there a second copy of each
    // repair costs little and saves frames; on a congested link it would only add to the overflow. "Without
    // a queue" as the estimator's loss rule says it (jitter keeps a few tens of ms).
    const est = this.estimator;
    this.sender.lossy = est instanceof TransportCcEstimator && est.lossFraction >= LOSSY_FRACTION && est.queueMs < LOSS_QUEUE_MS;
    // Audio redundancy where the path loses packets without a queue (radio, a bad cable), held RED_HOLD_MS
    // since such loss comes in bursts. Never on a congested link: tripling the audio there adds to the
    // overflow that causes the loss (a 300 kbit/s link receiving four voices would carry ~400 kbit/s of them).
    if (est instanceof TransportCcEstimator && est.lossFraction >= RED_FRACTION && est.queueMs < LOSS_QUEUE_MS) this.redUntil = nowMs + RED_HOLD_MS;
    const congested = est instanceof TransportCcEstimator && est.queueMs >= LOSS_QUEUE_MS;
    // Two redundant copies of every voice must fit in what the allocation leaves of the estimate.
    let audioBps = 0;
    for (const t of next.tracks) if (t.kind === 'audio') audioBps += t.bitrate;
    const fits = !Number.isFinite(budget) || budget - next.totalBitrate >= 2 * audioBps;
    this.sender.redWanted = !congested && fits && nowMs < this.redUntil;
    if (est instanceof TransportCcEstimator) this.sender.pacer.setBurstMs(burstMsFor(est.queueMs, est.lossFraction));
    if (changed) {
      this.changes++;
      bweStats.allocationChanges++;
      const byTrack = new Map<string, Consumer>();
      for (const c of consumers) byTrack.set(c.producer.id, c);
      // What is forwarded now far beyond the budget (the link just dropped): step down at once, not at the
      // lower layer's keyframe.
      const urgent = Number.isFinite(budget) && this.forwardedBitrate(prioritized, consumers) > URGENT_OVERSHOOT * budget;
      for (const t of next.tracks) {
        if (t.kind !== 'video' || t.reason === 'no_layers') continue;
        byTrack.get(t.trackId)?.setTarget(t.target, urgent);
      }
      if (this.opts.log) {
        const st = this.estimator.stats();
        this.opts.log.debug('allocation', { allocation: describe(next), estimator: st.kind, state: st.state, signal: st.signal, loss: st.lossFraction, acked: Math.round(st.ackedBps) });
      }
    }
    if (explained) this.onAllocation?.(next, { subscriptions: prioritized, caps });
    return next;
  }

  /**
   * What the videos forwarded now may keep their floors within: the highest estimate of the last
   * PAUSE_PERSIST_MS, so one low reading (a late feedback, a loss report, our own stall) pauses nobody, and at
   * least the delay-based estimate (loss without a queue pauses nobody); 0 while the link shows a queue (it
   * runs full now: shed at once, audio first).
   */
  private holdBps(budget: number, nowMs: number): number {
    this.recentEst[this.recentNext] = budget;
    this.recentAt[this.recentNext] = nowMs;
    this.recentNext = (this.recentNext + 1) % RECENT_ESTIMATES;
    const est = this.estimator;
    if (est instanceof TransportCcEstimator && est.queueMs >= HOLD_MAX_QUEUE_MS) return 0;
    let max = 0;
    for (let k = 0; k < RECENT_ESTIMATES; k++) if (nowMs - this.recentAt[k] <= PAUSE_PERSIST_MS && this.recentEst[k] > max) max = this.recentEst[k];
    // Loss alone pauses nobody: without a queue, what is forwarded keeps its floor within the delay-based
    // estimate (a single-layer video has no lower layer to step to, and sending less does not cure loss).
    if (est instanceof TransportCcEstimator && est.delayBasedBps > max) max = est.delayBasedBps;
    return max;
  }

  /**
   * What the link demonstrably carried lately: the highest delivered rate of the last CARRIED_BUCKETS ×
   * CARRIED_BUCKET_MS. The nearest face keeps its floor within it (docs/allocation.md): one window of
   * jitter or a stall reads the delivered rate low for a moment, the link that carried audio and the floor
   * a second ago still does.
   */
  private carriedBps(nowMs: number): number {
    const est = this.estimator;
    if (!(est instanceof TransportCcEstimator)) return 0;
    const b = Math.floor(nowMs / CARRIED_BUCKET_MS);
    if (this.carriedBucket < 0 || b - this.carriedBucket >= CARRIED_BUCKETS) this.carried.fill(0);
    else for (let k = this.carriedBucket + 1; k <= b; k++) this.carried[k % CARRIED_BUCKETS] = 0;
    this.carriedBucket = b;
    const i = b % CARRIED_BUCKETS;
    if (est.ackedBitrate() > this.carried[i]) this.carried[i] = est.ackedBitrate();
    let max = 0;
    for (let k = 0; k < CARRIED_BUCKETS; k++) if (this.carried[k] > max) max = this.carried[k];
    return max;
  }

  snapshot(): DownlinkSnapshot {
    const p = this.sender.pacer;
    return {
      estimator: this.estimator.stats(),
      allocation: this.allocation,
      changes: this.changes,
      pacer: { queuedPackets: p.queuedPackets, queuedBytes: p.queuedBytes, pacingBps: p.pacingRateBps },
      probes: { packets: this.sender.counters.probePackets, bytes: this.sender.counters.probeBytes },
      rtxLimited: this.sender.counters.rtxLimited,
    };
  }

  /** Bitrate of what the consumers forward right now (their current layers), audio included. */
  private forwardedBitrate(subs: readonly TrackSubscription[], consumers: readonly Consumer[]): number {
    let total = 0;
    for (const s of subs) {
      if (s.kind === 'audio') {
        if (!s.muted) total += s.bitrate;
        continue;
      }
      const cur = consumers.find((c) => c.producer.id === s.trackId)?.current ?? null;
      if (cur === null) continue;
      for (const l of s.layers) if (l.spatial === cur.spatial && l.temporal === cur.temporal) total += l.bitrate;
    }
    return total;
  }

  private subscriptionOf(c: Consumer, nowMs: number): TrackSubscription {
    const p = c.producer;
    const priority = this.inputs.priorityOf(p.params.publisherId);
    if (p.kind === 'audio') return { kind: 'audio', trackId: p.id, priority, bitrate: Math.round(p.layers[0].meter.bitrate(nowMs)) };
    return { kind: 'video', trackId: p.id, priority, layers: c.layers() };
  }

  private create(kind: EstimatorKind): BandwidthEstimator {
    const est = this.createEstimator(kind);
    if (est instanceof TransportCcEstimator) est.onLost = (seq) => this.onPacketLost?.(seq);
    return est;
  }

  private createEstimator(kind: EstimatorKind): BandwidthEstimator {
    if (kind === 'remb') return new RembEstimator(this.opts.initialBps !== undefined ? { initialBps: this.opts.initialBps } : {});
    if (kind === 'null') return new NullEstimator();
    return new TransportCcEstimator({
      ...(this.opts.initialBps !== undefined ? { initialBps: this.opts.initialBps } : {}),
      ...(this.opts.probing === false ? { probing: false } : {}),
    });
  }
}

const RTX_MIN_SHARE = 0.25;
/** Silence of every consumed track after which periodic allocations stop (see quiet): > the 2 s carried window. */
const QUIET_AFTER_MS = 3000;
/** Feedback loss from which each retransmission is sent twice. */
const LOSSY_FRACTION = 0.02;
/** Audio redundancy (RFC 2198) from this loss on, kept this long after the last such reading. */
const RED_FRACTION = 0.02;
const RED_HOLD_MS = 10_000;
const SHARP_FALL = 0.8;
/** A pause needs the shortage to last this long (see holdBps), unless the link shows a queue of HOLD_MAX_QUEUE_MS. */
const PAUSE_PERSIST_MS = 500;
const HOLD_MAX_QUEUE_MS = 50;
/** carriedBps: the highest delivered rate of the last 2 s, in 250 ms buckets. */
const CARRIED_BUCKET_MS = 250;
const CARRIED_BUCKETS = 8;
/** Allocations remembered for holdBps: more than PAUSE_PERSIST_MS holds at one per media tick (20 ms). */
const RECENT_ESTIMATES = 32;
/** Forwarding more than this × the budget makes a step down urgent (see Consumer.setTarget). */
const URGENT_OVERSHOOT = 1.5;
/** Without an estimate (null estimator) the pacer must not hold anything back. */
const UNPACED_BPS = 10_000_000_000;

/** The same targets can change reason (a pause for budget becomes one for the caps): worth recording. */
function reasonsChanged(a: Allocation | null, b: Allocation): boolean {
  if (a === null) return true;
  const was = new Map(a.tracks.map((t) => [t.trackId, t.reason]));
  return b.tracks.some((t) => was.get(t.trackId) !== t.reason);
}
