/**
 * RTP header length and SRTP packet index estimation. Pure functions of numbers, no allocation.
 */

/** Minimum RTP header (RFC 3550 §5.1). */
export const RTP_FIXED_HEADER = 12;

/**
 * Length of the RTP header: 12 + 4*CC, plus 4 + 4*length when X is set (RFC 3550 §5.1, §5.3.1).
 * It is the GCM AAD (RFC 7714 §8.1) and the unencrypted part for AES-CM (RFC 3711 §3.1).
 * Returns -1 when the version is not 2 or the header runs past `length`.
 */
export function rtpHeaderLength(buf: Buffer, length: number): number {
  if (length < RTP_FIXED_HEADER) return -1;
  const b0 = buf[0];
  if (b0 >>> 6 !== 2) return -1;
  let hl = RTP_FIXED_HEADER + 4 * (b0 & 0x0f);
  if (b0 & 0x10) {
    if (hl + 4 > length) return -1;
    hl += 4 + 4 * buf.readUInt16BE(hl + 2);
  }
  return hl > length ? -1 : hl;
}

/**
 * Packet index i = 2^16 * v + SEQ for a received SEQ, given the highest index seen so far
 * (RFC 3711 §3.3.1 and Appendix A: v is ROC-1, ROC or ROC+1, whichever puts SEQ nearest s_l).
 * May return a negative number for a packet from "before" ROC 0; callers treat it as too old.
 */
export function estimateRtpIndex(highest: number, seq: number): number {
  const roc = Math.floor(highest / 65536);
  const sL = highest - roc * 65536;
  let v = roc;
  if (sL < 32768) {
    if (seq - sL > 32768) v = roc - 1;
  } else if (sL - 32768 > seq) {
    v = roc + 1;
  }
  return v * 65536 + seq;
}
