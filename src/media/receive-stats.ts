/**
 * RFC 3550 reception statistics for one incoming SSRC, feeding the report blocks of our RR/SR (§6.4.1).
 * Sequence tracking follows the rules of §A.1 (without probation: WebRTC SSRCs are signalled): a jump of
 * more than MAX_DROPOUT ahead or MAX_MISORDER behind is ignored unless the next packet continues it, in
 * which case the source is taken to have restarted. Jitter is the §A.8 estimator.
 */

import type { ReportBlock } from '../rtp/rtcp-types.ts';

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 0x1_0000;

/** Report blocks are the RTCP writer's own type (RFC 3550 §6.4.1), so they go out without a copy. */
export type { ReportBlock } from '../rtp/rtcp-types.ts';

export class ReceiveStats {
  packets = 0;
  bytes = 0;

  private started = false;
  private maxSeq = 0;
  private cycles = 0;
  private baseSeq = 0;
  private badSeq = -1;
  /** Packets counted for loss (duplicates included, §A.3). */
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private receivedSinceReport = false;

  private jitterQ = 0;
  private lastTs = 0;
  private lastArrivalMs = 0;

  private lsr = 0;
  private lastSrMs = 0;
  private hasSr = false;

  constructor(
    readonly ssrc: number,
    readonly clockRate: number,
  ) {}

  /**
   * Per received RTP packet (not RTX retransmissions: they would distort loss and jitter).
   * Returns false if the packet was ignored as a §A.1 "bad" sequence jump.
   */
  onPacket(seq: number, rtpTs: number, arrivalMs: number, size = 0): boolean {
    this.packets++;
    this.bytes += size;
    if (!this.started) {
      this.restart(seq);
      this.started = true;
    } else {
      const delta = (seq - this.maxSeq) & 0xffff;
      if (delta < MAX_DROPOUT) {
        // In order, possibly with a gap; wrap means a new cycle.
        if (seq < this.maxSeq) this.cycles += SEQ_MOD;
        this.maxSeq = seq;
      } else if (delta <= SEQ_MOD - MAX_MISORDER) {
        // Very large jump: accept only if the next packet follows it (source restarted).
        if (seq !== this.badSeq) {
          this.badSeq = (seq + 1) & 0xffff;
          return false;
        }
        this.restart(seq);
        this.expectedPrior = 0;
        this.receivedPrior = 0;
      }
      // else: duplicate or reordered within MAX_MISORDER; counted below.
    }
    this.received++;
    this.receivedSinceReport = true;
    this.updateJitter(rtpTs, arrivalMs);
    return true;
  }

  /** On an SR from this source: remember its NTP middle 32 bits and arrival time (§6.4.1 LSR/DLSR). */
  onSenderReport(ntpMsw: number, ntpLsw: number, arrivalMs: number): void {
    this.lsr = (((ntpMsw & 0xffff) << 16) | (ntpLsw >>> 16)) >>> 0;
    this.lastSrMs = arrivalMs;
    this.hasSr = true;
  }

  /** Extended highest sequence number received (unbounded, not mod 2^32). */
  get extendedHighestSeq(): number {
    return this.cycles + this.maxSeq;
  }

  get cumulativeLost(): number {
    return this.expected() - this.received;
  }

  /** Packets expected so far (§A.3), 0 before the first. */
  get expectedPackets(): number {
    return this.started ? this.expected() : 0;
  }

  /** Interarrival jitter estimate (§6.4.1), in RTP timestamp units. */
  get jitter(): number {
    return this.jitterQ;
  }

  /** Whether a packet arrived since the last block (§6.4: sources without new packets get no block). */
  get hasNewPackets(): boolean {
    return this.receivedSinceReport;
  }

  /** Builds a report block and starts a new fraction-lost interval. Null before the first packet. */
  makeReportBlock(nowMs: number): ReportBlock | null {
    if (!this.started) return null;
    const expected = this.expected();
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    const lostInterval = expectedInterval - receivedInterval;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    this.receivedSinceReport = false;
    const fraction =
      expectedInterval > 0 && lostInterval > 0 ? Math.floor((lostInterval * 256) / expectedInterval) : 0;
    const lost = expected - this.received;
    let dlsr = 0;
    if (this.hasSr) dlsr = Math.min(Math.max(0, Math.round(((nowMs - this.lastSrMs) * 65536) / 1000)), 0xffffffff);
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(fraction, 255),
      cumulativeLost: Math.min(Math.max(lost, -0x800000), 0x7fffff),
      highestSeq: (this.cycles + this.maxSeq) % 0x1_0000_0000,
      jitter: Math.min(Math.floor(this.jitterQ), 0xffffffff),
      lsr: this.hasSr ? this.lsr : 0,
      dlsr,
    };
  }

  private expected(): number {
    return this.cycles + this.maxSeq - this.baseSeq + 1;
  }

  private restart(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.cycles = 0;
    this.badSeq = -1;
    this.received = 0;
    this.jitterQ = 0;
    this.lastArrivalMs = Number.NaN;
  }

  /** §A.8: J += (|D| - J) / 16, D = difference of relative transit times, in timestamp units. */
  private updateJitter(rtpTs: number, arrivalMs: number): void {
    if (!Number.isNaN(this.lastArrivalMs)) {
      const arrivalDelta = ((arrivalMs - this.lastArrivalMs) * this.clockRate) / 1000;
      const tsDiff = (rtpTs - this.lastTs) | 0; // signed 32-bit: survives timestamp wrap
      const d = Math.abs(arrivalDelta - tsDiff);
      this.jitterQ += (d - this.jitterQ) / 16;
    }
    this.lastTs = rtpTs >>> 0;
    this.lastArrivalMs = arrivalMs;
  }
}
