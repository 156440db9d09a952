/**
 * The send side of one subscribe transport: every RTP packet towards the subscriber passes here. It asks the
 * pacer (src/bwe/pacer.ts) whether the packet may leave now; if not, the packet is copied into a slot of a
 * preallocated pool until the pacer releases it. At the moment a packet really leaves it gets its
 * transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2: numbered in send
 * order, so feedback describes the wire) and is reported to the bandwidth estimator.
 *
 * Retransmissions are limited to a share of the estimate (a NACK storm on a congested link would otherwise
 * crowd out the media it tries to repair); probe clusters are filled with padding from a PaddingSource
 * (RTX of recently sent packets). Nothing here allocates per packet: the pool only grows, in doublings.
 */
import { countDrop } from '../metrics/drop-reasons.ts';
import { histograms } from '../metrics/registry.ts';
import { MAX_FLOWS, Pacer, PACER_QUEUED, PACER_SEND_NOW, PRIORITY_RETRANSMISSION, type PacerDropReason, type PacerOptions, type PacerPriority, type PacerSink } from '../bwe/pacer.ts';
import type { BandwidthEstimator } from '../bwe/estimator.ts';
import { NullEstimator } from '../bwe/null-estimator.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { WIRE_OVERHEAD_BYTES, type OutgoingTransport } from './media-types.ts';

/** What the sender needs of the transport (a WebRtcTransport). */
export interface RtpWire {
  readonly connected: boolean;
  nextTransportSeq(): number;
  sendRtp(buf: Buffer, length: number): boolean;
  sendRtcp(buf: Buffer, length?: number): boolean;
}

/** Something that can send a padding packet for a probe cluster (a video consumer: RTX of a recent packet). */
export interface PaddingSource {
  /** Send about `bytes` (at most one packet) through `sender.sendProbe`; returns the bytes sent, 0 if none. */
  sendPadding(bytes: number, clusterId: number, nowMs: number): number;
}

export interface PacedSenderOptions {
  pacer?: PacerOptions;
  /** Retransmissions may use this share of the estimate (token bucket, 250 ms burst). Default 0.3. */
  rtxShare?: number;
  /** Most packets the pool (and the pacer queue) holds. Default 512. */
  maxQueuedPackets?: number;
}

/**
 * Pacing rate = estimate × this. Lower than GCC's customary 2.5: towards a subscriber whose link is the
 * bottleneck a keyframe burst then waits here, behind audio (which passes the queue), instead of in the
 * link's queue in front of it; and the burst barely moves the delay the estimator watches.
 */
export const PACING_FACTOR = 1.5;
const SLOT_BYTES = 1500;
/** Transport seqs remembered with the RTP stream and sequence number they carried (power of two). */
const TSEQ_HISTORY = 4096;
/** Pacer timer period while a backlog exists: the budget it accumulates (≤ 40 ms) leaves in a few packets. */
const PACER_TICK_MS = 5;
const FIRST_SLOTS = 16;
const RTX_BURST_MS = 250;
/** SSRC → pacer flow table (open addressing); reset when this full, which only a churn of streams reaches. */
const FLOW_TABLE = 256;
const FLOW_TABLE_MAX = 192;

export interface PacedSenderCounters {
  queued: number;
  /** Packets sent on an RTX SSRC (repairs and padding) and on media SSRCs (`rtxSsrcs` tells them apart). */
  rtxSent: number;
  mediaSent: number;
  rtxLimited: number;
  probePackets: number;
  probeBytes: number;
}

