import { countDrop } from '../metrics/drop-reasons.ts';
import { packetStats } from '../metrics/registry.ts';
import type { RtpView } from '../rtp/rtp-packet.ts';
import { extBytesEqual, readTransportSeq } from '../rtp/header-extensions.ts';
import { unwrapRtxInPlace } from '../rtp/rtx.ts';
import { parseRtcp } from '../rtp/rtcp-compound.ts';
import type { ReportBlock, RtcpPacket } from '../rtp/rtcp-types.ts';
import { writeNack, writePli } from '../rtp/rtcp-feedback.ts';
import { writeRr } from '../rtp/rtcp-reports.ts';
import { TwccFeedbackBuilder } from '../rtp/twcc-feedback-builder.ts';
import type { Producer } from './producer.ts';
import type { ProducerLayer } from './producer-layer.ts';
import type { Clock } from '../util/clock.ts';
import type { TransportHandler, TransportState, WebRtcTransport } from '../transport/webrtc-transport.ts';
import { IngressGate, type IngressLimits } from './ingress-gate.ts';

/** Feedback cadence towards a publisher. */
const TWCC_INTERVAL_MS = 50; // draft-holmer-rmcat-transport-wide-cc-extensions-01: feedback every 50–100 ms
const RR_INTERVAL_MS = 1000;
/** Until we can measure it, the RTT assumed for NACK retries towards the publisher. */
const PUBLISHER_RTT_MS = 50;

/**
 * The receive side of one publisher's transport: routes each RTP packet to its producer's layer (RTX
 * unwrapped first), learns the SSRCs of rid-only simulcast layers from their header extensions, records
 * transport-wide arrival times, and sends TWCC feedback, NACKs, PLIs and receiver reports per SSRC.
 */
export class PublishSession implements TransportHandler {
  private readonly bySsrc = new Map<number, ProducerLayer>();
  private readonly byRtxSsrc = new Map<number, ProducerLayer>();
  private readonly list: Producer[] = [];
  /** Producers with RFC 8853 rids: their layers' SSRCs are learned from mid + rid (RFC 8852). */
  private readonly ridProducers: Producer[] = [];
  private readonly twcc = new TwccFeedbackBuilder();
  private readonly rtcpScratch: RtcpPacket[] = [];
  private readonly nackScratch: number[] = [];
  /** Our SSRC as the sender of feedback (RFC 4585 §6.1 "packet sender"). */
  readonly senderSsrc = (Math.random() * 0xffffffff) >>> 0;
  transportCcExtId = 0;
  /** Negotiated ids of the mid, rtp-stream-id and repaired-rtp-stream-id extensions (0 = not negotiated). */
  midExtId = 0;
  ridExtId = 0;
  repairedRidExtId = 0;
  private lastTwccMs = 0;
  private lastRrMs = 0;
  /**
   * Nothing arrived since the last tick and nothing waits (NACKs, feedback): the media loop ticks a quiet
   * session every 200 ms only (MediaServer QUIET_EVERY); any packet, RTCP or producer change clears it.
   */
  quiet = false;
  /** Set by the media loop (see Tickable.onWake). */
  onWake: (() => void) | null = null;
  private packetsIn = 0;
  private packetsInAtTick = 0;
  /** Set by learn(): the packet just learned is an RTX one. */
  private learnedRtx = false;
  /** The publisher's ingress limit (config limits.ingress), null = none. */
  private readonly ingress: IngressGate | null;
  constructor(
    readonly transport: WebRtcTransport,
    private readonly clock: Clock,
    /** The owner's view of the transport's life (connected, failed, closed). */
    readonly onStateChange: (state: TransportState, reason?: string) => void,
    ingress: IngressLimits | null = null,
  ) {
    transport.setHandler(this);
    this.ingress = ingress ? new IngressGate(ingress, 'ingress_rate_limited', (why) => this.flooded(why)) : null;
  }

  /** The publisher stayed over its ingress limit: its transport fails, which disconnects it. */
  private flooded(why: string): void {
    if (this.transport.state === 'closed') return;
    this.onStateChange('failed', why);
  }

