/**
 * The receiving half of a load-generator participant: takes every RTP packet its subscribe NodePeer
 * decrypts, routes it by SSRC to an InboundStream (RTX unwrapped by its OSN, RFC 4588 §4), and sends the
 * feedback a browser would: NACKs and PLIs (RFC 4585 §6.2.1, §6.3.1) and transport-wide CC feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) so the SFU can estimate this receiver's link.
 */
import type { NodePeer } from '../../client/node-peer.ts';
import type { RtpView } from '../../../src/rtp/rtp-packet.ts';
import type { RtcpPacket } from '../../../src/rtp/rtcp-types.ts';
import { sendReceiverReports } from './receiver-report.ts';
import { readTransportSeq } from '../../../src/rtp/header-extensions.ts';
import { TwccFeedbackBuilder } from '../../../src/rtp/twcc-feedback-builder.ts';
import type { Clock, TimerHandle } from '../../../src/util/clock.ts';
import { InboundStream, type InboundStreamInfo, type InboundStreamReport } from './inbound-stream.ts';
import type { SendLog } from '../send-log.ts';

const FEEDBACK_MS = 25;
const TWCC_EVERY = 2; // every 50 ms, as browsers send it
const RR_EVERY = 40; // every second (RFC 3550 §6.2 allows far more at these rates; browsers send about this)
/** RFC 3550 §6.4.2: at most 31 report blocks per RR. */

/** What the receiver needs of the peer it answers through. */
export type FeedbackPeer = Pick<NodePeer, 'state' | 'rtcpSsrc' | 'sendNack' | 'sendPli' | 'sendRtcp'>;

export interface ReceiverOptions {
  /** Sender-side logs by publisher id, for end-to-end delay. */
  sendLogs?: (publisherId: string) => SendLog | null;
  freezeMs?: number;
  /** RTT assumed for NACK retries. */
  rttMs?: number;
  /** The generator's own stalls, so its hiccups are not blamed on the server. */
  stalls?: { blockedMs(fromMs: number, toMs: number): number };
  /** Send receiver reports (default true; off when something else reports for this peer). */
  receiverReports?: boolean;
  /**
   * Behave like a receiver that cannot use RTX (issue 13: Pion 3.1): every packet on an RTX SSRC and every
   * padding-only packet is thrown away on arrival, before the jitter buffer and before transport-wide CC
   * records it, so its feedback reports them "not received" (the sender sees them lost). Missing media
   * sequence numbers are still NACKed as a browser would. Default false.
   */
  discardRtx?: boolean;
}

export class LoadReceiver {
  /** Streams by media SSRC; RTX SSRCs map to the stream they repair. */
  private readonly bySsrc = new Map<number, { stream: InboundStream; rtx: boolean }>();
  private readonly streams: InboundStream[] = [];
  private readonly twcc = new TwccFeedbackBuilder();
  private transportCcExt = 0;
  private timer: TimerHandle | null = null;
  private tick = 0;
  private readonly nackOut: number[] = [];
  /** Packets for SSRCs no offer named (counted, not measured). */
  unknownPackets = 0;
  /** With `discardRtx`: RTX and padding-only packets thrown away unseen. */
  discardedRtx = 0;
  discardedPadding = 0;
  /** When the first video frame from anyone was decoded (clock ms). */
  firstFrameAt: number | null = null;

  /**
   * `peer` gives the peer to send feedback through (null until it exists); the owner passes every RTP
   * packet that peer decrypts to `handleRtp`.
   */
  constructor(
    private readonly peer: () => FeedbackPeer | null,
    private readonly clock: Clock,
    private readonly opts: ReceiverOptions = {},
  ) {
    this.timer = clock.setInterval(() => this.feedback(), FEEDBACK_MS);
  }

