/**
 * Per-consumer output numbering. A consumer forwards packets of one source (SSRC) at a time and may switch
 * sources (simulcast layer, another publisher) at a keyframe; the browser must see one RTP stream with
 * contiguous sequence numbers (RFC 3550 §5.1) and timestamps that advance with wall time.
 *
 * Mapping: outExt = srcExt + offset, where srcExt is the source's unwrapped sequence number and the offset
 * is looked up in a small history of change points. A switch starts a new history; `skip()` of the newest
 * packet adds a change point that shifts all later packets down by one, so deliberately dropped packets
 * leave no gap. Retransmitted / reordered packets therefore get the same output number as in order.
 * Timestamps: outTs = srcTs + tsOffset (mod 2^32), the offset chosen at the switch.
 */

import { randomInt } from 'node:crypto';
import { Renumberer } from './renumberer.ts';

/**
 * Change points kept; packets older than the oldest retained one are dropped. Each dropped run (a skipped
 * temporal-layer frame, a padding burst) costs one, so 64 covers a few seconds of temporal dropping.
 */
const HISTORY = 64;

export class SeqRewriter {
  /** Output of the last successful `rewrite`. */
  outSeq = 0;
  outTs = 0;

  private curSsrc = -1;
  private readonly seq = new Renumberer(16, HISTORY);
  private tsOffset = 0;

  private started = false;
  /** Highest output extended seq and the (out ts, wall ms) of the packet that produced it. */
  private lastOutExt: number;
  private lastOutTs: number;
  private lastOutMs = 0;

  /** Random initial values per RFC 3550 §5.1 unless given (tests). */
  constructor(initialSeq = randomBits(16), initialTs = randomBits(32)) {
    this.lastOutExt = (initialSeq & 0xffff) - 1;
    this.lastOutTs = initialTs >>> 0;
  }

  /** The SSRC currently forwarded, or -1. */
  get currentSsrc(): number {
    return this.curSsrc;
  }

  /** Output timestamp of the newest packet forwarded (the base a switch continues from). */
  get lastTimestamp(): number {
    return this.lastOutTs;
  }

  /**
   * Maps one packet; on true the result is in `outSeq`/`outTs`. False = drop: a packet of another source
   * that is not a switch point (including the old source after a switch), older than the switch point or
   * the retained history, or one that was skipped. A packet of another SSRC with the flag set switches, so
   * the caller sets it only for the source it wants (a late keyframe of the old source would switch back).
   * `minTicks`: at a switch the new source's timestamp continues at least this far after the last one
   * (e.g. one frame interval); the elapsed wall time is used when longer.
   */
  rewrite(
    srcSsrc: number,
    seq: number,
    timestamp: number,
    clockRate: number,
    nowMs: number,
    isKeyframeOrSwitchPoint: boolean,
    minTicks = 1,
  ): boolean {
    if (srcSsrc !== this.curSsrc) {
      if (!isKeyframeOrSwitchPoint) return false;
      this.switchTo(srcSsrc, seq, timestamp, clockRate, nowMs, minTicks);
    }
    const outExt = this.seq.map(seq);
    if (Number.isNaN(outExt)) return false;
    this.outSeq = outExt & 0xffff;
    this.outTs = (timestamp + this.tsOffset) >>> 0;
    if (outExt > this.lastOutExt) {
      this.lastOutExt = outExt;
      this.lastOutTs = this.outTs;
      this.lastOutMs = nowMs;
    }
    return true;
  }

  /**
   * Declares that packet `seq` of the current source will not be forwarded (padding-only, dropped temporal
   * layer) so that later packets move down by one. Only possible while no later packet has been forwarded;
   * returns false otherwise (the output then keeps a gap, which the receiver treats as loss).
   */
  skip(srcSsrc: number, seq: number): boolean {
    if (srcSsrc !== this.curSsrc) return false;
    return this.seq.skip(seq);
  }

  /**
   * Treat the current source as gone: the next switch point of any SSRC (the same one too, e.g. a publisher
   * that restarted its sequence space) starts a new mapping; output stays contiguous.
   */
  detach(): void {
    this.curSsrc = -1;
  }

  private switchTo(ssrc: number, seq: number, timestamp: number, clockRate: number, nowMs: number, minTicks: number): void {
    this.curSsrc = ssrc;
    // Next output = last + 1.
    this.seq.reset(seq, this.lastOutExt + 1);
    let targetTs: number;
    if (!this.started) {
      this.started = true;
      targetTs = this.lastOutTs;
    } else {
      // Continue the timeline by the elapsed wall time, at least `minTicks` so the frame is new.
      const ticks = Math.max(1, minTicks, Math.round(((nowMs - this.lastOutMs) * clockRate) / 1000));
      targetTs = this.lastOutTs + ticks;
    }
    this.tsOffset = (targetTs - timestamp) >>> 0;
  }
}

function randomBits(bits: 16 | 32): number {
  return randomInt(0, bits === 16 ? 0x1_0000 : 0x1_0000_0000);
}
