/**
 * One received stream of a published track: the single SSRC of a plain track, or one simulcast layer
 * (RFC 8853 rid) of a video. Everything that is per SSRC towards the publisher lives here: reception
 * statistics, the NACK generator, the retransmission cache, keyframe requests, sender reports; plus what
 * the allocator reads (bitrate and frame rate per temporal layer, the key frame resolution).
 */
import { packetStats } from '../metrics/registry.ts';
import { PacketCache } from './packet-cache.ts';
import { NackGenerator } from './nack-generator.ts';
import { ReceiveStats } from './receive-stats.ts';
import { ScheduledKeyframeThrottle } from './keyframe-throttle.ts';
import type { Clock } from '../util/clock.ts';
import type { Producer } from './producer.ts';
import type { LayerOption } from '../allocation/types.ts';

/** What a producer asks of the publisher's connection. */
export interface ProducerUpstream {
  /** Send a PLI for this SSRC (already throttled). */
  requestKeyframe(mediaSsrc: number): void;
}

/** The publisher's last sender report, mapped to our monotonic clock (for lip sync downstream). */
export interface PublisherSr {
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  arrivalMs: number;
}

/** A layer that sent nothing for this long counts as stopped (the browser dropped it, or the publisher paused). */
export const LAYER_ACTIVE_MS = 1000;
/** Even the lowest temporal layer (7.5 fps) sends every ~133 ms: silence this long means the layer stopped. */
export const LAYER_FRESH_MS = 350;
/** Temporal layers measured separately (VP8 TID is 2 bits). */
export const MAX_TEMPORAL_LAYERS = 4;
const BUCKET_MS = 100;
const BUCKETS = 10;

/**
 * Bytes and frames per temporal layer over the last second, in ten 100 ms buckets: a packet is two array
 * increments, a reading sums at most 40 numbers. The current bucket counts with its elapsed part, so the
 * window is 0.9–1.0 s and the rate carries no 10 % sawtooth.
 */
export class LayerMeter {
  private readonly bytes = new Float64Array(BUCKETS * MAX_TEMPORAL_LAYERS);
  private readonly frames = new Float64Array(BUCKETS * MAX_TEMPORAL_LAYERS);
  private readonly tidSeenMs = new Float64Array(MAX_TEMPORAL_LAYERS).fill(-Infinity);
  /** Absolute number (ms / 100) of the newest bucket, -1 before the first packet. */
  private bucket = -1;
  private firstMs = -1;

  /** `tid` -1 (no temporal layering) counts as layer 0; `frame`: the packet starts a new frame. */
  onPacket(nowMs: number, bytes: number, tid: number, frame: boolean): void {
    if (this.firstMs < 0) this.firstMs = nowMs;
    this.advance(nowMs);
    const t = tid < 0 ? 0 : tid >= MAX_TEMPORAL_LAYERS ? MAX_TEMPORAL_LAYERS - 1 : tid;
    const k = (this.bucket % BUCKETS) * MAX_TEMPORAL_LAYERS + t;
    this.bytes[k] += bytes;
    if (frame) this.frames[k]++;
    this.tidSeenMs[t] = nowMs;
  }

  /** Bits per second of temporal layers 0..`upToTid` together. */
  bitrate(nowMs: number, upToTid = MAX_TEMPORAL_LAYERS - 1): number {
    return (this.sum(this.bytes, nowMs, upToTid) * 8000) / this.windowMs(nowMs);
  }

  /** Frames per second of temporal layers 0..`upToTid` together. */
  fps(nowMs: number, upToTid = MAX_TEMPORAL_LAYERS - 1): number {
    return (this.sum(this.frames, nowMs, upToTid) * 1000) / this.windowMs(nowMs);
  }

  /** Highest temporal layer seen in the last second; 0 for a stream without temporal layers, -1 if silent. */
  topTemporal(nowMs: number): number {
    for (let t = MAX_TEMPORAL_LAYERS - 1; t >= 0; t--) if (nowMs - this.tidSeenMs[t] < BUCKET_MS * BUCKETS) return t;
    return -1;
  }

  private sum(arr: Float64Array, nowMs: number, upToTid: number): number {
    if (this.bucket < 0) return 0;
    this.advance(nowMs);
    const top = Math.min(upToTid, MAX_TEMPORAL_LAYERS - 1);
    let s = 0;
    for (let b = 0; b < BUCKETS; b++) for (let t = 0; t <= top; t++) s += arr[b * MAX_TEMPORAL_LAYERS + t];
    return s;
  }

  private windowMs(nowMs: number): number {
    if (this.bucket < 0) return 1000;
    const span = (BUCKETS - 1) * BUCKET_MS + (nowMs - this.bucket * BUCKET_MS);
    // A young stream is measured over its life, not diluted by a second it did not exist in.
    return Math.max(BUCKET_MS, Math.min(span, nowMs - this.firstMs));
  }

  /** Moves the newest bucket to `nowMs`, clearing the buckets skipped over. */
  private advance(nowMs: number): void {
    const b = Math.floor(nowMs / BUCKET_MS);
    if (this.bucket < 0) {
      this.bucket = b;
      return;
    }
    if (b <= this.bucket) return;
    const n = Math.min(b - this.bucket, BUCKETS);
    for (let i = 1; i <= n; i++) {
      const k = ((this.bucket + i) % BUCKETS) * MAX_TEMPORAL_LAYERS;
      for (let t = 0; t < MAX_TEMPORAL_LAYERS; t++) {
        this.bytes[k + t] = 0;
        this.frames[k + t] = 0;
      }
    }
    this.bucket = b;
  }
}

