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

/**
 * Chunks of the feedback being parsed (module scratch, grown to the largest seen: at most one entry per two
 * bytes present, so never more than a datagram's worth).
 */
let chunkScratch = new Uint16Array(64);

/**
 * `len` excludes RTCP padding. Returns null when chunks or deltas are truncated or use symbol 3.
 *
 * Work and memory are bounded by the bytes present, never by the claimed packet status count (§3.1: a
 * 16-bit count a stranger chooses): chunks are read once (one run-length chunk stands for up to 8191
 * statuses in O(1)), and only received packets are stored, each of which needs at least one receive-delta
 * byte (§3.1.5). Statuses the chunks do not reach make the packet malformed, as before.
 */
export function parseTwcc(buf: Buffer, o: number, len: number): TwccPacket | null {
  if (len < HEADER) return null;
  const end = o + len;
  const statusCount = (buf[o + 14] << 8) | buf[o + 15];
  let ref = (buf[o + 16] << 16) | (buf[o + 17] << 8) | buf[o + 18];
  if (ref & 0x800000) ref -= 0x1000000; // signed 24 bit
  if (chunkScratch.length < (len - HEADER) >> 1) chunkScratch = new Uint16Array(Math.max((len - HEADER) >> 1, chunkScratch.length * 2));
  const chunks = chunkScratch;
  let nChunks = 0;
  let i = o + HEADER;
  let n = 0;
  let received = 0;
  // Pass 1: the chunks (§3.1.3, §3.1.4), counting the statuses that carry a delta.
  while (n < statusCount) {
    if (i + 2 > end) return null;
    const c = (buf[i] << 8) | buf[i + 1];
    i += 2;
    chunks[nChunks++] = c;
    if ((c & 0x8000) === 0) {
      const sym = (c >> 13) & 0x03;
      const run = Math.min(c & 0x1fff, statusCount - n);
      if (sym === 3 && run > 0) return null;
      if (sym !== TWCC_NOT_RECEIVED) received += run;
      n += run;
    } else if ((c & 0x4000) === 0) {
      for (let k = 13; k >= 0 && n < statusCount; k--, n++) received += (c >> k) & 1;
    } else {
      for (let k = 12; k >= 0 && n < statusCount; k -= 2, n++) {
        const sym = (c >> k) & 0x03;
        if (sym === 3) return null;
        if (sym !== TWCC_NOT_RECEIVED) received++;
      }
    }
    // Every received status needs at least one delta byte: a claim beyond what is present is malformed.
    if (received > end - i) return null;
  }
  // Pass 2: the receive deltas (§3.1.5), one entry per received packet.
  const recvOffset = new Uint16Array(received);
  const recvArrivalUs = new Float64Array(received);
  const recvSymbol = new Uint8Array(received);
  let t = ref * TWCC_REF_US;
  let r = 0;
  n = 0;
  const delta = (sym: number, at: number): boolean => {
    if (sym === TWCC_SMALL_DELTA) {
      if (i + 1 > end) return false;
      t += buf[i] * TWCC_TICK_US;
      i += 1;
    } else {
      if (i + 2 > end) return false;
      t += buf.readInt16BE(i) * TWCC_TICK_US;
      i += 2;
    }
    recvOffset[r] = at;
    recvArrivalUs[r] = t;
    recvSymbol[r++] = sym;
    return true;
  };
  for (let ci = 0; ci < nChunks; ci++) {
    const c = chunks[ci];
    if ((c & 0x8000) === 0) {
      const sym = (c >> 13) & 0x03;
      const run = Math.min(c & 0x1fff, statusCount - n);
      if (sym !== TWCC_NOT_RECEIVED) for (let k = 0; k < run; k++) if (!delta(sym, n + k)) return null;
      n += run;
    } else if ((c & 0x4000) === 0) {
      for (let k = 13; k >= 0 && n < statusCount; k--, n++) if ((c >> k) & 1 && !delta(TWCC_SMALL_DELTA, n)) return null;
    } else {
      for (let k = 12; k >= 0 && n < statusCount; k -= 2, n++) {
        const sym = (c >> k) & 0x03;
        if (sym !== TWCC_NOT_RECEIVED && !delta(sym, n)) return null;
      }
    }
  }
  return new TwccFeedbackPacket(u32(buf, o + 4), u32(buf, o + 8), (buf[o + 12] << 8) | buf[o + 13], statusCount, ref, buf[o + 19], recvOffset, recvArrivalUs, recvSymbol);
}

/** A parsed feedback packet; `symbols` and `arrivalUs` (one entry per status) are expanded only when read. */
class TwccFeedbackPacket implements TwccPacket {
  readonly type = 'twcc' as const;
  constructor(
    readonly senderSsrc: number,
    readonly mediaSsrc: number,
    readonly baseSeq: number,
    readonly statusCount: number,
    readonly referenceTime: number,
    readonly fbPktCount: number,
    readonly recvOffset: Uint16Array,
    readonly recvArrivalUs: Float64Array,
    private readonly recvSymbol: Uint8Array,
  ) {}
  private expandedSymbols: Uint8Array | null = null;
  private expandedArrivals: Float64Array | null = null;
  get symbols(): Uint8Array {
    if (this.expandedSymbols) return this.expandedSymbols;
    const s = (this.expandedSymbols = new Uint8Array(this.statusCount));
    for (let r = 0; r < this.recvOffset.length; r++) s[this.recvOffset[r]] = this.recvSymbol[r];
    return s;
  }
  get arrivalUs(): Float64Array {
    if (this.expandedArrivals) return this.expandedArrivals;
    const a = (this.expandedArrivals = new Float64Array(this.statusCount).fill(NaN));
    for (let r = 0; r < this.recvOffset.length; r++) a[this.recvOffset[r]] = this.recvArrivalUs[r];
    return a;
  }
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
