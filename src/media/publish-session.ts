import { countDrop } from '../metrics/drop-reasons.ts';
import { packetStats } from '../metrics/registry.ts';
import type { RtpView } from '../rtp/rtp-packet.ts';
import { readTransportSeq } from '../rtp/header-extensions.ts';
import { unwrapRtxInPlace } from '../rtp/rtx.ts';
import { parseRtcp } from '../rtp/rtcp-compound.ts';
import type { ReportBlock, RtcpPacket } from '../rtp/rtcp-types.ts';
import { writeNack, writePli } from '../rtp/rtcp-feedback.ts';
import { writeRr } from '../rtp/rtcp-reports.ts';
import { TwccFeedbackBuilder } from '../rtp/twcc-feedback-builder.ts';
import type { Producer } from './producer.ts';
import type { Clock } from '../util/clock.ts';
import type { TransportHandler, TransportState, WebRtcTransport } from '../transport/webrtc-transport.ts';

/** Feedback cadence towards a publisher. */
const TWCC_INTERVAL_MS = 50; // draft-holmer-rmcat-transport-wide-cc-extensions-01: feedback every 50–100 ms
const RR_INTERVAL_MS = 1000;
/** Until we can measure it, the RTT assumed for NACK retries towards the publisher. */
const PUBLISHER_RTT_MS = 50;

/**
 * The receive side of one publisher's transport: routes each RTP packet to its producer (RTX unwrapped
 * first), records transport-wide arrival times, and sends TWCC feedback, NACKs, PLIs and receiver reports.
 */
export class PublishSession implements TransportHandler {
  private readonly bySsrc = new Map<number, Producer>();
  private readonly byRtxSsrc = new Map<number, Producer>();
  private readonly twcc = new TwccFeedbackBuilder();
  private readonly rtcpScratch: RtcpPacket[] = [];
  private readonly nackScratch: number[] = [];
  /** Our SSRC as the sender of feedback (RFC 4585 §6.1 "packet sender"). */
  readonly senderSsrc = (Math.random() * 0xffffffff) >>> 0;
  transportCcExtId = 0;
  private lastTwccMs = 0;
  private lastRrMs = 0;
  constructor(
    readonly transport: WebRtcTransport,
    private readonly clock: Clock,
    /** The owner's view of the transport's life (connected, failed, closed). */
    readonly onStateChange: (state: TransportState, reason?: string) => void,
  ) {
    transport.setHandler(this);
  }

  get producers(): Producer[] {
    return [...this.bySsrc.values()];
  }

  addProducer(p: Producer): void {
    this.bySsrc.set(p.params.ssrc, p);
    if (p.params.rtxSsrc !== null) this.byRtxSsrc.set(p.params.rtxSsrc, p);
  }

  removeProducer(p: Producer): void {
    if (this.bySsrc.get(p.params.ssrc) === p) this.bySsrc.delete(p.params.ssrc);
    if (p.params.rtxSsrc !== null && this.byRtxSsrc.get(p.params.rtxSsrc) === p) this.byRtxSsrc.delete(p.params.rtxSsrc);
  }

  /** Hot path. */
  onRtp(view: RtpView): void {
    const now = this.clock.now();
    if (this.transportCcExtId) {
      const tseq = readTransportSeq(view, this.transportCcExtId);
      if (tseq >= 0) this.twcc.record(tseq, now);
    }
    let p = this.bySsrc.get(view.ssrc);
    if (p !== undefined) {
      p.onRtp(view, now, false);
      return;
    }
    p = this.byRtxSsrc.get(view.ssrc);
    if (p === undefined) {
      countDrop('unknown_ssrc');
      return;
    }
    packetStats.rtxPacketsIn++;
    if (view.payloadLength === 0) {
      // RTX padding: the publisher probing its uplink (it still counts for TWCC above).
      countDrop('padding_only');
      return;
    }
    // RFC 4588 §4: unwrap before anything else sees it, so the chain handles it like the original.
    const drop = unwrapRtxInPlace(view, p.params.ssrc, p.params.payloadType);
    if (drop !== null) {
      countDrop(drop);
      return;
    }
    p.onRtp(view, now, true);
  }

  onRtcp(buf: Buffer, length: number): void {
    const list = this.rtcpScratch;
    list.length = 0;
    const drop = parseRtcp(buf, length, list);
    if (drop !== null) {
      countDrop(drop);
      return;
    }
    const now = this.clock.now();
    for (const pkt of list) {
      if (pkt.type === 'sr') this.bySsrc.get(pkt.ssrc)?.onSenderReport(pkt.ntpSec, pkt.ntpFrac, pkt.rtpTimestamp, now);
    }
  }

  /** Called by the media loop every ~20 ms. */
  tick(now: number): void {
    if (!this.transport.connected) return;
    for (const p of this.bySsrc.values()) {
      const nack = p.nack;
      if (nack === null) continue;
      const n = nack.collect(now, PUBLISHER_RTT_MS, this.nackScratch);
      if (n > 0) {
        packetStats.nacksSent += n;
        this.transport.sendRtcp(writeNack(this.senderSsrc, p.params.ssrc, this.nackScratch.slice(0, n)));
      }
      if (nack.needsKeyframe) {
        nack.clearKeyframeRequest();
        p.requestKeyframe();
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
      for (const p of this.bySsrc.values()) {
        const b = p.stats.makeReportBlock(now);
        if (b) blocks.push(b);
      }
      if (blocks.length > 0) this.transport.sendRtcp(writeRr(this.senderSsrc, blocks.slice(0, 31)));
    }
  }

  /** Send a PLI for one producer (RFC 4585 §6.3.1); throttling happened in the producer. */
  sendPli(mediaSsrc: number): void {
    this.transport.sendRtcp(writePli(this.senderSsrc, mediaSsrc));
  }
}