export class ProducerLayer {
  /** Media SSRC; 0 until learned from the rid header extension (RFC 8852 §3) for rid-only simulcast. */
  ssrc: number;
  rtxSsrc: number | null;
  stats: ReceiveStats;
  readonly cache: PacketCache | null;
  readonly nack: NackGenerator | null;
  lastSr: PublisherSr | null = null;
  /** Rank among the producer's layers, 0 = lowest (see Producer.rerank). */
  spatial: number;
  /** Monotonic times of the last keyframe and the last packet, -1 before the first. */
  lastKeyframeMs = -1;
  lastPacketMs = -1;
  /** From the last VP8 key frame header (RFC 6386 §9.1); 0 when unknown. */
  width = 0;
  height = 0;
  readonly meter = new LayerMeter();
  /** The rid as bytes, compared in place with the rtp-stream-id extension; null without simulcast. */
  readonly ridBytes: Buffer | null;
  /** RTP timestamp of the newest media packet (a new value starts a frame, for the frame rate). */
  lastTimestamp = -1;
  /** Dynacast (src/media/dynacast.ts): whether we ask the publisher to encode this layer, and since when nobody wants it. */
  requested = true;
  unwantedSinceMs = -1;
  /**
   * What the layer sent when dynacast turned it off: still offered to the allocator (it comes back when
   * someone is allocated it), until it was asked back and did not come within WAKE_TIMEOUT_MS.
   */
  standby: { options: LayerOption[]; wokeAtMs: number } | null = null;
  /** The standby rates of a layer that just came back, and when (see Producer.layerOptions). */
  backFromStandby: { options: LayerOption[]; atMs: number } | null = null;
  private readonly keyframes: ScheduledKeyframeThrottle;

  constructor(
    readonly producer: Producer,
    /** Position in the offer's a=simulcast list (0 without simulcast). */
    readonly index: number,
    readonly rid: string | null,
    ssrc: number,
    rtxSsrc: number | null,
    clock: Clock,
    upstream: ProducerUpstream,
  ) {
    this.ssrc = ssrc;
    this.rtxSsrc = rtxSsrc;
    this.spatial = index;
    this.ridBytes = rid === null ? null : Buffer.from(rid, 'utf8');
    const video = producer.params.kind === 'video';
    this.stats = new ReceiveStats(ssrc, producer.params.clockRate);
    this.cache = video ? new PacketCache(1024) : null;
    this.nack = video ? new NackGenerator() : null;
    this.keyframes = new ScheduledKeyframeThrottle(clock, () => {
      if (this.ssrc === 0) return;
      packetStats.keyframeRequestsSent++;
      upstream.requestKeyframe(this.ssrc);
    });
  }

  /** Sent something within the last second. */
  isActive(nowMs: number): boolean {
    return this.lastPacketMs >= 0 && nowMs - this.lastPacketMs < LAYER_ACTIVE_MS;
  }

  /**
   * Sent something very recently: a consumer switches away from a layer silent for longer (the publisher
   * stopped encoding it: its uplink or CPU, or dynacast) instead of waiting out LAYER_ACTIVE_MS.
   */
  isFresh(nowMs: number): boolean {
    return this.lastPacketMs >= 0 && nowMs - this.lastPacketMs < LAYER_FRESH_MS;
  }

  /**
   * The media SSRC was learned (or changed: the publisher restarted the layer). Reception state restarts:
   * sequence numbers of the new SSRC have nothing to do with the old one's.
   */
  bind(ssrc: number): void {
    if (ssrc === this.ssrc) return;
    this.ssrc = ssrc;
    this.stats = new ReceiveStats(ssrc, this.producer.params.clockRate);
    this.cache?.clear();
    this.nack?.reset();
    this.lastSr = null;
    this.lastTimestamp = -1;
  }

  bindRtx(rtxSsrc: number): void {
    this.rtxSsrc = rtxSsrc;
  }

  /** Ask for a keyframe on this SSRC: at most one PLI per 500 ms, a request inside the window is kept. */
  requestKeyframe(): void {
    // A layer whose SSRC is not known yet cannot be named in a PLI; its first packets start with a key frame.
    if (this.producer.params.kind !== 'video' || this.producer.closed || this.ssrc === 0) return;
    this.keyframes.request();
  }

  /** A keyframe arrived: pending requests are satisfied. */
  onKeyframe(nowMs: number): void {
    this.lastKeyframeMs = nowMs;
    this.keyframes.onKeyframe();
  }

  onSenderReport(ntpSec: number, ntpFrac: number, rtpTimestamp: number, nowMs: number): void {
    this.stats.onSenderReport(ntpSec, ntpFrac, nowMs);
    const sr = this.lastSr ?? (this.lastSr = { ntpSec: 0, ntpFrac: 0, rtpTimestamp: 0, arrivalMs: 0 });
    sr.ntpSec = ntpSec;
    sr.ntpFrac = ntpFrac;
    sr.rtpTimestamp = rtpTimestamp;
    sr.arrivalMs = nowMs;
  }

  close(): void {
    this.keyframes.close();
  }
}
