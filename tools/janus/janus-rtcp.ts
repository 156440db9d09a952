/**
 * The RTCP a browser's receiver sends Janus and a bare NodePeer does not. Janus 1.1.2 needs it:
 * - it keeps packets for retransmission to a subscriber only once it knows that subscriber's RTT, which
 *   it learns from RR LSR/DLSR against its own SRs (ice.c sets nack_queue_ms only on an RTT change):
 *   without receiver reports, NACKs find nothing to resend;
 * - it maps incoming RTCP to an m-line by sender SSRC, else by the first report block or RTPFB media
 *   SSRC, never by PSFB. Our receive-only SSRC is not signalled, so a bare PLI lands on the first m-line
 *   (audio) and the VideoRoom drops it. Feedback goes in a compound led by an RR whose block is the video
 *   SSRC, which RFC 3550 §6.1 asks for anyway since Janus does not offer rtcp-rsize (RFC 5506).
 */
import { ReceiveStats } from '../../src/media/receive-stats.ts';
import { writeNack, writePli } from '../../src/rtp/rtcp-feedback.ts';
import { writeRr, writeSdesCname } from '../../src/rtp/rtcp-reports.ts';
import type { RtcpPacket } from '../../src/rtp/rtcp-types.ts';
import type { NodePeer } from '../client/node-peer.ts';
import type { OfferedTrack } from '../client/peer-sdp.ts';
import type { JanusLink } from './janus-link.ts';

export class SubscriberRtcp {
  /** Reception statistics by offered primary SSRC (RTX excluded, RFC 3550 §6.4.1 counts media). */
  readonly stats = new Map<number, ReceiveStats>();
  /** Compounds sent; lsrReports: those echoing an SR of Janus's (from then on Janus has an RTT and answers NACKs). */
  readonly counters = { reports: 0, lsrReports: 0, plis: 0, nacks: 0 };
  private readonly videoSsrc: number | undefined;
  private timer: NodeJS.Timeout | null = null;
  private lastRtcp: RtcpPacket | undefined;
  private rtpSeen = 0;

  constructor(
    private readonly peer: NodePeer,
    link: JanusLink,
    tracks: readonly OfferedTrack[],
    private readonly intervalMs = 1000,
  ) {
    for (const t of tracks) if (t.ssrc !== undefined) this.stats.set(t.ssrc, new ReceiveStats(t.ssrc, t.kind === 'audio' ? 48000 : 90000));
    this.videoSsrc = tracks.find((t) => t.kind === 'video')?.ssrc;
    link.afterDatagram = (buf) => this.observe(buf);
  }

  /** Sends receiver reports every intervalMs, from a random phase so many subscribers do not align. */
  start(): void {
    if (this.timer) return;
    const first = setTimeout(
      () => {
        this.report();
        this.timer = setInterval(() => this.report(), this.intervalMs);
        this.timer.unref();
      },
      Math.random() * this.intervalMs,
    );
    first.unref();
    this.timer = first;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer); // clears a timeout too
    this.timer = null;
  }

  /** PLI for the video stream, in an RR-led compound so Janus attributes it to video. */
  requestKeyframe(): void {
    if (this.videoSsrc === undefined) throw new Error('no video offered');
    this.send(this.videoSsrc, writePli(this.peer.rtcpSsrc, this.videoSsrc));
    this.counters.plis++;
  }

  /** Generic NACK for video sequence numbers, RR-led like requestKeyframe. */
  nack(seqs: readonly number[]): void {
    if (this.videoSsrc === undefined) throw new Error('no video offered');
    this.send(this.videoSsrc, writeNack(this.peer.rtcpSsrc, this.videoSsrc, seqs));
    this.counters.nacks++;
  }

  /** One compound per source: Janus reads only the first report block to pick the m-line. */
  private report(): void {
    if (this.peer.state !== 'connected') return;
    for (const [ssrc, st] of this.stats) if (st.hasNewPackets) this.send(ssrc);
  }

  private send(ssrc: number, feedback?: Buffer): void {
    if (this.peer.state !== 'connected') return;
    const block = this.stats.get(ssrc)?.makeReportBlock(performance.now());
    const parts = [writeRr(this.peer.rtcpSsrc, block ? [block] : []), writeSdesCname(this.peer.rtcpSsrc, this.peer.cname)];
    if (feedback) parts.push(feedback);
    this.peer.sendRtcp(Buffer.concat(parts));
    this.counters.reports++;
    if (block && block.lsr !== 0) this.counters.lsrReports++;
  }

  /** After the peer handled a datagram: SRTP leaves seq, timestamp and SSRC in clear; SRs come from peer.rtcp. */
  private observe(buf: Buffer): void {
    if (buf.length < 12 || buf[0] < 128 || buf[0] > 191) return;
    const now = performance.now();
    const pt = buf[1];
    if (pt >= 192 && pt <= 223) {
      const list = this.peer.rtcp;
      const fresh: RtcpPacket[] = [];
      for (let i = list.length - 1; i >= 0 && list[i] !== this.lastRtcp; i--) fresh.push(list[i]);
      if (list.length) this.lastRtcp = list[list.length - 1];
      for (const p of fresh) if (p.type === 'sr') this.stats.get(p.ssrc)?.onSenderReport(p.ntpSec, p.ntpFrac, now);
      return;
    }
    // Count only what the peer accepted (SRTP authenticated).
    if (this.peer.counters.rtpReceived === this.rtpSeen) return;
    this.rtpSeen = this.peer.counters.rtpReceived;
    this.stats.get(buf.readUInt32BE(8))?.onPacket(buf.readUInt16BE(2), buf.readUInt32BE(4), now, buf.length);
  }
}
