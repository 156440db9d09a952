/**
 * Per-subscriber bandwidth allocation: which layer of each video to forward, which to pause. A pure
 * function of (budget, prioritized subscriptions, previous allocation); the previous allocation is the
 * only memory, used for hysteresis. Design and rationale: docs/allocation.md.
 *
 * Linear in tracks (a few dozen operations over each video's ≤ 9 layers; ~15 µs for 12 people); called
 * per subscriber every feedback interval, not per packet.
 */
import type {
  AllocateOptions,
  Allocation,
  LayerOption,
  LayerTarget,
  TrackAllocation,
  TrackSubscription,
  VideoSubscription,
} from './types.ts';

/** An upgrade must leave ~9% of the budget unused: estimates jitter by a few percent per interval. */
export const UPGRADE_MARGIN = 0.1;
/** Resuming costs a keyframe and a visible pop-in, so it asks for a little more headroom than an upgrade. */
export const RESUME_MARGIN = 0.15;
/**
 * The nearest face is the last video to go: the highest-priority video keeps its floor while the total stays
 * within the budget × (1 + FIRST_VIDEO_SLACK), and resumes once it fits the budget itself (no margin). The
 * band between the two is its hysteresis. 20 % is what a GCC decrease undershoots the rate it measured
 * (β = 0.85) plus a little jitter: right after a cut the estimate sits that far under the link, and pausing the
 * one video left for it would cost a keyframe and a freeze each time. At the bottom of the range the floor is
 * small next to the audio, so the overshoot is small too.
 */
export const FIRST_VIDEO_SLACK = 0.2;

const AUDIO_TARGET: LayerTarget = Object.freeze({ spatial: 0, temporal: 0 });

/** (spatial, temporal) as one comparable number; 256 temporal layers is far beyond any codec. */
function quality(l: LayerTarget): number {
  return l.spatial * 256 + l.temporal;
}

/**
 * The steps a video climbs, lowest first, within the subscriber's caps. The floor spatial layer is offered
 * at every temporal layer (7.5 → 15 → 30 fps), so a starved thumbnail degrades in frame rate before it
 * pauses; higher spatial layers only at their top temporal layer, so a resolution step never costs frame
 * rate. If the caps exclude everything sent, the lowest layer sent: caps limit upgrades, not visibility.
 */
export function ladderOf(sub: VideoSubscription): LayerOption[] {
  const maxS = sub.maxSpatial ?? Infinity;
  const maxT = sub.maxTemporal ?? Infinity;
  const out: LayerOption[] = [];
  let s0 = Infinity;
  for (const l of sub.layers) if (l.spatial <= maxS && l.temporal <= maxT && l.spatial < s0) s0 = l.spatial;
  if (s0 === Infinity) {
    let low: LayerOption | undefined;
    for (const l of sub.layers) if (low === undefined || quality(l) < quality(low)) low = l;
    if (low !== undefined) out.push(low);
    return out;
  }
  for (const l of sub.layers) {
    if (l.spatial > maxS || l.temporal > maxT) continue;
    let at = -1;
    for (let k = 0; k < out.length; k++) {
      if (out[k].spatial === l.spatial && (l.spatial !== s0 || out[k].temporal === l.temporal)) at = k;
    }
    if (at < 0) out.push(l);
    else if (l.temporal > out[at].temporal) out[at] = l;
  }
  out.sort((a, b) => quality(a) - quality(b));
  return out;
}

/** Highest ladder index whose quality is ≤ q; 0 (the floor) if none. */
function levelAtOrBelow(ladder: readonly LayerOption[], q: number): number {
  let level = 0;
  for (let k = 1; k < ladder.length; k++) if (quality(ladder[k]) <= q) level = k;
  return level;
}

/**
 * How good a rung looks, comparable across publishers: 2 × spatial + the fraction of the publisher's full
 * frame rate (temporal / highest temporal sent on that spatial layer). Temporal indices alone do not
 * compare: a publisher without temporal layers sends full frame rate at temporal 0.
 */
function looksOf(ladder: readonly LayerOption[], layers: readonly LayerOption[]): number[] {
  const out: number[] = new Array(ladder.length);
  for (let k = 0; k < ladder.length; k++) {
    const l = ladder[k];
    let tmax = 0;
    for (const x of layers) if (x.spatial === l.spatial && x.temporal > tmax) tmax = x.temporal;
    out[k] = 2 * l.spatial + (tmax === 0 ? 1 : l.temporal / tmax);
  }
  return out;
}

/** Lowest ladder index that looks at least as good as `v`; the top if none. */
function levelLooking(looks: readonly number[], v: number): number {
  for (let k = 0; k < looks.length; k++) if (looks[k] >= v) return k;
  return looks.length - 1;
}

