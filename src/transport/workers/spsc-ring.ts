/**
 * A single-producer single-consumer ring of variable-length records over a SharedArrayBuffer: how packets
 * cross between media workers without a postMessage per packet. One thread writes, one thread reads; the
 * two positions are 32-bit counters that only grow (mod 2^32), published with Atomics (sequentially
 * consistent), so the reader sees a record's bytes once it sees the head that covers them.
 *
 * A record is a 16-byte header (total length, tag, two 32-bit words) and its payload, padded to 4 bytes.
 * A record never wraps: when the space left before the end is too short, a wrap marker fills it and the
 * record starts at offset 0. A full ring refuses the record (counted in `drops`): the writer never waits
 * for the reader. Nothing here allocates per record.
 */

/** Header words (Int32) before the data: head (written), tail (read), records refused, spare. */
const HEAD = 0;
const TAIL = 1;
const DROPS = 2;
const HEADER_BYTES = 16;
const RECORD_HEADER = 16;
/** A length word of this value: skip to the start of the data. */
const WRAP = -1;

export interface RingRecordHandler {
  (tag: number, a: number, b: number, buf: Buffer, offset: number, length: number): void;
}

export class SpscRing {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  private readonly mask: number;
  private readonly ctl: Int32Array;
  /** The data region as a Buffer (no copy: the same memory), and as Int32 words for record headers. */
  private readonly bytes: Buffer;
  private readonly words: Int32Array;

  /** A new ring of `capacity` data bytes (a power of two), or one attached to another thread's `sab`. */
  constructor(capacityOrSab: number | SharedArrayBuffer) {
    if (typeof capacityOrSab === 'number') {
      const c = capacityOrSab;
      if (c < 64 || (c & (c - 1)) !== 0 || c > 1 << 30) throw new Error(`ring capacity ${c}: a power of two in [64, 2^30]`);
      this.sab = new SharedArrayBuffer(HEADER_BYTES + c);
    } else this.sab = capacityOrSab;
    this.capacity = this.sab.byteLength - HEADER_BYTES;
    this.mask = this.capacity - 1;
    this.ctl = new Int32Array(this.sab, 0, HEADER_BYTES / 4);
    this.bytes = Buffer.from(this.sab, HEADER_BYTES, this.capacity);
    this.words = new Int32Array(this.sab, HEADER_BYTES, this.capacity / 4);
  }

  /** The largest payload one record can carry. */
  get maxPayload(): number {
    return this.capacity / 2 - RECORD_HEADER;
  }

  /** Records refused because the ring was full (or too large for it). */
  get drops(): number {
    return Atomics.load(this.ctl, DROPS) >>> 0;
  }

  /** Bytes written and not yet read (wrap padding included). */
  get used(): number {
    return (Atomics.load(this.ctl, HEAD) - Atomics.load(this.ctl, TAIL)) >>> 0;
  }

  isEmpty(): boolean {
    return Atomics.load(this.ctl, HEAD) === Atomics.load(this.ctl, TAIL);
  }

  /**
   * Writer side: one record of `length` bytes of `src` from `offset`, tagged. False (and counted) when it
   * does not fit now; the caller treats that as a lost packet, as a full socket buffer would be.
   */
  write(tag: number, a: number, b: number, src: Buffer, offset: number, length: number): boolean {
    const size = (RECORD_HEADER + length + 3) & ~3;
    if (length > this.maxPayload) {
      Atomics.add(this.ctl, DROPS, 1);
      return false;
    }
    const head = Atomics.load(this.ctl, HEAD) >>> 0;
    const tail = Atomics.load(this.ctl, TAIL) >>> 0;
    const free = this.capacity - ((head - tail) >>> 0);
    let pos = head & this.mask;
    const toEnd = this.capacity - pos;
    const pad = toEnd < size ? toEnd : 0;
    if (pad + size > free) {
      Atomics.add(this.ctl, DROPS, 1);
      return false;
    }
    if (pad > 0) {
      this.words[pos >> 2] = WRAP;
      pos = 0;
    }
    const w = pos >> 2;
    this.words[w] = RECORD_HEADER + length;
    this.words[w + 1] = tag;
    this.words[w + 2] = a | 0;
    this.words[w + 3] = b | 0;
    // Buffer.copy is the fastest copy into shared memory here (1.3 µs for 1,200 bytes against 3.2 µs for a
    // byte loop); for a sub-range of its source Node makes one small view (the packet path's known cost).
    if (length > 0) src.copy(this.bytes, pos + RECORD_HEADER, offset, offset + length);
    // Publish: the reader reads nothing past this store (Atomics are sequentially consistent).
    Atomics.store(this.ctl, HEAD, (head + pad + size) | 0);
    return true;
  }

  /**
   * Reader side: hands every record written so far to `fn` (at most `max`), in order, and returns how many.
   * The payload is a view into the ring, valid only during the call: `fn` copies what it keeps.
   */
  drain(fn: RingRecordHandler, max = 0x7fffffff): number {
    const head = Atomics.load(this.ctl, HEAD) >>> 0;
    let tail = Atomics.load(this.ctl, TAIL) >>> 0;
    let n = 0;
    while (tail !== head && n < max) {
      let pos = tail & this.mask;
      let w = pos >> 2;
      let len = this.words[w]!;
      if (len === WRAP) {
        tail = (tail + (this.capacity - pos)) >>> 0;
        pos = 0;
        w = 0;
        len = this.words[0]!;
      }
      const tag = this.words[w + 1]!;
      const a = this.words[w + 2]! >>> 0;
      const b = this.words[w + 3]! >>> 0;
      n++;
      try {
        fn(tag, a, b, this.bytes, pos + RECORD_HEADER, len - RECORD_HEADER);
      } finally {
        // Released after the handler: the writer may reuse the bytes from here on.
        tail = (tail + ((len + 3) & ~3)) >>> 0;
        Atomics.store(this.ctl, TAIL, tail | 0);
      }
    }
    return n;
  }
}
