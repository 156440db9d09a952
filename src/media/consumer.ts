import { MAX_RED_DISTANCE, RedEncoder } from '../rtp/red.ts';
import { countDrop } from '../metrics/drop-reasons.ts';
import { objectCounts, packetStats, repairStats } from '../metrics/registry.ts';
import { RtpView, writeRtpHeader } from '../rtp/rtp-packet.ts';
import { ExtensionWriter } from '../rtp/extension-writer.ts';
import { writeRtx } from '../rtp/rtx.ts';
import { writeSr } from '../rtp/rtcp-reports.ts';
import { Vp8Descriptor, writePictureId, writeTl0PicIdx } from '../rtp/vp8.ts';
import { SeqRewriter } from './seq-rewriter.ts';
import { Renumberer } from './renumberer.ts';
import type { Producer } from './producer.ts';
import type { ProducerLayer } from './producer-layer.ts';
import type { LayerOption, LayerTarget } from '../allocation/types.ts';
import type { OutgoingTransport, PacketMeta, RtpSink } from './media-types.ts';
import type { PaddingSource } from './paced-sender.ts';
import type { RtxDiscardDetector } from './rtx-discard-detector.ts';
import { PRIORITY_AUDIO, PRIORITY_RETRANSMISSION, PRIORITY_VIDEO } from '../bwe/pacer.ts';
import type { HotHistogram } from '../metrics/hot-histogram.ts';

export interface ConsumerParams {
  id: string;
  /** Our SSRCs towards the subscriber (announced in the subscribe offer). */
  ssrc: number;
  rtxSsrc: number | null;
  payloadType: number;
  rtxPayloadType: number | null;
  /** Extension ids the subscriber accepted (0 = not negotiated). */
  ext: { transportCc: number; absSendTime: number; audioLevel: number };
}

/** The default target: the highest spatial and temporal layer the publisher sends. */
/** Earlier payloads each RED packet carries again: two lost in a row still cost nothing. */
const RED_DISTANCE = 2;

export const TOP_LAYER: LayerTarget = Object.freeze({ spatial: 255, temporal: 255 });

/** How many recent outgoing packets a NACK can name (power of two). */
const HISTORY = 1024;
const MAX_PACKET = 1500;
/** While waiting for a keyframe, ask again this often (requests or keyframes may be lost). */
const KEYFRAME_RETRY_MS = 1000;
/** A NACK for a packet resent less than this share of the RTT ago is answered by the resend in flight. */
const RESEND_RTT_SHARE = 0.5;
const MIN_RESEND_INTERVAL_MS = 10;
/** …but never longer than this: a browser re-asks about once per its own RTT estimate, which may be lower than ours. */
const MAX_RESEND_INTERVAL_MS = 40;
/** Probe padding resends one of the last this many packets (newest first). */
const PADDING_SPAN = 32;
/** RFC 3550 §5.1: the padding count is one byte. */
const MAX_PADDING = 255;
/** Picture ids: each dropped temporal-layer frame costs a change point; 64 cover several seconds. */
const PICTURE_HISTORY = 64;

/**
 * One subscriber's copy of one producer. Picks what to send — the simulcast layer and VP8 temporal layer
 * nearest its target — and rewrites every packet so the subscriber sees one continuous stream on our SSRC:
 * sequence numbers without gaps, timestamps that continue across layer switches, VP8 PictureID and
 * TL0PICIDX continuous. Answers the subscriber's NACKs with RTX from the right layer's cache.
 *
 * Spatial switches (docs/architecture.md, "Layers"): the target layer is re-resolved on every packet (the
 * highest layer sending in the last LAYER_FRESH_MS at or below the target). When it differs from the forwarded one, a keyframe is
 * requested on the target layer's SSRC and the current layer keeps flowing until the first packet of
 * that keyframe arrives; the switch happens exactly there, upwards and downwards alike. A paused target
 * (null) stops at once and restarts at a keyframe.
 *
 * Temporal layers (VP8 TID, RFC 7741 §4.2), decided at the first packet of each frame: down at once; up by
 * one layer at a frame of the next layer with the layer-sync bit Y set (it references only TL0 frames, so
 * everything of that layer from there on is decodable); straight to the target at a keyframe. A TL0 frame
 * alone is not a safe point: it does not refresh the reference buffers higher-layer frames may still use.
 * Frames above the current temporal layer are dropped and leave no gap in sequence numbers or PictureIDs.
 */
