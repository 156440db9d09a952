/**
 * Once a second, what one subscriber was sent (per track) and asked for (NACKs, keyframes), and the estimate
 * towards it: the recorder's `second` event, from counters the consumers keep anyway (nothing per packet).
 */
import type { SubscribeSession } from '../media/subscribe-session.ts';

export interface TrafficSample {
  /** The bandwidth estimate towards this person, bps (null: none yet, or unlimited). */
  estimateBps: number | null;
  sentBps: number;
  /** Bits per second forwarded per received track (track id). */
  perTrack: Record<string, number>;
  /** NACKed sequence numbers, keyframe requests, resends over the second. */
  nacks: number;
  plis: number;
  rtx: number;
  /** Audio redundancy was on. */
  red: boolean;
}

interface Totals {
  octets: number;
  nacks: number;
  plis: number;
  rtx: number;
}

export class TrafficSampler {
  private readonly before = new WeakMap<object, Totals>();
  private lastAt = -1;

  sample(sub: SubscribeSession, nowMs: number): TrafficSample {
    const seconds = this.lastAt < 0 ? 1 : Math.max(0.001, (nowMs - this.lastAt) / 1000);
    this.lastAt = nowMs;
    const perTrack: Record<string, number> = {};
    let sent = 0;
    let nacks = 0;
    let plis = 0;
    let rtx = 0;
    for (const c of sub.consumers) {
      const now: Totals = { octets: c.octetsSent, nacks: c.nacksReceived, plis: c.keyframeRequestsReceived, rtx: c.resendsSent };
      const was = this.before.get(c) ?? { octets: 0, nacks: 0, plis: 0, rtx: 0 };
      this.before.set(c, now);
      const bps = Math.round(((now.octets - was.octets) * 8) / seconds);
      perTrack[c.producer.id] = bps;
      sent += bps;
      nacks += now.nacks - was.nacks;
      plis += now.plis - was.plis;
      rtx += now.rtx - was.rtx;
    }
    const est = sub.downlink.estimator.estimate(nowMs);
    return { estimateBps: Number.isFinite(est) ? Math.round(est) : null, sentBps: sent, perTrack, nacks, plis, rtx, red: sub.sender.redWanted };
  }
}
