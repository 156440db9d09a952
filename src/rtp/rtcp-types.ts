/** Parsed RTCP packet shapes (plain objects: RTCP is low-rate). */

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;
export const RTCP_XR = 207;

/** RFC 3550 §6.4.1 report block. */
export interface ReportBlock {
  ssrc: number;
  /** 8-bit fixed point fraction (0..255). */
  fractionLost: number;
  /** Signed 24-bit. */
  cumulativeLost: number;
  /** Extended highest sequence number received. */
  highestSeq: number;
  jitter: number;
  lsr: number;
  dlsr: number;
}

export interface SenderReport {
  type: 'sr';
  ssrc: number;
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}

export interface ReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
}

export interface SdesChunk {
  ssrc: number;
  /** CNAME item (type 1) if present. */
  cname: string | null;
}

export interface SdesPacket {
  type: 'sdes';
  chunks: SdesChunk[];
}

export interface ByePacket {
  type: 'bye';
  ssrcs: number[];
  reason: string | null;
}

export interface NackPacket {
  type: 'nack';
  senderSsrc: number;
  mediaSsrc: number;
  /** Expanded from PID/BLP pairs, in wire order. */
  seqs: number[];
}

export interface PliPacket {
  type: 'pli';
  senderSsrc: number;
  mediaSsrc: number;
}

export interface FirEntry {
  ssrc: number;
  seqNr: number;
}

export interface FirPacket {
  type: 'fir';
  senderSsrc: number;
  entries: FirEntry[];
}

export interface RembPacket {
  type: 'remb';
  senderSsrc: number;
  /** Bits per second. */
  bitrate: number;
  ssrcs: number[];
}

/** Transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1). */
export interface TwccPacket {
  type: 'twcc';
  senderSsrc: number;
  mediaSsrc: number;
  baseSeq: number;
  statusCount: number;
  /** Signed 24-bit, in 64 ms units. */
  referenceTime: number;
  fbPktCount: number;
  /**
   * The received packets in feedback order (bounded by the delta bytes present, not by statusCount): the
   * offset of each from baseSeq, and its arrival time in µs (referenceTime*64000 + deltas).
   */
  recvOffset: Uint16Array;
  recvArrivalUs: Float64Array;
  /**
   * Per status: 0 not received, 1 small delta, 2 large/negative delta; and arrival time in µs, NaN when not
   * received. Expanded from the above on each read (statusCount entries): for tests and tools, not the packet path.
   */
  readonly symbols: Uint8Array;
  readonly arrivalUs: Float64Array;
}

export interface UnknownRtcp {
  type: 'unknown';
  packetType: number;
  /** The 5-bit count / FMT field. */
  count: number;
}

export type RtcpPacket =
  | SenderReport
  | ReceiverReport
  | SdesPacket
  | ByePacket
  | NackPacket
  | PliPacket
  | FirPacket
  | RembPacket
  | TwccPacket
  | UnknownRtcp;