export class Consumer implements RtpSink, PaddingSource {
  readonly id: string;
  /** Paused until the subscriber has applied the SDP that announces us, and when unsubscribed. */
  paused = true;
  closed = false;
  /** Called after the forwarded layer changed (spatial switch, temporal step, paused by target). */
  onLayerChange: ((consumer: Consumer) => void) | null = null;
  /** Called when a packet was resent (NACK answer or probe padding): its seq as sent first, and the RTX seq (-1 without RTX). */
  onResend: ((seq: number, rtxSeq: number) => void) | null = null;
  /**
   * The subscriber's RTX-discard detector (one per subscribe session), told of RTX repairs and of NACKs that
   * come back for them; once it says `discarding`, repairs go in the original stream and no padding is sent.
   */
  rtxWatch: RtxDiscardDetector | null = null;
  /** Spatial switches done (the first layer counts as one). */
  switchCount = 0;
  packetsSent = 0;
  octetsSent = 0;
  /**
   * Audio: the payload type the subscriber took for RFC 2198 `red` (null: it did not, or video). While the
   * transport wants redundancy, each packet carries the previous RED_DISTANCE payloads again.
   */
  redPayloadType: number | null = null;
  private red: RedEncoder | null = null;
  /** Repair and keyframe traffic of this subscription (the recorder reads them once a second). */
  nacksReceived = 0;
  resendsSent = 0;
  keyframeRequestsReceived = 0;

  private targetPaused = false;
  private targetSpatial = TOP_LAYER.spatial;
  private targetTemporal = TOP_LAYER.temporal;
  /** The layer forwarded now (null: waiting for a keyframe) and the one we want to forward. */
  private cur: ProducerLayer | null = null;
  private want: ProducerLayer | null = null;
  /** Highest VP8 temporal layer forwarded now. */
  private curTemporal = TOP_LAYER.temporal;
  /** Layer of the last packet sent: its sender reports give our SR's NTP/RTP pair. */
  private srLayer: ProducerLayer | null = null;

  private readonly rewriter = new SeqRewriter();
  private readonly ext = new ExtensionWriter();
  private readonly out = Buffer.alloc(MAX_PACKET);
  private readonly rtxView = new RtpView();
  private readonly nackVp8 = new Vp8Descriptor();
  // Picture ids of the forwarded stream: one renumberer per field width, output continuous across switches.
  private readonly pic15 = new Renumberer(15, PICTURE_HISTORY);
  private readonly pic7 = new Renumberer(7, PICTURE_HISTORY);
  private picMap: Renumberer | null = null;
  private lastOutPicExt = -1;
  private tl0Offset = 0;
  private tl0Based = false;
  private lastOutTl0 = -1;
  /** Source timestamp of the newest forwarded frame and the interval between forwarded frames (ticks). */
  private lastFrameSrcTs = -1;
  private frameTicks: number;
  // Outgoing seq → source (layer, seq) and what we wrote (timestamp, PictureID, TL0PICIDX), for NACK → RTX.
  private readonly histOutSeq = new Int32Array(HISTORY).fill(-1);
  private readonly histSrcSeq = new Uint16Array(HISTORY);
  private readonly histLayer = new Uint8Array(HISTORY);
  private readonly histOutTs = new Uint32Array(HISTORY);
  private readonly histPic = new Int32Array(HISTORY);
  private readonly histTl0 = new Int16Array(HISTORY);
  private readonly histResentAt = new Float64Array(HISTORY).fill(-Infinity);
  /** When the first RTX of the packet left (-Infinity: none yet), and whether a NACK after it was counted. */
  private readonly histRtxAt = new Float64Array(HISTORY).fill(-Infinity);
  private readonly histUnheeded = new Uint8Array(HISTORY);
  /** Out seq of the keyframe the current layer started with (-1 before): packets before it are not repaired. */
  private switchOutSeq = -1;
  /** How far back from the newest packet the next probe padding resends. */
  private padBack = 0;
  private rtxSeq = Math.floor(Math.random() * 0x10000);
  /** outTs − srcTs of the last forwarded packet, for sender reports. */
  private tsOffset = 0;
  private sentAny = false;
  /** Where the time from `firstFrameSince` to the first video packet sent goes (measureFirstFrame); null once done. */
  private firstFrame: HotHistogram | null = null;
  private firstFrameSince = 0;
  /** packetsSent when the last two sender reports were asked for (makeSenderReport). */
  private packetsAtSr1 = 0;
  private packetsAtSr2 = 0;
  private keyframeAskedAt = -Infinity;
  /** Where the transport-wide seq of the packet in `out` goes (-1: not negotiated). */
  private tccOffset = -1;

