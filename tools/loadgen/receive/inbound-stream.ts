/**
 * One received media stream (an SSRC and its RTX SSRC) as a person would feel it: bitrate, loss left after
 * retransmission, end-to-end delay of each packet, and for video the frames shown (FrameTracker).
 * Video losses are NACKed (RFC 4585 §6.2.1) like a browser does; audio is not (Opus has no NACK in
 * browsers), so its losses are final.
 */
import { NackGenerator } from '../../../src/media/nack-generator.ts';
import { ReceiveStats } from '../../../src/media/receive-stats.ts';
import { Unwrapper } from '../../../src/media/seq-unwrapper.ts';
import { Vp8Descriptor } from '../../../src/rtp/vp8.ts';
import { FrameTracker, type FrameStats } from './frame-tracker.ts';
import { Histogram } from './histogram.ts';
import type { SendLog } from '../send-log.ts';
import type { OfferedTrack } from '../../client/peer-sdp.ts';

export interface InboundStreamInfo {
  publisherId: string;
  kind: 'audio' | 'video';
  ssrc: number;
  rtxSsrc?: number;
}

/** The streams a subscribe offer sends us, and its transport-cc extension id (0 = none). */
export function inboundStreamsOf(tracks: readonly OfferedTrack[]): { infos: InboundStreamInfo[]; transportCcExt: number } {
  let transportCcExt = 0;
  const infos: InboundStreamInfo[] = [];
  for (const t of tracks) {
    if (t.direction !== 'sendonly' || t.ssrc === undefined || !t.streamId) continue;
    if (t.ext.transportCc) transportCcExt = t.ext.transportCc;
    infos.push({ publisherId: t.streamId, kind: t.kind, ssrc: t.ssrc, ...(t.rtxSsrc !== undefined ? { rtxSsrc: t.rtxSsrc } : {}) });
  }
  return { infos, transportCcExt };
}

export interface InboundStreamReport {
  publisherId: string;
  kind: 'audio' | 'video';
  packets: number;
  bytes: number;
  /** Payload bytes of the packets counted in `packets` (each sequence number once, repairs included). */
  payloadBytes: number;
  /** Sequence numbers expected in the measured window. */
  expected: number;
  /** Expected but never received, even after retransmission. */
  lost: number;
  rtxPackets: number;
  duplicates: number;
  nacksSent: number;
  plisSent: number;
  frames: FrameStats | null;
  /** Sender → this receiver, per packet (ms). */
  delay: Histogram;
  /**
   * Longest time between two new packets (first arrivals of a sequence number, RTX repairs included) in
   * the window, the gap running into it from before and one still going on at report time included. For
   * audio this is what a listener hears as a dropout (Opus is not NACKed); 0 before a second packet.
   */
  maxArrivalGapMs: number;
  /** Arrival gaps of at least LONG_GAP_MS in the window, as [end ms, gap ms] (the first 100; one still going on ends at report time). */
  longGaps: Array<[number, number]>;
}

/** Three Opus packets missing in a row: the shortest gap `longGaps` lists. */
export const LONG_GAP_MS = 60;
const MAX_LONG_GAPS = 100;

/** Ring of recently seen extended seqs, to count duplicates and losses exactly. */
const SEEN = 8192;

export class InboundStream {
  readonly nack: NackGenerator | null;
  readonly frames: FrameTracker | null;
  /** RFC 3550 §6.4.2 reception statistics for receiver reports (originals only, §A.3). */
  readonly rtcpStats: ReceiveStats;
  private readonly unwrap = new Unwrapper(16);
  private readonly seen = new Float64Array(SEEN).fill(NaN);
  private readonly vp8 = new Vp8Descriptor();
  private firstExt = NaN;
  private r: InboundStreamReport;
  private lastPliMs = Number.NEGATIVE_INFINITY;
  private sendLog: SendLog | null = null;
  /** Arrival of the latest new packet (NaN: none yet, or the stream was paused since). */
  private lastArrivalMs = NaN;
  private maxArrivalGapMs = 0;

  constructor(
    readonly info: InboundStreamInfo,
    /** The publisher's send log, looked up until found (the publisher may register it after we exist). */
    private readonly findSendLog: () => SendLog | null,
    freezeMs = 200,
    blockedMs?: (fromMs: number, toMs: number) => number,
  ) {
    this.nack = info.kind === 'video' ? new NackGenerator() : null;
    this.frames = info.kind === 'video' ? new FrameTracker(freezeMs, blockedMs) : null;
    this.rtcpStats = new ReceiveStats(info.ssrc, info.kind === 'audio' ? 48000 : 90000);
    this.r = this.emptyReport();
  }

