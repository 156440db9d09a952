/**
 * What one person's panel draws, on one time axis: what they received from each publisher and in what
 * state the allocation held each video, the estimate towards them against what was allocated, loss, RTT,
 * score and freezes, and their own events. Pure: the range's events (and the state it began with) in,
 * plain arrays of [ts, value] out (also what `window.delorean.timeline(id)` returns to tests).
 */
import type { AllocationAt, Layer, ReplayEvent, ReplayState } from './replay-state.ts';
import { describeEvent, laneOf, type EventLane } from './describe.ts';

/** How the allocation held one video: its band colour. */
export type VideoHold = 'optimal' | 'capped' | 'lowered' | 'paused' | 'muted' | 'no_layers' | 'other';

export function holdOf(layer: Layer, reason: string): VideoHold {
  if (layer === null) return reason === 'budget' ? 'paused' : reason === 'muted' ? 'muted' : reason === 'no_layers' ? 'no_layers' : 'other';
  if (reason === 'budget') return 'lowered';
  return reason === 'optimal' || reason === 'capped' ? reason : 'other';
}

export interface HoldSpan {
  from: number;
  to: number;
  hold: VideoHold;
  layer: Layer;
  reason: string;
  bps: number;
}

export interface PublisherSeries {
  publisher: string;
  name: string;
  /** [ts, bps received from this publisher (all their tracks), null while nothing of theirs was forwarded]. */
  bps: Array<[number, number | null]>;
  /** Their video tracks: how the allocation held each, span by span. */
  videos: Array<{ trackId: string; source: string; spans: HoldSpan[] }>;
}

export interface TimelineEvent {
  ts: number;
  kind: ReplayEvent['kind'];
  lane: EventLane;
  text: string;
}

export interface PersonTimeline {
  id: string;
  name: string;
  from: number;
  to: number;
  /** When they were in the space, within the range. */
  present: Array<[number, number]>;
  /** second.estimateBps: the bandwidth estimate towards them (null: none). */
  estimate: Array<[number, number | null]>;
  /** second.sentBps: what was forwarded to them. */
  sent: Array<[number, number]>;
  /** Each allocation: its total, what was wanted, and the budget it used (steps; null from a leave on). */
  allocated: Array<[number, number | null]>;
  wanted: Array<[number, number | null]>;
  budget: Array<[number, number | null]>;
  allocations: AllocationAt[];
  /** Every allocation that paused a video: [ts, trackId, reason] ('budget': for lack of bandwidth). */
  paused: Array<[number, string, string]>;
  /** Every allocation that sent a video below its best for lack of bandwidth: [ts, trackId, layer, reason]. */
  lowered: Array<[number, string, [number, number], string]>;
  /** The layer the forwarder switched to: [ts, trackId, layer]. */
  layers: Array<[number, string, Layer]>;
  received: PublisherSeries[];
  /** Downlink quality from `second.down` (null: not measured then). */
  lossPct: Array<[number, number | null]>;
  rttMs: Array<[number, number | null]>;
  score: Array<[number, number | null]>;
  /** The browser's freezes per 10 s, as reported (a step: it holds until the next report or a leave). */
  freezes: Array<[number, number | null]>;
  events: TimelineEvent[];
}

/** A quality figure the server could not measure (rttMs null; negative in a recording of an earlier build): no value. */
const measured = (v: number | undefined | null): number | null => (v === undefined || v === null || v < 0 ? null : v);

