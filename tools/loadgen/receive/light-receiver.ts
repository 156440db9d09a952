/**
 * A counting receiver for capacity runs: what a subscriber needs to tell whether the SFU kept up (loss
 * after retransmission from sequence numbers, delay from timestamps) and to keep the SFU's feedback loops
 * honest (NACK, PLI, transport-wide CC, receiver reports), without the per-packet work a viewer does.
 *
 * The RTP header of an SRTP packet is in the clear (RFC 3711 §3.1), so most packets are read unauthenticated
 * and never decrypted; every `authEvery`-th packet, every RTX packet (its OSN is in the encrypted payload,
 * RFC 4588 §4) and every padded packet still goes through SRTP unprotect, so a server that sent garbage
 * would show as failed checks (NodePeer.drops). Delay: publishers stamp RTP timestamps from their send time
 * (ClipPublisher sendTimeTimestamps) and the SFU carries their sender reports forward shifted by its own
 * timestamp offset, so send time = SR wall time + (timestamp − SR timestamp) / clock rate (RFC 3550 §6.4.1),
 * on the machine's one clock.
 */
import type { NodePeer } from '../../client/node-peer.ts';
import { RtpView } from '../../../src/rtp/rtp-packet.ts';
import type { RtcpPacket } from '../../../src/rtp/rtcp-types.ts';
import { sendReceiverReports } from './receiver-report.ts';
import { readTransportSeq } from '../../../src/rtp/header-extensions.ts';
import { TwccFeedbackBuilder } from '../../../src/rtp/twcc-feedback-builder.ts';
import { NackGenerator } from '../../../src/media/nack-generator.ts';
import { ReceiveStats } from '../../../src/media/receive-stats.ts';
import { Unwrapper } from '../../../src/media/seq-unwrapper.ts';
import type { Clock } from '../../../src/util/clock.ts';
import { Histogram } from './histogram.ts';
import type { InboundStreamInfo } from './inbound-stream.ts';

const TWCC_EVERY = 2; // ticks of 25 ms: every 50 ms, as browsers send it
const RR_EVERY = 40; // every second
const SEEN = 8192;
/** Seconds from 1900 (NTP era 0) to 1970 (RFC 5905 §6). */
const NTP_UNIX_OFFSET = 2_208_988_800;
const PLI_MIN_MS = 500;

export type LightPeer = Pick<NodePeer, 'state' | 'rtcpSsrc' | 'sendNack' | 'sendPli' | 'sendRtcp' | 'drops'>;

export interface LightWindow {
  packets: number;
  bytes: number;
  expected: number;
  lost: number;
  rtxPackets: number;
  /** Packets read without authentication, and those that went through SRTP unprotect. */
  unauthenticated: number;
  authenticated: number;
  streams: number;
}

class LightStream {
  readonly nack: NackGenerator | null;
  readonly rtcpStats: ReceiveStats;
  readonly clockRate: number;
  private readonly unwrap = new Unwrapper(16);
  private readonly seen = new Float64Array(SEEN).fill(NaN);
  private firstExt = NaN;
  packets = 0;
  bytes = 0;
  rtxPackets = 0;
  /** The latest sender report: wall ms and RTP timestamp. */
  srWallMs = NaN;
  srRtp = 0;
  private lastPliMs = Number.NEGATIVE_INFINITY;
  active = true;

  constructor(readonly info: InboundStreamInfo) {
    this.nack = info.kind === 'video' ? new NackGenerator() : null;
    this.clockRate = info.kind === 'audio' ? 48000 : 90000;
    this.rtcpStats = new ReceiveStats(info.ssrc, this.clockRate);
  }

  /** `audioDelay`: a second histogram the packet's delay also goes to (audio streams, to tell them apart). */
  onPacket(seq: number, timestamp: number, bytes: number, repaired: boolean, nowMs: number, wallMs: number, delay: Histogram, audioDelay: Histogram | null): void {
    const ext = this.unwrap.unwrap(seq);
    if (Number.isNaN(this.firstExt)) this.firstExt = ext;
    this.bytes += bytes;
    if (repaired) this.rtxPackets++;
    else this.rtcpStats.onPacket(seq, timestamp, nowMs, bytes);
    const slot = ((ext % SEEN) + SEEN) % SEEN;
    if (this.seen[slot] === ext) return;
    this.seen[slot] = ext;
    this.packets++;
    this.nack?.onPacket(seq, nowMs);
    if (!repaired && !Number.isNaN(this.srWallMs)) {
      const d = wallMs - (this.srWallMs + (((timestamp - this.srRtp) | 0) * 1000) / this.clockRate);
      delay.add(d);
      audioDelay?.add(d);
    }
  }

  wantsKeyframe(nowMs: number): boolean {
    if (!this.nack || nowMs - this.lastPliMs < PLI_MIN_MS || !this.nack.clearKeyframeRequest()) return false;
    this.lastPliMs = nowMs;
    return true;
  }

  startWindow(): void {
    this.packets = 0;
    this.bytes = 0;
    this.rtxPackets = 0;
    this.firstExt = this.unwrap.hasValue ? this.unwrap.highestExt + 1 : NaN;
  }

  /** Expected and lost sequence numbers since the window started (lost: never received, even as RTX). */
  loss(): { expected: number; lost: number } {
    if (Number.isNaN(this.firstExt) || !this.unwrap.hasValue) return { expected: 0, lost: 0 };
    const expected = Math.max(0, this.unwrap.highestExt - this.firstExt + 1);
    if (expected > SEEN) return { expected, lost: Math.max(0, expected - this.packets) };
    let got = 0;
    for (let e = this.firstExt; e <= this.unwrap.highestExt; e++) if (this.seen[((e % SEEN) + SEEN) % SEEN] === e) got++;
    return { expected, lost: expected - got };
  }
}

