/**
 * Per-stream retransmission cache (serves NACKs, RFC 4585 §6.2.1). A ring of power-of-two slots indexed by
 * sequence number; each slot is a fixed view into one preallocated buffer plus the length and the extended
 * seq it holds, so a lookup only hits the exact packet, never one 65536 (or N) numbers apart.
 * Memory is fixed at construction; put/get allocate nothing.
 */

import { Unwrapper } from './seq-unwrapper.ts';

export const DEFAULT_VIDEO_SLOTS = 512;
export const DEFAULT_SLOT_BYTES = 1500;

/** Reused result: `buf` is the whole slot, valid until that slot is overwritten; use `length` bytes. */
export interface CachedPacket {
  buf: Buffer;
  length: number;
}

export class PacketCache {
  private readonly mask: number;
  private readonly slots: Buffer[];
  private readonly lengths: Uint16Array;
  /** Extended seq per slot; NaN = empty. */
  private readonly exts: Float64Array;
  private readonly seq = new Unwrapper(16);
  private readonly view: CachedPacket;

  constructor(
    readonly slotCount = DEFAULT_VIDEO_SLOTS,
    readonly slotBytes = DEFAULT_SLOT_BYTES,
  ) {
    if (slotCount < 1 || (slotCount & (slotCount - 1)) !== 0 || slotCount > 0x8000) {
      throw new RangeError(`slotCount must be a power of two <= 32768, got ${slotCount}`);
    }
    if (slotBytes < 1 || slotBytes > 0xffff) throw new RangeError(`bad slotBytes ${slotBytes}`);
    this.mask = slotCount - 1;
    const store = Buffer.alloc(slotCount * slotBytes);
    this.slots = [];
    for (let i = 0; i < slotCount; i++) this.slots.push(store.subarray(i * slotBytes, (i + 1) * slotBytes));
    this.lengths = new Uint16Array(slotCount);
    this.exts = new Float64Array(slotCount).fill(NaN);
    this.view = { buf: this.slots[0], length: 0 };
  }

  /**
   * Copies `length` bytes of `buf` from `offset` into the slot for `seq` (offset avoids a per-packet
   * subarray). Returns false (nothing stored) if the packet is larger than a slot (caller counts
   * `too_large`), out of bounds, or older than what the slot already holds.
   */
  put(seq: number, buf: Buffer, length: number, offset = 0): boolean {
    if (length > this.slotBytes || length < 0 || offset < 0 || offset + length > buf.length) return false;
    const ext = this.seq.peek(seq);
    const i = ext & this.mask;
    if (this.exts[i] > ext) return false;
    this.seq.unwrap(seq);
    buf.copy(this.slots[i], 0, offset, offset + length);
    this.lengths[i] = length;
    this.exts[i] = ext;
    return true;
  }

  /**
   * The cached packet for `seq`, written into `out` (default: an internal reused object), or null if the slot
   * no longer holds exactly that packet.
   */
  get(seq: number, out: CachedPacket = this.view): CachedPacket | null {
    if (!this.seq.hasValue) return null;
    const ext = this.seq.peek(seq);
    const i = ext & this.mask;
    if (this.exts[i] !== ext) return null;
    out.buf = this.slots[i];
    out.length = this.lengths[i];
    return out;
  }

  /** Forget everything (e.g. the publisher restarted its sequence space). */
  clear(): void {
    this.exts.fill(NaN);
    this.seq.reset();
  }
}
