/**
 * Audio redundancy, RFC 2198: each packet carries the previous `distance` payloads again as redundant
 * blocks before its own (the primary), so one lost packet costs nothing when the next arrives. Chrome's
 * `red/48000/2` wraps Opus this way. The encoder keeps its history in preallocated buffers: nothing is
 * allocated per packet.
 *
 * Payload layout (§3): one 4-byte header per redundant block, oldest first (F=1, block PT, 14-bit timestamp
 * offset back from the packet's timestamp, 10-bit length), then a 1-byte header for the primary (F=0, PT),
 * then the blocks' data in the same order, the primary's last.
 */

/** A redundant block's length field is 10 bits (§3). */
const MAX_BLOCK = 1023;
/** Its timestamp offset is 14 bits: 16,383 ticks (341 ms at 48 kHz). */
const MAX_TS_OFFSET = 0x3fff;
export const MAX_RED_DISTANCE = 2;

export class RedEncoder {
  private readonly data = Array.from({ length: MAX_RED_DISTANCE }, () => Buffer.alloc(MAX_BLOCK));
  private readonly len = new Int32Array(MAX_RED_DISTANCE);
  private readonly ts = new Float64Array(MAX_RED_DISTANCE);
  /** Payloads remembered (≤ MAX_RED_DISTANCE); the newest is at index `(next - 1) mod MAX`. */
  private count = 0;
  private next = 0;

  /**
   * Writes the RED payload of a packet with timestamp `ts` (the one it is sent with) whose own payload is
   * `src[start, start + length)`, into `out` at `at`; remembers the payload for the next packets. Returns the
   * bytes written. `distance`: how many earlier payloads to carry again (0 = a RED packet with the primary only).
   */
  write(out: Buffer, at: number, src: Buffer, start: number, length: number, ts: number, pt: number, distance: number): number {
    let blocks = 0;
    // Oldest first: the block `distance` packets back, then the nearer ones.
    const first = Math.min(distance, this.count);
    let o = at;
    for (let back = first; back >= 1; back--) {
      const i = (this.next - back + MAX_RED_DISTANCE) % MAX_RED_DISTANCE;
      const offset = (ts - this.ts[i]!) >>> 0;
      const l = this.len[i]!;
      if (offset === 0 || offset > MAX_TS_OFFSET || l <= 0 || l > MAX_BLOCK) continue;
      out[o] = 0x80 | (pt & 0x7f);
      out[o + 1] = offset >>> 6;
      out[o + 2] = ((offset & 0x3f) << 2) | (l >>> 8);
      out[o + 3] = l & 0xff;
      o += 4;
      blocks |= 1 << back;
    }
    out[o++] = pt & 0x7f;
    for (let back = first; back >= 1; back--) {
      if ((blocks & (1 << back)) === 0) continue;
      const i = (this.next - back + MAX_RED_DISTANCE) % MAX_RED_DISTANCE;
      this.data[i]!.copy(out, o, 0, this.len[i]!);
      o += this.len[i]!;
    }
    src.copy(out, o, start, start + length);
    o += length;
    this.remember(src, start, length, ts);
    return o - at;
  }

  /** Keeps a payload sent without RED, so redundancy switched on later has its history at once. */
  remember(src: Buffer, start: number, length: number, ts: number): void {
    const i = this.next;
    if (length <= MAX_BLOCK) {
      src.copy(this.data[i]!, 0, start, start + length);
      this.len[i] = length;
    } else this.len[i] = -1; // too long to carry again
    this.ts[i] = ts >>> 0;
    this.next = (i + 1) % MAX_RED_DISTANCE;
    if (this.count < MAX_RED_DISTANCE) this.count++;
  }

  /** The stream was interrupted (a gap, a new source): earlier payloads are not carried into it. */
  reset(): void {
    this.count = 0;
  }
}

/** Splits a RED payload into its blocks (tests, and a receiver's view): [pt, tsOffset, data] oldest first. */
export function parseRed(payload: Buffer): Array<{ pt: number; tsOffset: number; data: Buffer }> | null {
  const heads: Array<{ pt: number; tsOffset: number; len: number }> = [];
  let o = 0;
  for (;;) {
    if (o >= payload.length) return null;
    const b = payload[o]!;
    if ((b & 0x80) === 0) {
      heads.push({ pt: b & 0x7f, tsOffset: 0, len: -1 });
      o++;
      break;
    }
    if (o + 4 > payload.length) return null;
    heads.push({ pt: b & 0x7f, tsOffset: (payload[o + 1]! << 6) | (payload[o + 2]! >>> 2), len: ((payload[o + 2]! & 3) << 8) | payload[o + 3]! });
    o += 4;
  }
  const out: Array<{ pt: number; tsOffset: number; data: Buffer }> = [];
  for (const h of heads) {
    const len = h.len < 0 ? payload.length - o : h.len;
    if (o + len > payload.length) return null;
    out.push({ pt: h.pt, tsOffset: h.tsOffset, data: payload.subarray(o, o + len) });
    o += len;
  }
  return out;
}
