/**
 * Unwraps modular RTP counters (16-bit sequence numbers, 32-bit timestamps) into monotonic extended
 * values. A value is read as the nearest one to the highest value seen so far (RFC 3550 §A.1 idea,
 * serial-number arithmetic as in RFC 1982 §3.2): forward distance < half the range is "newer", anything
 * else "older". Extended values are plain numbers (exact up to 2^53).
 */

const SEQ_MOD = 0x1_0000;
const TS_MOD = 0x1_0000_0000;

/** Signed distance b - a for 16-bit sequence numbers, in [-32768, 32767]. */
export function seqDelta(a: number, b: number): number {
  return (((b - a) & 0xffff) << 16) >> 16;
}

/** True if 16-bit `b` is newer than `a` (RFC 1982 §3.2 serial comparison). */
export function seqNewer(b: number, a: number): boolean {
  return seqDelta(a, b) > 0;
}

/** Signed distance b - a for 32-bit RTP timestamps, in [-2^31, 2^31 - 1]. */
export function tsDelta(a: number, b: number): number {
  return (b - a) | 0;
}

/**
 * Unwraps values of a `bits`-wide counter. `unwrap` updates the reference when the value is newer;
 * `peek` unwraps without changing state. Before the first value both return the value itself.
 * Values received before the first one across the wrap may come out negative (e.g. first 0, then 65535 → -1).
 */
export class Unwrapper {
  private readonly mod: number;
  private readonly half: number;
  private highest = 0;
  private started = false;

  /** Any width from 2 to 32 bits (16: sequence numbers, 32: timestamps, 15 or 7: VP8 PictureIDs). */
  constructor(bits: number) {
    if (!Number.isInteger(bits) || bits < 2 || bits > 32) throw new RangeError(`bad counter width ${bits}`);
    this.mod = bits === 16 ? SEQ_MOD : bits === 32 ? TS_MOD : 2 ** bits;
    this.half = this.mod / 2;
  }

  /** Highest extended value seen (meaningless before the first `unwrap`). */
  get highestExt(): number {
    return this.highest;
  }

  get hasValue(): boolean {
    return this.started;
  }

  peek(value: number): number {
    if (!this.started) return value;
    const low = this.highest % this.mod;
    // `low` is negative if the highest is negative; normalise so that the delta is in [-half, half).
    let d = value - (low < 0 ? low + this.mod : low);
    if (d >= this.half) d -= this.mod;
    else if (d < -this.half) d += this.mod;
    return this.highest + d;
  }

  unwrap(value: number): number {
    if (!this.started) {
      this.started = true;
      this.highest = value;
      return value;
    }
    const ext = this.peek(value);
    if (ext > this.highest) this.highest = ext;
    return ext;
  }

  reset(): void {
    this.started = false;
    this.highest = 0;
  }
}

/** 16-bit RTP sequence number unwrapper. */
export class SeqUnwrapper extends Unwrapper {
  constructor() {
    super(16);
  }
}

/** 32-bit RTP timestamp unwrapper. */
export class TimestampUnwrapper extends Unwrapper {
  constructor() {
    super(32);
  }
}