  constructor(
    readonly params: ConsumerParams,
    readonly producer: Producer,
    private readonly transport: OutgoingTransport,
  ) {
    this.id = params.id;
    // Until measured: 30 fps.
    this.frameTicks = Math.round(producer.params.clockRate / 30);
    objectCounts.consumers++;
  }

  get kind() {
    return this.producer.kind;
  }

  /** What the allocator asked for; null = paused. Defaults to the top layer (TOP_LAYER). */
  get target(): LayerTarget | null {
    return this.targetPaused ? null : { spatial: this.targetSpatial, temporal: this.targetTemporal };
  }

  /** What is forwarded now (spatial rank, highest temporal layer), or null while paused or waiting for a keyframe. */
  get current(): LayerTarget | null {
    const l = this.cur;
    if (l === null) return null;
    const top = l.meter.topTemporal(this.producer.clock.now());
    return { spatial: l.spatial, temporal: Math.min(this.curTemporal, Math.max(0, top)) };
  }

  /** The publisher's stream forwarded now (its rid and last key frame size), null while none is. */
  get forwardedStream(): { rid: string | null; width: number; height: number } | null {
    const l = this.cur;
    return l === null ? null : { rid: l.rid, width: l.width, height: l.height };
  }

  /** Spatial rank of the layer whose keyframe we wait for to switch to it; null when none is pending. */
  get pendingSpatial(): number | null {
    if (this.paused || this.producer.kind !== 'video') return null;
    const w = this.resolveWant(this.producer.clock.now());
    return w !== null && w !== this.cur ? w.spatial : null;
  }

  /** Dynacast (RtpSink): the layer this subscriber is allocated, null when it takes none. */
  demand(): LayerTarget | null {
    return this.closed || this.producer.kind !== 'video' ? null : this.target;
  }

  /** The layers the publisher sends now, with measured bitrates (the allocator's input). */
  layers(): LayerOption[] {
    return this.producer.layerOptions(this.producer.clock.now());
  }

  /**
   * Forward this layer from now on (clamped to what is sent), or pause (null). A spatial change takes
   * effect at the target layer's next keyframe, which is requested now; a temporal change at the next frame
   * that allows it. Pausing is immediate, and so is an `urgent` step down (the old layer stops at once).
   */
  setTarget(target: LayerTarget | null, urgent = false): void {
    if (this.producer.kind !== 'video' || this.closed) return;
    const now = this.producer.clock.now();
    if (urgent && target !== null && this.cur !== null && !this.paused && this.cur.spatial > clampLayer(target.spatial)) {
      // The link cannot carry the current layer: stop it now and restart at the target's keyframe (a short
      // gap) instead of pushing it into an overflowing queue until that keyframe comes (a long freeze).
      this.targetPaused = false;
      this.targetSpatial = clampLayer(target.spatial);
      this.targetTemporal = clampLayer(target.temporal);
      this.startOver(now, this.transport.connected);
      this.onLayerChange?.(this);
      return;
    }
    if (target === null) {
      if (this.targetPaused) return;
      this.targetPaused = true;
      this.want = null;
      if (this.cur !== null) {
        this.cur = null;
        this.rewriter.detach();
        this.onLayerChange?.(this);
      }
      return;
    }
    this.targetPaused = false;
    this.targetSpatial = clampLayer(target.spatial);
    this.targetTemporal = clampLayer(target.temporal);
    if (this.paused) return;
    const want = this.resolveWant(now);
    if (want !== this.want) {
      this.want = want;
      if (want !== null && want !== this.cur && this.transport.connected) this.askKeyframe(now);
    }
  }

  /** Hot path: one packet from the producer. */
  forward(view: RtpView, meta: PacketMeta, nowMs: number): void {
    if (this.paused) {
      countDrop('consumer_paused');
      return;
    }
    if (!this.transport.connected) {
      // Not yet reachable: do not spend the keyframe we are waiting for on a packet that cannot leave.
      countDrop('srtp_not_ready');
      return;
    }
    if (this.producer.params.kind === 'audio') {
      this.send(view, meta, nowMs, true);
      return;
    }
    const layer = meta.layer;
    const want = this.resolveWant(nowMs);
    if (want !== this.want) {
      this.want = want;
      if (want !== null && want !== this.cur) this.askKeyframe(nowMs);
    } else if (want !== null && want !== this.cur && nowMs - this.keyframeAskedAt >= KEYFRAME_RETRY_MS) {
      // A PLI can be lost too: keep asking while we wait (the layer's throttle bounds the rate).
      this.askKeyframe(nowMs);
    }
    if (want === null) {
      countDrop('layer_paused');
      return;
    }
    if (layer === this.cur && view.ssrc !== this.rewriter.currentSsrc) {
      // The layer came back on a new SSRC (publisher restarted it): start again at its keyframe.
      this.cur = null;
      this.rewriter.detach();
    }
    let switching = false;
    if (layer !== this.cur) {
      if (layer !== want) {
        countDrop('layer_not_selected');
        return;
      }
      if (!meta.keyframe) {
        countDrop(this.cur === null ? 'not_keyframe' : 'switch_waiting_keyframe');
        return;
      }
      switching = true;
    }
    const vp8 = meta.vp8;
    if (vp8 !== null && vp8.tid >= 0 && !this.passTemporal(view, vp8, switching)) return;
    this.send(view, meta, nowMs, switching);
  }

