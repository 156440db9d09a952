import { TransportCcEstimator } from '../bwe/transport-cc-estimator.ts';
import { IngressGate, type IngressLimits } from './ingress-gate.ts';
import { countDrop } from '../metrics/drop-reasons.ts';
import { packetStats, repairStats } from '../metrics/registry.ts';
import type { RtpView } from '../rtp/rtp-packet.ts';
import { parseRtcp } from '../rtp/rtcp-compound.ts';
import type { RtcpPacket } from '../rtp/rtcp-types.ts';
import { rttMsFromReportBlock } from './sender-report-clock.ts';
import type { Consumer } from './consumer.ts';
import type { Clock } from '../util/clock.ts';
import type { TransportHandler, TransportState, WebRtcTransport } from '../transport/webrtc-transport.ts';
import { PacedSender, type PacedSenderOptions } from './paced-sender.ts';
import { DownlinkController, type DownlinkInputs, type DownlinkOptions } from './downlink-controller.ts';
import { NO_CAPS } from '../allocation/receive-caps.ts';
import { RtxDiscardDetector } from './rtx-discard-detector.ts';

export interface SubscribeSessionOptions {
  /** Priorities and device caps of this subscriber (default: equal priorities, no caps). */
  inputs?: DownlinkInputs;
  downlink?: DownlinkOptions;
  sender?: PacedSenderOptions;
  /** What the subscriber may send us (RTCP: feedback, reports, NACK, PLI; config limits.ingress), null = no limit. */
  ingress?: IngressLimits | null;
}

const EQUAL: DownlinkInputs = { priorityOf: () => 0, caps: () => NO_CAPS };

const SR_INTERVAL_MS = 1000;

/**
 * The send side of one subscriber's transport: owns its consumers, the paced sender every packet leaves
 * through and the bandwidth controller that picks their layers; answers the browser's feedback (NACK →
 * RTX, PLI/FIR → upstream keyframe request for the layer it gets, transport-cc/REMB/RR → the estimator)
 * and sends sender reports.
 */
export class SubscribeSession implements TransportHandler {
  readonly sender: PacedSender;
  readonly downlink: DownlinkController;
  /** Whether this subscriber throws our RTX away; its video consumers report repairs and NACKs to it. */
  readonly rtxWatch = new RtxDiscardDetector();
  private readonly bySsrc = new Map<number, Consumer>();
  private readonly list: Consumer[] = [];
  private readonly rtcpScratch: RtcpPacket[] = [];
  private readonly ingress: IngressGate | null;
  private lastSrMs = 0;
  /**
   * Nothing sent, received or queued since the last tick, and the downlink has nothing to re-decide: the
   * media loop ticks a quiet session every 200 ms only (MediaServer QUIET_EVERY). RTCP, consumer changes and
   * invalidate() clear it; packets starting to flow clear it at the next of those ticks.
   */
  quiet = false;
  /** Set by the media loop (see Tickable.onWake). */
  onWake: (() => void) | null = null;
  private sentAtTick = -1;
  /** Latest RTT to the subscriber from its receiver reports, -1 until measured. */
  rttMs = -1;
  twccFeedbacks = 0;
  rembs = 0;
  private closed = false;
  constructor(
    readonly transport: WebRtcTransport,
    private readonly clock: Clock,
    /** The owner's view of the transport's life (connected, failed, closed). */
    private readonly onState: (state: TransportState, reason?: string) => void,
    opts: SubscribeSessionOptions = {},
  ) {
    this.sender = new PacedSender(transport, clock, opts.sender);
    this.ingress = opts.ingress ? new IngressGate(opts.ingress, 'rtcp_rate_limited', (why) => this.flooded(why)) : null;
    this.downlink = new DownlinkController(this.sender, opts.inputs ?? EQUAL, opts.downlink);
    // On a lossy path, a media packet the browser's feedback reports lost is repaired at once. Not for a
    // subscriber that gets its repairs in the original stream: a guess that duplicates a packet it has (or
    // the NACK's repair) is dropped by its SRTP replay check (RFC 3711 §3.3.2) before transport-wide CC sees
    // it, so feedback reports the copy lost, which is repaired again: a loop that reads as 10–25 % loss.
    this.downlink.onPacketLost = (tseq) => this.sender.streamOf(tseq, this.onLostPacket);
    this.rtxWatch.onDetected = () => {
      repairStats.rtxDiscardingSubscribers++;
      this.sender.receiverDropsRtx = true;
      opts.downlink?.log?.info('subscriber discards RTX: repairs go in the original stream, no probe padding', {
        evidence: this.rtxWatch.byFeedback ? 'transport-wide feedback: RTX lost, media not' : 'NACKs again for repaired packets',
        repairs: this.rtxWatch.repairs,
        unheeded: this.rtxWatch.unheeded,
      });
    };
    this.downlink.onInvalidate = () => {
      if (this.quiet) this.wake();
    };
    transport.setHandler(this);
  }

  /** Live consumers, in the order they were added. */
  get consumers(): readonly Consumer[] {
    return this.list;
  }

