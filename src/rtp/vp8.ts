/** VP8 RTP payload descriptor (RFC 7741 §4.2) as a reusable view, plus in-place rewriting helpers. */
import type { DropReason } from '../metrics/drop-reasons.ts';

export class Vp8Descriptor {
  nonReference = false;
  startOfPartition = false;
  partitionId = 0;
  /** -1 when absent. */
  pictureId = -1;
  /** 7 or 15 (bits); 0 when absent. */
  pictureIdLength = 0;
  /** Absolute offset of the PictureID field, -1 when absent (for writePictureId). */
  pictureIdOffset = -1;
  tl0PicIdx = -1;
  tl0PicIdxOffset = -1;
  tid = -1;
  layerSync = false;
  keyIdx = -1;
  descriptorLength = 0;
  isKeyframe = false;

  /** Parses buf[offset, offset+length) (the RTP payload). Null when valid. */
  parse(buf: Buffer, offset: number, length: number): DropReason | null {
    if (length < 1 || offset < 0 || offset + length > buf.length) return 'rtp_malformed';
    const end = offset + length;
    let i = offset;
    const b0 = buf[i++];
    let pictureId = -1;
    let pictureIdLength = 0;
    let pictureIdOffset = -1;
    let tl0 = -1;
    let tl0Offset = -1;
    let tid = -1;
    let layerSync = false;
    let keyIdx = -1;
    if (b0 & 0x80) {
      if (i >= end) return 'rtp_malformed';
      const x = buf[i++];
      if (x & 0x80) {
        // I: PictureID, M bit selects 15-bit form.
        if (i >= end) return 'rtp_malformed';
        pictureIdOffset = i;
        if (buf[i] & 0x80) {
          if (i + 2 > end) return 'rtp_malformed';
          pictureId = ((buf[i] & 0x7f) << 8) | buf[i + 1];
          pictureIdLength = 15;
          i += 2;
        } else {
          pictureId = buf[i] & 0x7f;
          pictureIdLength = 7;
          i++;
        }
      }
      if (x & 0x40) {
        if (i >= end) return 'rtp_malformed';
        tl0Offset = i;
        tl0 = buf[i++];
      }
      if (x & 0x30) {
        // T and K share one octet: TID(2) Y(1) KEYIDX(5).
        if (i >= end) return 'rtp_malformed';
        const t = buf[i++];
        if (x & 0x20) {
          tid = t >> 6;
          layerSync = (t & 0x20) !== 0;
        }
        if (x & 0x10) keyIdx = t & 0x1f;
      }
    }
    if (i >= end) return 'rtp_malformed'; // descriptor with no VP8 payload
    this.nonReference = (b0 & 0x20) !== 0;
    this.startOfPartition = (b0 & 0x10) !== 0;
    this.partitionId = b0 & 0x07;
    this.pictureId = pictureId;
    this.pictureIdLength = pictureIdLength;
    this.pictureIdOffset = pictureIdOffset;
    this.tl0PicIdx = tl0;
    this.tl0PicIdxOffset = tl0Offset;
    this.tid = tid;
    this.layerSync = layerSync;
    this.keyIdx = keyIdx;
    this.descriptorLength = i - offset;
    // §4.3: the payload header's P bit (bit 0 of the first octet) is 0 for key frames; only present
    // at the start of partition 0.
    this.isKeyframe = this.startOfPartition && this.partitionId === 0 && (buf[i] & 0x01) === 0;
    return null;
  }
}

/** Rewrites a PictureID field in place, keeping its existing 7- or 15-bit width (value wraps). */
export function writePictureId(buf: Buffer, offset: number, pictureIdLength: number, pictureId: number): void {
  if (pictureIdLength === 15) {
    buf[offset] = 0x80 | ((pictureId >> 8) & 0x7f);
    buf[offset + 1] = pictureId & 0xff;
  } else {
    buf[offset] = pictureId & 0x7f;
  }
}

/** Rewrites a TL0PICIDX field in place (8 bit, wraps). */
export function writeTl0PicIdx(buf: Buffer, offset: number, tl0PicIdx: number): void {
  buf[offset] = tl0PicIdx & 0xff;
}

/**
 * Width and height of a VP8 key frame (RFC 6386 §9.1): after the 3-byte frame tag come the start code
 * 9d 01 2a and two 16-bit little-endian fields, 14 bits of size and 2 of scaling each. `offset` is the
 * first byte of the VP8 payload (after the RTP descriptor). Returns width × 65536 + height, or -1 when the
 * bytes are not a key frame header.
 */
export function vp8KeyframeSize(buf: Buffer, offset: number, end: number): number {
  if (offset < 0 || offset + 10 > end || end > buf.length) return -1;
  if ((buf[offset] & 0x01) !== 0) return -1; // P bit: an inter frame
  if (buf[offset + 3] !== 0x9d || buf[offset + 4] !== 0x01 || buf[offset + 5] !== 0x2a) return -1;
  const width = (buf[offset + 6] | (buf[offset + 7] << 8)) & 0x3fff;
  const height = (buf[offset + 8] | (buf[offset + 9] << 8)) & 0x3fff;
  return width * 0x10000 + height;
}
