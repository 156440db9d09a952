import { countDrop } from '../metrics/drop-reasons.ts';
import { objectCounts, packetStats } from '../metrics/registry.ts';
import { RtpView, writeRtpHeader } from '../rtp/rtp-packet.ts';
import { ExtensionWriter } from '../rtp/extension-writer.ts';
import { writeRtx } from '../rtp/rtx.ts';
import { writeSr } from '../rtp/rtcp-reports.ts';
import { SeqRewriter } from './seq-rewriter.ts';
import type { Producer } from './producer.ts';
import type { OutgoingTransport, RtpSink } from './media-types.ts';

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

/** How many recent outgoing packets a NACK can name (power of two). */
const HISTORY = 1024;
const MAX_PACKET = 1500;
/** While waiting for a keyframe, ask again this often (requests or keyframes may be lost). */
const KEYFRAME_RETRY_MS = 1000;

/**
 * One subscriber's copy of one producer: decides whether to send a packet, rewrites its header (SSRC,
 * payload type, sequence number, timestamp) so the source can change without the browser seeing a jump,
 * and answers the subscriber's NACKs with RTX from the producer's cache.
 */
export class Consumer implements RtpSink {
  readonly id: string;
  /** Paused until the subscriber has applied the SDP that announces us, and when unsubscribed. */
  paused = true;
  closed = false;
  private waitingKeyframe: boolean;
  private readonly rewriter = new SeqRewriter();
  private readonly ext = new ExtensionWriter();
  private readonly out = Buffer.alloc(MAX_PACKET);
  private readonly rtxView = new RtpView();
  // Outgoing seq → source seq and outgoing timestamp, for NACK → RTX.
  private readonly histOutSeq = new Int32Array(HISTORY).fill(-1);
  private readonly histSrcSeq = new Uint16Array(HISTORY);
  private readonly histOutTs = new Uint32Array(HISTORY);
  private rtxSeq = Math.floor(Math.random() * 0x10000);
  /** outTs − srcTs of the last forwarded packet, for sender reports. */
  private tsOffset = 0;
  private sentAny = false;
  private keyframeAskedAt = -Infinity;
  packetsSent = 0;
  octetsSent = 0;

  constructor(
    readonly params: ConsumerParams,
    readonly producer: Producer,
    private readonly transport: OutgoingTransport,
  ) {
    this.id = params.id;
    this.waitingKeyframe = producer.kind === 'video';
    objectCounts.consumers++;
  }

  get kind() {
    return this.producer.kind;
  }

  /** Hot path: one packet from the producer. */
  forward(view: RtpView, keyframe: boolean, nowMs: number): void {
    if (this.paused) {
      countDrop('consumer_paused');
      return;
    }
    if (!this.transport.connected) {
      // Not yet reachable: do not spend the keyframe we are waiting for on a packet that cannot leave.
      countDrop('srtp_not_ready');
      return;
    }
    if (this.waitingKeyframe) {
      if (!keyframe) {
        countDrop('not_keyframe');
        // A PLI can be lost too: keep asking while we wait (the producer's throttle bounds the rate).
        if (nowMs - this.keyframeAskedAt >= KEYFRAME_RETRY_MS) this.askKeyframe(nowMs);
        return;
      }
      this.waitingKeyframe = false;
    }
    const r = this.rewriter;
    if (!r.rewrite(view.ssrc, view.sequenceNumber, view.timestamp, this.producer.params.clockRate, nowMs, keyframe || this.producer.kind === 'audio')) {
      // An old source after a switch, or older than the rewriter's history.
      countDrop('stale_source');
      return;
    }
    const ext = this.ext;
    ext.clear();
    const p = this.params;
    if (p.ext.transportCc) ext.setTransportSeq(p.ext.transportCc, this.transport.nextTransportSeq());
    if (p.ext.absSendTime) ext.setAbsSendTime(p.ext.absSendTime, absSendTime24(nowMs));
    if (p.ext.audioLevel && this.producer.params.kind === 'audio') {
      const lvl = this.producer.audioLevel;
      if (lvl >= 0) ext.setAudioLevel(p.ext.audioLevel, (lvl & 0x80) !== 0, lvl & 0x7f);
    }
    const out = this.out;
    const hl = writeRtpHeader(out, 0, { marker: view.marker, payloadType: p.payloadType, sequenceNumber: r.outSeq, timestamp: r.outTs, ssrc: p.ssrc }, ext);
    const len = hl + view.payloadLength;
    if (len > MAX_PACKET) {
      countDrop('too_large');
      return;
    }
    view.buf.copy(out, hl, view.payloadOffset, view.payloadOffset + view.payloadLength);
    const slot = r.outSeq & (HISTORY - 1);
    this.histOutSeq[slot] = r.outSeq;
    this.histSrcSeq[slot] = view.sequenceNumber;
    this.histOutTs[slot] = r.outTs;
    this.tsOffset = (r.outTs - view.timestamp) >>> 0;
    if (this.transport.sendRtp(out, len)) {
      this.sentAny = true;
      this.packetsSent++;
      this.octetsSent += view.payloadLength;
    }
  }

