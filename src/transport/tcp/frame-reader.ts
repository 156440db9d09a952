/**
 * RFC 4571 §2 framing: on a TCP connection every RTP, RTCP, STUN or DTLS packet is preceded by its length
 * as a 16-bit big-endian integer. This reassembles frames from the stream's chunks, whatever their cut.
 */
export const MAX_FRAME = 0xffff;

export class FrameReader {
  /** Bytes of a frame (or a length) split across chunks; at most 2 + MAX_FRAME. */
  private readonly pending = Buffer.allocUnsafe(2 + MAX_FRAME);
  private pendingLength = 0;

  /**
   * Feed one chunk; `onFrame` gets each complete frame as a Buffer of its own (the receivers may keep it,
   * as they may a UDP datagram). Never throws: a zero length is a valid empty frame and is skipped.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let off = 0;
    if (this.pendingLength > 0) {
      // Complete the header first, then the body.
      if (this.pendingLength < 2) {
        this.pending[1] = chunk[off++];
        this.pendingLength = 2;
        if (off >= chunk.length) return;
      }
      const need = this.pending.readUInt16BE(0) + 2 - this.pendingLength;
      const take = Math.min(need, chunk.length - off);
      chunk.copy(this.pending, this.pendingLength, off, off + take);
      this.pendingLength += take;
      off += take;
      if (take < need) return;
      const len = this.pendingLength - 2;
      this.pendingLength = 0;
      if (len > 0) onFrame(Buffer.from(this.pending.subarray(2, 2 + len)));
    }
    while (off < chunk.length) {
      if (chunk.length - off < 2) {
        this.pending[0] = chunk[off];
        this.pendingLength = 1;
        return;
      }
      const len = chunk.readUInt16BE(off);
      if (chunk.length - off - 2 < len) {
        chunk.copy(this.pending, 0, off);
        this.pendingLength = chunk.length - off;
        return;
      }
      if (len > 0) onFrame(Buffer.from(chunk.subarray(off + 2, off + 2 + len)));
      off += 2 + len;
    }
  }
}

/** One frame with its length prefix, ready for `socket.write` (which keeps the buffer until it is sent). */
export function frame(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + buf.length);
  out.writeUInt16BE(buf.length, 0);
  buf.copy(out, 2);
  return out;
}
