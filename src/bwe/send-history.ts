/**
 * Send time and size of every packet by transport-wide sequence number, so feedback (which carries only
 * seqs and arrival times, draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) can be matched with
 * what we sent. The 16-bit seq is unwrapped against the highest seq sent; entries live in a preallocated
 * ring and are forgotten when overwritten or older than `maxAgeMs`. add() is per packet: no allocation.
 */

export const FB_NONE = 0;
export const FB_LOST = 1;
export const FB_RECEIVED = 2;

export interface SendHistoryOptions {
  /** Ring size in packets, a power of two. Default 8192 (≈ 30 s at 2.5 Mbps, 4 s at 20 Mbps). */
  capacity?: number;
  /** Older packets are treated as unknown by lookup(). Default 10 000 ms. */
  maxAgeMs?: number;
}

export class SendHistory {
  readonly capacity: number;
  private readonly mask: number;
  private readonly maxAgeMs: number;
  /** Unwrapped seq stored in each slot (-1 = empty); a float so it never overflows. */
  private readonly extSeq: Float64Array;
  private readonly sendAt: Float64Array;
  private readonly bytes: Uint32Array;
  private readonly cluster: Int32Array;
  private readonly status: Uint8Array;
  /** 1: the receiver demonstrably throws this packet away (RTX or padding to a receiver that discards them). */
  private readonly dropped: Uint8Array;
  private maxSeq = -1;
  /** Packets recorded. */
  sent = 0;
  /** Packets that left the ring (overwritten) without any feedback naming them. */
  evictedUnacked = 0;

  constructor(opts: SendHistoryOptions = {}) {
    const cap = opts.capacity ?? 8192;
    if (cap < 16 || (cap & (cap - 1)) !== 0) throw new RangeError('capacity must be a power of two >= 16');
    this.capacity = cap;
    this.mask = cap - 1;
    this.maxAgeMs = opts.maxAgeMs ?? 10_000;
    this.extSeq = new Float64Array(cap).fill(-1);
    this.sendAt = new Float64Array(cap);
    this.bytes = new Uint32Array(cap);
    this.cluster = new Int32Array(cap);
    this.status = new Uint8Array(cap);
    this.dropped = new Uint8Array(cap);
  }

  /** Highest unwrapped seq recorded, -1 before the first. */
  get highestSeq(): number {
    return this.maxSeq;
  }

  /** Unwraps a 16-bit seq to the nearest candidate around the highest seq sent. */
  unwrap(transportSeq: number): number {
    const seq = transportSeq & 0xffff;
    if (this.maxSeq < 0) return seq;
    const diff = ((seq - (this.maxSeq % 0x10000) + 0x8000) & 0xffff) - 0x8000;
    return this.maxSeq + diff;
  }

  /**
   * Records one sent packet; `probeCluster` is -1 for ordinary packets; `receiverDrops`: the receiver is
   * known to throw it away unseen, so its "not received" says nothing about the path.
   */
  add(transportSeq: number, sizeBytes: number, nowMs: number, probeCluster = -1, receiverDrops = false): void {
    const ext = this.unwrap(transportSeq);
    if (ext < 0 || ext <= this.maxSeq - this.capacity) return; // older than the ring: nothing to keep
    if (ext > this.maxSeq) this.maxSeq = ext;
    const slot = ext & this.mask;
    if (this.extSeq[slot] >= 0 && this.extSeq[slot] !== ext && this.status[slot] === FB_NONE) this.evictedUnacked++;
    this.extSeq[slot] = ext;
    this.sendAt[slot] = nowMs;
    this.bytes[slot] = sizeBytes;
    this.cluster[slot] = probeCluster;
    this.status[slot] = FB_NONE;
    this.dropped[slot] = receiverDrops ? 1 : 0;
    this.sent++;
  }

  /** Slot of a 16-bit seq sent within maxAgeMs, or -1 (never sent, overwritten, or aged out). */
  lookup(transportSeq: number, nowMs: number): number {
    if (this.maxSeq < 0) return -1;
    const ext = this.unwrap(transportSeq);
    if (ext < 0) return -1;
    const slot = ext & this.mask;
    if (this.extSeq[slot] !== ext) return -1;
    if (nowMs - this.sendAt[slot] > this.maxAgeMs) return -1;
    return slot;
  }

  /** Slot of an unwrapped seq sent within maxAgeMs, or -1. */
  lookupExt(ext: number, nowMs: number): number {
    if (this.maxSeq < 0 || ext < 0) return -1;
    const slot = ext & this.mask;
    if (this.extSeq[slot] !== ext) return -1;
    if (nowMs - this.sendAt[slot] > this.maxAgeMs) return -1;
    return slot;
  }

  seqAt(slot: number): number {
    return this.extSeq[slot];
  }
  sendMsAt(slot: number): number {
    return this.sendAt[slot];
  }
  sizeAt(slot: number): number {
    return this.bytes[slot];
  }
  clusterAt(slot: number): number {
    return this.cluster[slot];
  }
  receiverDropsAt(slot: number): boolean {
    return this.dropped[slot] === 1;
  }
  statusAt(slot: number): number {
    return this.status[slot];
  }
  /** Records what feedback said about a slot (FB_LOST or FB_RECEIVED). */
  setStatus(slot: number, s: number): void {
    this.status[slot] = s;
  }
}