export class LightReceiver {
  private readonly bySsrc = new Map<number, { stream: LightStream; rtx: boolean }>();
  private readonly streams: LightStream[] = [];
  private readonly twcc = new TwccFeedbackBuilder();
  private readonly view = new RtpView();
  private readonly nackOut: number[] = [];
  private transportCcExt = 0;
  private tickCount = 0;
  private sample = 0;
  unauthenticated = 0;
  authenticated = 0;
  unknownPackets = 0;

  constructor(
    private readonly peer: () => LightPeer | null,
    private readonly clock: Clock,
    /** Delay samples of every stream of this receiver (shared by a process's receivers, or its own). */
    readonly delay: Histogram = new Histogram(),
    private readonly authEvery = 16,
    /** Delay samples of audio streams alone (also in `delay`). */
    readonly audioDelay: Histogram = new Histogram(),
  ) {}

  /** Streams as the latest offer describes them (known SSRCs keep their state). */
  setStreams(infos: readonly InboundStreamInfo[], transportCcExt = 0): void {
    this.transportCcExt = transportCcExt;
    const live = new Set(infos.map((i) => i.ssrc));
    for (const s of this.streams) s.active = live.has(s.info.ssrc);
    for (const info of infos) {
      if (this.bySsrc.has(info.ssrc)) continue;
      const s = new LightStream(info);
      this.streams.push(s);
      this.bySsrc.set(info.ssrc, { stream: s, rtx: false });
      if (info.rtxSsrc !== undefined) this.bySsrc.set(info.rtxSsrc, { stream: s, rtx: true });
    }
  }

  /** NodePeer.onProtectedRtp: true when the packet was counted from its clear header. */
  handleProtected(buf: Buffer): boolean {
    // Padding (its count is the last, encrypted, octet), RTX and the auth sample go through unprotect.
    if ((buf[0]! & 0x20) !== 0 || ++this.sample >= this.authEvery) return false;
    const v = this.view;
    if (v.parse(buf, buf.length) !== null) return false;
    const entry = this.bySsrc.get(v.ssrc);
    if (entry?.rtx) return false;
    this.unauthenticated++;
    this.count(v, entry, buf.length);
    return true;
  }

  /** NodePeer.onRtp: a packet that was authenticated and decrypted. */
  handleRtp(v: RtpView): void {
    if (this.sample >= this.authEvery) this.sample = 0;
    this.authenticated++;
    const entry = this.bySsrc.get(v.ssrc);
    if (entry?.rtx) {
      if (v.payloadLength < 2) return this.recordTwcc(v); // padding-only probe
      const osn = v.buf.readUInt16BE(v.payloadOffset);
      this.recordTwcc(v);
      entry.stream.onPacket(osn, v.timestamp, v.length, true, this.clock.now(), this.clock.wallNow(), this.delay, null);
      return;
    }
    this.count(v, entry, v.length);
  }

  handleRtcp(p: RtcpPacket): void {
    if (p.type !== 'sr') return;
    const e = this.bySsrc.get(p.ssrc);
    if (!e || e.rtx) return;
    e.stream.rtcpStats.onSenderReport(p.ntpSec, p.ntpFrac, this.clock.now());
    e.stream.srWallMs = (p.ntpSec - NTP_UNIX_OFFSET) * 1000 + (p.ntpFrac / 0x1_0000_0000) * 1000;
    e.stream.srRtp = p.rtpTimestamp;
  }

  private recordTwcc(v: RtpView): void {
    if (!this.transportCcExt) return;
    const tseq = readTransportSeq(v, this.transportCcExt);
    if (tseq >= 0) this.twcc.record(tseq, this.clock.now());
  }

  private count(v: RtpView, entry: { stream: LightStream; rtx: boolean } | undefined, bytes: number): void {
    this.recordTwcc(v);
    if (!entry) {
      this.unknownPackets++;
      return;
    }
    const s = entry.stream;
    s.onPacket(v.sequenceNumber, v.timestamp, bytes, false, this.clock.now(), this.clock.wallNow(), this.delay, s.info.kind === 'audio' ? this.audioDelay : null);
  }

  /** Feedback, every 25 ms (one timer per process drives every receiver). */
  tick(): void {
    const peer = this.peer();
    if (!peer || peer.state !== 'connected') return;
    const now = this.clock.now();
    for (const s of this.streams) {
      if (!s.active) continue;
      if (s.nack && s.nack.collect(now, 50, this.nackOut) > 0) peer.sendNack(s.info.ssrc, this.nackOut);
      if (s.wantsKeyframe(now)) peer.sendPli(s.info.ssrc);
    }
    this.tickCount++;
    if (this.tickCount % TWCC_EVERY === 0 && this.twcc.hasPending() && this.streams.length > 0) {
      for (const p of this.twcc.build(peer.rtcpSsrc, this.streams[0]!.info.ssrc)) peer.sendRtcp(p);
    }
    if (this.tickCount % RR_EVERY === 0) sendReceiverReports(peer, this.streams, now);
  }

  startWindow(): void {
    for (const s of this.streams) s.startWindow();
    this.unauthenticated = 0;
    this.authenticated = 0;
  }

  window(): LightWindow {
    const w: LightWindow = { packets: 0, bytes: 0, expected: 0, lost: 0, rtxPackets: 0, unauthenticated: this.unauthenticated, authenticated: this.authenticated, streams: 0 };
    for (const s of this.streams) {
      const l = s.loss();
      if (s.packets === 0 && l.expected === 0) continue;
      w.streams++;
      w.packets += s.packets;
      w.bytes += s.bytes;
      w.rtxPackets += s.rtxPackets;
      w.expected += l.expected;
      w.lost += l.lost;
    }
    return w;
  }
}