  /** The payload at buf[offset, offset+length) of packet `seq`; `repaired` when it came as RTX. */
  onPacket(seq: number, timestamp: number, marker: boolean, buf: Buffer, offset: number, length: number, packetBytes: number, repaired: boolean, nowMs: number): void {
    const ext = this.unwrap.unwrap(seq);
    if (Number.isNaN(this.firstExt)) this.firstExt = ext;
    const slot = ((ext % SEEN) + SEEN) % SEEN;
    const r = this.r;
    r.bytes += packetBytes;
    if (!repaired) this.rtcpStats.onPacket(seq, timestamp, nowMs, packetBytes);
    if (repaired) r.rtxPackets++;
    if (this.seen[slot] === ext) {
      r.duplicates++;
      return;
    }
    this.seen[slot] = ext;
    r.packets++;
    r.payloadBytes += length;
    if (!Number.isNaN(this.lastArrivalMs)) {
      const gap = nowMs - this.lastArrivalMs;
      if (gap > this.maxArrivalGapMs) this.maxArrivalGapMs = gap;
      if (gap >= LONG_GAP_MS && r.longGaps.length < MAX_LONG_GAPS) r.longGaps.push([nowMs, gap]);
    }
    this.lastArrivalMs = nowMs;
    this.nack?.onPacket(seq, nowMs);
    if (!repaired && (this.sendLog ??= this.findSendLog())) {
      const sent = this.sendLog.sentAt(buf, offset, length);
      if (sent >= 0) r.delay.add(nowMs - sent);
    }
    if (this.frames) {
      const start = this.vp8.parse(buf, offset, length) === null && this.vp8.startOfPartition && this.vp8.partitionId === 0;
      this.frames.onPacket(seq, timestamp, marker, start, start && this.vp8.isKeyframe, nowMs);
    }
  }

  /** Whether to send a PLI now (a broken chain or losses NACK cannot repair), at most every `minIntervalMs`. */
  wantsKeyframe(nowMs: number, minIntervalMs = 500): boolean {
    if (!this.frames || nowMs - this.lastPliMs < minIntervalMs) return false;
    const want = (this.nack?.clearKeyframeRequest() ?? false) || this.frames.stalled(nowMs);
    if (want) {
      this.lastPliMs = nowMs;
      this.r.plisSent++;
    }
    return want;
  }

  countNacks(n: number): void {
    this.r.nacksSent += n;
  }

  /** Whether the latest offer still sends this stream. */
  active = true;

  setActive(active: boolean): void {
    if (active === this.active) return;
    this.active = active;
    // Off on purpose is no dropout: gaps start over with the first packet after it is back.
    this.lastArrivalMs = NaN;
    if (active) this.frames?.resume();
    else this.frames?.pause();
  }

  /** Running counters of the window, without the loss count (cheap, for progress lines). */
  peek(): { packets: number; bytes: number; frames: number; freezes: number } {
    return { packets: this.r.packets, bytes: this.r.bytes, frames: this.frames?.stats.framesDecoded ?? 0, freezes: this.frames?.stats.freezes ?? 0 };
  }

  /** Start a new measured window: counters from zero, the decoder chain and the seq state kept. */
  startWindow(): void {
    this.r = this.emptyReport();
    this.maxArrivalGapMs = 0;
    this.firstExt = this.unwrap.hasValue ? this.unwrap.highestExt + 1 : NaN;
    this.frames?.resetStats();
  }

  /** The window's report; `expected`/`lost` exclude the last `graceMs` worth of packets still in repair. */
  report(nowMs: number): InboundStreamReport {
    const r = this.r;
    if (!Number.isNaN(this.firstExt) && this.unwrap.hasValue) {
      r.expected = Math.max(0, this.unwrap.highestExt - this.firstExt + 1);
      let got = 0;
      for (let e = this.firstExt; e <= this.unwrap.highestExt; e++) if (this.seen[((e % SEEN) + SEEN) % SEEN] === e) got++;
      // Beyond the ring we cannot tell: count what we counted.
      r.lost = r.expected <= SEEN ? r.expected - got : Math.max(0, r.expected - r.packets);
    }
    if (this.frames) r.frames = this.frames.snapshot(nowMs);
    const ongoing = this.active && !Number.isNaN(this.lastArrivalMs) ? nowMs - this.lastArrivalMs : 0;
    r.maxArrivalGapMs = Math.max(this.maxArrivalGapMs, ongoing);
    if (ongoing >= LONG_GAP_MS) return { ...r, longGaps: [...r.longGaps, [nowMs, ongoing]] };
    return r;
  }

  private emptyReport(): InboundStreamReport {
    return { publisherId: this.info.publisherId, kind: this.info.kind, packets: 0, bytes: 0, payloadBytes: 0, expected: 0, lost: 0, rtxPackets: 0, duplicates: 0, nacksSent: 0, plisSent: 0, frames: null, delay: new Histogram(), maxArrivalGapMs: 0, longGaps: [] };
  }
}
