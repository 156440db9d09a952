/** Shared by the routes tests: matrix builders, the 5-region cluster, random matrices, brute-force distances. */
import type { RttMatrix } from './rtt-matrix.ts';
import { DEFAULT_HOP_COST_MS } from './shortest-paths.ts';

/** Directed entries [from, to, ms]. */
export function directed(entries: ReadonlyArray<readonly [string, string, number]>): RttMatrix {
  const m = new Map<string, Map<string, number>>();
  for (const [a, b, ms] of entries) {
    if (!m.has(a)) m.set(a, new Map());
    m.get(a)!.set(b, ms);
  }
  return m;
}

/** Symmetric links [a, b, ms]: both directions measured the same. */
export function symmetric(links: ReadonlyArray<readonly [string, string, number]>): RttMatrix {
  return directed(links.flatMap(([a, b, ms]) => [[a, b, ms] as const, [b, a, ms] as const]));
}

/**
 * Five regions, RTTs 65..250 ms. The direct eu-west–ap-northeast link is slow (250 ms: 125 one way), so
 * eu-west → us-east → ap-northeast (40 + 80 + 2 hop = 122) beats it; via us-west costs 72.5 + 50 + 2 = 124.5,
 * via ap-south 60 + 65 + 2 = 127. us-east–ap-south is asymmetric (190 / 210, mean 200).
 */
export const REGIONS = directed([
  ...pair('us-east', 'us-west', 65),
  ...pair('us-east', 'eu-west', 80),
  ['us-east', 'ap-south', 190],
  ['ap-south', 'us-east', 210],
  ...pair('us-east', 'ap-northeast', 160),
  ...pair('us-west', 'eu-west', 145),
  ...pair('us-west', 'ap-south', 220),
  ...pair('us-west', 'ap-northeast', 100),
  ...pair('eu-west', 'ap-south', 120),
  ...pair('eu-west', 'ap-northeast', 250),
  ...pair('ap-south', 'ap-northeast', 130),
]);

function pair(a: string, b: string, ms: number): Array<readonly [string, string, number]> {
  return [
    [a, b, ms],
    [b, a, ms],
  ];
}

export function nodeIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `n${String(i).padStart(2, '0')}`);
}

/**
 * A random cluster: each direction measured with probability `density`, RTT 5..300 ms, the reverse
 * direction within ±20 % when both are. Sometimes disconnected, on purpose.
 */
export function randomMatrix(rand: () => number, n: number, density = 0.6): RttMatrix {
  const ids = nodeIds(n);
  const m = new Map<string, Map<string, number>>(ids.map((id) => [id, new Map()]));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const base = 5 + rand() * 295;
      if (rand() < density) m.get(ids[i])!.set(ids[j], Math.round(base));
      if (rand() < density) m.get(ids[j])!.set(ids[i], Math.round(base * (0.8 + 0.4 * rand())));
    }
  }
  return m;
}

/** Random subset of `ids`, each with probability p. */
export function subset<T>(rand: () => number, ids: readonly T[], p: number): T[] {
  return ids.filter(() => rand() < p);
}

/**
 * All-pairs costs by Floyd–Warshall, independent of Dijkstra: the same cost model (rtt/2 per link, hop cost per
 * intermediate) as weights rtt/2 + hop per link, minus one hop per path; only non-excluded nodes as
 * intermediates (FW's k loop). Symmetric RTT computed here again, not with linkRtt.
 */
export function floydWarshall(m: RttMatrix, ids: readonly string[], hopCostMs = DEFAULT_HOP_COST_MS, exclude: ReadonlySet<string> = new Set()): Map<string, Map<string, number>> {
  const d = new Map(ids.map((a) => [a, new Map(ids.map((b) => [b, a === b ? 0 : Infinity]))]));
  for (const a of ids) {
    for (const b of ids) {
      if (a === b) continue;
      const x = m.get(a)?.get(b);
      const y = m.get(b)?.get(a);
      const rtt = x !== undefined && y !== undefined ? (x + y) / 2 : (x ?? y);
      if (rtt !== undefined) d.get(a)!.set(b, rtt / 2 + hopCostMs);
    }
  }
  for (const k of ids) {
    if (exclude.has(k)) continue;
    for (const i of ids) {
      for (const j of ids) {
        const via = d.get(i)!.get(k)! + d.get(k)!.get(j)!;
        if (via < d.get(i)!.get(j)!) d.get(i)!.set(j, via);
      }
    }
  }
  for (const i of ids) for (const j of ids) if (i !== j) d.get(i)!.set(j, d.get(i)!.get(j)! - hopCostMs);
  return d;
}