  get producers(): Producer[] {
    return [...this.list];
  }

  addProducer(p: Producer): void {
    if (this.quiet) this.wake();
    if (this.list.includes(p)) return;
    this.list.push(p);
    if (p.simulcast) this.ridProducers.push(p);
    for (const l of p.layers) {
      if (l.ssrc !== 0) this.bySsrc.set(l.ssrc, l);
      if (l.rtxSsrc !== null) this.byRtxSsrc.set(l.rtxSsrc, l);
    }
  }

  removeProducer(p: Producer): void {
    if (this.quiet) this.wake();
    const i = this.list.indexOf(p);
    if (i >= 0) this.list.splice(i, 1);
    const j = this.ridProducers.indexOf(p);
    if (j >= 0) this.ridProducers.splice(j, 1);
    for (const l of p.layers) {
      if (this.bySsrc.get(l.ssrc) === l) this.bySsrc.delete(l.ssrc);
      if (l.rtxSsrc !== null && this.byRtxSsrc.get(l.rtxSsrc) === l) this.byRtxSsrc.delete(l.rtxSsrc);
    }
  }

  /** Hot path. */
  onRtp(view: RtpView): void {
    const now = this.clock.now();
    this.packetsIn++;
    if (this.quiet) this.wake();
    if (this.ingress !== null && !this.ingress.admit(view.length, now)) return;
    if (this.transportCcExtId) {
      const tseq = readTransportSeq(view, this.transportCcExtId);
      if (tseq >= 0) this.twcc.record(tseq, now);
    }
    let l = this.bySsrc.get(view.ssrc);
    if (l !== undefined) {
      l.producer.onRtp(view, now, false, l);
      return;
    }
    l = this.byRtxSsrc.get(view.ssrc);
    if (l === undefined) {
      // Only until each simulcast layer's SSRCs are known: its first packets name it (RFC 8852 §3).
      const learned = this.learn(view);
      if (learned === null) return;
      l = learned;
      if (!this.learnedRtx) {
        l.producer.onRtp(view, now, false, l);
        return;
      }
    }
    packetStats.rtxPacketsIn++;
    if (view.payloadLength === 0) {
      // RTX padding: the publisher probing its uplink (it still counts for TWCC above).
      countDrop('padding_only');
      return;
    }
    if (l.ssrc === 0) {
      // A simulcast layer's repair stream before its media stream: nothing to restore it into yet.
      countDrop('rtx_unknown_ssrc');
      return;
    }
    const p = l.producer;
    // RFC 4588 §4: unwrap before anything else sees it, so the chain handles it like the original.
    const drop = unwrapRtxInPlace(view, l.ssrc, p.params.payloadType);
    if (drop !== null) {
      countDrop(drop);
      return;
    }
    p.onRtp(view, now, true, l);
  }

  /**
   * An unknown SSRC: if its rtp-stream-id (or, on RTX, repaired-rtp-stream-id, RFC 8852 §3.2) and mid name
   * a simulcast layer, bind the SSRC to it; otherwise drop, counted. Compares bytes in place: a stream that
   * never names itself costs no allocation either.
   */
  private learn(view: RtpView): ProducerLayer | null {
    if (this.ridProducers.length === 0) {
      countDrop('unknown_ssrc');
      return null;
    }
    let rtx = false;
    let o = this.ridExtId ? view.findExtension(this.ridExtId) : -1;
    if (o < 0 && this.repairedRidExtId) {
      o = view.findExtension(this.repairedRidExtId);
      rtx = o >= 0;
    }
    if (o < 0) {
      countDrop('unknown_ssrc');
      return null;
    }
    const ridOffset = o;
    const ridLength = view.lastExtLength;
    let p: Producer | null = null;
    const mo = this.midExtId ? view.findExtension(this.midExtId) : -1;
    if (mo >= 0) {
      const mlen = view.lastExtLength;
      for (const x of this.ridProducers) if (extBytesEqual(view, mo, mlen, x.midBytes)) p = x;
    } else if (this.ridProducers.length === 1) {
      // No mid (RFC 8852 allows it outside BUNDLE): unambiguous with one simulcast track.
      p = this.ridProducers[0];
    }
    const layer = p === null ? null : p.layerByRid(view.buf, ridOffset, ridLength);
    if (p === null || layer === null) {
      countDrop('rid_unknown');
      return null;
    }
    // RTX that names its layer with rtp-stream-id instead of repaired-rtp-stream-id: the payload type tells.
    if (!rtx && p.params.rtxPayloadType !== null && view.payloadType === p.params.rtxPayloadType) rtx = true;
    if (rtx) {
      if (layer.rtxSsrc !== null && this.byRtxSsrc.get(layer.rtxSsrc) === layer) this.byRtxSsrc.delete(layer.rtxSsrc);
      layer.bindRtx(view.ssrc);
      this.byRtxSsrc.set(view.ssrc, layer);
    } else {
      if (layer.ssrc !== 0 && this.bySsrc.get(layer.ssrc) === layer) this.bySsrc.delete(layer.ssrc);
      layer.bind(view.ssrc);
      this.bySsrc.set(view.ssrc, layer);
    }
    this.learnedRtx = rtx;
    return layer;
  }

