import { countDrop } from '../metrics/drop-reasons.ts';
import { bweStats, objectCounts } from '../metrics/registry.ts';
import type { RtpView } from '../rtp/rtp-packet.ts';
import { Vp8Descriptor, vp8KeyframeSize } from '../rtp/vp8.ts';
import { h264SpsResolution, isH264Keyframe } from '../rtp/h264.ts';
import { readAudioLevel } from '../rtp/header-extensions.ts';
import { VoiceActivity } from './voice-activity.ts';
import { ProducerLayer, type ProducerUpstream, type PublisherSr } from './producer-layer.ts';
import type { LayerOption } from '../allocation/types.ts';
import { layerRequested, WAKE_TIMEOUT_MS } from './dynacast.ts';
import type { Clock } from '../util/clock.ts';
import { WIRE_OVERHEAD_BYTES, type PacketMeta, type ProducerParams, type RtpSink } from './media-types.ts';
import type { ReceiveStats } from './receive-stats.ts';
import type { TrackSource } from '../signaling/messages.ts';

export type { ProducerUpstream, PublisherSr } from './producer-layer.ts';
export { ProducerLayer } from './producer-layer.ts';

/** Without key frame sizes (before the first VP8 key frame or H.264 SPS), layers are re-ranked by bitrate this often. */
const RERANK_INTERVAL_MS = 1000;
/** Dynacast decisions this often. */
const DYNACAST_INTERVAL_MS = 200;
/** A layer back from standby is offered at no less than its old rates this long (its meter refills). */
const LAYER_RAMP_MS = 2000;

/** Dynacast's wish for the publisher: one entry per rid, in a=simulcast order. */
export type LayerWish = Array<{ rid: string; active: boolean }>;

/**
 * One published track (one m-line, one track id for the rest of the server): receives its RTP (RTX
 * already unwrapped) on one layer per SSRC — a single one, or one per RFC 8853 simulcast rid — parses it
 * once, keeps per-layer loss, cache and keyframe state, and fans every packet out to its sinks, which pick
 * the layer they forward.
 *
 * Layer order: simulcast rids come in whatever order the application listed them, so `spatial` ranks are
 * measured, not taken from the SDP. Layers rank by the resolution of their last key frame (VP8: its frame
 * header, RFC 6386 §9.1; H.264: the SPS it starts with) when both have one, else by measured bitrate, else by a=simulcast order; layers never received
 * rank below received ones. Ranks are recomputed when a layer starts, when a key frame changes a layer's
 * resolution, and every second while some received layer has no known resolution.
 */
export class Producer {
  readonly id: string;
  readonly sinks: RtpSink[] = [];
  /** In a=simulcast order (one layer without simulcast). */
  readonly layers: ProducerLayer[];
  /** The same layers by rank, lowest first: `bySpatial[l.spatial] === l`. */
  readonly bySpatial: ProducerLayer[];
  /** The mid as bytes, compared in place with the mid extension when learning SSRCs. */
  readonly midBytes: Buffer;
  /** The publisher's id for ssrc-audio-level (0 = not negotiated), copied to subscribers. */
  audioLevelExtId = 0;
  /** The current packet's audio level (RFC 6464 byte: V bit + level), -1 when absent. */
  audioLevel = -1;
  /** Speaking detection from the audio level (audio producers); the owner is told when it flips. */
  readonly voice = new VoiceActivity();
  onSpeakingChange: ((speaking: boolean) => void) | null = null;
  /** Dynacast: the rids to encode changed (simulcast video only); the owner tells the publisher. */
  onLayerWish: ((wish: LayerWish) => void) | null = null;
  /** What the publisher says this track carries (a second video can be a shared screen). */
  source: TrackSource;
  /**
   * The publisher muted the track: packets are still booked (loss, NACK, cache: no false gap on unmute)
   * but go to no sink and do not count as voice.
   */
  muted = false;
  closed = false;
  private lastDynacastMs = 0;
  private readonly vp8 = new Vp8Descriptor();
  private readonly meta: PacketMeta;
  private lastRerankMs = 0;

  constructor(
    readonly params: ProducerParams,
    readonly clock: Clock,
    upstream: ProducerUpstream,
  ) {
    this.id = params.id;
    this.source = params.kind === 'audio' ? 'microphone' : 'camera';
    this.midBytes = Buffer.from(params.mid, 'utf8');
    const rids = params.rids ?? [];
    this.layers =
      rids.length === 0
        ? [new ProducerLayer(this, 0, null, params.ssrc, params.rtxSsrc, clock, upstream)]
        : rids.map((rid, i) => new ProducerLayer(this, i, rid, 0, null, clock, upstream));
    this.bySpatial = [...this.layers];
    this.meta = { layer: this.layers[0], keyframe: false, vp8: null };
    objectCounts.producers++;
  }