export class PacedSender implements OutgoingTransport, PacerSink {
  readonly pacer: Pacer;
  estimator: BandwidthEstimator = new NullEstimator();
  /** Latest RTT to the subscriber (ms), -1 until measured: consumers use it to skip redundant resends. */
  rttMs = -1;
  /**
   * Rate retransmissions may use (bps), set by the bandwidth controller from what the allocation leaves;
   * NaN: `rtxShare` of the estimate.
   */
  rtxBudgetBps = NaN;
  /**
   * Set by the bandwidth controller when the subscriber's feedback reports loss at or above
   * LOSSY_FRACTION: each retransmission then goes out twice (a lost retransmission is otherwise repaired
   * only if the browser asks again, which it often does not; on a 5 % path that is 1 in 20 repairs).
   */
  lossy = false;
  /** Set by the bandwidth controller while the subscriber's feedback shows loss (see DownlinkController). */
  redWanted = false;
  /**
   * Set once the subscriber is known to throw RTX away (RtxDiscardDetector): from then on RTX and
   * padding-only packets are reported to the estimator as `receiverDrops`, so their "loss" is not the path's.
   */
  receiverDropsRtx = false;
  /** Our RTX SSRCs towards this subscriber (kept by the subscribe session), for `receiverDropsRtx`. */
  readonly rtxSsrcs = new Set<number>();
  readonly counters: PacedSenderCounters = { queued: 0, rtxSent: 0, mediaSent: 0, rtxLimited: 0, probePackets: 0, probeBytes: 0 };
  private readonly rtxShare: number;
  private readonly maxSlots: number;
  // Slot pool: buffers, lengths, tcc offsets; a free list as a stack of indices.
  private slots: Buffer[] = [];
  private lens = new Int32Array(0);
  private tccAt = new Int32Array(0);
  /** When each queued packet was offered (clock ms), for the forwarding-delay histogram. */
  private queuedAt = new Float64Array(0);
  private free = new Int32Array(0);
  private freeCount = 0;
  private rtxTokens = 0;
  private rtxRefillMs = NaN;
  private timer: TimerHandle | null = null;
  private readonly paddingSources: PaddingSource[] = [];
  private readonly tseqSsrc = new Float64Array(TSEQ_HISTORY).fill(-1);
  private readonly tseqRtpSeq = new Uint16Array(TSEQ_HISTORY);
  private paddingNext = 0;
  private closed = false;
  // Each SSRC is its own pacer flow (served round robin: one stream cannot starve another, src/bwe/pacer.ts).
  private readonly flowKeys = new Float64Array(FLOW_TABLE).fill(-1);
  private readonly flowIds = new Uint8Array(FLOW_TABLE);
  private flowEntries = 0;
  private flowNext = 0;

  constructor(
    private readonly wire: RtpWire,
    private readonly clock: Clock,
    opts: PacedSenderOptions = {},
  ) {
    this.rtxShare = opts.rtxShare ?? 0.3;
    // One slot more than the pacer may queue: a free slot always exists when a packet is offered.
    const maxQueue = opts.maxQueuedPackets ?? 512;
    this.maxSlots = maxQueue + 1;
    this.pacer = new Pacer(this, { maxQueuePackets: maxQueue, pacingFactor: PACING_FACTOR, ...opts.pacer });
    this.grow(FIRST_SLOTS);
  }

  get connected(): boolean {
    return this.wire.connected && !this.closed;
  }

  /** Hot path (OutgoingTransport). */
  sendRtp(buf: Buffer, length: number, priority: PacerPriority, tccOffset: number): boolean {
    if (!this.wire.connected || this.closed) {
      countDrop('srtp_not_ready');
      return false;
    }
    const now = this.clock.now();
    const size = length + WIRE_OVERHEAD_BYTES;
    if (priority === PRIORITY_RETRANSMISSION && !this.takeRtxTokens(size, now)) {
      this.counters.rtxLimited++;
      countDrop('rtx_rate_limited');
      return false;
    }
    if (this.freeCount === 0 && !this.grow(this.slots.length * 2)) {
      countDrop('pacer_queue_full');
      return false;
    }
    // Taken before enqueue: an eviction inside it frees another slot onto the stack.
    const slot = this.free[--this.freeCount];
    // RFC 3550 §5.1: SSRC at 8.
    const verdict = this.pacer.enqueue(slot, size, priority, now, this.flowOf(buf.readUInt32BE(8)));
    if (verdict !== PACER_QUEUED) {
      this.free[this.freeCount++] = slot;
      if (verdict === PACER_SEND_NOW) {
        histograms.forwardingDelay.observe(0);
        return this.transmit(buf, length, tccOffset, this.pacer.activeClusterId, now);
      }
      countDrop('pacer_queue_full');
      return false;
    }
    // A byte loop: Buffer.copy of a sub-range allocates a view per call (~150 bytes).
    const dst = this.slots[slot];
    for (let i = 0; i < length; i++) dst[i] = buf[i];
    this.lens[slot] = length;
    this.tccAt[slot] = tccOffset;
    this.queuedAt[slot] = now;
    this.counters.queued++;
    this.arm(now);
    return true;
  }

