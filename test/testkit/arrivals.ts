/**
 * Arrival times of one kind of packet per publisher at one cluster person: when a stream came back after
 * a failure and the longest gap in it (the failover test and bench/cascade.ts read the same figures).
 */
import type { RtpView } from '../../src/rtp/rtp-packet.ts';
import type { ClusterPerson } from '../../tools/client/cluster-person.ts';

export class Arrivals {
  readonly byPublisher = new Map<string, number[]>();
  constructor(private readonly kind: 'audio' | 'video') {}

  record(v: RtpView, person: ClusterPerson): void {
    const t = person.client?.subscribeTracks.find((x) => x.ssrc === v.ssrc);
    if (!t || t.kind !== this.kind || !t.streamId) return;
    let a = this.byPublisher.get(t.streamId);
    if (!a) this.byPublisher.set(t.streamId, (a = []));
    a.push(performance.now());
  }

  /** Longest gap between arrivals of `publisher` in [from, to] (the bounds count as arrivals), and where it starts. */
  longestGap(publisher: string, from: number, to: number): { gap: number; at: number } {
    const a = (this.byPublisher.get(publisher) ?? []).filter((t) => t >= from && t <= to);
    let prev = from;
    let best = { gap: 0, at: from };
    for (const t of [...a, to]) {
      if (t - prev > best.gap) best = { gap: t - prev, at: prev };
      prev = t;
    }
    return best;
  }

  /** The first arrival of `publisher` after `t0` (NaN: none yet). */
  firstAfter(publisher: string, t0: number): number {
    return (this.byPublisher.get(publisher) ?? []).find((t) => t > t0) ?? NaN;
  }
}
