/**
 * Maps a modular counter of one source (RTP sequence numbers, VP8 PictureIDs) onto a gap-free output
 * counter. outExt = srcExt + offset, where srcExt is the source value unwrapped and the offset comes from a
 * small history of change points, so reordered and retransmitted values get the number they would have
 * had in order. `skip()` of a value newer than everything seen adds a change point that moves all later
 * values down by one: deliberately dropped packets or pictures leave no gap.
 * Fixed memory, no allocation after construction.
 */

import { Unwrapper } from './seq-unwrapper.ts';

export class Renumberer {
  private readonly src: Unwrapper;
  // Change points (ring, oldest at `head`): source values in [skipStart, from) were skipped; values with
  // srcExt >= from (up to the next point) map with `offset`. The first point is the start of the mapping.
  private readonly pFrom: Float64Array;
  private readonly pSkipStart: Float64Array;
  private readonly pOffset: Float64Array;
  private readonly mask: number;
  private head = 0;
  private count = 0;
  /** Highest source extended value mapped or skipped (skips only renumber beyond it). */
  private highestSrcExt = 0;

  /** `history`: change points kept (power of two); values older than the oldest one are refused. */
  constructor(bits: number, history = 32) {
    if (history < 1 || (history & (history - 1)) !== 0) throw new RangeError(`history must be a power of two, got ${history}`);
    this.src = new Unwrapper(bits);
    this.pFrom = new Float64Array(history);
    this.pSkipStart = new Float64Array(history);
    this.pOffset = new Float64Array(history);
    this.mask = history - 1;
  }

  /** True once `reset` started a mapping. */
  get started(): boolean {
    return this.count > 0;
  }

  /** Starts a new mapping in which `src` becomes output `outExt`; values before `src` are refused. */
  reset(src: number, outExt: number): void {
    this.src.reset();
    this.count = 0;
    this.head = 0;
    // `src` will be the unwrapper's first value, so its extended value is `src` itself.
    this.highestSrcExt = src - 1;
    this.push(src, src, outExt - src);
  }

  /** Output extended value of `src`, or NaN: before the start or the retained history, or skipped. */
  map(src: number): number {
    if (this.count === 0) return NaN;
    const ext = this.src.peek(src);
    const offset = this.offsetFor(ext);
    if (Number.isNaN(offset)) return NaN;
    this.src.unwrap(src);
    if (ext > this.highestSrcExt) this.highestSrcExt = ext;
    return ext + offset;
  }

  /**
   * `src` will not be forwarded: later values move down by one. Only possible while nothing newer has been
   * mapped; returns false otherwise (the output then keeps a gap). Skipping the newest skipped value again
   * (another packet of a dropped picture) is a no-op that returns true.
   */
  skip(src: number): boolean {
    if (this.count === 0) return false;
    const ext = this.src.peek(src);
    const last = (this.head + this.count - 1) & this.mask;
    if (ext === this.highestSrcExt && this.pFrom[last] === ext + 1 && this.pSkipStart[last] <= ext) return true;
    if (ext <= this.highestSrcExt) return false;
    this.src.unwrap(src);
    this.highestSrcExt = ext;
    if (this.pFrom[last] === ext) {
      // Consecutive skips extend the newest change point.
      this.pFrom[last] = ext + 1;
      this.pOffset[last] -= 1;
      return true;
    }
    this.push(ext, ext + 1, this.offsetFor(ext) - 1);
    return true;
  }

  /** Offset for a source extended value, or NaN if it predates the history or was skipped. */
  private offsetFor(ext: number): number {
    for (let i = this.count - 1; i >= 0; i--) {
      const k = (this.head + i) & this.mask;
      if (ext >= this.pFrom[k]) return this.pOffset[k];
      if (ext >= this.pSkipStart[k]) return NaN;
    }
    return NaN;
  }

  private push(skipStart: number, from: number, offset: number): void {
    if (this.count === this.pFrom.length) {
      this.head = (this.head + 1) & this.mask;
      this.count--;
    }
    const k = (this.head + this.count) & this.mask;
    this.pSkipStart[k] = skipStart;
    this.pFrom[k] = from;
    this.pOffset[k] = offset;
    this.count++;
  }
}
