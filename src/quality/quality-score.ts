/**
 * Connection quality, once a second per participant and direction: a score from 1 to 5 from what the
 * server measures (loss, RTT, queueing, what the allocation could give, publishers sending nothing, its own
 * event-loop lag) and what the browser reports (freezes, why its encoder holds back). Pure: inputs in,
 * score out. The formula and its thresholds are in docs/quality.md; keep the two in step.
 */

export type QualityLevel = 'excellent' | 'good' | 'poor' | 'lost';
/** Which side the largest deduction comes from, or null when nothing was deducted. */
export type DownlinkCause = 'your_downlink' | 'their_uplink' | 'server';
export type UplinkCause = 'your_uplink' | 'your_device' | 'server';

export interface QualityScore<C extends string> {
  /** 1 (unusable) … 5 (perfect), one decimal. */
  score: number;
  level: QualityLevel;
  cause: C | null;
}

/** What this person receives, over the last second. */
export interface DownlinkInputs {
  /** The subscribe transport is connected (false: nothing can arrive). */
  connected: boolean;
  /** Video and audio tracks this person is subscribed to (0: nothing to judge). */
  tracks: number;
  /** Packets sent to this person in the last second (media and RTX). */
  packetsSent: number;
  /** Loss the subscriber's transport-wide feedback reports, 0..1 (its last loss window). */
  lossFraction: number;
  /** Round-trip time to the subscriber, ms (-1: not measured yet). */
  rttMs: number;
  /** Queueing delay the estimator sees on the path to the subscriber, ms. */
  queueMs: number;
  /** What the allocation could not give for lack of bandwidth: 1 − allocated ÷ wanted (within caps), 0..1. */
  budgetShortfall: number;
  /** Share of the subscribed videos whose publisher sends no layer at all, 0..1. */
  silentPublisherShare: number;
  /** Video freezes the browser reported per 10 s (its last report). */
  freezesPer10s: number;
  /** The most the media loop holding this person ran late over the second, ms (a busy server). */
  serverLagMs: number;
}

/** What this person sends, over the last second. */
export interface UplinkInputs {
  connected: boolean;
  /** Tracks this person publishes (0: nothing to judge). */
  tracks: number;
  /** RTP packets received from this person in the last second. */
  packetsReceived: number;
  /** Packets of the last second never received (sequence gaps), 0..1. */
  lossFraction: number;
  /** Interarrival jitter of the worst video stream (RFC 3550 §6.4.1), ms. */
  jitterMs: number;
  /** Round-trip time to this person (measured on the subscribe side), ms (-1: unknown). */
  rttMs: number;
  /** The browser's own reason for holding its encoder back (getStats qualityLimitationReason). */
  limitation: 'none' | 'cpu' | 'bandwidth' | 'other';
  serverLagMs: number;
}

const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

/** Deductions by the one place each number is judged (docs/quality.md). */
export const penalty = {
  loss: (f: number) => clamp(30 * f, 0, 3),
  rtt: (ms: number) => (ms < 0 ? 0 : clamp((ms - 200) / 300, 0, 1.5)),
  queue: (ms: number) => clamp((ms - 60) / 240, 0, 1.5),
  jitter: (ms: number) => clamp((ms - 30) / 100, 0, 1),
  shortfall: (s: number) => clamp(4 * s, 0, 3),
  silentPublishers: (share: number) => clamp(2 * share, 0, 2),
  freezes: (per10s: number) => clamp(0.5 * per10s, 0, 2),
  serverLag: (ms: number) => clamp((ms - 50) / 200, 0, 2),
  limitation: (r: UplinkInputs['limitation']) => (r === 'bandwidth' || r === 'cpu' ? 1 : 0),
};

/** The level of a flowing connection's score; `lost` is only said when nothing flows. */
export function levelOf(score: number): Exclude<QualityLevel, 'lost'> {
  if (score >= 4.3) return 'excellent';
  if (score >= 3.3) return 'good';
  return 'poor';
}

function finish<C extends string>(groups: ReadonlyArray<readonly [C, number]>): QualityScore<C> {
  let total = 0;
  let cause: C | null = null;
  let worst = 0;
  for (const [c, p] of groups) {
    total += p;
    if (p > worst) (worst = p), (cause = c);
  }
  const score = Math.round(clamp(5 - total, 1, 5) * 10) / 10;
  return { score, level: levelOf(score), cause };
}

const LOST_DOWN: QualityScore<DownlinkCause> = { score: 1, level: 'lost', cause: 'your_downlink' };
const LOST_UP: QualityScore<UplinkCause> = { score: 1, level: 'lost', cause: 'your_uplink' };

/** null when there is nothing to judge (no subscriptions). */
export function scoreDownlink(i: DownlinkInputs): QualityScore<DownlinkCause> | null {
  if (i.tracks === 0) return null;
  if (!i.connected) return LOST_DOWN;
  // Every subscribed publisher silent is their side; nothing sent while they do send is ours or the path's.
  if (i.packetsSent === 0) return i.silentPublisherShare >= 1 ? { score: 1, level: 'lost', cause: 'their_uplink' } : LOST_DOWN;
  const network = penalty.loss(i.lossFraction) + penalty.rtt(i.rttMs) + penalty.queue(i.queueMs) + penalty.shortfall(i.budgetShortfall);
  const theirs = penalty.silentPublishers(i.silentPublisherShare);
  const server = penalty.serverLag(i.serverLagMs);
  // A freeze is blamed on whichever side already shows trouble; on a clean path, on the path.
  const freezes = penalty.freezes(i.freezesPer10s);
  const freezeSide: DownlinkCause = theirs > network && theirs >= server ? 'their_uplink' : server > network ? 'server' : 'your_downlink';
  return finish<DownlinkCause>([
    ['your_downlink', network + (freezeSide === 'your_downlink' ? freezes : 0)],
    ['their_uplink', theirs + (freezeSide === 'their_uplink' ? freezes : 0)],
    ['server', server + (freezeSide === 'server' ? freezes : 0)],
  ]);
}

export function scoreUplink(i: UplinkInputs): QualityScore<UplinkCause> | null {
  if (i.tracks === 0) return null;
  if (!i.connected || i.packetsReceived === 0) return i.limitation === 'cpu' && i.connected ? { score: 1, level: 'lost', cause: 'your_device' } : LOST_UP;
  const uplink = penalty.loss(i.lossFraction) + penalty.jitter(i.jitterMs) + penalty.rtt(i.rttMs) + (i.limitation === 'bandwidth' ? penalty.limitation('bandwidth') : 0);
  const device = i.limitation === 'cpu' ? penalty.limitation('cpu') : 0;
  return finish<UplinkCause>([
    ['your_uplink', uplink],
    ['your_device', device],
    ['server', penalty.serverLag(i.serverLagMs)],
  ]);
}
