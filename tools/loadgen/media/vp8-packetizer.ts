/** VP8 RTP packetizer (RFC 7741) for pre-encoded frames. */

/** RFC 6386 §9.1: bit 0 of the frame tag (first byte) is 0 for a key frame, 1 for an interframe. */
export function isVp8Keyframe(frame: Buffer): boolean {
  return frame.length > 0 && (frame[0] & 0x01) === 0;
}

/** X, I and M set: 1 octet required header + 1 extension octet + 2 octets of 15-bit PictureID. */
const DESCRIPTOR_BYTES = 4;
const PICTURE_ID_MASK = 0x7fff;

/** With temporal layers, L and T too: TL0PICIDX and TID/Y/KEYIDX octets follow the PictureID. */
const TEMPORAL_DESCRIPTOR_BYTES = 6;

export class Vp8Packetizer {
  private nextPictureId: number;
  private tl0PicIdx: number;

  constructor(
    initialPictureId = 0,
    readonly maxPayloadBytes = 1100,
  ) {
    if (!Number.isInteger(initialPictureId) || initialPictureId < 0 || initialPictureId > PICTURE_ID_MASK) {
      throw new Error(`initial PictureID must be an integer in 0..${PICTURE_ID_MASK}, got ${initialPictureId}`);
    }
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes <= DESCRIPTOR_BYTES) {
      throw new Error(`maxPayloadBytes must be an integer above ${DESCRIPTOR_BYTES}, got ${maxPayloadBytes}`);
    }
    this.nextPictureId = initialPictureId;
    this.tl0PicIdx = initialPictureId & 0xff;
  }

  /** The PictureID the next frame will carry. */
  get pictureId(): number {
    return this.nextPictureId;
  }

  /**
   * Splits one frame into RTP payloads of at most maxPayloadBytes. Sizes are balanced (they differ by at most
   * one byte) so the last packet is not a tiny runt. Allocates only the returned buffers; the caller sets the
   * RTP marker bit on the packet carrying the last payload (RFC 7741 §4.1).
   */
  packetize(frame: Buffer, tid = -1, layerSync = false): Buffer[] {
    if (frame.length === 0) throw new Error('cannot packetize an empty VP8 frame');
    const temporal = tid >= 0;
    if (temporal && tid > 3) throw new Error(`TID is 2 bits, got ${tid}`);
    const db = temporal ? TEMPORAL_DESCRIPTOR_BYTES : DESCRIPTOR_BYTES;
    // RFC 7741 §4.2: TL0PICIDX counts layer-0 frames; others carry the latest one's.
    if (temporal && tid === 0) this.tl0PicIdx = (this.tl0PicIdx + 1) & 0xff;
    const room = this.maxPayloadBytes - db;
    const count = Math.ceil(frame.length / room);
    const base = Math.floor(frame.length / count);
    const extra = frame.length - base * count; // the first `extra` packets carry one more byte
    const pid = this.nextPictureId;
    this.nextPictureId = (pid + 1) & PICTURE_ID_MASK;
    const out = new Array<Buffer>(count);
    let src = 0;
    for (let i = 0; i < count; i++) {
      const len = base + (i < extra ? 1 : 0);
      const p = Buffer.allocUnsafe(db + len);
      // §4.2: X=1; N=0 (every frame is treated as a reference); S=1 only at the start of the frame, which is
      // the start of partition 0, so PID stays 0 throughout (we do not split on partition boundaries).
      p[0] = i === 0 ? 0x90 : 0x80;
      p[1] = temporal ? 0xe0 : 0x80; // I=1; with temporal layers L=T=1; K=0
      p[2] = 0x80 | (pid >> 8); // M=1: 15-bit PictureID
      p[3] = pid & 0xff;
      if (temporal) {
        p[4] = this.tl0PicIdx;
        p[5] = (tid << 6) | (layerSync ? 0x20 : 0);
      }
      frame.copy(p, db, src, src + len);
      src += len;
      out[i] = p;
    }
    return out;
  }
}
