/**
 * RTP header view (RFC 3550 §5.1) over a received Buffer. One RtpView is reused for every packet on a
 * transport: parse() fills fields in place, validates once, never throws and never allocates.
 */
import type { DropReason } from '../metrics/drop-reasons.ts';
import type { ExtensionWriter } from './extension-writer.ts';

export { ExtensionWriter } from './extension-writer.ts';

const EMPTY = Buffer.alloc(0);

/** The header fields a sender writes; RtpView satisfies it structurally. */
export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

export class RtpView implements RtpHeaderFields {
  buf: Buffer = EMPTY;
  /** Offset of the packet's first byte in buf (0 unless parse() got a start, e.g. after RTX unwrap). */
  start = 0;
  length = 0;
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  csrcCount = 0;
  headerLength = 0;
  /** Absolute offset in buf. */
  payloadOffset = 0;
  /** Excludes padding. */
  payloadLength = 0;
  paddingLength = 0;
  hasExtension = false;
  extProfile = 0;
  /** Absolute offset in buf of the extension data (after the 4-byte profile/length word). */
  extOffset = 0;
  /** Extension data length in bytes. */
  extLength = 0;
  /** Data length of the element last found by findExtension(). */
  lastExtLength = 0;

  /** Returns null when valid, otherwise the drop reason. Packet occupies buf[start, start+length). */
  parse(buf: Buffer, length: number = buf.length, start = 0): DropReason | null {
    if (start < 0 || length < 12 || start + length > buf.length) return 'rtp_malformed';
    const b0 = buf[start];
    if (b0 >> 6 !== 2) return 'rtp_bad_version';
    const end = start + length;
    const cc = b0 & 0x0f;
    let off = start + 12 + cc * 4;
    if (off > end) return 'rtp_malformed';

    let extProfile = 0;
    let extOffset = 0;
    let extLength = 0;
    const hasExt = (b0 & 0x10) !== 0;
    if (hasExt) {
      // §5.3.1: 16-bit profile, 16-bit length in 32-bit words, then data.
      if (off + 4 > end) return 'rtp_bad_extension';
      extProfile = (buf[off] << 8) | buf[off + 1];
      extLength = ((buf[off + 2] << 8) | buf[off + 3]) * 4;
      extOffset = off + 4;
      off = extOffset + extLength;
      if (off > end) return 'rtp_bad_extension';
      if (!elementsFit(buf, extProfile, extOffset, off)) return 'rtp_bad_extension';
    }

    let pad = 0;
    if (b0 & 0x20) {
      // §5.1: last octet counts the padding octets, itself included.
      pad = buf[end - 1];
      if (pad === 0 || off + pad > end) return 'rtp_bad_padding';
    }

    this.buf = buf;
    this.start = start;
    this.length = length;
    this.marker = (buf[start + 1] & 0x80) !== 0;
    this.payloadType = buf[start + 1] & 0x7f;
    this.sequenceNumber = (buf[start + 2] << 8) | buf[start + 3];
    this.timestamp = u32(buf, start + 4);
    this.ssrc = u32(buf, start + 8);
    this.csrcCount = cc;
    this.headerLength = off - start;
    this.payloadOffset = off;
    this.paddingLength = pad;
    this.payloadLength = end - pad - off;
    this.hasExtension = hasExt;
    this.extProfile = extProfile;
    this.extOffset = extOffset;
    this.extLength = extLength;
    this.lastExtLength = 0;
    return null;
  }

  /** True when the packet carries no media payload (e.g. bandwidth-probe padding). */
  isPaddingOnly(): boolean {
    return this.payloadLength === 0;
  }

  /**
   * Finds header extension element `id` (RFC 8285 §4.2 one-byte / §4.3 two-byte form). Returns the
   * absolute offset of its data in buf and sets lastExtLength, or -1 when absent.
   */
  findExtension(id: number): number {
    if (!this.hasExtension || id < 1) return -1;
    const buf = this.buf;
    const end = this.extOffset + this.extLength;
    let i = this.extOffset;
    if (this.extProfile === 0xbede) {
      if (id > 14) return -1;
      while (i < end) {
        const b = buf[i];
        if (b === 0) {
          i++;
          continue;
        }
        const eid = b >> 4;
        if (eid === 15) return -1; // §4.2: reserved id, stop parsing
        const len = (b & 0x0f) + 1;
        if (i + 1 + len > end) return -1;
        if (eid === id) {
          this.lastExtLength = len;
          return i + 1;
        }
        i += 1 + len;
      }
    } else if ((this.extProfile & 0xfff0) === 0x1000) {
      if (id > 255) return -1;
      while (i < end) {
        const eid = buf[i];
        if (eid === 0) {
          i++;
          continue;
        }
        if (i + 2 > end) return -1;
        const len = buf[i + 1];
        if (i + 2 + len > end) return -1;
        if (eid === id) {
          this.lastExtLength = len;
          return i + 2;
        }
        i += 2 + len;
      }
    }
    return -1;
  }
}

function u32(buf: Buffer, o: number): number {
  return buf[o] * 0x1000000 + ((buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]);
}

/** Checks that RFC 8285 elements do not run past the extension block; other profiles are opaque. */
function elementsFit(buf: Buffer, profile: number, i: number, end: number): boolean {
  if (profile === 0xbede) {
    while (i < end) {
      const b = buf[i];
      if (b === 0) {
        i++;
        continue;
      }
      if (b >> 4 === 15) return true;
      i += 2 + (b & 0x0f);
    }
    return i === end;
  }
  if ((profile & 0xfff0) === 0x1000) {
    while (i < end) {
      if (buf[i] === 0) {
        i++;
        continue;
      }
      if (i + 2 > end) return false;
      i += 2 + buf[i + 1];
    }
    return i === end;
  }
  return true;
}

/**
 * Writes a fresh 12-byte RTP header (V=2, no padding, no CSRCs) plus the optional one-byte extension
 * block at `offset`; returns the header length. The payload is copied after it by the caller.
 */
export function writeRtpHeader(
  out: Buffer,
  offset: number,
  h: RtpHeaderFields,
  ext: ExtensionWriter | null,
): number {
  const withExt = ext !== null && ext.count > 0;
  out[offset] = withExt ? 0x90 : 0x80;
  out[offset + 1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out[offset + 2] = (h.sequenceNumber >> 8) & 0xff;
  out[offset + 3] = h.sequenceNumber & 0xff;
  writeU32(out, offset + 4, h.timestamp);
  writeU32(out, offset + 8, h.ssrc);
  return withExt ? 12 + ext.writeTo(out, offset + 12) : 12;
}

function writeU32(out: Buffer, o: number, v: number): void {
  out[o] = (v >>> 24) & 0xff;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}