  skip(view: RtpView, layer: ProducerLayer): void {
    if (!this.paused && layer === this.cur) this.rewriter.skip(view.ssrc, view.sequenceNumber);
  }

  /** Observe into `h` the time from `sinceMs` (this consumer's clock) to its first video packet sent. */
  measureFirstFrame(h: HotHistogram, sinceMs: number): void {
    if (this.producer.kind !== 'video' || this.sentAny) return;
    this.firstFrame = h;
    this.firstFrameSince = sinceMs;
  }

  /** The subscriber can now decode us: start sending, beginning at a keyframe. */
  resume(nowMs: number): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    // Before the transport connects a keyframe would be lost; restartAtKeyframe asks on connection.
    if (this.producer.kind === 'video') this.startOver(nowMs, this.transport.connected);
  }

  /** The path to the subscriber was (re)established: whatever went before is lost, start at a keyframe. */
  restartAtKeyframe(nowMs: number): void {
    if (this.closed || this.paused || this.producer.kind !== 'video') return;
    this.startOver(nowMs, true);
  }

  /** The subscriber lost something (PLI/FIR): ask for a keyframe of the layer it gets, or is about to get. */
  requestKeyframe(): void {
    const l = this.want ?? this.cur;
    if (l !== null) this.producer.requestKeyframe(l);
  }

  pause(): void {
    this.paused = true;
  }

  /** Subscriber's generic NACK (RFC 4585 §6.2.1): resend from the layer's cache, as RTX when negotiated. */
  onNack(seqs: readonly number[]): void {
    packetStats.nacksReceived += seqs.length;
    this.nacksReceived += seqs.length;
    this.resendSeqs(seqs, false);
  }

  /**
   * The subscriber's transport-wide feedback reported this packet lost (on a lossy path, see PacedSender):
   * repair it without waiting for a NACK, which a browser does not always send (or which is lost too).
   */
  repairLost(seq: number): void {
    this.lostScratch[0] = seq;
    this.resendSeqs(this.lostScratch, true);
  }

  private readonly lostScratch = [0];

  private resendSeqs(seqs: readonly number[], proactive: boolean): void {
    if (this.producer.kind !== 'video' || this.paused) return;
    if (this.targetPaused || this.cur === null) {
      // Paused, or starting over at a keyframe: the lost packets can no longer be decoded, a resend of them
      // would only take bandwidth from what can.
      for (let i = 0; i < seqs.length; i++) countDrop('nack_not_decodable');
      return;
    }
    const now = this.producer.clock.now();
    const rtt = this.transport.rttMs;
    const minGap = Math.min(MAX_RESEND_INTERVAL_MS, Math.max(MIN_RESEND_INTERVAL_MS, rtt > 0 ? rtt * RESEND_RTT_SHARE : 0));
    for (const seq of seqs) {
      const slot = seq & (HISTORY - 1);
      if (this.histOutSeq[slot] !== seq) {
        countDrop('nack_not_in_cache');
        continue;
      }
      if (!this.transport.lossy && this.switchOutSeq >= 0 && ((seq - this.switchOutSeq) & 0xffff) >= 0x8000) {
        // Sent before the keyframe the stream restarted from (a layer switch): the decoder can do without it,
        // and on a congested link the bandwidth is better spent. (On a lossy but uncongested one the repair
        // is cheap and may still complete the frame shown just before the switch.)
        countDrop('nack_not_decodable');
        continue;
      }
      const watch = this.rtxWatch;
      const rtxAt = this.histRtxAt[slot];
      if (!proactive && watch !== null && rtxAt !== -Infinity && this.histUnheeded[slot] === 0 && now - rtxAt > watch.judgeMs(rtt)) {
        // Asked again although an RTX of it left long enough ago to have arrived.
        this.histUnheeded[slot] = 1;
        watch.onUnheededRepair(now);
      }
      if (now - this.histResentAt[slot] < minGap) {
        countDrop('nack_too_soon');
        continue;
      }
      const rtx = this.usesRtx();
      const len = this.writeResend(seq);
      if (len < 0) continue;
      if (this.transport.sendRtp(this.out, len, PRIORITY_RETRANSMISSION, this.tccOffset)) {
        this.histResentAt[slot] = now;
        packetStats.rtxPacketsOut++;
        this.resendsSent++;
        if (proactive) packetStats.rtxProactiveOut++;
        if (rtx && rtxAt === -Infinity) {
          this.histRtxAt[slot] = now;
          watch?.onRepairSent(now);
        } else if (!rtx && this.params.rtxSsrc !== null) repairStats.originalStreamResends++;
        this.onResend?.(seq, rtx ? this.rtxSeq : -1);
        // A lossy path: a second copy (its own RTX seq), so a lost repair is not a lost frame.
        if (this.transport.lossy && rtx) {
          const again = this.writeResend(seq, true);
          if (again > 0 && this.transport.sendRtp(this.out, again, PRIORITY_RETRANSMISSION, this.tccOffset)) {
            packetStats.rtxPacketsOut++;
            this.resendsSent++;
            packetStats.rtxDuplicatesOut++;
            this.onResend?.(seq, this.rtxSeq);
          }
        }
      }
    }
  }

  /**
   * A probe cluster needs bytes (PaddingSource): resend one of the last packets as RTX — redundancy that
   * also repairs a loss — or, with nothing cached, an RTX padding-only packet (RFC 3550 §5.1). Never
   * before the first packet or without RTX: padding on the media SSRC would take sequence numbers. Nor to a
   * subscriber that discards RTX (rtxWatch): it would drop the padding unseen and report it lost, and a
   * padding-only packet in the media stream would take a sequence number such a receiver (it drops padding
   * too) sees as a hole and NACKs. Its probe clusters carry media only.
   */
  sendPadding(bytes: number, clusterId: number, _nowMs: number): number {
    const p = this.params;
    if (this.closed || this.paused || !this.sentAny || p.rtxSsrc === null || p.rtxPayloadType === null || !this.usesRtx()) return 0;
    const newest = this.rewriter.outSeq;
    for (let tries = 0; tries < PADDING_SPAN; tries++) {
      const seq = (newest - this.padBack) & 0xffff;
      this.padBack = (this.padBack + 1) % PADDING_SPAN;
      const slot = seq & (HISTORY - 1);
      if (this.histOutSeq[slot] !== seq) continue;
      // Much bigger than asked: a slow cluster of full-size packets would itself build the queue it measures.
      const cached = this.producer.layers[this.histLayer[slot]]?.cache?.get(this.histSrcSeq[slot]) ?? null;
      if (cached === null || cached.length > 2 * bytes) continue;
      const len = this.writeResend(seq, true);
      if (len > 0 && this.transport.sendProbe(this.out, len, this.tccOffset, clusterId)) {
        this.onResend?.(seq, this.rtxSeq);
        return len;
      }
    }
    const ext = this.ext;
    ext.clear();
    if (p.ext.transportCc) ext.setTransportSeq(p.ext.transportCc, 0);
    this.rtxSeq = (this.rtxSeq + 1) & 0xffff;
    const out = this.out;
    const hl = writeRtpHeader(out, 0, { marker: false, payloadType: p.rtxPayloadType, sequenceNumber: this.rtxSeq, timestamp: this.rewriter.outTs, ssrc: p.rtxSsrc }, ext);
    const n = Math.max(1, Math.min(MAX_PADDING, bytes - hl));
    out[0] |= 0x20;
    out.fill(0, hl, hl + n - 1);
    out[hl + n - 1] = n;
    this.tccOffset = p.ext.transportCc ? 12 + ext.dataOffset(p.ext.transportCc) : -1;
    return this.transport.sendProbe(out, hl + n, this.tccOffset, clusterId) ? hl + n : 0;
  }

  /** Repairs go as RTX: negotiated, and the subscriber has not shown that it throws RTX away. */
  private usesRtx(): boolean {
    return this.params.rtxSsrc !== null && this.params.rtxPayloadType !== null && !(this.rtxWatch?.discarding ?? false);
  }

  /**
   * Writes into `out` the packet sent as `seq`, as RTX when usesRtx() (RFC 4588 §4), else in the original
   * stream: our SSRC, the sequence number, timestamp and payload it was first sent with (RFC 4588 §1 notes
   * some systems do; RFC 4585 §3.1 allows it); -1 when it is gone from the cache. Sets `tccOffset`.
   */
  private writeResend(seq: number, quiet = false): number {
    const p = this.params;
    const out = this.out;
    const slot = seq & (HISTORY - 1);
    const cache = this.producer.layers[this.histLayer[slot]]?.cache ?? null;
    const cached = cache === null ? null : cache.get(this.histSrcSeq[slot]);
    if (cached === null || this.rtxView.parse(cached.buf, cached.length) !== null) {
      if (!quiet) countDrop('nack_not_in_cache');
      return -1;
    }
    const v = this.rtxView;
    v.sequenceNumber = seq;
    v.timestamp = this.histOutTs[slot];
    const ext = this.ext;
    ext.clear();
    if (p.ext.transportCc) ext.setTransportSeq(p.ext.transportCc, 0);
    let len: number;
    if (p.rtxSsrc !== null && p.rtxPayloadType !== null && this.usesRtx()) {
      this.rtxSeq = (this.rtxSeq + 1) & 0xffff;
      len = writeRtx(out, 0, v, { payloadType: p.rtxPayloadType, sequenceNumber: this.rtxSeq, ssrc: p.rtxSsrc }, ext);
    } else {
      const hl = writeRtpHeader(out, 0, { marker: v.marker, payloadType: p.payloadType, sequenceNumber: seq, timestamp: v.timestamp, ssrc: p.ssrc }, ext);
      len = hl + v.payloadLength <= out.length ? hl + v.payloadLength : -1;
      if (len > 0) v.buf.copy(out, hl, v.payloadOffset, v.payloadOffset + v.payloadLength);
    }
    if (len < 0) {
      countDrop('too_large');
      return -1;
    }
    this.tccOffset = p.ext.transportCc ? 12 + ext.dataOffset(p.ext.transportCc) : -1;
    // The cache holds the publisher's descriptor: write the PictureID / TL0PICIDX the subscriber got.
    const pic = this.histPic[slot];
    const tl0 = this.histTl0[slot];
    if ((pic >= 0 || tl0 >= 0) && this.nackVp8.parse(v.buf, v.payloadOffset, v.payloadLength) === null) {
      const base = len - v.payloadLength - v.payloadOffset;
      const d = this.nackVp8;
      if (pic >= 0 && d.pictureIdOffset >= 0) writePictureId(out, base + d.pictureIdOffset, d.pictureIdLength, pic);
      if (tl0 >= 0 && d.tl0PicIdxOffset >= 0) writeTl0PicIdx(out, base + d.tl0PicIdxOffset, tl0);
    }
    return len;
  }

  /**
   * RTCP SR for this stream (RFC 3550 §6.4.1). The NTP↔RTP pair comes from the publisher's own SR of the
   * layer forwarded, carried forward to now and shifted by our timestamp offset, so audio and video of one
   * publisher stay in sync at the subscriber. Null until both exist.
   */
  makeSenderReport(nowMs: number): Buffer | null {
    // RFC 3550 §6.4.1: an SR only from a sender that sent data since the last report or the one before.
    const sentLately = this.packetsSent !== this.packetsAtSr2;
    this.packetsAtSr2 = this.packetsAtSr1;
    this.packetsAtSr1 = this.packetsSent;
    const sr = this.srLayer?.lastSr ?? null;
    if (!this.sentAny || !sentLately || sr === null || this.paused) return null;
    const elapsedMs = nowMs - sr.arrivalMs;
    const ntp = sr.ntpSec + sr.ntpFrac / 0x1_0000_0000 + elapsedMs / 1000;
    const ntpSec = Math.floor(ntp);
    const ntpFrac = Math.floor((ntp - ntpSec) * 0x1_0000_0000);
    const rtp = (sr.rtpTimestamp + Math.round((elapsedMs * this.producer.params.clockRate) / 1000) + this.tsOffset) >>> 0;
    return writeSr({ ssrc: this.params.ssrc, ntpSec: ntpSec >>> 0, ntpFrac: ntpFrac >>> 0, rtpTimestamp: rtp, packetCount: this.packetsSent >>> 0, octetCount: this.octetsSent >>> 0 });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.paused = true;
    this.producer.removeSink(this);
    objectCounts.consumers--;
  }

  /** Wait for a keyframe of the wanted layer; output continues seamlessly from what was sent before. */
  private startOver(nowMs: number, ask: boolean): void {
    this.cur = null;
    this.rewriter.detach();
    this.want = this.resolveWant(nowMs);
    if (ask) this.askKeyframe(nowMs);
  }

  private askKeyframe(nowMs: number): void {
    this.keyframeAskedAt = nowMs;
    const l = this.want ?? this.cur;
    if (l !== null) this.producer.requestKeyframe(l);
  }

  /**
   * The highest layer at or below the target spatial rank that is sending; if none is, the lowest sending
   * one above it (a cap limits upgrades, not visibility); if nothing sends, the target rank itself.
   */
  private resolveWant(nowMs: number): ProducerLayer | null {
    if (this.targetPaused) return null;
    const layers = this.producer.bySpatial;
    const n = layers.length;
    if (n === 1) return layers[0];
    const top = this.targetSpatial < n - 1 ? this.targetSpatial : n - 1;
    for (let s = top; s >= 0; s--) if (layers[s].isFresh(nowMs)) return layers[s];
    for (let s = top + 1; s < n; s++) if (layers[s].isFresh(nowMs)) return layers[s];
    return layers[top];
  }

  /** Temporal layer decision (class comment); false = dropped and numbered away. */
  private passTemporal(view: RtpView, vp8: Vp8Descriptor, switching: boolean): boolean {
    if (vp8.startOfPartition && vp8.partitionId === 0) {
      const target = this.targetTemporal;
      let c = this.curTemporal;
      if (switching) c = target;
      else if (target < c) c = target;
      else if (target > c && vp8.layerSync && vp8.tid === c + 1) c = vp8.tid;
      if (c !== this.curTemporal) {
        this.curTemporal = c;
        if (!switching) this.onLayerChange?.(this);
      }
    }
    if (vp8.tid <= this.curTemporal) return true;
    countDrop('temporal_layer_dropped');
    this.rewriter.skip(view.ssrc, view.sequenceNumber);
    if (vp8.pictureId >= 0 && this.picMap !== null) this.picMap.skip(vp8.pictureId);
    return false;
  }

  /** Rewrite and send one packet; `switching`: it starts the stream of `meta.layer` (a keyframe). */
  private send(view: RtpView, meta: PacketMeta, nowMs: number, switching: boolean): void {
    const r = this.rewriter;
    const clockRate = this.producer.params.clockRate;
    if (!r.rewrite(view.ssrc, view.sequenceNumber, view.timestamp, clockRate, nowMs, switching, switching ? this.frameTicks : 1)) {
      // An old source after a switch, or older than the rewriter's history.
      countDrop('stale_source');
      return;
    }
    const layer = meta.layer;
    const video = this.producer.params.kind === 'video';
    if (switching && video) this.switched(layer);
    else if (!video) this.cur = layer;
    // Interval between forwarded frames (what dropping temporal layers leaves), for the next switch.
    const ts = view.timestamp;
    if (this.lastFrameSrcTs < 0) this.lastFrameSrcTs = ts;
    else {
      const d = (ts - this.lastFrameSrcTs) | 0;
      if (d > 0) {
        if (d < clockRate / 2) this.frameTicks = d;
        this.lastFrameSrcTs = ts;
      }
    }
    const ext = this.ext;
    ext.clear();
    const p = this.params;
    // The transport-wide seq is written when the packet leaves the pacer (send order, not forward order).
    if (p.ext.transportCc) ext.setTransportSeq(p.ext.transportCc, 0);
    if (p.ext.absSendTime) ext.setAbsSendTime(p.ext.absSendTime, absSendTime24(nowMs));
    if (p.ext.audioLevel && !video) {
      const lvl = this.producer.audioLevel;
      if (lvl >= 0) ext.setAudioLevel(p.ext.audioLevel, (lvl & 0x80) !== 0, lvl & 0x7f);
    }
    const out = this.out;
    const hl = writeRtpHeader(out, 0, { marker: view.marker, payloadType: p.payloadType, sequenceNumber: r.outSeq, timestamp: r.outTs, ssrc: p.ssrc }, ext);
    let len = hl + view.payloadLength;
    if (len > MAX_PACKET) {
      countDrop('too_large');
      return;
    }
    if (!video && this.redPayloadType !== null) len = hl + this.writeAudio(out, hl, view, r.outTs);
    else view.buf.copy(out, hl, view.payloadOffset, view.payloadOffset + view.payloadLength);
    this.tccOffset = p.ext.transportCc ? 12 + ext.dataOffset(p.ext.transportCc) : -1;
    let outPic = -1;
    let outTl0 = -1;
    const vp8 = meta.vp8;
    if (vp8 !== null) {
      // Rewritten in our copy: the source buffer is shared with the other sinks and the cache.
      const base = hl - view.payloadOffset;
      let newest = vp8.pictureId < 0;
      if (vp8.pictureId >= 0) {
        const pm = vp8.pictureIdLength === 15 ? this.pic15 : this.pic7;
        if (switching || pm !== this.picMap) {
          pm.reset(vp8.pictureId, this.lastOutPicExt >= 0 ? this.lastOutPicExt + 1 : vp8.pictureId);
          this.picMap = pm;
        }
        const e = pm.map(vp8.pictureId);
        if (!Number.isNaN(e)) {
          outPic = e & 0x7fff;
          if (e >= this.lastOutPicExt) {
            this.lastOutPicExt = e;
            newest = true;
          }
          writePictureId(out, base + vp8.pictureIdOffset, vp8.pictureIdLength, outPic);
        }
      }
      if (vp8.tl0PicIdx >= 0) {
        if (switching || !this.tl0Based) {
          // The keyframe opens a new TL0 picture right after the last one sent.
          this.tl0Offset = this.lastOutTl0 >= 0 ? (this.lastOutTl0 + 1 - vp8.tl0PicIdx) & 0xff : 0;
          this.tl0Based = true;
        }
        outTl0 = (vp8.tl0PicIdx + this.tl0Offset) & 0xff;
        if (newest) this.lastOutTl0 = outTl0;
        writeTl0PicIdx(out, base + vp8.tl0PicIdxOffset, outTl0);
      }
    }
    const slot = r.outSeq & (HISTORY - 1);
    this.histOutSeq[slot] = r.outSeq;
    this.histSrcSeq[slot] = view.sequenceNumber;
    this.histLayer[slot] = layer.index;
    this.histOutTs[slot] = r.outTs;
    this.histPic[slot] = outPic;
    this.histTl0[slot] = outTl0;
    this.tsOffset = (r.outTs - view.timestamp) >>> 0;
    this.srLayer = layer;
    this.histResentAt[slot] = -Infinity;
    this.histRtxAt[slot] = -Infinity;
    this.histUnheeded[slot] = 0;
    if (this.transport.sendRtp(out, len, video ? PRIORITY_VIDEO : PRIORITY_AUDIO, this.tccOffset)) {
      if (this.firstFrame !== null && video) {
        this.firstFrame.observe(nowMs - this.firstFrameSince);
        this.firstFrame = null;
      }
      this.sentAny = true;
      this.packetsSent++;
      this.octetsSent += view.payloadLength;
    }
    // Told last, so a listener that changes the target meets a consistent state.
    if (switching && video) this.onLayerChange?.(this);
  }

  /**
   * An audio payload into `out` at `at`: RED with the previous payloads while the path loses packets (the
   * header written with the red payload type), else as it came; either way remembered for redundancy.
   */
  private writeAudio(out: Buffer, at: number, view: RtpView, ts: number): number {
    const red = (this.red ??= new RedEncoder());
    const worst = at + view.payloadLength + MAX_RED_DISTANCE * (view.payloadLength + 4) + 1;
    if (this.transport.redWanted && worst <= MAX_PACKET) {
      out[1] = (out[1]! & 0x80) | this.redPayloadType!;
      return red.write(out, at, view.buf, view.payloadOffset, view.payloadLength, ts, this.params.payloadType, RED_DISTANCE);
    }
    red.remember(view.buf, view.payloadOffset, view.payloadLength, ts);
    view.buf.copy(out, at, view.payloadOffset, view.payloadOffset + view.payloadLength);
    return view.payloadLength;
  }

  /** A keyframe of `layer` starts its stream here. */
  private switched(layer: ProducerLayer): void {
    this.cur = layer;
    this.switchOutSeq = this.rewriter.outSeq;
    this.curTemporal = this.targetTemporal;
    // A new layer has its own timestamp base.
    this.lastFrameSrcTs = -1;
    this.switchCount++;
  }
}

function clampLayer(x: number): number {
  return Number.isFinite(x) ? Math.max(0, Math.min(255, Math.floor(x))) : x > 0 ? 255 : 0;
}

/** abs-send-time: 6.18 fixed-point seconds, 24 bits (webrtc.org abs-send-time extension). */
function absSendTime24(nowMs: number): number {
  return Math.floor((nowMs * 262.144) % 0x1000000);
}
