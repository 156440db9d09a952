/**
 * Which track crosses which inter-node link, and which simulcast layers cross it: only layers someone
 * downstream needs. Plans are values; diffPlans and makeBeforeBreak turn two of them into what to change.
 *
 * Make-before-break contract: to move from plan `prev` to `next`, the caller
 *   1. applies makeBeforeBreak(prev, next): every old edge stays, every new edge is opened, each at the
 *      higher of its two layers, so no receiver loses media while the new paths warm up;
 *   2. waits until each added edge carries packets (or a timeout: a new path that never delivers must not
 *      keep the old one alive forever);
 *   3. applies `next`, which removes the old edges and lowers layers.
 * In the interim a node may be fed by two parents, and the union of two trees can even hold a cycle (old
 * A→B→C, new A→C→B gives B⇄C): relays must forward a packet once (dedupe on origin + SSRC + sequence
 * number), which also stops it looping.
 */
import { compareEdges, edgeKey, type Edge } from './edge.ts';
export { edgeKey, type Edge } from './edge.ts';
import { treeFromPaths } from './distribution-tree.ts';
import type { RttMatrix } from './rtt-matrix.ts';
import { shortestPaths, type PathInfo, type ShortestPathOptions } from './shortest-paths.ts';

/** "This node needs nothing of the track." Layers are spatial layer indexes, 0 (lowest) upwards. */
export const NO_LAYER = -1;

export interface TrackDemand {
  readonly trackId: string;
  /** The node the publisher is connected to. */
  readonly origin: string;
  /** Receiving node → highest spatial layer its subscribers need (0..2; NO_LAYER or absent = none). Audio: 0. */
  readonly needs: ReadonlyMap<string, number>;
}

export interface LayerEdge extends Edge {
  /** The top spatial layer that crosses this link: the max of the needs at and below `to`. */
  readonly layer: number;
}

export interface TrackRoute {
  readonly trackId: string;
  readonly origin: string;
  /** Top-down (a link's upstream link comes first), so opening them in order opens the upstream side first. */
  readonly edges: readonly LayerEdge[];
  /** Receiving nodes no path reaches, sorted. */
  readonly unreachable: readonly string[];
}

export interface RoutePlan {
  readonly tracks: ReadonlyMap<string, TrackRoute>;
}

export type PlanOptions = ShortestPathOptions;

/** One distribution tree per track; paths are computed once per origin, shared by its tracks. */
export function planRoutes(tracks: Iterable<TrackDemand>, matrix: RttMatrix, opts: PlanOptions = {}): RoutePlan {
  const pathsByOrigin = new Map<string, ReadonlyMap<string, PathInfo>>();
  const out = new Map<string, TrackRoute>();
  for (const t of tracks) {
    if (out.has(t.trackId)) throw new Error(`track ${t.trackId} listed twice`);
    let paths = pathsByOrigin.get(t.origin);
    if (!paths) pathsByOrigin.set(t.origin, (paths = shortestPaths(matrix, t.origin, opts)));
    out.set(t.trackId, routeTrack(t, paths));
  }
  return { tracks: out };
}

function routeTrack(t: TrackDemand, paths: ReadonlyMap<string, PathInfo>): TrackRoute {
  const wanting = [...t.needs].filter(([node, layer]) => node !== t.origin && wants(layer));
  const tree = treeFromPaths(t.origin, wanting.map(([node]) => node), paths);
  // Each receiver raises every link above it to its need: a link carries the max of what is below it.
  const layerInto = new Map<string, number>(); // keyed by the link's `to` (one parent each)
  for (const [node, need] of wanting) {
    for (let n = node; tree.parent.has(n); n = tree.parent.get(n)!) {
      if ((layerInto.get(n) ?? NO_LAYER) >= need) break; // everything above already carries at least this
      layerInto.set(n, need);
    }
  }
  const edges = tree.edges.map((e) => ({ from: e.from, to: e.to, layer: layerInto.get(e.to)! }));
  return { trackId: t.trackId, origin: t.origin, edges, unreachable: tree.unreachable };
}

function wants(layer: number): boolean {
  return Number.isFinite(layer) && layer >= 0;
}

export interface LayerChange extends Edge {
  readonly before: number;
  readonly after: number;
}

export interface TrackDiff {
  /** Links to open, with the layer they will carry. */
  readonly add: readonly LayerEdge[];
  readonly remove: readonly Edge[];
  /** Links in both plans whose top layer changes. */
  readonly layerChanges: readonly LayerChange[];
}

/** Per track, what changes from prev to next; tracks that do not change are absent. Lists sorted by from, to. */
export function diffPlans(prev: RoutePlan, next: RoutePlan): ReadonlyMap<string, TrackDiff> {
  const out = new Map<string, TrackDiff>();
  for (const trackId of trackIds(prev, next)) {
    const before = byKey(prev.tracks.get(trackId));
    const after = byKey(next.tracks.get(trackId));
    const add: LayerEdge[] = [];
    const remove: Edge[] = [];
    const layerChanges: LayerChange[] = [];
    for (const [k, e] of after) {
      const old = before.get(k);
      if (!old) add.push(e);
      else if (old.layer !== e.layer) layerChanges.push({ from: e.from, to: e.to, before: old.layer, after: e.layer });
    }
    for (const [k, e] of before) if (!after.has(k)) remove.push({ from: e.from, to: e.to });
    if (add.length + remove.length + layerChanges.length === 0) continue;
    add.sort(compareEdges);
    remove.sort(compareEdges);
    layerChanges.sort(compareEdges);
    out.set(trackId, { add, remove, layerChanges });
  }
  return out;
}

/**
 * The interim plan (see the contract at the top): per track, the union of prev's and next's links, each at
 * the higher of its layers. A superset of both plans. Tracks in only one plan are kept as they are there.
 */
export function makeBeforeBreak(prev: RoutePlan, next: RoutePlan): RoutePlan {
  const out = new Map<string, TrackRoute>();
  for (const trackId of trackIds(prev, next)) {
    const p = prev.tracks.get(trackId);
    const n = next.tracks.get(trackId);
    if (!p || !n) {
      out.set(trackId, (n ?? p)!);
      continue;
    }
    const edges = new Map<string, LayerEdge>();
    for (const e of [...n.edges, ...p.edges]) {
      const k = edgeKey(e.from, e.to);
      const seen = edges.get(k);
      if (!seen || e.layer > seen.layer) edges.set(k, { from: e.from, to: e.to, layer: e.layer });
    }
    // Next's order first (top-down), then the old links still kept.
    const stillUnreachable = new Set(p.unreachable);
    out.set(trackId, { trackId, origin: n.origin, edges: [...edges.values()], unreachable: n.unreachable.filter((r) => stillUnreachable.has(r)) });
  }
  return { tracks: out };
}

function trackIds(a: RoutePlan, b: RoutePlan): string[] {
  return [...new Set([...a.tracks.keys(), ...b.tracks.keys()])].sort();
}

function byKey(route: TrackRoute | undefined): Map<string, LayerEdge> {
  return new Map((route?.edges ?? []).map((e) => [edgeKey(e.from, e.to), e]));
}
