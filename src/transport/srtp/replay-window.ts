/**
 * Sliding replay window (RFC 3711 §3.3.2, Appendix A's bitmask). Bit i of the mask means
 * index (top - i) was accepted. Indices are up to 48 bits, so they are plain numbers.
 * `check` is read-only; `accept` is called only after authentication succeeds, so a forged
 * packet never moves the window (RFC 3711 §3.3 step 5 runs after step 4).
 */
export const REPLAY_OK = 0;
export const REPLAY_DUPLICATE = 1;
export const REPLAY_TOO_OLD = 2;
export type ReplayVerdict = typeof REPLAY_OK | typeof REPLAY_DUPLICATE | typeof REPLAY_TOO_OLD;

export class ReplayWindow {
  /** Window size in packets, rounded up to a multiple of 32. */
  readonly size: number;
  /** Highest accepted index; -1 before the first packet. */
  top = -1;
  private readonly words: Uint32Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 32 || size > 32768) throw new RangeError('replay window must be 32..32768');
    this.words = new Uint32Array(Math.ceil(size / 32));
    this.size = this.words.length * 32;
  }

  check(index: number): ReplayVerdict {
    if (index > this.top) return REPLAY_OK;
    const delta = this.top - index;
    if (delta >= this.size) return REPLAY_TOO_OLD;
    return (this.words[delta >>> 5] >>> (delta & 31)) & 1 ? REPLAY_DUPLICATE : REPLAY_OK;
  }

  accept(index: number): void {
    if (index > this.top) {
      this.shift(this.top < 0 ? this.size : index - this.top);
      this.top = index;
      this.words[0] |= 1;
      return;
    }
    const delta = this.top - index;
    if (delta < this.size) this.words[delta >>> 5] |= 1 << (delta & 31);
  }

  /** Age every bit by n positions (towards higher word indices). */
  private shift(n: number): void {
    const w = this.words;
    const len = w.length;
    if (n >= this.size) {
      w.fill(0);
      return;
    }
    const ws = n >>> 5;
    const bs = n & 31;
    for (let i = len - 1; i >= 0; i--) {
      const src = i - ws;
      let v = src >= 0 ? w[src] << bs : 0;
      if (bs !== 0 && src - 1 >= 0) v |= w[src - 1] >>> (32 - bs);
      w[i] = v;
    }
  }
}