  get kind() {
    return this.params.kind;
  }

  /** RFC 8853 simulcast: layers are named by rid and their SSRCs learned from header extensions. */
  get simulcast(): boolean {
    return this.layers[0].rid !== null;
  }

  /** Reception statistics of the first layer (the only one without simulcast). */
  get stats(): ReceiveStats {
    return this.layers[0].stats;
  }

  /** Latest keyframe on any layer, -1 before the first. */
  /** When any layer last received a packet (its own clock), -1 if none ever did. */
  get lastPacketMs(): number {
    let t = -1;
    for (const l of this.layers) if (l.lastPacketMs > t) t = l.lastPacketMs;
    return t;
  }

  get lastKeyframeMs(): number {
    let t = -1;
    for (const l of this.layers) if (l.lastKeyframeMs > t) t = l.lastKeyframeMs;
    return t;
  }

  /** The first layer's sender report (the only one without simulcast). */
  get lastSr(): PublisherSr | null {
    return this.layers[0].lastSr;
  }

  /** The layer with this rid, compared with the extension bytes at `offset` in place; null if none. */
  layerByRid(buf: Buffer, offset: number, length: number): ProducerLayer | null {
    for (const l of this.layers) {
      const r = l.ridBytes;
      if (r === null || r.length !== length) continue;
      let i = 0;
      while (i < length && buf[offset + i] === r[i]) i++;
      if (i === length) return l;
    }
    return null;
  }

  /** Hot path: one RTP packet of `layer` (media SSRC, or RTX already unwrapped into it). */
  onRtp(view: RtpView, nowMs: number, fromRtx: boolean, layer: ProducerLayer = this.layers[0]): void {
    const cache = layer.cache;
    if (cache !== null) {
      // A retransmission of something we already hold is a duplicate: forward nothing twice.
      if (fromRtx && cache.get(view.sequenceNumber) !== null) {
        countDrop('duplicate');
        return;
      }
      layer.nack!.onPacket(view.sequenceNumber, nowMs);
    }
    // Retransmissions would distort loss and jitter (RFC 3550 §A.3, §A.8).
    if (!fromRtx) layer.stats.onPacket(view.sequenceNumber, view.timestamp, nowMs, view.length);
    const started = layer.lastPacketMs >= 0;
    layer.lastPacketMs = nowMs;
    const sinks = this.sinks;
    if (view.payloadLength === 0) {
      // Padding-only packets are bandwidth probes for us, not media for subscribers.
      countDrop('padding_only');
      for (let i = 0; i < sinks.length; i++) sinks[i].skip(view, layer);
      return;
    }
    if (cache !== null && !cache.put(view.sequenceNumber, view.buf, view.length, view.start)) countDrop('too_large');
    if (this.muted) {
      // Skipped like padding, so the subscriber sees no hole to NACK when it resumes.
      countDrop('track_muted');
      for (let i = 0; i < sinks.length; i++) sinks[i].skip(view, layer);
      return;
    }
    if (this.audioLevelExtId !== 0) {
      // Read once here; every consumer copies it from `audioLevel` instead of parsing again.
      const level = (this.audioLevel = readAudioLevel(view, this.audioLevelExtId));
      if (level >= 0 && this.voice.onLevel(level & 0x7f)) this.onSpeakingChange?.(this.voice.speaking);
    }
    const meta = this.meta;
    meta.layer = layer;
    meta.keyframe = false;
    meta.vp8 = null;
    let tid = -1;
    if (this.params.kind === 'video') {
      if (this.params.codec === 'vp8') {
        const d = this.vp8;
        if (d.parse(view.buf, view.payloadOffset, view.payloadLength) === null) {
          meta.vp8 = d;
          meta.keyframe = d.isKeyframe;
          tid = d.tid;
          if (d.isKeyframe) this.onVp8Keyframe(view, layer, nowMs);
        }
      } else if (this.params.codec === 'h264') {
        meta.keyframe = isH264Keyframe(view.buf, view.payloadOffset, view.payloadLength);
        // The SPS a keyframe starts with says the layer's picture size: simulcast layers rank by it.
        if (meta.keyframe) this.onKeyframeSize(layer, h264SpsResolution(view.buf, view.payloadOffset, view.payloadLength), nowMs);
      }
      if (meta.keyframe) layer.onKeyframe(nowMs);
    }
    if (!fromRtx) {
      // A newer timestamp starts a frame (RFC 3550 §5.1: one timestamp per frame).
      const frame = layer.lastTimestamp < 0 || ((view.timestamp - layer.lastTimestamp) | 0) > 0;
      if (frame) layer.lastTimestamp = view.timestamp;
      // Counted as on the wire (IP/UDP and SRTP tag too): the estimate the allocator compares with is.
      layer.meter.onPacket(nowMs, view.length + WIRE_OVERHEAD_BYTES, tid, frame);
    }
    if (!started && this.layers.length > 1) this.rerank(nowMs);
    if (sinks.length === 0) {
      countDrop('no_subscriber');
      return;
    }
    for (let i = 0; i < sinks.length; i++) sinks[i].forward(view, meta, nowMs);
  }