  sendRtcp(buf: Buffer, length = buf.length): boolean {
    return this.wire.sendRtcp(buf, length);
  }

  /** A padding source sends one probe packet now (inside the pacer's padding call, already charged). */
  sendProbe(buf: Buffer, length: number, tccOffset: number, clusterId: number): boolean {
    if (!this.wire.connected || this.closed) return false;
    const ok = this.transmit(buf, length, tccOffset, clusterId, this.clock.now());
    if (ok) {
      this.counters.probePackets++;
      this.counters.probeBytes += length + WIRE_OVERHEAD_BYTES;
    }
    return ok;
  }

  /**
   * The RTP stream (SSRC) and sequence number the packet with this transport seq carried, for repairing a
   * packet transport-wide feedback reports lost: `onStream(ssrc, seq)`; nothing if it is too old.
   */
  streamOf(transportSeq: number, onStream: (ssrc: number, seq: number) => void): void {
    const k = transportSeq & (TSEQ_HISTORY - 1);
    const ssrc = this.tseqSsrc[k];
    if (ssrc >= 0) onStream(ssrc, this.tseqRtpSeq[k]);
  }

  addPaddingSource(s: PaddingSource): void {
    if (!this.paddingSources.includes(s)) this.paddingSources.push(s);
  }

  removePaddingSource(s: PaddingSource): void {
    const i = this.paddingSources.indexOf(s);
    if (i >= 0) this.paddingSources.splice(i, 1);
  }

  /** Media loop: release what the budget allows (the timer does it between ticks). */
  process(nowMs: number): void {
    if (this.closed) return;
    this.pacer.process(nowMs);
    // A probe cluster is sent at its rate between media ticks too, or it would not finish before its deadline.
    if (this.pacer.queuedPackets > 0 || this.pacer.activeClusterId >= 0) this.arm(nowMs);
  }

  /** Drops everything queued and stops the timer. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) this.clock.clear(this.timer);
    this.timer = null;
    this.pacer.clear();
  }

  // ---- PacerSink ----

  release(handle: number, _sizeBytes: number, clusterId: number, nowMs: number): void {
    histograms.forwardingDelay.observe(nowMs - this.queuedAt[handle]);
    this.transmit(this.slots[handle], this.lens[handle], this.tccAt[handle], clusterId, nowMs);
    this.free[this.freeCount++] = handle;
  }

  drop(handle: number, reason: PacerDropReason): void {
    this.free[this.freeCount++] = handle;
    countDrop(reason === 'expired' ? 'pacer_expired' : reason === 'cleared' ? 'pacer_cleared' : 'pacer_queue_full');
  }

  padding(bytes: number, clusterId: number, nowMs: number): number {
    const n = this.paddingSources.length;
    for (let k = 0; k < n; k++) {
      const s = this.paddingSources[(this.paddingNext + k) % n];
      const sent = s.sendPadding(bytes, clusterId, nowMs);
      if (sent > 0) {
        this.paddingNext = (this.paddingNext + k + 1) % n;
        return sent + WIRE_OVERHEAD_BYTES;
      }
    }
    return 0;
  }

  // ----

  private transmit(buf: Buffer, length: number, tccOffset: number, clusterId: number, nowMs: number): boolean {
    let seq = -1;
    if (tccOffset >= 0) {
      seq = this.wire.nextTransportSeq();
      buf[tccOffset] = seq >> 8;
      buf[tccOffset + 1] = seq & 0xff;
      // RFC 3550 §5.1: sequence number at 2, SSRC at 8.
      const k = seq & (TSEQ_HISTORY - 1);
      this.tseqSsrc[k] = buf.readUInt32BE(8);
      this.tseqRtpSeq[k] = (buf[2] << 8) | buf[3];
    }
    if (!this.wire.sendRtp(buf, length)) return false;
    if (seq >= 0) {
      if (this.rtxSsrcs.has(buf.readUInt32BE(8))) this.counters.rtxSent++;
      else this.counters.mediaSent++;
      this.estimator.onPacketSent(seq, length + WIRE_OVERHEAD_BYTES, nowMs, clusterId >= 0, this.receiverDropsRtx && this.receiverDrops(buf));
    }
    return true;
  }

  /** The pacer flow of an SSRC: assigned in turn on first sight, so streams share a flow only past MAX_FLOWS. */
  private flowOf(ssrc: number): number {
    let i = (ssrc ^ (ssrc >>> 16)) & (FLOW_TABLE - 1);
    for (;;) {
      const k = this.flowKeys[i];
      if (k === ssrc) return this.flowIds[i];
      if (k < 0) break;
      i = (i + 1) & (FLOW_TABLE - 1);
    }
    if (this.flowEntries >= FLOW_TABLE_MAX) {
      this.flowKeys.fill(-1);
      this.flowEntries = 0;
      return this.flowOf(ssrc);
    }
    this.flowKeys[i] = ssrc;
    this.flowIds[i] = this.flowNext;
    this.flowNext = (this.flowNext + 1) % MAX_FLOWS;
    this.flowEntries++;
    return this.flowIds[i];
  }

