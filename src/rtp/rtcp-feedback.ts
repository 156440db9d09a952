/**
 * Feedback messages: generic NACK (RFC 4585 §6.2.1), PLI (§6.3.1), FIR (RFC 5104 §4.3.1) and REMB
 * (draft-alvestrand-rmcat-remb-03 §2): parsers and writers. Common FB header is RFC 4585 §6.1.
 */
import { allocRtcp, putU32, u32 } from './rtcp-header.ts';
import {
  RTCP_PSFB,
  RTCP_RTPFB,
  type FirEntry,
  type FirPacket,
  type NackPacket,
  type PliPacket,
  type RembPacket,
} from './rtcp-types.ts';

export const FMT_NACK = 1;
export const FMT_TWCC = 15;
export const FMT_PLI = 1;
export const FMT_FIR = 4;
export const FMT_AFB = 15;

/** `len` excludes RTCP padding; null when the FCI is truncated or empty. */
export function parseNack(buf: Buffer, o: number, len: number): NackPacket | null {
  const fci = len - 12;
  if (fci < 4 || fci % 4 !== 0) return null;
  const seqs: number[] = [];
  for (let i = o + 12; i < o + len; i += 4) {
    const pid = (buf[i] << 8) | buf[i + 1];
    const blp = (buf[i + 2] << 8) | buf[i + 3];
    seqs.push(pid);
    // BLP bit i reports PID+i+1 lost.
    for (let k = 0; k < 16; k++) if (blp & (1 << k)) seqs.push((pid + k + 1) & 0xffff);
  }
  return { type: 'nack', senderSsrc: u32(buf, o + 4), mediaSsrc: u32(buf, o + 8), seqs };
}

export function parsePli(buf: Buffer, o: number, len: number): PliPacket | null {
  if (len < 12) return null;
  return { type: 'pli', senderSsrc: u32(buf, o + 4), mediaSsrc: u32(buf, o + 8) };
}

export function parseFir(buf: Buffer, o: number, len: number): FirPacket | null {
  const fci = len - 12;
  if (fci < 8 || fci % 8 !== 0) return null;
  const entries: FirEntry[] = [];
  for (let i = o + 12; i < o + len; i += 8) entries.push({ ssrc: u32(buf, i), seqNr: buf[i + 4] });
  return { type: 'fir', senderSsrc: u32(buf, o + 4), entries };
}

/** Returns undefined when the AFB is not a REMB (caller treats it as unknown), null when malformed. */
export function parseRemb(buf: Buffer, o: number, len: number): RembPacket | null | undefined {
  if (len < 16 || buf.toString('latin1', o + 12, o + 16) !== 'REMB') return undefined;
  if (len < 20) return null;
  const n = buf[o + 16];
  if (len < 20 + n * 4) return null;
  const exp = buf[o + 17] >> 2;
  const mantissa = ((buf[o + 17] & 0x03) << 16) | (buf[o + 18] << 8) | buf[o + 19];
  const ssrcs: number[] = [];
  for (let k = 0; k < n; k++) ssrcs.push(u32(buf, o + 20 + k * 4));
  return { type: 'remb', senderSsrc: u32(buf, o + 4), bitrate: mantissa * 2 ** exp, ssrcs };
}

/** Packs `seqs` into PID/BLP pairs; each seq joins the first pair it fits (PID < seq <= PID+16). */
export function writeNack(senderSsrc: number, mediaSsrc: number, seqs: readonly number[]): Buffer {
  const pids: number[] = [];
  const blps: number[] = [];
  outer: for (const raw of seqs) {
    const s = raw & 0xffff;
    for (let k = 0; k < pids.length; k++) {
      const d = (s - pids[k]) & 0xffff;
      if (d === 0) continue outer;
      if (d <= 16) {
        blps[k] |= 1 << (d - 1);
        continue outer;
      }
    }
    pids.push(s);
    blps.push(0);
  }
  if (pids.length === 0) throw new RangeError('NACK needs at least one sequence number');
  const b = allocRtcp(FMT_NACK, RTCP_RTPFB, 12 + pids.length * 4);
  putU32(b, 4, senderSsrc);
  putU32(b, 8, mediaSsrc);
  for (let k = 0; k < pids.length; k++) {
    b.writeUInt16BE(pids[k], 12 + k * 4);
    b.writeUInt16BE(blps[k], 14 + k * 4);
  }
  return b;
}

export function writePli(senderSsrc: number, mediaSsrc: number): Buffer {
  const b = allocRtcp(FMT_PLI, RTCP_PSFB, 12);
  putU32(b, 4, senderSsrc);
  putU32(b, 8, mediaSsrc);
  return b;
}

/** RFC 5104 §4.3.1.1: media source SSRC is 0; targets are in the FCI entries. */
export function writeFir(senderSsrc: number, entries: readonly FirEntry[]): Buffer {
  if (entries.length === 0) throw new RangeError('FIR needs at least one entry');
  const b = allocRtcp(FMT_FIR, RTCP_PSFB, 12 + entries.length * 8);
  putU32(b, 4, senderSsrc);
  entries.forEach((e, k) => {
    putU32(b, 12 + k * 8, e.ssrc);
    b[16 + k * 8] = e.seqNr & 0xff;
  });
  return b;
}

/** REMB: bitrate encoded as 18-bit mantissa << 6-bit exponent (rounded down). */
export function writeRemb(senderSsrc: number, bitrate: number, ssrcs: readonly number[]): Buffer {
  if (ssrcs.length > 255) throw new RangeError('at most 255 SSRCs');
  let br = Math.max(0, Math.floor(bitrate));
  let exp = 0;
  while (br >= 0x40000 && exp < 63) {
    br = Math.floor(br / 2);
    exp++;
  }
  br = Math.min(br, 0x3ffff);
  const b = allocRtcp(FMT_AFB, RTCP_PSFB, 20 + ssrcs.length * 4);
  putU32(b, 4, senderSsrc);
  b.write('REMB', 12, 'latin1');
  b[16] = ssrcs.length;
  b[17] = (exp << 2) | ((br >> 16) & 0x03);
  b[18] = (br >> 8) & 0xff;
  b[19] = br & 0xff;
  ssrcs.forEach((s, k) => putU32(b, 20 + k * 4, s));
  return b;
}