  onRtcp(buf: Buffer, length: number): void {
    const now = this.clock.now();
    if (this.quiet) this.wake();
    if (this.ingress !== null && !this.ingress.admit(length, now)) return;
    const list = this.rtcpScratch;
    list.length = 0;
    const drop = parseRtcp(buf, length, list);
    if (drop !== null) {
      countDrop(drop);
      return;
    }
    for (const pkt of list) {
      if (pkt.type !== 'sr') continue;
      const l = this.bySsrc.get(pkt.ssrc);
      l?.producer.onSenderReport(pkt.ntpSec, pkt.ntpFrac, pkt.rtpTimestamp, now, l);
    }
  }

  private wake(): void {
    this.quiet = false;
    this.onWake?.();
  }

  /** Called by the media loop every ~20 ms. */
  tick(now: number): void {
    for (const p of this.list) p.tick(now);
    const heard = this.packetsIn !== this.packetsInAtTick;
    this.packetsInAtTick = this.packetsIn;
    if (!this.transport.connected) {
      this.quiet = true;
      return;
    }
    let missing = 0;
    for (const l of this.bySsrc.values()) {
      const nack = l.nack;
      if (nack === null) continue;
      const n = nack.collect(now, PUBLISHER_RTT_MS, this.nackScratch);
      missing += nack.missingCount;
      if (n > 0) {
        packetStats.nacksSent += n;
        this.transport.sendRtcp(writeNack(this.senderSsrc, l.ssrc, this.nackScratch.slice(0, n)));
      }
      if (nack.needsKeyframe) {
        nack.clearKeyframeRequest();
        l.requestKeyframe();
      }
    }
    if (now - this.lastTwccMs >= TWCC_INTERVAL_MS && this.twcc.hasPending()) {
      this.lastTwccMs = now;
      const mediaSsrc = this.bySsrc.keys().next().value ?? 0;
      for (const pkt of this.twcc.build(this.senderSsrc, mediaSsrc)) this.transport.sendRtcp(pkt);
    }
    if (now - this.lastRrMs >= RR_INTERVAL_MS) {
      this.lastRrMs = now;
      const blocks: ReportBlock[] = [];
      for (const l of this.bySsrc.values()) {
        // RFC 3550 §6.3.5: a source silent for two report intervals is no longer a sender, so no block for it
        // (and a publisher that sends nothing gets no receiver reports).
        if (now - l.lastPacketMs > 2 * RR_INTERVAL_MS) continue;
        const b = l.stats.makeReportBlock(now);
        if (b) blocks.push(b);
      }
      if (blocks.length > 0) this.transport.sendRtcp(writeRr(this.senderSsrc, blocks.slice(0, 31)));
    }
    this.quiet = !heard && missing === 0 && !this.twcc.hasPending();
  }

  /** Send a PLI for one SSRC (RFC 4585 §6.3.1); throttling happened in the layer. */
  sendPli(mediaSsrc: number): void {
    this.transport.sendRtcp(writePli(this.senderSsrc, mediaSsrc));
  }
}
