/**
 * The links one track crosses: the shortest-path tree from its origin, pruned to the branches that lead to a
 * node that wants it. Every node has one parent, so the track crosses each link at most once and no node
 * receives it twice.
 */
import { compareEdges, type Edge } from './edge.ts';
import type { RttMatrix } from './rtt-matrix.ts';
import { shortestPaths, type PathInfo, type ShortestPathOptions } from './shortest-paths.ts';

export interface DistributionTree {
  readonly origin: string;
  /** node → the node it receives the track from; only nodes on a branch to a receiver. */
  readonly parent: ReadonlyMap<string, string>;
  /** The same links as `parent`, top-down: by depth, then from, then to (an edge's parent edge comes first). */
  readonly edges: readonly Edge[];
  /** Receivers with no path from the origin, sorted. */
  readonly unreachable: readonly string[];
}

/** Receivers that are the origin itself need no link and are ignored; duplicates count once. */
export function distributionTree(origin: string, receivers: Iterable<string>, matrix: RttMatrix, opts: ShortestPathOptions = {}): DistributionTree {
  return treeFromPaths(origin, receivers, shortestPaths(matrix, origin, opts));
}

/** As distributionTree, from paths already computed from `origin` (planRoutes shares them between tracks). */
export function treeFromPaths(origin: string, receivers: Iterable<string>, paths: ReadonlyMap<string, PathInfo>): DistributionTree {
  const parent = new Map<string, string>();
  const unreachable = new Set<string>();
  for (const r of receivers) {
    if (r === origin) continue;
    if (!paths.has(r)) {
      unreachable.add(r);
      continue;
    }
    // Walk up until the branch joins what is already in the tree.
    for (let n = r; n !== origin && !parent.has(n); ) {
      const up = paths.get(n)!.parent!;
      parent.set(n, up);
      n = up;
    }
  }
  const depth = (n: string) => paths.get(n)!.hops;
  const edges = [...parent].map(([to, from]) => ({ from, to }));
  edges.sort((a, b) => depth(a.to) - depth(b.to) || compareEdges(a, b));
  return { origin, parent, edges, unreachable: [...unreachable].sort() };
}