  skip(view: RtpView): void {
    if (!this.paused) this.rewriter.skip(view.ssrc, view.sequenceNumber);
  }

  /** The subscriber can now decode us: start sending, beginning at a keyframe. */
  resume(nowMs: number): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    if (this.producer.kind === 'video') {
      this.waitingKeyframe = true;
      // Before the transport connects a keyframe would be lost; restartAtKeyframe asks on connection.
      if (this.transport.connected) this.askKeyframe(nowMs);
    }
  }

  private askKeyframe(nowMs: number): void {
    this.keyframeAskedAt = nowMs;
    this.producer.requestKeyframe();
  }

  /** The path to the subscriber was (re)established: whatever went before is lost, start at a keyframe. */
  restartAtKeyframe(nowMs: number): void {
    if (this.closed || this.paused || this.producer.kind !== 'video') return;
    this.waitingKeyframe = true;
    this.askKeyframe(nowMs);
  }

  pause(): void {
    this.paused = true;
  }

  /** Subscriber's generic NACK (RFC 4585 §6.2.1): resend from the producer's cache, as RTX when negotiated. */
  onNack(seqs: readonly number[]): void {
    const cache = this.producer.cache;
    if (cache === null || this.paused) return;
    const p = this.params;
    for (const seq of seqs) {
      packetStats.nacksReceived++;
      const slot = seq & (HISTORY - 1);
      if (this.histOutSeq[slot] !== seq) {
        countDrop('nack_not_in_cache');
        continue;
      }
      const cached = cache.get(this.histSrcSeq[slot]);
      if (cached === null || this.rtxView.parse(cached.buf, cached.length) !== null) {
        countDrop('nack_not_in_cache');
        continue;
      }
      const v = this.rtxView;
      v.sequenceNumber = seq;
      v.timestamp = this.histOutTs[slot];
      const ext = this.ext;
      ext.clear();
      if (p.ext.transportCc) ext.setTransportSeq(p.ext.transportCc, this.transport.nextTransportSeq());
      let len: number;
      if (p.rtxSsrc !== null && p.rtxPayloadType !== null) {
        this.rtxSeq = (this.rtxSeq + 1) & 0xffff;
        len = writeRtx(this.out, 0, v, { payloadType: p.rtxPayloadType, sequenceNumber: this.rtxSeq, ssrc: p.rtxSsrc }, ext);
      } else {
        // No RTX negotiated: resend on the media SSRC (RFC 4585 §3.1 allows it).
        const hl = writeRtpHeader(this.out, 0, { marker: v.marker, payloadType: p.payloadType, sequenceNumber: seq, timestamp: v.timestamp, ssrc: p.ssrc }, ext);
        v.buf.copy(this.out, hl, v.payloadOffset, v.payloadOffset + v.payloadLength);
        len = hl + v.payloadLength;
      }
      if (len < 0) {
        countDrop('too_large');
        continue;
      }
      if (this.transport.sendRtp(this.out, len)) packetStats.rtxPacketsOut++;
    }
  }

  /**
   * RTCP SR for this stream (RFC 3550 §6.4.1). The NTP↔RTP pair comes from the publisher's own SR,
   * carried forward to now and shifted by our timestamp offset, so audio and video of one publisher stay
   * in sync at the subscriber. Null until both exist.
   */
  makeSenderReport(nowMs: number): Buffer | null {
    const sr = this.producer.lastSr;
    if (!this.sentAny || sr === null || this.paused) return null;
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
}

/** abs-send-time: 6.18 fixed-point seconds, 24 bits (webrtc.org abs-send-time extension). */
function absSendTime24(nowMs: number): number {
  return Math.floor((nowMs * 262.144) % 0x1000000);
}