/**
 * Budget in bps (Infinity allowed; negative or NaN counts as 0), subscriptions in `prioritize` order
 * (the order is the priority: the numbers are not read), the allocation this returned last time (null on
 * the first call). Returns tracks in the same order.
 */
export function allocate(
  budget: number,
  prioritized: readonly TrackSubscription[],
  previous: Allocation | null,
  opts: AllocateOptions = {},
): Allocation {
  const b = budget > 0 ? budget : 0;
  // A negative margin would let growth overshoot the budget.
  const upgradeLimit = b / (1 + Math.max(0, opts.upgradeMargin ?? UPGRADE_MARGIN));
  const resumeLimit = b / (1 + Math.max(0, opts.resumeMargin ?? RESUME_MARGIN));
  const holdLimit = Math.max(b, opts.holdBps ?? 0);
  const firstLimit = Math.max(b * (1 + FIRST_VIDEO_SLACK), opts.carriedBps ?? 0, holdLimit);
  // Never upgrade on a falling estimate: shed now, grow again once it holds or rises.
  const mayGrow = previous === null || b >= previous.budget;
  const n = prioritized.length;

  const ladders: (LayerOption[] | undefined)[] = new Array(n);
  const looks: (number[] | undefined)[] = new Array(n);
  const level = new Int32Array(n).fill(-1);
  // The level to restore without margin: the previous level within today's ladder; 0 for a track new to
  // this subscriber (or unmuted, or whose publisher came back); -1 if it was paused for budget.
  const keep = new Int32Array(n);
  const order: number[] = [];
  let total = 0;
  let wanted = 0;
  let lastKeeper = -1;

  let prevById: Map<string, TrackAllocation> | null = null;
  const prevOf = (i: number, id: string): TrackAllocation | undefined => {
    if (previous === null) return undefined;
    const same = previous.tracks[i];
    if (same !== undefined && same.trackId === id) return same;
    prevById ??= new Map(previous.tracks.map((t) => [t.trackId, t]));
    return prevById.get(id);
  };

  for (let i = 0; i < n; i++) {
    const s = prioritized[i];
    if (s.kind === 'audio') {
      if (!s.muted) {
        total += s.bitrate;
        wanted += s.bitrate;
      }
      continue;
    }
    if (s.muted || s.layers.length === 0) continue;
    const ladder = ladderOf(s);
    ladders[i] = ladder;
    looks[i] = looksOf(ladder, s.layers);
    wanted += ladder[ladder.length - 1].bitrate;
    const prev = prevOf(i, s.trackId);
    if (prev === undefined || prev.target === null) keep[i] = prev !== undefined && prev.reason === 'budget' ? -1 : 0;
    else keep[i] = levelAtOrBelow(ladder, quality(prev.target));
    if (keep[i] >= 0) lastKeeper = order.length;
    order.push(i);
  }

  // 1. Floors, in priority order; the first that does not fit pauses itself and everything after it.
  //    Without margin up to the last track that is not a budget-paused one (so a priority reshuffle or a
  //    newcomer is not a "resume"); a trailing budget-paused track must resume with margin (step 3).
  //    The first video is always tried, paused or not and on a falling budget too: it never stays paused
  //    while audio plus its floor fit the budget (an invariant the sweeps check).
  let active = 0;
  while (active <= lastKeeper || (active === 0 && order.length > 0)) {
    const i = order[active];
    const t = total + ladders[i]![0].bitrate;
    // A video forwarded last time keeps its floor within holdLimit (a pause needs a lasting shortage).
    if (t > (keep[i] < 0 ? b : active === 0 ? firstLimit : prevOf(i, prioritized[i].trackId)?.target ? holdLimit : b)) break;
    level[i] = 0;
    total = t;
    active++;
  }

  // 2. Restore kept levels without margin, in priority order. A track that now outranks one that looked
  //    better inherits that look (priorities changed: qualities follow them). With unchanged priorities
  //    this is a no-op (climb's ceiling already holds), and the previous allocation comes back whenever
  //    it still fits.
  let inherited = -1;
  for (let k = active - 1; k >= 0; k--) {
    const i = order[k];
    const lk = looks[i]!;
    const own = keep[i] > 0 ? keep[i] : 0;
    if (own > 0 && lk[own] > inherited) inherited = lk[own];
    keep[i] = inherited > lk[own] ? levelLooking(lk, inherited) : own;
  }
  total = climb(order, active, ladders, looks, level, keep, total, b);

  // 3. Grow, only on a steady or rising budget: resume budget-paused videos (floors before upgrades), then,
  //    once nobody is paused, upgrade greedily by priority, each step within the margin.
  if (mayGrow) {
    while (active < order.length) {
      const i = order[active];
      const t = total + ladders[i]![0].bitrate;
      if (t > (active === 0 ? b : resumeLimit)) break;
      level[i] = 0;
      total = t;
      active++;
    }
    if (active === order.length) total = climb(order, active, ladders, looks, level, null, total, upgradeLimit);
  }

  const tracks: TrackAllocation[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = prioritized[i];
    if (s.kind === 'audio') {
      tracks[i] = s.muted
        ? { trackId: s.trackId, kind: 'audio', target: null, bitrate: 0, reason: 'muted' }
        : { trackId: s.trackId, kind: 'audio', target: AUDIO_TARGET, bitrate: s.bitrate, reason: 'audio' };
      continue;
    }
    const ladder = ladders[i];
    if (ladder === undefined) {
      tracks[i] = { trackId: s.trackId, kind: 'video', target: null, bitrate: 0, reason: s.muted ? 'muted' : 'no_layers' };
      continue;
    }
    const l = level[i];
    if (l < 0) {
      tracks[i] = { trackId: s.trackId, kind: 'video', target: null, bitrate: 0, reason: 'budget' };
      continue;
    }
    const layer = ladder[l];
    let reason: TrackAllocation['reason'] = 'budget';
    if (l === ladder.length - 1) {
      let best = 0;
      for (const x of s.layers) if (quality(x) > best) best = quality(x);
      reason = quality(layer) < best ? 'capped' : 'optimal';
    }
    tracks[i] = { trackId: s.trackId, kind: 'video', target: { spatial: layer.spatial, temporal: layer.temporal }, bitrate: layer.bitrate, reason };
  }
  return { tracks, totalBitrate: total, budget: b, wantedBitrate: wanted };
}