  addConsumer(c: Consumer): void {
    if (this.quiet) this.wake();
    if (this.list.includes(c)) return;
    this.list.push(c);
    this.bySsrc.set(c.params.ssrc, c);
    if (c.params.rtxSsrc !== null) {
      this.bySsrc.set(c.params.rtxSsrc, c);
      this.sender.rtxSsrcs.add(c.params.rtxSsrc);
    }
    c.rtxWatch = this.rtxWatch;
    if (c.kind === 'video') this.sender.addPaddingSource(c);
    this.downlink.invalidate();
  }

  removeConsumer(c: Consumer): void {
    if (this.quiet) this.wake();
    const i = this.list.indexOf(c);
    if (i >= 0) this.list.splice(i, 1);
    this.bySsrc.delete(c.params.ssrc);
    if (c.params.rtxSsrc !== null) {
      this.bySsrc.delete(c.params.rtxSsrc);
      this.sender.rtxSsrcs.delete(c.params.rtxSsrc);
    }
    this.sender.removePaddingSource(c);
    this.downlink.invalidate();
  }

  /** Feedback reported lost, by stream: counted for the RTX-discard detector (RTX against media). */
  private rtxLost = 0;
  private mediaLost = 0;

  private readonly onLostPacket = (ssrc: number, seq: number): void => {
    if (this.sender.rtxSsrcs.has(ssrc)) {
      this.rtxLost++;
      return;
    }
    this.mediaLost++;
    if (!this.sender.lossy || this.rtxWatch.discarding) return;
    const c = this.bySsrc.get(ssrc);
    if (c !== undefined && c.params.ssrc === ssrc && c.kind === 'video') c.repairLost(seq);
  };

  /** Decide layers for the consumers now (before new ones start, so they start on the right layer). */
  allocateNow(): void {
    this.downlink.allocateNow(this.clock.now(), this.list);
  }

  onStateChange(state: TransportState, reason?: string): void {
    if (state === 'closed' || state === 'failed') this.close();
    this.onState(state, reason);
  }

  /** Stop sending: the queue is dropped (the transport closes on its own). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sender.close();
  }

  onRtp(_view: RtpView): void {
    // Subscribers' m-lines are sendonly from our side; nothing may arrive here.
    countDrop('unknown_ssrc');
  }

  /** The subscriber stayed over its RTCP limit: its transport fails, which disconnects it. */
  private flooded(why: string): void {
    if (this.closed || this.transport.state === 'closed') return;
    this.onState('failed', why);
  }

  onRtcp(buf: Buffer, length: number): void {
    if (this.quiet) this.wake();
    if (this.ingress !== null && !this.ingress.admit(length, this.clock.now())) return;
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
            c.keyframeRequestsReceived++;
            c.requestKeyframe();
          }
          break;
        }
        case 'fir':
          for (const e of pkt.entries) {
            const c = this.bySsrc.get(e.ssrc);
            if (c) {
              packetStats.keyframeRequestsReceived++;
              c.keyframeRequestsReceived++;
              c.requestKeyframe();
            }
          }
          break;
        case 'rr':
        case 'sr':
          for (const b of pkt.reports) {
            if (!this.bySsrc.has(b.ssrc) || b.lsr === 0) continue;
            const rtt = rttMsFromReportBlock(b.lsr, b.dlsr, this.clock.wallNow());
            if (rtt === null) continue;
            this.rttMs = this.rttMs < 0 ? rtt : 0.8 * this.rttMs + 0.2 * rtt;
            this.sender.rttMs = this.rttMs;
            this.downlink.onRtt(this.rttMs);
          }
          break;
        case 'twcc':
          this.twccFeedbacks++;
          this.downlink.onTransportFeedback(pkt, this.clock.now());
          break;
        case 'remb':
          this.rembs++;
          this.downlink.onRemb(pkt.bitrate, this.clock.now());
          break;
        default:
          break;
      }
    }
  }

  private wake(): void {
    this.quiet = false;
    this.onWake?.();
  }

  /** Called by the media loop every ~20 ms. */
  tick(now: number): void {
    if (this.closed) return;
    const sent = this.sender.counters;
    const est = this.downlink.estimator;
    this.rtxWatch.judgeFeedback(now, sent.rtxSent, this.rtxLost, sent.mediaSent, this.mediaLost, est instanceof TransportCcEstimator ? est.queueMs : 0);
    this.downlink.tick(now, this.list);
    const sentNow = sent.mediaSent + sent.rtxSent + sent.probePackets;
    const p = this.sender.pacer;
    this.quiet = sentNow === this.sentAtTick && p.queuedPackets === 0 && p.activeClusterId < 0 && this.downlink.quiet(now, this.list);
    this.sentAtTick = sentNow;
    if (!this.transport.connected || now - this.lastSrMs < SR_INTERVAL_MS) return;
    this.lastSrMs = now;
    for (const c of this.consumers) {
      const sr = c.makeSenderReport(now);
      if (sr) this.transport.sendRtcp(sr);
    }
  }
}
