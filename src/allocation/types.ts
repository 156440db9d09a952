/**
 * Value types of the per-subscriber bandwidth allocation (docs/allocation.md). Plain data: the allocator
 * is a pure function of these, so a subscriber's whole decision can be logged, replayed and tested.
 */

/** One layer a publisher currently sends: a spatial (simulcast) layer at one temporal sub-layer. */
export interface LayerOption {
  readonly spatial: number;
  readonly temporal: number;
  /** Measured bitrate of this layer including its lower temporal sub-layers, bps. */
  readonly bitrate: number;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
}

interface SubscriptionBase {
  readonly trackId: string;
  /** 0..1000, higher first (proximity rules). `prioritize` sorts by it; `allocate` reads only the order. */
  readonly priority: number;
  /** The subscriber's own pause (opted out, off screen): never forwarded, costs nothing. */
  readonly muted?: boolean;
}

export interface AudioSubscription extends SubscriptionBase {
  readonly kind: 'audio';
  /** Measured (or expected) bitrate, bps. Audio is always forwarded, so this is only accounted. */
  readonly bitrate: number;
}

export interface VideoSubscription extends SubscriptionBase {
  readonly kind: 'video';
  /**
   * What the publisher sends right now, one entry per (spatial, temporal) pair; order does not matter.
   * Empty: nothing to receive (publisher paused or not yet measured).
   */
  readonly layers: readonly LayerOption[];
  /** Highest spatial layer the subscriber wants (tile size, decoder limit). Unset: no limit. */
  readonly maxSpatial?: number;
  /** Highest temporal layer the subscriber wants (CPU). Unset: no limit. */
  readonly maxTemporal?: number;
}

export type TrackSubscription = AudioSubscription | VideoSubscription;

export interface LayerTarget {
  readonly spatial: number;
  readonly temporal: number;
}

/**
 * - `audio`: audio, always forwarded.
 * - `optimal`: the best layer the publisher sends.
 * - `capped`: the best layer the subscriber's caps allow (below what the publisher sends).
 * - `budget`: below what is wanted, or paused, for lack of bandwidth (including hysteresis holds).
 * - `muted`: the subscriber paused it.
 * - `no_layers`: the publisher sends nothing.
 */
export type AllocationReason = 'audio' | 'optimal' | 'capped' | 'budget' | 'muted' | 'no_layers';

export interface TrackAllocation {
  readonly trackId: string;
  readonly kind: 'audio' | 'video';
  /** The layer to forward; null = paused. Audio: {0, 0} when forwarded. */
  readonly target: LayerTarget | null;
  /** Bitrate of the target as measured (0 when paused), bps. */
  readonly bitrate: number;
  readonly reason: AllocationReason;
}

export interface Allocation {
  /** One per subscription, in the order given to `allocate` (the prioritized order). */
  readonly tracks: readonly TrackAllocation[];
  readonly totalBitrate: number;
  /** The budget this was computed for; the next call compares against it (falling estimate). */
  readonly budget: number;
  /**
   * What the subscriber would take with unlimited bandwidth, within its caps (audio included). When it
   * exceeds `budget`, probing for more is worthwhile; when it is below, probing is wasted.
   */
  readonly wantedBitrate: number;
}

export interface AllocateOptions {
  /** An upgrade must leave the total ≤ budget / (1 + upgradeMargin). */
  readonly upgradeMargin?: number;
  /** A video paused for budget resumes only if the total stays ≤ budget / (1 + resumeMargin). */
  readonly resumeMargin?: number;
  /**
   * What the link demonstrably delivered lately (bps; the estimator's received rate). The nearest face keeps
   * its floor while the total fits this too: an estimate just cut below what the link was carrying does not
   * prove the link cannot carry audio and one small video.
   */
  readonly carriedBps?: number;
  /**
   * Pauses need the shortage to persist: a video forwarded in the previous allocation keeps its floor while
   * the total fits this (bps; the caller passes the highest estimate of the last few hundred ms, or 0 when
   * the link shows a queue and must shed now). Upgrades and restores still follow the budget alone.
   */
  readonly holdBps?: number;
}