  /** RFC 3550 §5.1: the P bit marks our padding-only packets (media we forward carries none); or an RTX SSRC. */
  private receiverDrops(buf: Buffer): boolean {
    return (buf[0] & 0x20) !== 0 || this.rtxSsrcs.has(buf.readUInt32BE(8));
  }

  private takeRtxTokens(size: number, nowMs: number): boolean {
    const bps = Number.isNaN(this.rtxBudgetBps) ? this.estimator.estimate(nowMs) * this.rtxShare : this.rtxBudgetBps;
    const rate = bps / 8000; // bytes per ms
    const cap = rate * RTX_BURST_MS;
    if (Number.isNaN(this.rtxRefillMs)) this.rtxTokens = cap;
    else this.rtxTokens = Math.min(cap, this.rtxTokens + rate * (nowMs - this.rtxRefillMs));
    this.rtxRefillMs = nowMs;
    if (!Number.isFinite(rate)) return true;
    if (this.rtxTokens < size) return false;
    this.rtxTokens -= size;
    return true;
  }

  /** While packets wait (or a probe cluster runs), the pacer runs every PACER_TICK_MS: one timer per backlog, not per packet. */
  private arm(_nowMs: number): void {
    if (this.timer === null) this.timer = this.clock.setInterval(this.onTimer, PACER_TICK_MS);
  }

  private readonly onTimer = (): void => {
    if (this.closed) return;
    this.pacer.process(this.clock.now());
    if (this.pacer.queuedPackets === 0 && this.pacer.activeClusterId < 0 && this.timer !== null) {
      this.clock.clear(this.timer);
      this.timer = null;
    }
  };

  /** Pool growth: the only allocation, up to maxSlots. */
  private grow(target: number): boolean {
    const cur = this.slots.length;
    const n = Math.min(this.maxSlots, Math.max(target, FIRST_SLOTS));
    if (n <= cur) return false;
    const lens = new Int32Array(n);
    lens.set(this.lens);
    const tcc = new Int32Array(n);
    tcc.set(this.tccAt);
    const queuedAt = new Float64Array(n);
    queuedAt.set(this.queuedAt);
    const free = new Int32Array(n);
    free.set(this.free.subarray(0, this.freeCount));
    for (let i = cur; i < n; i++) {
      this.slots.push(Buffer.alloc(SLOT_BYTES));
      free[this.freeCount++] = i;
    }
    this.lens = lens;
    this.tccAt = tcc;
    this.queuedAt = queuedAt;
    this.free = free;
    return true;
  }
}
