/**
 * Compound RTCP walker (RFC 3550 §6.1, validity checks per Appendix A.2; reduced-size RTCP per
 * RFC 5506 is accepted, so the first packet need not be SR/RR). The whole compound is validated before
 * any packet is handed out: malformed input yields 'rtcp_malformed', never a throw.
 */
import type { DropReason } from '../metrics/drop-reasons.ts';
import { FMT_AFB, FMT_FIR, FMT_NACK, FMT_PLI, parseFir, parseNack, parsePli, parseRemb } from './rtcp-feedback.ts';
import { parseBye, parseRr, parseSdes, parseSr } from './rtcp-reports.ts';
import { parseTwcc, TWCC_FMT } from './rtcp-twcc.ts';
import {
  RTCP_BYE,
  RTCP_PSFB,
  RTCP_RR,
  RTCP_RTPFB,
  RTCP_SDES,
  RTCP_SR,
  type RtcpPacket,
} from './rtcp-types.ts';

/** Parses every packet of the compound into `out` (appended). Null when the whole compound is valid. */
export function parseRtcp(buf: Buffer, length: number, out: RtcpPacket[]): DropReason | null {
  if (length < 4 || length > buf.length) return 'rtcp_malformed';
  const first = out.length;
  let o = 0;
  while (o < length) {
    if (o + 4 > length) return fail(out, first);
    const b0 = buf[o];
    if (b0 >> 6 !== 2) return fail(out, first);
    const count = b0 & 0x1f;
    const pt = buf[o + 1];
    const total = (((buf[o + 2] << 8) | buf[o + 3]) + 1) * 4;
    if (o + total > length) return fail(out, first);
    let len = total;
    if (b0 & 0x20) {
      // Padding count in the last octet includes itself and may not eat the header.
      const pad = buf[o + total - 1];
      if (pad === 0 || pad > total - 4) return fail(out, first);
      len = total - pad;
    }
    const p = parseOne(buf, o, len, pt, count);
    if (p === null) return fail(out, first);
    out.push(p);
    o += total;
  }
  return null;
}

/** Calls `cb` for each packet of a valid compound; returns the drop reason (no callbacks) otherwise. */
export function forEachRtcp(buf: Buffer, length: number, cb: (p: RtcpPacket) => void): DropReason | null {
  const list: RtcpPacket[] = [];
  const r = parseRtcp(buf, length, list);
  if (r !== null) return r;
  for (const p of list) cb(p);
  return null;
}

function fail(out: RtcpPacket[], first: number): DropReason {
  out.length = first;
  return 'rtcp_malformed';
}

function parseOne(buf: Buffer, o: number, len: number, pt: number, count: number): RtcpPacket | null {
  switch (pt) {
    case RTCP_SR:
      return parseSr(buf, o, len, count);
    case RTCP_RR:
      return parseRr(buf, o, len, count);
    case RTCP_SDES:
      return parseSdes(buf, o, len, count);
    case RTCP_BYE:
      return parseBye(buf, o, len, count);
    case RTCP_RTPFB:
      if (len < 12) return null;
      if (count === FMT_NACK) return parseNack(buf, o, len);
      if (count === TWCC_FMT) return parseTwcc(buf, o, len);
      break;
    case RTCP_PSFB:
      if (len < 12) return null;
      if (count === FMT_PLI) return parsePli(buf, o, len);
      if (count === FMT_FIR) return parseFir(buf, o, len);
      if (count === FMT_AFB) {
        const r = parseRemb(buf, o, len);
        if (r !== undefined) return r;
      }
      break;
  }
  return { type: 'unknown', packetType: pt, count };
}
