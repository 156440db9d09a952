/** SR, RR (RFC 3550 §6.4.1/§6.4.2), SDES CNAME (§6.5) and BYE (§6.6): parsers and writers. */
import { allocRtcp, putU32, u32 } from './rtcp-header.ts';
import {
  RTCP_BYE,
  RTCP_RR,
  RTCP_SDES,
  RTCP_SR,
  type ByePacket,
  type ReceiverReport,
  type ReportBlock,
  type SdesChunk,
  type SdesPacket,
  type SenderReport,
} from './rtcp-types.ts';

const BLOCK = 24;

function readBlocks(buf: Buffer, o: number, n: number): ReportBlock[] {
  const out: ReportBlock[] = [];
  for (let k = 0; k < n; k++, o += BLOCK) {
    let lost = ((buf[o + 5] << 16) | (buf[o + 6] << 8) | buf[o + 7]) >>> 0;
    if (lost & 0x800000) lost -= 0x1000000;
    out.push({
      ssrc: u32(buf, o),
      fractionLost: buf[o + 4],
      cumulativeLost: lost,
      highestSeq: u32(buf, o + 8),
      jitter: u32(buf, o + 12),
      lsr: u32(buf, o + 16),
      dlsr: u32(buf, o + 20),
    });
  }
  return out;
}

function writeBlocks(buf: Buffer, o: number, blocks: readonly ReportBlock[]): void {
  for (const r of blocks) {
    putU32(buf, o, r.ssrc);
    buf[o + 4] = r.fractionLost & 0xff;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost)) & 0xffffff;
    buf[o + 5] = lost >> 16;
    buf[o + 6] = (lost >> 8) & 0xff;
    buf[o + 7] = lost & 0xff;
    putU32(buf, o + 8, r.highestSeq);
    putU32(buf, o + 12, r.jitter);
    putU32(buf, o + 16, r.lsr);
    putU32(buf, o + 20, r.dlsr);
    o += BLOCK;
  }
}

/** `len` is the packet length without RTCP padding; returns null when truncated. */
export function parseSr(buf: Buffer, o: number, len: number, rc: number): SenderReport | null {
  if (len < 28 + rc * BLOCK) return null;
  return {
    type: 'sr',
    ssrc: u32(buf, o + 4),
    ntpSec: u32(buf, o + 8),
    ntpFrac: u32(buf, o + 12),
    rtpTimestamp: u32(buf, o + 16),
    packetCount: u32(buf, o + 20),
    octetCount: u32(buf, o + 24),
    reports: readBlocks(buf, o + 28, rc),
  };
}

export function parseRr(buf: Buffer, o: number, len: number, rc: number): ReceiverReport | null {
  if (len < 8 + rc * BLOCK) return null;
  return { type: 'rr', ssrc: u32(buf, o + 4), reports: readBlocks(buf, o + 8, rc) };
}

export function parseSdes(buf: Buffer, o: number, len: number, sc: number): SdesPacket | null {
  const end = o + len;
  let i = o + 4;
  const chunks: SdesChunk[] = [];
  for (let k = 0; k < sc; k++) {
    if (i + 4 > end) return null;
    const chunk: SdesChunk = { ssrc: u32(buf, i), cname: null };
    i += 4;
    for (;;) {
      if (i >= end) return null;
      const t = buf[i];
      if (t === 0) {
        // §6.5: item list ends with a null octet, then pads to a 32-bit boundary.
        i = o + ((i - o + 4) & ~3);
        break;
      }
      if (i + 2 > end) return null;
      const n = buf[i + 1];
      if (i + 2 + n > end) return null;
      if (t === 1) chunk.cname = buf.toString('utf8', i + 2, i + 2 + n);
      i += 2 + n;
    }
    chunks.push(chunk);
  }
  return { type: 'sdes', chunks };
}

export function parseBye(buf: Buffer, o: number, len: number, sc: number): ByePacket | null {
  if (len < 4 + sc * 4) return null;
  const ssrcs: number[] = [];
  for (let k = 0; k < sc; k++) ssrcs.push(u32(buf, o + 4 + k * 4));
  let reason: string | null = null;
  const r = o + 4 + sc * 4;
  if (r < o + len) {
    const n = buf[r];
    if (r + 1 + n > o + len) return null;
    reason = buf.toString('utf8', r + 1, r + 1 + n);
  }
  return { type: 'bye', ssrcs, reason };
}

export interface SrFields {
  ssrc: number;
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports?: readonly ReportBlock[];
}

export function writeSr(sr: SrFields): Buffer {
  const reports = sr.reports ?? [];
  if (reports.length > 31) throw new RangeError('at most 31 report blocks');
  const b = allocRtcp(reports.length, RTCP_SR, 28 + reports.length * BLOCK);
  putU32(b, 4, sr.ssrc);
  putU32(b, 8, sr.ntpSec);
  putU32(b, 12, sr.ntpFrac);
  putU32(b, 16, sr.rtpTimestamp);
  putU32(b, 20, sr.packetCount);
  putU32(b, 24, sr.octetCount);
  writeBlocks(b, 28, reports);
  return b;
}

export function writeRr(ssrc: number, reports: readonly ReportBlock[]): Buffer {
  if (reports.length > 31) throw new RangeError('at most 31 report blocks');
  const b = allocRtcp(reports.length, RTCP_RR, 8 + reports.length * BLOCK);
  putU32(b, 4, ssrc);
  writeBlocks(b, 8, reports);
  return b;
}

/** One SDES chunk with a CNAME item (§6.5.1). */
export function writeSdesCname(ssrc: number, cname: string): Buffer {
  const n = Buffer.byteLength(cname, 'utf8');
  if (n > 255) throw new RangeError('CNAME longer than 255 bytes');
  // ssrc + type + len + text + at least one null octet, padded to 32 bits.
  const chunk = (4 + 2 + n + 1 + 3) & ~3;
  const b = allocRtcp(1, RTCP_SDES, 4 + chunk);
  putU32(b, 4, ssrc);
  b[8] = 1;
  b[9] = n;
  b.write(cname, 10, n, 'utf8');
  return b;
}

export function writeBye(ssrcs: readonly number[], reason?: string): Buffer {
  if (ssrcs.length > 31) throw new RangeError('at most 31 SSRCs');
  const rn = reason === undefined ? -1 : Math.min(255, Buffer.byteLength(reason, 'utf8'));
  const body = 4 + ssrcs.length * 4 + (rn >= 0 ? 1 + rn : 0);
  const b = allocRtcp(ssrcs.length, RTCP_BYE, (body + 3) & ~3);
  ssrcs.forEach((s, k) => putU32(b, 4 + k * 4, s));
  if (rn >= 0) {
    const r = 4 + ssrcs.length * 4;
    // write() stops at a whole character, so record what it actually wrote.
    b[r] = b.write(reason!, r + 1, rn, 'utf8');
  }
  return b;
}
