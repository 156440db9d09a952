import { countDrop } from '../metrics/drop-reasons.ts';
import { packetStats } from '../metrics/registry.ts';
import type { RtpView } from '../rtp/rtp-packet.ts';
import { parseRtcp } from '../rtp/rtcp-compound.ts';
import type { RtcpPacket, TwccPacket } from '../rtp/rtcp-types.ts';
import { rttMsFromReportBlock } from './sender-report-clock.ts';
import type { Consumer } from './consumer.ts';
import type { Clock } from '../util/clock.ts';
import type { TransportHandler, TransportState, WebRtcTransport } from '../transport/webrtc-transport.ts';

const SR_INTERVAL_MS = 1000;

/**
 * The send side of one subscriber's transport: owns its consumers, answers the browser's feedback
 * (NACK → RTX, PLI/FIR → upstream keyframe request for the layer it gets) and sends sender reports.
 */
export class SubscribeSession implements TransportHandler {
  private readonly bySsrc = new Map<number, Consumer>();
  private readonly rtcpScratch: RtcpPacket[] = [];
  private lastSrMs = 0;
  /** Latest RTT to the subscriber from its receiver reports, -1 until measured. */
  rttMs = -1;
  /** The latest transport-wide CC feedback from the browser (consumed by bandwidth estimation later). */
  lastTwcc: TwccPacket | null = null;
  twccFeedbacks = 0;
  constructor(
    readonly transport: WebRtcTransport,
    private readonly clock: Clock,
    /** The owner's view of the transport's life (connected, failed, closed). */
    readonly onStateChange: (state: TransportState, reason?: string) => void,
  ) {
    transport.setHandler(this);
  }

  get consumers(): Consumer[] {
    return [...new Set(this.bySsrc.values())];
  }

  addConsumer(c: Consumer): void {
    this.bySsrc.set(c.params.ssrc, c);
    if (c.params.rtxSsrc !== null) this.bySsrc.set(c.params.rtxSsrc, c);
  }

  removeConsumer(c: Consumer): void {
    this.bySsrc.delete(c.params.ssrc);
    if (c.params.rtxSsrc !== null) this.bySsrc.delete(c.params.rtxSsrc);
  }

  onRtp(_view: RtpView): void {
    // Subscribers' m-lines are sendonly from our side; nothing may arrive here.
    countDrop('unknown_ssrc');
  }

  onRtcp(buf: Buffer, length: number): void {
    const list = this.rtcpScratch;
    list.length = 0;
    const drop = parseRtcp(buf, length, list);
    if (drop !== null) {
      countDrop(drop);
      return;
    }
    for (const pkt of list) {
      switch (pkt.type) {
        case 'nack':
          this.bySsrc.get(pkt.mediaSsrc)?.onNack(pkt.seqs);
          break;
        case 'pli': {
          const c = this.bySsrc.get(pkt.mediaSsrc);
          if (c) {
            packetStats.keyframeRequestsReceived++;
            c.requestKeyframe();
          }
          break;
        }
        case 'fir':
          for (const e of pkt.entries) {
            const c = this.bySsrc.get(e.ssrc);
            if (c) {
              packetStats.keyframeRequestsReceived++;
              c.requestKeyframe();
            }
          }
          break;
        case 'rr':
        case 'sr':
          for (const b of pkt.reports) {
            if (!this.bySsrc.has(b.ssrc) || b.lsr === 0) continue;
            const rtt = rttMsFromReportBlock(b.lsr, b.dlsr, this.clock.wallNow());
            if (rtt !== null) this.rttMs = this.rttMs < 0 ? rtt : 0.8 * this.rttMs + 0.2 * rtt;
          }
          break;
        case 'twcc':
          this.lastTwcc = pkt;
          this.twccFeedbacks++;
          break;
        default:
          break;
      }
    }
  }

  /** Called by the media loop every ~20 ms. */
  tick(now: number): void {
    if (!this.transport.connected || now - this.lastSrMs < SR_INTERVAL_MS) return;
    this.lastSrMs = now;
    for (const c of this.consumers) {
      const sr = c.makeSenderReport(now);
      if (sr) this.transport.sendRtcp(sr);
    }
  }
}
