/**
 * Timing data for the RTCP Sender Reports we send towards subscribers (RFC 3550 §6.4.1), and the RTT we
 * learn from the report blocks they return.
 */

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch. */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;
const TWO_32 = 0x1_0000_0000;

export interface NtpTime {
  /** Seconds since 1900, mod 2^32. */
  msw: number;
  /** Fraction of a second in 1/2^32. */
  lsw: number;
}

/** Wall-clock ms since the Unix epoch → 64-bit NTP timestamp (RFC 3550 §4), written into `out`. */
export function ntpFromWallMs(wallMs: number, out: NtpTime = { msw: 0, lsw: 0 }): NtpTime {
  const secs = Math.floor(wallMs / 1000);
  const fracMs = wallMs - secs * 1000;
  let lsw = Math.round((fracMs / 1000) * TWO_32);
  let s = secs;
  if (lsw >= TWO_32) {
    lsw -= TWO_32;
    s++;
  }
  out.msw = (s + NTP_UNIX_OFFSET_S) % TWO_32;
  out.lsw = lsw;
  return out;
}

/** Middle 32 bits of an NTP timestamp: the compact form used by LSR (RFC 3550 §6.4.1). */
export function ntpMiddle32(msw: number, lsw: number): number {
  return (((msw & 0xffff) << 16) | (lsw >>> 16)) >>> 0;
}

/** Compact NTP (1/65536 s units) of a wall-clock time. */
export function compactNtpFromWallMs(wallMs: number): number {
  const secs = Math.floor(wallMs / 1000);
  const frac = Math.floor(((wallMs - secs * 1000) * 65536) / 1000);
  return ((((secs + NTP_UNIX_OFFSET_S) & 0xffff) << 16) + frac) >>> 0;
}

/**
 * Round-trip time in ms from a received report block (RFC 3550 §6.4.1: A - LSR - DLSR, 1/65536 s units,
 * mod 2^32). `arrivalWallMs` is when the block arrived, on the same wall clock that stamped our SRs.
 * Null if the block carries no LSR or the result is negative (clock step, bogus DLSR).
 */
export function rttMsFromReportBlock(lsr: number, dlsr: number, arrivalWallMs: number): number | null {
  if (lsr === 0) return null;
  const a = compactNtpFromWallMs(arrivalWallMs);
  const rtt = (a - lsr - dlsr) | 0; // signed: a small negative result is an error, not 18 hours
  if (rtt < 0) return null;
  return (rtt * 1000) / 65536;
}

export interface SenderReportInfo {
  ntpMsw: number;
  ntpLsw: number;
  rtpTs: number;
  packetCount: number;
  octetCount: number;
}

/**
 * Per outgoing stream: remembers the newest RTP timestamp sent and when, so an SR can state the RTP time
 * that corresponds to its NTP time (the two must describe the same instant for lip sync, §6.4.1).
 */
export class SenderReportClock {
  packetCount = 0;
  /** Payload octets, excluding headers and padding (§6.4.1); the SR field wraps mod 2^32. */
  octetCount = 0;

  private lastTs = 0;
  private lastSentMs = 0;
  private sent = false;

  constructor(readonly clockRate: number) {}

  /** Per packet sent (hot path). Only a newer timestamp moves the RTP↔wall reference. */
  onPacketSent(rtpTs: number, payloadBytes: number, nowMs: number): void {
    this.packetCount++;
    this.octetCount += payloadBytes;
    if (!this.sent || ((rtpTs - this.lastTs) | 0) > 0) {
      this.sent = true;
      this.lastTs = rtpTs >>> 0;
      this.lastSentMs = nowMs;
    }
  }

  /** The RTP timestamp for monotonic time `nowMs`, extrapolated from the last sent packet. */
  rtpTimestampAt(nowMs: number): number {
    const elapsed = Math.round(((nowMs - this.lastSentMs) * this.clockRate) / 1000);
    return (this.lastTs + elapsed) >>> 0;
  }

  /** Fields of an SR for now (`nowMs` monotonic, `wallMs` wall clock); null before anything was sent. */
  makeReport(nowMs: number, wallMs: number): SenderReportInfo | null {
    if (!this.sent) return null;
    const ntp = ntpFromWallMs(wallMs);
    return {
      ntpMsw: ntp.msw,
      ntpLsw: ntp.lsw,
      rtpTs: this.rtpTimestampAt(nowMs),
      packetCount: this.packetCount % TWO_32,
      octetCount: this.octetCount % TWO_32,
    };
  }
}
