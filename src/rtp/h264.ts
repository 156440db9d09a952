/**
 * H.264 keyframe detection over an RTP payload (RFC 6184 §5.6–5.8): an IDR slice (NAL type 5) or an SPS (7)
 * in a single NAL unit, a STAP-A aggregate (24), or the first fragment of an FU-A (28).
 */
export function isH264Keyframe(buf: Buffer, offset: number, length: number): boolean {
  if (length < 1) return false;
  const type = buf[offset] & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    // STAP-A: 16-bit NALU size, then the NAL unit (RFC 6184 §5.7.1).
    let o = offset + 1;
    const end = offset + length;
    while (o + 2 < end) {
      const size = (buf[o] << 8) | buf[o + 1];
      if (size === 0 || o + 2 + size > end) return false;
      const t = buf[o + 2] & 0x1f;
      if (t === 5 || t === 7) return true;
      o += 2 + size;
    }
    return false;
  }
  if (type === 28) {
    // FU-A: start bit set and the fragmented NAL type (RFC 6184 §5.8).
    if (length < 2) return false;
    const fuHeader = buf[offset + 1];
    return (fuHeader & 0x80) !== 0 && ((fuHeader & 0x1f) === 5 || (fuHeader & 0x1f) === 7);
  }
  return false;
}