  onSenderReport(ntpSec: number, ntpFrac: number, rtpTimestamp: number, nowMs: number, layer: ProducerLayer = this.layers[0]): void {
    layer.onSenderReport(ntpSec, ntpFrac, rtpTimestamp, nowMs);
  }

  /** Ask the publisher for a keyframe on one layer, or on every layer (throttled per layer SSRC). */
  requestKeyframe(layer?: ProducerLayer): void {
    if (this.params.kind !== 'video' || this.closed) return;
    if (layer !== undefined) layer.requestKeyframe();
    else for (const l of this.layers) l.requestKeyframe();
  }

  /**
   * What the publisher sends right now, for the allocator: one option per (active spatial layer, temporal
   * layer seen), bitrates cumulative over lower temporal layers (docs/allocation.md). Allocates: not per packet.
   */
  layerOptions(nowMs: number): LayerOption[] {
    const out: LayerOption[] = [];
    if (this.params.kind !== 'video') return out;
    for (const l of this.bySpatial) {
      const sb = l.standby;
      if (sb !== null) {
        // Turned off by dynacast: offered at the rates it had (a stopping layer's meter decays and would look
        // cheap), so a subscriber can be allocated it again; once asked back, until it comes or times out.
        if (sb.wokeAtMs < 0 || nowMs - sb.wokeAtMs < WAKE_TIMEOUT_MS) for (const o of sb.options) out.push({ ...o, spatial: l.spatial });
        continue;
      }
      // A layer silent for LAYER_FRESH_MS stopped (the publisher's uplink or CPU): not on offer.
      if (!l.isFresh(nowMs)) continue;
      const start = out.length;
      this.measuredOptions(l, nowMs, out);
      // Just back from standby, its meter has not filled a window yet: no cheaper than it was.
      const back = l.backFromStandby;
      if (back !== null && nowMs - back.atMs < LAYER_RAMP_MS) {
        for (let i = start; i < out.length; i++) {
          const was = back.options.find((o) => o.temporal === out[i].temporal);
          if (was && was.bitrate > out[i].bitrate) out[i] = { ...out[i], bitrate: was.bitrate };
        }
      }
    }
    return out;
  }

  private measuredOptions(l: ProducerLayer, nowMs: number, out: LayerOption[]): LayerOption[] {
    const top = Math.max(0, l.meter.topTemporal(nowMs));
    for (let t = 0; t <= top; t++) {
      out.push({
        spatial: l.spatial,
        temporal: t,
        bitrate: Math.round(l.meter.bitrate(nowMs, t)),
        fps: Math.round(l.meter.fps(nowMs, t) * 10) / 10,
        ...(l.width > 0 ? { width: l.width, height: l.height } : {}),
      });
    }
    return out;
  }

  /** Media loop (every ~20 ms): dynacast; re-rank by bitrate while some layer's resolution is unknown. */
  tick(nowMs: number): void {
    if (this.layers.length < 2) return;
    if (nowMs - this.lastDynacastMs >= DYNACAST_INTERVAL_MS) this.dynacast(nowMs);
    if (nowMs - this.lastRerankMs < RERANK_INTERVAL_MS) return;
    let unknown = false;
    for (const l of this.layers) if (l.lastPacketMs >= 0 && l.width === 0) unknown = true;
    if (unknown) this.rerank(nowMs);
  }

