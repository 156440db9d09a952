/** RTX retransmission payload format (RFC 4588 §4): a 2-byte original sequence number (OSN) precedes the original payload. */
import type { DropReason } from '../metrics/drop-reasons.ts';
import type { ExtensionWriter } from './extension-writer.ts';
import { writeRtpHeader, type RtpView } from './rtp-packet.ts';

/** OSN of an RTX packet, or -1 when the payload is too short to hold one. */
export function rtxOriginalSeq(v: RtpView): number {
  if (v.payloadLength < 2) return -1;
  return (v.buf[v.payloadOffset] << 8) | v.buf[v.payloadOffset + 1];
}

/**
 * Rewrites an RTX packet in place into the original one (RFC 4588 §4: same timestamp, OSN as sequence
 * number, original SSRC/PT) and re-parses `v`. The header moves 2 bytes forward over the OSN instead of
 * shifting the payload, so afterwards the packet starts at `v.start` (old start + 2).
 */
export function unwrapRtxInPlace(v: RtpView, originalSsrc: number, originalPt: number): DropReason | null {
  const osn = rtxOriginalSeq(v);
  if (osn < 0) return 'rtx_malformed';
  const buf = v.buf;
  const start = v.start;
  buf.copyWithin(start + 2, start, v.payloadOffset);
  const s = start + 2;
  buf[s + 1] = (buf[s + 1] & 0x80) | (originalPt & 0x7f);
  buf[s + 2] = osn >> 8;
  buf[s + 3] = osn & 0xff;
  buf[s + 8] = (originalSsrc >>> 24) & 0xff;
  buf[s + 9] = (originalSsrc >>> 16) & 0xff;
  buf[s + 10] = (originalSsrc >>> 8) & 0xff;
  buf[s + 11] = originalSsrc & 0xff;
  // Cannot fail in practice (the header was valid), but keep the chain's contract explicit.
  return v.parse(buf, v.length - 2, s) === null ? null : 'rtx_malformed';
}

export interface RtxHeader {
  payloadType: number;
  sequenceNumber: number;
  ssrc: number;
}

/**
 * Builds an RTX packet at `out[offset]` from a cached original: fresh header (original marker and
 * timestamp, RTX ssrc/pt/seq), OSN, then the original payload without padding. Returns its length,
 * or -1 when `out` is too small.
 */
export function writeRtx(
  out: Buffer,
  offset: number,
  original: RtpView,
  h: RtxHeader,
  ext: ExtensionWriter | null,
): number {
  const extLen = ext === null ? 0 : ext.byteLength();
  if (offset + 12 + extLen + 2 + original.payloadLength > out.length) return -1;
  const hl = writeRtpHeader(
    out,
    offset,
    {
      marker: original.marker,
      payloadType: h.payloadType,
      sequenceNumber: h.sequenceNumber,
      timestamp: original.timestamp,
      ssrc: h.ssrc,
    },
    ext,
  );
  const p = offset + hl;
  out[p] = original.sequenceNumber >> 8;
  out[p + 1] = original.sequenceNumber & 0xff;
  original.buf.copy(out, p + 2, original.payloadOffset, original.payloadOffset + original.payloadLength);
  return hl + 2 + original.payloadLength;
}
