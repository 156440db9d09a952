/**
 * Collects RFC 8285 one-byte header extension elements for an outgoing RTP header and writes the
 * extension block. One instance is reused per sender: `clear()` then `set*()` per packet; no allocation.
 */

const MAX_ELEMENTS = 8;
/** One-byte form: data length is 1..16 bytes (RFC 8285 §4.2), so each element gets a 16-byte slot. */
const SLOT = 16;

export class ExtensionWriter {
  private readonly scratch = Buffer.alloc(MAX_ELEMENTS * SLOT);
  private readonly ids = new Uint8Array(MAX_ELEMENTS);
  private readonly lens = new Uint8Array(MAX_ELEMENTS);
  /** Number of elements currently set. */
  count = 0;

  clear(): void {
    this.count = 0;
  }

  /** Returns the scratch offset of a slot for `id` (reusing an existing one), or -1 if id invalid / full. */
  private slot(id: number, len: number): number {
    // One-byte form allows ids 1..14 (0 is padding, 15 reserved), RFC 8285 §4.2.
    if (id < 1 || id > 14 || len < 1 || len > SLOT) return -1;
    let i = 0;
    while (i < this.count && this.ids[i] !== id) i++;
    if (i === this.count) {
      if (this.count === MAX_ELEMENTS) return -1;
      this.count++;
      this.ids[i] = id;
    }
    this.lens[i] = len;
    return i * SLOT;
  }

  /** transport-wide sequence number, 16 bit (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2). */
  setTransportSeq(id: number, seq: number): boolean {
    const o = this.slot(id, 2);
    if (o < 0) return false;
    this.scratch[o] = (seq >> 8) & 0xff;
    this.scratch[o + 1] = seq & 0xff;
    return true;
  }

  /** abs-send-time, 24-bit 6.18 fixed-point seconds. */
  setAbsSendTime(id: number, v24: number): boolean {
    const o = this.slot(id, 3);
    if (o < 0) return false;
    this.scratch[o] = (v24 >> 16) & 0xff;
    this.scratch[o + 1] = (v24 >> 8) & 0xff;
    this.scratch[o + 2] = v24 & 0xff;
    return true;
  }

  /** RFC 6464 §3: V bit then 7-bit level (-dBov). */
  setAudioLevel(id: number, voice: boolean, level: number): boolean {
    const o = this.slot(id, 1);
    if (o < 0) return false;
    this.scratch[o] = (voice ? 0x80 : 0) | (level & 0x7f);
    return true;
  }

  /** mid / rid (RFC 8843 §15.1, RFC 8852): 1..16 UTF-8 bytes in the one-byte form. */
  setMid(id: number, value: string): boolean {
    const n = Buffer.byteLength(value, 'utf8');
    const o = this.slot(id, n);
    if (o < 0) return false;
    this.scratch.write(value, o, n, 'utf8');
    return true;
  }

  /** Raw element data copied from `src[start..start+len)`. */
  setBytes(id: number, src: Uint8Array, start: number, len: number): boolean {
    const o = this.slot(id, len);
    if (o < 0) return false;
    for (let k = 0; k < len; k++) this.scratch[o + k] = src[start + k];
    return true;
  }

  /** Bytes the extension block occupies: 4-byte header + elements padded to 32 bits; 0 when empty. */
  byteLength(): number {
    if (this.count === 0) return 0;
    let n = 0;
    for (let i = 0; i < this.count; i++) n += 1 + this.lens[i];
    return 4 + ((n + 3) & ~3);
  }

  /**
   * Where `id`'s data lands relative to the start of the block `writeTo` writes (its 4-byte header
   * included), or -1 when it is not set: lets a sender patch a value (the transport-wide seq) later.
   */
  dataOffset(id: number): number {
    let p = 4;
    for (let i = 0; i < this.count; i++) {
      if (this.ids[i] === id) return p + 1;
      p += 1 + this.lens[i];
    }
    return -1;
  }

  /** Writes the 0xBEDE block at `offset` (RFC 8285 §4.2) and returns its length (0 when empty). */
  writeTo(out: Buffer, offset: number): number {
    const total = this.byteLength();
    if (total === 0) return 0;
    const words = (total - 4) >> 2;
    out[offset] = 0xbe;
    out[offset + 1] = 0xde;
    out[offset + 2] = words >> 8;
    out[offset + 3] = words & 0xff;
    let p = offset + 4;
    for (let i = 0; i < this.count; i++) {
      const len = this.lens[i];
      out[p++] = (this.ids[i] << 4) | (len - 1);
      // Byte loop: Buffer.copy of a sub-range allocates a view per call.
      const from = i * SLOT;
      for (let k = 0; k < len; k++) out[p++] = this.scratch[from + k];
    }
    // Zero bytes are padding in the one-byte form.
    const end = offset + total;
    while (p < end) out[p++] = 0;
    return total;
  }
}
