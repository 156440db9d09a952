import { countDrop } from '../metrics/drop-reasons.ts';
import { objectCounts, packetStats } from '../metrics/registry.ts';
import type { RtpView } from '../rtp/rtp-packet.ts';
import { Vp8Descriptor } from '../rtp/vp8.ts';
import { isH264Keyframe } from '../rtp/h264.ts';
import { readAudioLevel } from '../rtp/header-extensions.ts';
import { VoiceActivity } from './voice-activity.ts';
import { PacketCache } from './packet-cache.ts';
import { NackGenerator } from './nack-generator.ts';
import { ReceiveStats } from './receive-stats.ts';
import { ScheduledKeyframeThrottle } from './keyframe-throttle.ts';
import type { Clock } from '../util/clock.ts';
import type { ProducerParams, RtpSink } from './media-types.ts';

/** What a producer asks of the publisher's connection. */
export interface ProducerUpstream {
  /** Send a PLI for this producer's SSRC (already throttled). */
  requestKeyframe(mediaSsrc: number): void;
}

/** The publisher's last sender report, mapped to our monotonic clock (for lip sync downstream). */
export interface PublisherSr {
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  arrivalMs: number;
}

/**
 * One published track: receives its RTP (RTX already unwrapped), keeps the retransmission cache, loss
 * bookkeeping and keyframe state, and fans packets out to its sinks.
 */
export class Producer {
  readonly id: string;
  readonly sinks: RtpSink[] = [];
  readonly stats: ReceiveStats;
  readonly cache: PacketCache | null;
  readonly nack: NackGenerator | null;
  lastSr: PublisherSr | null = null;
  /** The publisher's id for ssrc-audio-level (0 = not negotiated), copied to subscribers. */
  audioLevelExtId = 0;
  /** The current packet's audio level (RFC 6464 byte: V bit + level), -1 when absent. */
  audioLevel = -1;
  /** Speaking detection from the audio level (audio producers); the owner is told when it flips. */
  readonly voice = new VoiceActivity();
  onSpeakingChange: ((speaking: boolean) => void) | null = null;
  closed = false;
  /** Monotonic time of the last keyframe seen, -1 before the first. */
  lastKeyframeMs = -1;
  private readonly vp8 = new Vp8Descriptor();
  private readonly keyframes: ScheduledKeyframeThrottle;

  constructor(
    readonly params: ProducerParams,
    clock: Clock,
    upstream: ProducerUpstream,
  ) {
    this.id = params.id;
    this.stats = new ReceiveStats(params.ssrc, params.clockRate);
    const video = params.kind === 'video';
    this.cache = video ? new PacketCache(1024) : null;
    this.nack = video ? new NackGenerator() : null;
    this.keyframes = new ScheduledKeyframeThrottle(clock, () => {
      packetStats.keyframeRequestsSent++;
      upstream.requestKeyframe(params.ssrc);
    });
    objectCounts.producers++;
  }

  get kind() {
    return this.params.kind;
  }

  /** Hot path: one RTP packet of this track (media SSRC, or RTX already unwrapped into it). */
  onRtp(view: RtpView, nowMs: number, fromRtx: boolean): void {
    if (this.cache !== null) {
      // A retransmission of something we already hold is a duplicate: forward nothing twice.
      if (fromRtx && this.cache.get(view.sequenceNumber) !== null) {
        countDrop('duplicate');
        return;
      }
      this.nack!.onPacket(view.sequenceNumber, nowMs);
    }
    // Retransmissions would distort loss and jitter (RFC 3550 §A.3, §A.8).
    if (!fromRtx) this.stats.onPacket(view.sequenceNumber, view.timestamp, nowMs, view.length);
    const sinks = this.sinks;
    if (view.payloadLength === 0) {
      // Padding-only packets are bandwidth probes for us, not media for subscribers.
      countDrop('padding_only');
      for (let i = 0; i < sinks.length; i++) sinks[i].skip(view);
      return;
    }
    if (this.cache !== null && !this.cache.put(view.sequenceNumber, view.buf, view.length, view.start)) countDrop('too_large');
    if (this.audioLevelExtId !== 0) {
      // Read once here; every consumer copies it from `audioLevel` instead of parsing again.
      const level = (this.audioLevel = readAudioLevel(view, this.audioLevelExtId));
      if (level >= 0 && this.voice.onLevel(level & 0x7f)) this.onSpeakingChange?.(this.voice.speaking);
    }
    const keyframe = this.params.kind === 'video' && this.isKeyframe(view);
    if (keyframe) {
      this.lastKeyframeMs = nowMs;
      this.keyframes.onKeyframe();
    }
    if (sinks.length === 0) {
      countDrop('no_subscriber');
      return;
    }
    for (let i = 0; i < sinks.length; i++) sinks[i].forward(view, keyframe, nowMs);
  }

  onSenderReport(ntpSec: number, ntpFrac: number, rtpTimestamp: number, nowMs: number): void {
    this.stats.onSenderReport(ntpSec, ntpFrac, nowMs);
    const sr = this.lastSr ?? (this.lastSr = { ntpSec: 0, ntpFrac: 0, rtpTimestamp: 0, arrivalMs: 0 });
    sr.ntpSec = ntpSec;
    sr.ntpFrac = ntpFrac;
    sr.rtpTimestamp = rtpTimestamp;
    sr.arrivalMs = nowMs;
  }

  /** Ask the publisher for a keyframe: at most one PLI per 500 ms, a request inside the window is kept. */
  requestKeyframe(): void {
    if (this.params.kind !== 'video' || this.closed) return;
    this.keyframes.request();
  }

  addSink(s: RtpSink): void {
    if (!this.sinks.includes(s)) this.sinks.push(s);
  }

  removeSink(s: RtpSink): void {
    const i = this.sinks.indexOf(s);
    if (i >= 0) this.sinks.splice(i, 1);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.keyframes.close();
    this.sinks.length = 0;
    objectCounts.producers--;
  }

  private isKeyframe(view: RtpView): boolean {
    if (this.params.codec === 'vp8') {
      return this.vp8.parse(view.buf, view.payloadOffset, view.payloadLength) === null && this.vp8.isKeyframe;
    }
    if (this.params.codec === 'h264') return isH264Keyframe(view.buf, view.payloadOffset, view.payloadLength);
    return false;
  }
}