/**
 * Raise the first `active` videos of `order`, highest priority first, each as far as it goes (up to
 * `stop[i]`, or its top when `stop` is null) while the total stays ≤ `limit`; a track that cannot take
 * its next step stops and the next track gets its turn (a cheaper step further down may still fit).
 * A track never climbs to look better (`looksOf`) than a higher-priority track that still wants more:
 * nobody farther away looks better than someone closer who is held back. Returns the new total.
 */
function climb(
  order: readonly number[],
  active: number,
  ladders: readonly (LayerOption[] | undefined)[],
  looks: readonly (number[] | undefined)[],
  level: Int32Array,
  stop: Int32Array | null,
  total: number,
  limit: number,
): number {
  let ceiling = Infinity;
  for (let k = 0; k < active; k++) {
    const i = order[k];
    const ladder = ladders[i]!;
    const lk = looks[i]!;
    const top = ladder.length - 1;
    const to = stop === null ? top : Math.min(stop[i], top);
    let l = level[i];
    while (l < to) {
      const next = ladder[l + 1];
      if (lk[l + 1] > ceiling) break;
      const t = total - ladder[l].bitrate + next.bitrate;
      if (t > limit) break;
      total = t;
      l++;
    }
    level[i] = l;
    if (l < top && lk[l] < ceiling) ceiling = lk[l];
  }
  return total;
}

/**
 * True when forwarding must change: a track was added or removed, a target differs, or a video leaves
 * `no_layers` (its consumer never took that null and still holds its earlier target, so whatever comes
 * next, a pause by caps or budget included, must be applied). Bitrates are ignored.
 */
export function allocationChanged(a: Allocation | null, b: Allocation | null): boolean {
  if (a === b) return false;
  if (a === null || b === null) return true;
  if (a.tracks.length !== b.tracks.length) return true;
  let byId: Map<string, TrackAllocation> | null = null;
  for (let i = 0; i < b.tracks.length; i++) {
    const y = b.tracks[i];
    let x: TrackAllocation | undefined = a.tracks[i];
    if (x.trackId !== y.trackId) {
      byId ??= new Map(a.tracks.map((t) => [t.trackId, t]));
      x = byId.get(y.trackId);
      if (x === undefined) return true;
    }
    if (x.reason === 'no_layers' && y.reason !== 'no_layers') return true;
    if (x.target === y.target) continue;
    if (x.target === null || y.target === null) return true;
    if (x.target.spatial !== y.target.spatial || x.target.temporal !== y.target.temporal) return true;
  }
  return false;
}

const kbps = (bps: number): string => (Number.isFinite(bps) ? `${Math.round(bps / 1000)}k` : 'inf');

/**
 * One log line: `total/budget want W | id:a id:s1t2 id:s0t0~ id:-budget`. `~` marks a video held below
 * what it wants for budget; `^` one at the subscriber's cap.
 */
export function describe(a: Allocation): string {
  let s = `${kbps(a.totalBitrate)}/${kbps(a.budget)} want ${kbps(a.wantedBitrate)} |`;
  for (const t of a.tracks) {
    s += ` ${t.trackId}:`;
    if (t.target === null) s += `-${t.reason}`;
    else if (t.kind === 'audio') s += 'a';
    else s += `s${t.target.spatial}t${t.target.temporal}${t.reason === 'budget' ? '~' : t.reason === 'capped' ? '^' : ''}`;
  }
  return s;
}