export function personTimeline(initial: ReplayState, events: readonly ReplayEvent[], id: string, from: number, to: number): PersonTimeline {
  const owner = new Map<string, { publisher: string; kind: string; source: string }>();
  for (const [trackId, t] of Object.entries(initial.tracks)) owner.set(trackId, t);
  const names = new Map(Object.entries(initial.names));
  for (const e of events) {
    if (e.kind === 'tracks' && e.participant) for (const t of e.data.tracks) owner.set(t.trackId, { publisher: e.participant, kind: t.kind, source: t.source });
    if (e.kind === 'subscription' && !owner.has(e.data.trackId)) owner.set(e.data.trackId, { publisher: e.data.publisher, kind: e.data.kind, source: e.data.kind === 'audio' ? 'microphone' : 'camera' });
    if (e.kind === 'join' && e.participant) names.set(e.participant, e.data.name);
  }
  const name = (pid: string) => names.get(pid) ?? pid;

  const out: PersonTimeline = {
    id,
    name: name(id),
    from,
    to,
    present: [],
    estimate: [],
    sent: [],
    allocated: [],
    wanted: [],
    budget: [],
    allocations: [],
    paused: [],
    lowered: [],
    layers: [],
    received: [],
    lossPct: [],
    rttMs: [],
    score: [],
    freezes: [],
    events: [],
  };
  const publishers = new Map<string, PublisherSeries>();
  const publisherOf = (pid: string): PublisherSeries => {
    let p = publishers.get(pid);
    if (!p) publishers.set(pid, (p = { publisher: pid, name: name(pid), bps: [], videos: [] }));
    return p;
  };
  /** The open span of each video the allocation lists. */
  const open = new Map<string, HoldSpan>();
  const closeSpans = (ts: number, keep: (trackId: string) => boolean = () => false) => {
    for (const [trackId, span] of open) {
      if (keep(trackId)) continue;
      span.to = ts;
      open.delete(trackId);
    }
  };

  let presentSince: number | null = initial.people[id] ? from : null;
  const prior = initial.allocation[id];
  // At its own time (before the range): the lists say when it was made, the charts clip.
  if (prior) applyAllocation(prior, prior.ts);
  const report = initial.report[id];
  if (report) out.freezes.push([from, report.freezesPer10s]);

  function applyAllocation(a: AllocationAt, ts: number): void {
    out.allocations.push(a);
    out.allocated.push([ts, a.totalBps]);
    out.wanted.push([ts, a.wantedBps]);
    out.budget.push([ts, a.estimateBps]);
    const listed = new Set<string>();
    for (const t of a.tracks) {
      if (t.kind !== 'video') continue;
      listed.add(t.trackId);
      if (t.layer === null) out.paused.push([ts, t.trackId, t.reason]);
      else if (t.reason === 'budget') out.lowered.push([ts, t.trackId, t.layer, t.reason]);
      const hold = holdOf(t.layer, t.reason);
      const cur = open.get(t.trackId);
      if (cur && cur.hold === hold && sameLayer(cur.layer, t.layer)) {
        cur.bps = t.bps;
        continue;
      }
      if (cur) cur.to = ts;
      const span: HoldSpan = { from: ts, to: to, hold, layer: t.layer, reason: t.reason, bps: t.bps };
      open.set(t.trackId, span);
      const o = owner.get(t.trackId);
      const series = publisherOf(o?.publisher ?? `?${t.trackId}`);
      let video = series.videos.find((v) => v.trackId === t.trackId);
      if (!video) series.videos.push((video = { trackId: t.trackId, source: o?.source ?? 'camera', spans: [] }));
      video.spans.push(span);
    }
    closeSpans(ts, (trackId) => listed.has(trackId));
  }

  const ctx = { name, owner: (trackId: string) => owner.get(trackId)?.publisher };
  for (const e of events) {
    if (e.participant !== id) continue;
    if (e.kind !== 'second') out.events.push({ ts: e.ts, kind: e.kind, lane: laneOf(e.kind), text: describeEvent(e, ctx) });
    switch (e.kind) {
      case 'join':
        if (presentSince === null) presentSince = e.ts;
        break;
      case 'leave':
        if (presentSince !== null) out.present.push([presentSince, e.ts]);
        presentSince = null;
        closeSpans(e.ts);
        // Steps end with the session.
        for (const steps of [out.allocated, out.wanted, out.budget, out.freezes]) if (steps.length) steps.push([e.ts, null]);
        break;
      case 'allocation':
        applyAllocation({ ...e.data, ts: e.ts }, e.ts);
        break;
      case 'layer':
        out.layers.push([e.ts, e.data.trackId, e.data.layer]);
        break;
      case 'report':
        out.freezes.push([e.ts, e.data.freezesPer10s]);
        break;
      case 'second': {
        const d = e.data;
        out.estimate.push([e.ts, d.estimateBps]);
        out.sent.push([e.ts, d.sentBps]);
        out.lossPct.push([e.ts, measured(d.down?.lossPct)]);
        out.rttMs.push([e.ts, measured(d.down?.rttMs)]);
        out.score.push([e.ts, measured(d.down?.score)]);
        const sums = new Map<string, number>();
        for (const [trackId, bps] of Object.entries(d.perTrack)) {
          const pid = owner.get(trackId)?.publisher ?? `?${trackId}`;
          sums.set(pid, (sums.get(pid) ?? 0) + bps);
        }
        for (const pid of sums.keys()) publisherOf(pid);
        for (const [pid, series] of publishers) series.bps.push([e.ts, sums.get(pid) ?? null]);
        break;
      }
    }
  }
  if (presentSince !== null) out.present.push([presentSince, to]);
  // Publishers named by their current name (they may have joined after the first sample).
  out.received = [...publishers.values()].map((p) => ({ ...p, name: name(p.publisher) })).sort((a, b) => a.name.localeCompare(b.name));
  return out;
}

function sameLayer(a: Layer, b: Layer): boolean {
  return a === b || (a !== null && b !== null && a[0] === b[0] && a[1] === b[1]);
}

/** The value of a step series at time t (the last point at or before t), or undefined before the first. */
export function valueAt<V>(series: ReadonlyArray<readonly [number, V, ...unknown[]]>, t: number): V | undefined {
  let lo = 0;
  let hi = series.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (series[mid]![0] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : series[lo - 1]![1];
}

/** The allocation in force at time t (the last at or before it). */
export function allocationAt(tl: PersonTimeline, t: number): AllocationAt | undefined {
  let found: AllocationAt | undefined;
  for (const a of tl.allocations) {
    if (a.ts > t) break;
    found = a;
  }
  return found;
}
