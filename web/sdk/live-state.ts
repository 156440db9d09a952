/**
 * "Live" that tells the truth: media flows in one direction when its connection is connected AND its RTP
 * byte counter grew lately. A connection that is up but sends nothing (both tracks muted, the encoder
 * stalled, packets going nowhere) is not live, and neither is a counter that stopped.
 */
export interface LiveState {
  /** Our camera/microphone leave: the publish connection is connected and its outbound bytes grow. */
  publishing: boolean;
  /** Someone's media arrives: the subscribe connection is connected and its inbound bytes grow. */
  receiving: boolean;
}

/** Growth is judged against a sample at least this old… */
export const MIN_GAP_MS = 200;
/** …and at most this old (older says nothing about now: sample again). So "live" lags by at most this. */
export const MAX_GAP_MS = 600;

/** One direction's byte counter over time. */
export class FlowWatch {
  private samples: Array<{ t: number; bytes: number }> = [];

  /**
   * Record the counter at `t` (ms). Returns whether it grew since the newest sample at least MIN_GAP_MS
   * older, or null when there is no such sample within MAX_GAP_MS (then sample again MIN_GAP_MS later).
   */
  observe(t: number, bytes: number): boolean | null {
    const s = this.samples;
    // A counter that went backwards belongs to a new connection: start over.
    if (s.length > 0 && bytes < s[s.length - 1]!.bytes) s.length = 0;
    s.push({ t, bytes });
    while (s.length > 0 && t - s[0]!.t > MAX_GAP_MS) s.shift();
    let base: { t: number; bytes: number } | undefined;
    for (let i = s.length - 1; i >= 0; i--) {
      if (t - s[i]!.t >= MIN_GAP_MS) {
        base = s[i];
        break;
      }
    }
    if (s.length > 64) s.splice(0, s.length - 64);
    return base === undefined ? null : bytes > base.bytes;
  }

  reset(): void {
    this.samples = [];
  }
}

type Stat = Record<string, unknown> & { type: string };

/** RTP payload bytes of one direction in a getStats() report (outbound-rtp or inbound-rtp). */
export function rtpBytes(report: Iterable<Stat>, direction: 'outbound' | 'inbound'): number {
  let n = 0;
  for (const s of report) {
    if (direction === 'outbound' && s.type === 'outbound-rtp' && typeof s.bytesSent === 'number') n += s.bytesSent;
    if (direction === 'inbound' && s.type === 'inbound-rtp' && typeof s.bytesReceived === 'number') n += s.bytesReceived;
  }
  return n;
}
