/** RTP header extension URIs negotiated in SDP (RFC 8285 §5) and allocation-free readers over an RtpView. */
import type { RtpView } from './rtp-packet.ts';

export const EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const EXT_RID = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
export const EXT_REPAIRED_RID = 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id';
export const EXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
export const EXT_TRANSPORT_CC =
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
export const EXT_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

// Readers take the negotiated id; undefined (not negotiated) reads as absent.

/** Transport-wide sequence number (16 bit), or -1 if absent/short. */
export function readTransportSeq(v: RtpView, id: number | undefined): number {
  if (id === undefined) return -1;
  const o = v.findExtension(id);
  if (o < 0 || v.lastExtLength < 2) return -1;
  return (v.buf[o] << 8) | v.buf[o + 1];
}

/** abs-send-time as the raw 24-bit 6.18 fixed-point value, or -1. */
export function readAbsSendTime(v: RtpView, id: number | undefined): number {
  if (id === undefined) return -1;
  const o = v.findExtension(id);
  if (o < 0 || v.lastExtLength < 3) return -1;
  return (v.buf[o] << 16) | (v.buf[o + 1] << 8) | v.buf[o + 2];
}

/** RFC 6464 §3 byte: voice flag in bit 7, level 0..127 (-dBov) in bits 0-6; -1 if absent. */
export function readAudioLevel(v: RtpView, id: number | undefined): number {
  if (id === undefined) return -1;
  const o = v.findExtension(id);
  if (o < 0 || v.lastExtLength < 1) return -1;
  return v.buf[o];
}

/** mid / rid / repaired-rid string, or null. Allocates: only for packets whose SSRC is not yet known. */
export function readStringExt(v: RtpView, id: number | undefined): string | null {
  if (id === undefined) return null;
  const o = v.findExtension(id);
  if (o < 0 || v.lastExtLength === 0) return null;
  return v.buf.toString('utf8', o, o + v.lastExtLength);
}

/**
 * Whether the string extension at `offset` (as returned by findExtension, `length` = lastExtLength) holds
 * exactly `expected`'s bytes: compares a mid or rid (RFC 8852 §3) without decoding it to a string.
 */
export function extBytesEqual(v: RtpView, offset: number, length: number, expected: Buffer): boolean {
  if (offset < 0 || length !== expected.length) return false;
  const buf = v.buf;
  for (let i = 0; i < length; i++) if (buf[offset + i] !== expected[i]) return false;
  return true;
}