  /** Streams as the latest offer describes them; known SSRCs keep their state, missing ones are paused. */
  setStreams(infos: readonly InboundStreamInfo[], transportCcExt = 0): void {
    this.transportCcExt = transportCcExt;
    const live = new Set(infos.map((i) => i.ssrc));
    for (const s of this.streams) s.setActive(live.has(s.info.ssrc));
    for (const info of infos) {
      if (this.bySsrc.has(info.ssrc)) continue;
      const stalls = this.opts.stalls;
      const s = new InboundStream(info, () => this.opts.sendLogs?.(info.publisherId) ?? null, this.opts.freezeMs, stalls ? (a, b) => stalls.blockedMs(a, b) : undefined);
      this.streams.push(s);
      this.bySsrc.set(info.ssrc, { stream: s, rtx: false });
      if (info.rtxSsrc !== undefined) this.bySsrc.set(info.rtxSsrc, { stream: s, rtx: true });
    }
  }

  startWindow(): void {
    for (const s of this.streams) s.startWindow();
  }

  /** Reports of the streams that carried anything in the window, as of `now` (the window's end). */
  reports(now = this.clock.now()): InboundStreamReport[] {
    return this.streams.map((s) => s.report(now)).filter((r) => r.packets > 0 || r.expected > 0);
  }

  /** Cheap running totals for a progress line. */
  totals(): { streams: number; packets: number; bytes: number; frames: number; freezes: number } {
    const t = { streams: 0, packets: 0, bytes: 0, frames: 0, freezes: 0 };
    for (const s of this.streams) {
      if (s.active) t.streams++;
      const c = s.peek();
      t.packets += c.packets;
      t.bytes += c.bytes;
      t.frames += c.frames;
      t.freezes += c.freezes;
    }
    return t;
  }

  close(): void {
    if (this.timer) this.clock.clear(this.timer);
    this.timer = null;
  }

  /** RTCP from the server: sender reports feed the RR's LSR/DLSR (RFC 3550 §6.4.1). */
  handleRtcp(p: RtcpPacket): void {
    if (p.type !== 'sr') return;
    const e = this.bySsrc.get(p.ssrc);
    if (e && !e.rtx) e.stream.rtcpStats.onSenderReport(p.ntpSec, p.ntpFrac, this.clock.now());
  }

  handleRtp(v: RtpView): void {
    const now = this.clock.now();
    const entry = this.bySsrc.get(v.ssrc);
    if (this.opts.discardRtx === true && (entry?.rtx === true || v.isPaddingOnly())) {
      // Dropped before anything records it: no transport-wide arrival, no repair, no RTCP statistics.
      if (entry?.rtx === true) this.discardedRtx++;
      else this.discardedPadding++;
      return;
    }
    if (this.transportCcExt) {
      const tseq = readTransportSeq(v, this.transportCcExt);
      if (tseq >= 0) this.twcc.record(tseq, now);
    }
    if (!entry) {
      this.unknownPackets++;
      return;
    }
    if (entry.rtx) {
      if (v.payloadLength < 2) return;
      const osn = v.buf.readUInt16BE(v.payloadOffset);
      entry.stream.onPacket(osn, v.timestamp, v.marker, v.buf, v.payloadOffset + 2, v.payloadLength - 2, v.length, true, now);
    } else {
      entry.stream.onPacket(v.sequenceNumber, v.timestamp, v.marker, v.buf, v.payloadOffset, v.payloadLength, v.length, false, now);
    }
    if (this.firstFrameAt === null && entry.stream.frames?.stats.lastFrameMs != null) this.firstFrameAt = entry.stream.frames.stats.lastFrameMs;
  }

  private feedback(): void {
    const peer = this.peer();
    if (!peer || peer.state !== 'connected') return;
    const now = this.clock.now();
    const rtt = this.opts.rttMs ?? 50;
    for (const s of this.streams) {
      if (!s.active) continue;
      const ssrc = s.info.ssrc;
      if (s.nack && s.nack.collect(now, rtt, this.nackOut) > 0) {
        s.countNacks(this.nackOut.length);
        peer.sendNack(ssrc, this.nackOut);
      }
      if (s.wantsKeyframe(now)) peer.sendPli(ssrc);
    }
    this.tick++;
    if (this.tick % TWCC_EVERY === 0 && this.twcc.hasPending() && this.streams.length > 0) {
      for (const p of this.twcc.build(peer.rtcpSsrc, this.streams[0]!.info.ssrc)) peer.sendRtcp(p);
    }
    if (this.opts.receiverReports !== false && this.tick % RR_EVERY === 0) sendReceiverReports(peer, this.streams, now);
  }
}
