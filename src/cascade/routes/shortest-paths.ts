/**
 * Single-source shortest paths over the symmetric link RTTs (Dijkstra). A cluster has tens of nodes, not
 * thousands, so the frontier is a linear scan: O(n²), no heap, easy to make deterministic.
 *
 * Cost model (ms, a one-way latency estimate): each link costs rtt/2, and each node that forwards the track
 * onwards (every node on the path except the two ends) adds hopCostMs. So a direct link costs exactly its
 * one-way latency, and an equally fast detour through a third node costs more: the direct link wins ties.
 */
import { linkGraph, type RttMatrix } from './rtt-matrix.ts';

export const DEFAULT_HOP_COST_MS = 2;

/** Values closer than this are equal: sums of the same RTTs in another order may differ in the last bits. */
export const COST_EPSILON = 1e-9;

export interface ShortestPathOptions {
  /** Delay a forwarding node adds (ms, default 2). */
  hopCostMs?: number;
  /** Dead or draining nodes: never used as intermediates. They can still be reached as the end of a path. */
  exclude?: Iterable<string>;
}

export interface PathInfo {
  /** Sum of rtt/2 over the path's links + hopCostMs per intermediate node (0 at the source). */
  readonly cost: number;
  /** The previous node on the path; null at the source. */
  readonly parent: string | null;
  /** Links on the path (0 at the source). */
  readonly hops: number;
}

/**
 * Paths from `source` to every node it can reach (unreachable nodes are absent). The source is always a
 * source, even when excluded: its own track still has to leave it.
 *
 * Ties (within COST_EPSILON) go to fewer hops (fewer nodes forwarding), then to the parent with the smaller
 * id; the frontier is taken lowest (cost, id) first. The result depends only on the matrix's contents, not on
 * its iteration order.
 */
export function shortestPaths(matrix: RttMatrix, source: string, opts: ShortestPathOptions = {}): ReadonlyMap<string, PathInfo> {
  const hopCost = opts.hopCostMs ?? DEFAULT_HOP_COST_MS;
  if (!(hopCost >= 0)) throw new RangeError(`hopCostMs must be >= 0, got ${hopCost}`);
  const exclude = new Set(opts.exclude ?? []);
  const graph = linkGraph(matrix);

  const best = new Map<string, PathInfo>([[source, { cost: 0, parent: null, hops: 0 }]]);
  const settled = new Set<string>();
  for (;;) {
    let u: string | undefined;
    let uInfo: PathInfo | undefined;
    for (const [id, info] of best) {
      if (settled.has(id)) continue;
      if (uInfo === undefined || info.cost < uInfo.cost - COST_EPSILON || (Math.abs(info.cost - uInfo.cost) <= COST_EPSILON && id < u!)) {
        u = id;
        uInfo = info;
      }
    }
    if (u === undefined || uInfo === undefined) break;
    settled.add(u);
    if (u !== source && exclude.has(u)) continue; // reached, but forwards nothing
    const forwardCost = u === source ? 0 : hopCost;
    for (const [v, rtt] of graph.get(u) ?? []) {
      if (settled.has(v)) continue;
      const candidate: PathInfo = { cost: uInfo.cost + forwardCost + rtt / 2, parent: u, hops: uInfo.hops + 1 };
      const current = best.get(v);
      if (current === undefined || better(candidate, current)) best.set(v, candidate);
    }
  }
  return best;
}

function better(a: PathInfo, b: PathInfo): boolean {
  if (a.cost < b.cost - COST_EPSILON) return true;
  if (a.cost > b.cost + COST_EPSILON) return false;
  if (a.hops !== b.hops) return a.hops < b.hops;
  return a.parent! < b.parent!;
}

/** The node sequence source … target, or null when target is unreachable. */
export function pathTo(paths: ReadonlyMap<string, PathInfo>, target: string): string[] | null {
  if (!paths.has(target)) return null;
  const out: string[] = [];
  for (let n: string | null = target; n !== null; n = paths.get(n)!.parent) out.push(n);
  return out.reverse();
}
