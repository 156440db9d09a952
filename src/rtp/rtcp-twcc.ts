/**
 * Transport-wide congestion control feedback, draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1:
 * RTPFB FMT=15 with base seq, status count, 24-bit reference time (64 ms), fb pkt count, packet status
 * chunks (run-length or 1/2-bit status vectors) and receive deltas (250 µs ticks).
 */
import { allocRtcp, putU32, u32 } from './rtcp-header.ts';
import { RTCP_RTPFB, type TwccPacket } from './rtcp-types.ts';

export const TWCC_FMT = 15;
/** Status symbols (§3.1.1). */
export const TWCC_NOT_RECEIVED = 0;
export const TWCC_SMALL_DELTA = 1;
export const TWCC_LARGE_DELTA = 2;
/** Receive delta tick, µs (§3.1.5). */
export const TWCC_TICK_US = 250;
/** Reference time unit, µs (§3.1). */
export const TWCC_REF_US = 64_000;
export const TWCC_MAX_RUN = 0x1fff;

const HEADER = 20;

/** `len` excludes RTCP padding. Returns null when chunks or deltas are truncated or use symbol 3. */
export function parseTwcc(buf: Buffer, o: number, len: number): TwccPacket | null {
  if (len < HEADER) return null;
  const end = o + len;
  const statusCount = (buf[o + 14] << 8) | buf[o + 15];
  let ref = (buf[o + 16] << 16) | (buf[o + 17] << 8) | buf[o + 18];
  if (ref & 0x800000) ref -= 0x1000000; // signed 24 bit
  const symbols = new Uint8Array(statusCount);
  let i = o + HEADER;
  let n = 0;
  while (n < statusCount) {
    if (i + 2 > end) return null;
    const c = (buf[i] << 8) | buf[i + 1];
    i += 2;
    if ((c & 0x8000) === 0) {
      // Run length chunk: T=0, S(2), run(13).
      const sym = (c >> 13) & 0x03;
      const run = c & 0x1fff;
      for (let k = 0; k < run && n < statusCount; k++) symbols[n++] = sym;
    } else if ((c & 0x4000) === 0) {
      // Status vector with 14 one-bit symbols.
      for (let k = 13; k >= 0 && n < statusCount; k--) symbols[n++] = (c >> k) & 1;
    } else {
      // Status vector with 7 two-bit symbols.
      for (let k = 12; k >= 0 && n < statusCount; k -= 2) symbols[n++] = (c >> k) & 0x03;
    }
  }
  const arrivalUs = new Float64Array(statusCount).fill(NaN);
  let t = ref * TWCC_REF_US;
  for (let k = 0; k < statusCount; k++) {
    const s = symbols[k];
    if (s === TWCC_NOT_RECEIVED) continue;
    if (s === TWCC_SMALL_DELTA) {
      if (i + 1 > end) return null;
      t += buf[i] * TWCC_TICK_US;
      i += 1;
    } else if (s === TWCC_LARGE_DELTA) {
      if (i + 2 > end) return null;
      t += buf.readInt16BE(i) * TWCC_TICK_US;
      i += 2;
    } else {
      return null;
    }
    arrivalUs[k] = t;
  }
  return {
    type: 'twcc',
    senderSsrc: u32(buf, o + 4),
    mediaSsrc: u32(buf, o + 8),
    baseSeq: (buf[o + 12] << 8) | buf[o + 13],
    statusCount,
    referenceTime: ref,
    fbPktCount: buf[o + 19],
    symbols,
    arrivalUs,
  };
}

export interface TwccHeaderFields {
  senderSsrc: number;
  mediaSsrc: number;
  baseSeq: number;
  /** 64 ms units; written modulo 2^24. */
  referenceTime: number;
  fbPktCount: number;
}

/**
 * Writes one feedback packet for `statusCount` consecutive seqs from baseSeq. `received[k]` is nonzero
 * when seq baseSeq+k arrived; `deltaTicks[k]` is then its delta (250 µs ticks) from the previous received
 * packet (the first from referenceTime). Deltas must fit in a signed 16-bit value.
 */
export function writeTwccFeedback(
  h: TwccHeaderFields,
  statusCount: number,
  received: ArrayLike<number>,
  deltaTicks: ArrayLike<number>,
): Buffer {
  if (statusCount < 1 || statusCount > 0xffff) throw new RangeError('status count out of range');
  const symbols = new Uint8Array(statusCount);
  let deltaBytes = 0;
  for (let k = 0; k < statusCount; k++) {
    if (!received[k]) continue;
    const d = deltaTicks[k];
    if (d >= 0 && d <= 0xff) {
      symbols[k] = TWCC_SMALL_DELTA;
      deltaBytes += 1;
    } else if (d >= -0x8000 && d <= 0x7fff) {
      symbols[k] = TWCC_LARGE_DELTA;
      deltaBytes += 2;
    } else {
      throw new RangeError(`receive delta ${d} out of range`);
    }
  }
  const chunks = encodeChunks(symbols);
  const body = HEADER + chunks.length * 2 + deltaBytes;
  // Pad with RTCP padding (P bit, count in the last octet) to a 32-bit boundary, as libwebrtc does.
  const pad = (4 - (body % 4)) % 4;
  const b = allocRtcp(TWCC_FMT, RTCP_RTPFB, body + pad, pad > 0);
  putU32(b, 4, h.senderSsrc);
  putU32(b, 8, h.mediaSsrc);
  b.writeUInt16BE(h.baseSeq & 0xffff, 12);
  b.writeUInt16BE(statusCount, 14);
  const ref = h.referenceTime & 0xffffff;
  b[16] = ref >> 16;
  b[17] = (ref >> 8) & 0xff;
  b[18] = ref & 0xff;
  b[19] = h.fbPktCount & 0xff;
  let p = HEADER;
  for (const c of chunks) {
    b.writeUInt16BE(c, p);
    p += 2;
  }
  for (let k = 0; k < statusCount; k++) {
    if (symbols[k] === TWCC_SMALL_DELTA) b[p++] = deltaTicks[k];
    else if (symbols[k] === TWCC_LARGE_DELTA) {
      b.writeInt16BE(deltaTicks[k], p);
      p += 2;
    }
  }
  if (pad > 0) b[b.length - 1] = pad;
  return b;
}

/**
 * Greedy chunking: run-length for runs of >= 14 equal symbols (or a run to the end), a 1-bit vector
 * when the next 14 symbols have no large delta, otherwise run-length for runs >= 7, else a 2-bit vector.
 */
function encodeChunks(sym: Uint8Array): number[] {
  const n = sym.length;
  const out: number[] = [];
  let i = 0;
  while (i < n) {
    let run = 1;
    while (i + run < n && run < TWCC_MAX_RUN && sym[i + run] === sym[i]) run++;
    if (run >= 14 || i + run === n) {
      out.push((sym[i] << 13) | run);
      i += run;
      continue;
    }
    let oneBit = true;
    for (let k = i; k < i + 14 && k < n; k++) if (sym[k] > 1) oneBit = false;
    if (oneBit) {
      let c = 0x8000;
      for (let k = 0; k < 14 && i + k < n; k++) c |= sym[i + k] << (13 - k);
      out.push(c);
      i += 14;
    } else if (run >= 7) {
      out.push((sym[i] << 13) | run);
      i += run;
    } else {
      let c = 0xc000;
      for (let k = 0; k < 7 && i + k < n; k++) c |= sym[i + k] << (12 - 2 * k);
      out.push(c);
      i += 7;
    }
  }
  return out;
}
