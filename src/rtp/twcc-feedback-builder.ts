/**
 * Receive side of transport-wide CC (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): records
 * the arrival of every transport-wide sequence number on a connection and builds feedback packets.
 * record() is per packet: it writes into preallocated typed arrays and never allocates.
 */
import { writeTwccFeedback } from './rtcp-twcc.ts';

export interface TwccBuilderOptions {
  /** Ring size in sequence numbers (power of two); older unreported seqs are forgotten. */
  capacity?: number;
  /** Upper bound for one feedback packet in bytes. */
  maxPacketBytes?: number;
}

export class TwccFeedbackBuilder {
  private readonly mask: number;
  private readonly capacity: number;
  private readonly maxBytes: number;
  /** Arrival per ring slot in 250 µs ticks, NaN when not (yet) received. */
  private readonly arrivals: Float64Array;
  private readonly scratchRecv: Uint8Array;
  private readonly scratchDelta: Int32Array;
  private started = false;
  /** Unwrapped seq of the first seq not yet reported. */
  private base = 0;
  /** Highest unwrapped seq recorded. */
  private max = -1;
  private fbPktCount = 0;
  private lastTicks = 0;

  constructor(opts: TwccBuilderOptions = {}) {
    const cap = opts.capacity ?? 8192;
    if (cap < 16 || (cap & (cap - 1)) !== 0) throw new RangeError('capacity must be a power of two >= 16');
    this.capacity = cap;
    this.mask = cap - 1;
    this.maxBytes = opts.maxPacketBytes ?? 1200;
    this.arrivals = new Float64Array(cap).fill(NaN);
    this.scratchRecv = new Uint8Array(cap);
    this.scratchDelta = new Int32Array(cap);
  }

  /** Records one received packet: 16-bit transport seq (wraps) and monotonic arrival time in ms. */
  record(transportSeq: number, arrivalMs: number): void {
    const seq = transportSeq & 0xffff;
    const ticks = Math.round(arrivalMs * 4);
    if (!this.started) {
      this.started = true;
      this.base = seq;
      this.max = seq;
      this.arrivals[seq & this.mask] = ticks;
      return;
    }
    // Unwrap relative to the highest seq seen: the nearest of the 65536 candidates.
    const diff = ((seq - this.max + 0x8000) & 0xffff) - 0x8000;
    const ext = this.max + diff;
    if (ext < this.base) return; // already reported (late reorder) or older than the ring
    const slot = ext & this.mask;
    if (ext > this.max) {
      const from = Math.max(this.max + 1, ext - this.capacity + 1);
      for (let s = from; s < ext; s++) this.arrivals[s & this.mask] = NaN;
      this.max = ext;
      if (ext - this.base >= this.capacity) this.base = ext - this.capacity + 1;
      this.arrivals[slot] = ticks;
    } else if (Number.isNaN(this.arrivals[slot])) {
      this.arrivals[slot] = ticks;
    }
    // else: duplicate, keep the first arrival
  }

  /** True when build() would return at least one packet. */
  hasPending(): boolean {
    return this.started && this.base <= this.max;
  }

  /**
   * Builds feedback for every seq since the last build, splitting when a delta does not fit a signed
   * 16-bit tick count or a packet would exceed maxPacketBytes. fb pkt count increments per packet.
   */
  build(senderSsrc: number, mediaSsrc: number): Buffer[] {
    const out: Buffer[] = [];
    if (!this.hasPending()) return out;
    const recv = this.scratchRecv;
    const deltas = this.scratchDelta;
    let s = this.base;
    while (s <= this.max) {
      const pktBase = s;
      let n = 0;
      let deltaBytes = 0;
      let haveRef = false;
      let ref = 0;
      let prev = 0;
      while (s <= this.max && n < 0xffff) {
        const t = this.arrivals[s & this.mask];
        const got = !Number.isNaN(t);
        let r = ref;
        let p = prev;
        let size = 0;
        let d = 0;
        if (got) {
          if (!haveRef) {
            r = Math.floor(t / 256); // 64 ms = 256 ticks
            p = r * 256;
          }
          d = t - p;
          if (d >= 0 && d <= 0xff) size = 1;
          else if (d >= -0x8000 && d <= 0x7fff) size = 2;
          else break; // only reachable with haveRef, so n > 0
        }
        // Worst case: one 2-byte chunk per 7 statuses, plus up to 3 padding bytes.
        const est = 20 + 2 * Math.ceil((n + 1) / 7) + deltaBytes + size + 3;
        if (n > 0 && est > this.maxBytes) break;
        if (got) {
          haveRef = true;
          ref = r;
          prev = t;
          this.lastTicks = t;
        }
        recv[n] = got ? 1 : 0;
        deltas[n] = d;
        deltaBytes += size;
        n++;
        s++;
      }
      if (!haveRef) ref = Math.floor(this.lastTicks / 256);
      out.push(
        writeTwccFeedback(
          { senderSsrc, mediaSsrc, baseSeq: pktBase & 0xffff, referenceTime: ref, fbPktCount: this.fbPktCount },
          n,
          recv,
          deltas,
        ),
      );
      this.fbPktCount = (this.fbPktCount + 1) & 0xff;
    }
    this.base = this.max + 1;
    return out;
  }
}