  /** The union of what the sinks want → which layers the publisher encodes (src/media/dynacast.ts). */
  private dynacast(nowMs: number): void {
    this.lastDynacastMs = nowMs;
    if (this.params.kind !== 'video' || !this.simulcast || this.closed) return;
    const n = this.bySpatial.length;
    let wantedMask = 0;
    for (const s of this.sinks) {
      if (s.demandMask) {
        wantedMask |= s.demandMask();
        continue;
      }
      const t = s.demand?.();
      if (t === null || t === undefined) continue;
      wantedMask |= 1 << Math.min(t.spatial, n - 1);
    }
    let lowest = -1;
    for (let r = 0; r < n && lowest < 0; r++) if (this.bySpatial[r].isActive(nowMs)) lowest = r;
    if (lowest < 0) lowest = 0;
    let changed = false;
    for (let r = 0; r < n; r++) {
      const l = this.bySpatial[r];
      const wanted = (wantedMask & (1 << r)) !== 0;
      const sending = l.isActive(nowMs);
      if (wanted) l.unwantedSinceMs = -1;
      else if (l.unwantedSinceMs < 0) l.unwantedSinceMs = nowMs;
      // Standby ends when the layer, asked back, sends again or does not come within WAKE_TIMEOUT_MS.
      const sb = l.standby;
      if (sb !== null && sb.wokeAtMs >= 0 && (l.lastPacketMs >= sb.wokeAtMs || nowMs - sb.wokeAtMs >= WAKE_TIMEOUT_MS)) {
        if (l.lastPacketMs >= sb.wokeAtMs) l.backFromStandby = { options: sb.options, atMs: nowMs };
        l.standby = null;
      }
      const next = layerRequested({ wanted, sending, requested: l.requested, lowest: r === lowest, unwantedSinceMs: l.unwantedSinceMs }, nowMs);
      if (next === l.requested) continue;
      changed = true;
      if (!next) l.standby = { options: atLeastExpected(this.measuredOptions(l, nowMs, [])), wokeAtMs: -1 };
      else if (l.standby !== null) l.standby.wokeAtMs = nowMs;
      l.requested = next;
    }
    if (changed) {
      bweStats.dynacastUpdates++;
      this.onLayerWish?.(this.layers.map((l) => ({ rid: l.rid ?? '', active: l.requested })));
    }
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
    for (const l of this.layers) l.close();
    this.sinks.length = 0;
    objectCounts.producers--;
  }

  private onVp8Keyframe(view: RtpView, layer: ProducerLayer, nowMs: number): void {
    this.onKeyframeSize(layer, vp8KeyframeSize(view.buf, view.payloadOffset + this.vp8.descriptorLength, view.payloadOffset + view.payloadLength), nowMs);
  }

  /** `size`: width × 0x10000 + height from a key frame's header (-1: none there). */
  private onKeyframeSize(layer: ProducerLayer, size: number, nowMs: number): void {
    if (size < 0) return;
    const w = Math.floor(size / 0x10000);
    const h = size & 0xffff;
    if (w === layer.width && h === layer.height) return;
    layer.width = w;
    layer.height = h;
    if (this.layers.length > 1) this.rerank(nowMs);
  }

  /** Re-sorts `bySpatial` in place (insertion sort of ≤ 4 layers: no allocation) and renumbers ranks. */
  private rerank(nowMs: number): void {
    this.lastRerankMs = nowMs;
    const a = this.bySpatial;
    for (let i = 1; i < a.length; i++) {
      const x = a[i];
      let j = i - 1;
      while (j >= 0 && ranksBelow(x, a[j], nowMs)) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = x;
    }
    for (let i = 0; i < a.length; i++) a[i].spatial = i;
  }
}

/**
 * Bits per pixel per frame a camera layer typically needs in VP8 (≈ 550 kbps at 640×360×30). A layer turned
 * off while its encoder was still ramping up measured too little; its standby rate is at least this, so
 * waking it does not allocate a bitrate the layer will not keep to.
 */
const EXPECTED_BITS_PER_PIXEL = 0.08;
/** Share of a layer's bits in temporal layers 0..t of three (L1T3: the base layer carries about half). */
const TEMPORAL_SHARE = [0.5, 0.75, 1, 1];

/** One spatial layer's options with each rate raised to at least what its size and frame rate need. */
function atLeastExpected(opts: LayerOption[]): LayerOption[] {
  let top = 0;
  let fullFps = 0;
  for (const o of opts) {
    if (o.temporal > top) top = o.temporal;
    if ((o.fps ?? 0) > fullFps) fullFps = o.fps ?? 0;
  }
  return opts.map((o) => {
    if (!o.width || !o.height || !(fullFps > 0)) return o;
    const share = top === 0 ? 1 : TEMPORAL_SHARE[Math.min(3, o.temporal + (2 - Math.min(2, top)))];
    const expected = o.width * o.height * Math.min(30, fullFps) * EXPECTED_BITS_PER_PIXEL * share;
    return o.bitrate >= expected ? o : { ...o, bitrate: Math.round(expected) };
  });
}

/** Whether layer `a` ranks below `b` (see the class comment). */
function ranksBelow(a: ProducerLayer, b: ProducerLayer, nowMs: number): boolean {
  const aSeen = a.lastPacketMs >= 0;
  const bSeen = b.lastPacketMs >= 0;
  if (aSeen !== bSeen) return !aSeen;
  if (a.width > 0 && b.width > 0) {
    const pa = a.width * a.height;
    const pb = b.width * b.height;
    if (pa !== pb) return pa < pb;
  }
  const ra = a.meter.bitrate(nowMs);
  const rb = b.meter.bitrate(nowMs);
  if (ra !== rb) return ra < rb;
  return a.index < b.index;
}
