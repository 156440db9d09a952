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
import { Unwrapper } from './seq-unwrapper.ts';

/** Change points kept; packets older than the oldest retained one are dropped. */
const HISTORY = 32;
const HISTORY_MASK = HISTORY - 1;

export class SeqRewriter {
  /** Output of the last successful `rewrite`. */
  outSeq = 0;
  outTs = 0;

  private curSsrc = -1;
  private readonly srcSeq = new Unwrapper(16);
  private tsOffset = 0;

  // Change points (ring, oldest at `head`): source packets in [skipStart, from) were skipped; packets with
  // srcExt >= from (up to the next point) map with `offset`. The first point of a source is its switch point.
  private readonly pFrom = new Float64Array(HISTORY);
  private readonly pSkipStart = new Float64Array(HISTORY);
  private readonly pOffset = new Float64Array(HISTORY);
  private head = 0;
  private count = 0;

  private started = false;
  /** Highest output extended seq and the (out ts, wall ms) of the packet that produced it. */
  private lastOutExt: number;
  private lastOutTs: number;
  private lastOutMs = 0;
  /** Highest source extended seq forwarded or skipped (skips only renumber beyond it). */
  private highestSrcExt = 0;

  /** Random initial values per RFC 3550 §5.1 unless given (tests). */
  constructor(initialSeq = randomBits(16), initialTs = randomBits(32)) {
    this.lastOutExt = (initialSeq & 0xffff) - 1;
    this.lastOutTs = initialTs >>> 0;
  }

  /** The SSRC currently forwarded, or -1. */
  get currentSsrc(): number {
    return this.curSsrc;
  }

  /**
   * Maps one packet; on true the result is in `outSeq`/`outTs`. False = drop: a packet of another source
   * that is not a switch point (including the old source after a switch), older than the switch point or
   * the retained history, or one that was skipped. A packet of another SSRC with the flag set switches, so
   * the caller sets it only for the source it wants (a late keyframe of the old source would switch back).
   */
  rewrite(
    srcSsrc: number,
    seq: number,
    timestamp: number,
    clockRate: number,
    nowMs: number,
    isKeyframeOrSwitchPoint: boolean,
  ): boolean {
    if (srcSsrc !== this.curSsrc) {
      if (!isKeyframeOrSwitchPoint) return false;
      this.switchTo(srcSsrc, seq, timestamp, clockRate, nowMs);
    }
    const ext = this.srcSeq.peek(seq);
    const offset = this.offsetFor(ext);
    if (Number.isNaN(offset)) return false;
    this.srcSeq.unwrap(seq);
    const outExt = ext + offset;
    this.outSeq = outExt & 0xffff;
    this.outTs = (timestamp + this.tsOffset) >>> 0;
    if (outExt > this.lastOutExt) {
      this.lastOutExt = outExt;
      this.lastOutTs = this.outTs;
      this.lastOutMs = nowMs;
    }
    if (ext > this.highestSrcExt) this.highestSrcExt = ext;
    return true;
  }

  /**
   * Declares that packet `seq` of the current source will not be forwarded (padding-only, dropped temporal
   * layer) so that later packets move down by one. Only possible while no later packet has been forwarded;
   * returns false otherwise (the output then keeps a gap, which the receiver treats as loss).
   */
  skip(srcSsrc: number, seq: number): boolean {
    if (srcSsrc !== this.curSsrc || this.count === 0) return false;
    const ext = this.srcSeq.peek(seq);
    if (ext <= this.highestSrcExt) return false;
    this.srcSeq.unwrap(seq);
    this.highestSrcExt = ext;
    const last = (this.head + this.count - 1) & HISTORY_MASK;
    if (this.pFrom[last] === ext) {
      // Consecutive skips extend the newest change point.
      this.pFrom[last] = ext + 1;
      this.pOffset[last] -= 1;
      return true;
    }
    this.push(ext, ext + 1, this.offsetFor(ext) - 1);
    return true;
  }

  /**
   * Treat the current source as gone: the next switch point of any SSRC (the same one too, e.g. a publisher
   * that restarted its sequence space) starts a new mapping; output stays contiguous.
   */
  detach(): void {
    this.curSsrc = -1;
  }

  private switchTo(ssrc: number, seq: number, timestamp: number, clockRate: number, nowMs: number): void {
    this.curSsrc = ssrc;
    this.srcSeq.reset();
    this.count = 0;
    this.head = 0;
    // seq is the first unwrapped value, so srcExt = seq; next output = last + 1.
    this.highestSrcExt = seq - 1;
    this.push(seq, seq, this.lastOutExt + 1 - seq);
    let targetTs: number;
    if (!this.started) {
      this.started = true;
      targetTs = this.lastOutTs;
    } else {
      // Continue the timeline by the elapsed wall time, at least one tick so the frame is new.
      const ticks = Math.max(1, Math.round(((nowMs - this.lastOutMs) * clockRate) / 1000));
      targetTs = this.lastOutTs + ticks;
    }
    this.tsOffset = (targetTs - timestamp) >>> 0;
  }

  /** Offset for a source extended seq, or NaN if it predates the history or was skipped. */
  private offsetFor(ext: number): number {
    for (let i = this.count - 1; i >= 0; i--) {
      const k = (this.head + i) & HISTORY_MASK;
      if (ext >= this.pFrom[k]) return this.pOffset[k];
      if (ext >= this.pSkipStart[k]) return NaN;
    }
    return NaN;
  }

  private push(skipStart: number, from: number, offset: number): void {
    if (this.count === HISTORY) {
      this.head = (this.head + 1) & HISTORY_MASK;
      this.count--;
    }
    const k = (this.head + this.count) & HISTORY_MASK;
    this.pSkipStart[k] = skipStart;
    this.pFrom[k] = from;
    this.pOffset[k] = offset;
    this.count++;
  }
}

function randomBits(bits: 16 | 32): number {
  return randomInt(0, bits === 16 ? 0x1_0000 : 0x1_0000_0000);
}
