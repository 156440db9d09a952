/**
 * The media half's once-a-second reading of one participant's connection, the server-side inputs of the
 * quality score (quality-score.ts). It keeps the previous totals to turn counters into per-second figures.
 * The control half adds what only the browser knows (freezes, encoder limitation) and scores it.
 */
import type { Producer } from '../media/producer.ts';
import type { SubscribeSession } from '../media/subscribe-session.ts';
import type { PublishSession } from '../media/publish-session.ts';
import { TransportCcEstimator } from '../bwe/transport-cc-estimator.ts';
import type { DownlinkInputs, UplinkInputs } from './quality-score.ts';
import type { TrafficSample } from '../recorder/traffic-sampler.ts';

/** What the media half knows; `freezesPer10s` and `limitation` come from the control half. */
export type DownlinkSample = Omit<DownlinkInputs, 'freezesPer10s'>;
export type UplinkSample = Omit<UplinkInputs, 'limitation'>;

export interface QualitySample {
  down: DownlinkSample | null;
  up: UplinkSample | null;
  /** What this person was sent over the second (the flight recorder keeps it beside the scores). */
  traffic?: TrafficSample | null;
}

export class QualitySampler {
  private sentBefore = 0;
  /** A direction is judged from its first connection and first media on: a join in progress is not "lost". */
  private downStarted = false;
  private upStarted = false;
  private readonly expectedBefore = new WeakMap<object, number>();
  private readonly lostBefore = new WeakMap<object, number>();

  /** `lagMs`: the most the media loop ran late over the second (MediaServer.everySecond). */
  sample(sub: SubscribeSession | null, pub: { session: PublishSession; producers: readonly Producer[] } | null, lagMs: number): QualitySample {
    const rttMs = sub?.rttMs ?? -1;
    const down = sub ? this.down(sub, rttMs, lagMs) : null;
    const up = pub ? this.up(pub.session, pub.producers, rttMs, lagMs) : null;
    if (down && down.connected && down.packetsSent > 0) this.downStarted = true;
    if (up && up.connected && up.packetsReceived > 0) this.upStarted = true;
    return { down: this.downStarted ? down : null, up: this.upStarted ? up : null };
  }

  private down(sub: SubscribeSession, rttMs: number, lagMs: number): DownlinkSample {
    let sent = 0;
    for (const c of sub.consumers) sent += c.packetsSent;
    const packetsSent = Math.max(0, sent - this.sentBefore);
    this.sentBefore = sent;
    // Loss and queue come from transport-wide feedback; REMB and the null estimator know neither (0).
    const est = sub.downlink.estimator;
    const twcc = est instanceof TransportCcEstimator ? est : null;
    const a = sub.downlink.allocation;
    let videos = 0;
    let silent = 0;
    let budgetLimited = false;
    for (const t of a?.tracks ?? []) {
      if (t.kind !== 'video') continue;
      videos++;
      if (t.reason === 'no_layers') silent++;
      if (t.reason === 'budget') budgetLimited = true;
    }
    // Only a shortage of bandwidth counts: caps and mutes are choices, and a silent publisher is theirs.
    const shortfall = a && budgetLimited && a.wantedBitrate > 0 ? Math.max(0, 1 - a.totalBitrate / a.wantedBitrate) : 0;
    return {
      connected: sub.transport.state === 'connected',
      tracks: sub.consumers.length,
      packetsSent,
      lossFraction: twcc?.lossFraction ?? 0,
      rttMs,
      queueMs: twcc?.queueMs ?? 0,
      budgetShortfall: shortfall,
      silentPublisherShare: videos > 0 ? silent / videos : 0,
      serverLagMs: lagMs,
    };
  }

  private up(session: PublishSession, producers: readonly Producer[], rttMs: number, lagMs: number): UplinkSample {
    let expected = 0;
    let lost = 0;
    let received = 0;
    let jitterMs = 0;
    for (const p of producers) {
      for (const l of p.layers) {
        const s = l.stats;
        const e = s.expectedPackets;
        const x = s.cumulativeLost;
        const de = Math.max(0, e - (this.expectedBefore.get(s) ?? e));
        const dl = Math.max(0, x - (this.lostBefore.get(s) ?? x));
        this.expectedBefore.set(s, e);
        this.lostBefore.set(s, x);
        const dLost = Math.min(dl, de);
        expected += de;
        lost += dLost;
        received += de - dLost;
        if (p.kind === 'video' && de > 0) jitterMs = Math.max(jitterMs, (s.jitter * 1000) / p.params.clockRate);
      }
    }
    return {
      connected: session.transport.state === 'connected',
      tracks: producers.length,
      packetsReceived: received,
      lossFraction: expected > 0 ? lost / expected : 0,
      jitterMs,
      rttMs,
      serverLagMs: lagMs,
    };
  }
}
