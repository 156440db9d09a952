/**
 * The RTT matrix routes are computed from, and the symmetric view of it. Rows come from each node's own
 * measurements, so a link may be known in one direction only, or disagree between directions: routing wants
 * one number per link, and a route should not change because one sample was noisy.
 */

/** from → to → measured RTT (ms). Asymmetric, possibly missing one direction. Same shape as the control plane's. */
export type RttMatrix = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** A usable measurement: NaN, negative or infinite values are treated as not measured. */
function usable(v: number | undefined): v is number {
  return v !== undefined && Number.isFinite(v) && v >= 0;
}

/**
 * The symmetric RTT of the link a–b: the mean of both directions when both are measured, else the one that
 * is, else undefined. A node to itself is not a link (undefined).
 */
export function linkRtt(m: RttMatrix, a: string, b: string): number | undefined {
  if (a === b) return undefined;
  const ab = m.get(a)?.get(b);
  const ba = m.get(b)?.get(a);
  const okAb = usable(ab);
  const okBa = usable(ba);
  if (okAb && okBa) return (ab + ba) / 2;
  if (okAb) return ab;
  if (okBa) return ba;
  return undefined;
}

/** Every node named in the matrix, as a row or as a column, sorted (so callers iterate deterministically). */
export function nodesOf(m: RttMatrix): string[] {
  const out = new Set<string>();
  for (const [from, row] of m) {
    out.add(from);
    for (const to of row.keys()) out.add(to);
  }
  return [...out].sort();
}

/** The symmetric graph: node → neighbour → link RTT, each link present in both directions. */
export function linkGraph(m: RttMatrix): Map<string, Map<string, number>> {
  const g = new Map<string, Map<string, number>>();
  for (const n of nodesOf(m)) g.set(n, new Map());
  for (const [from, row] of m) {
    for (const to of row.keys()) {
      const rtt = linkRtt(m, from, to);
      if (rtt === undefined) continue;
      g.get(from)!.set(to, rtt);
      g.get(to)!.set(from, rtt);
    }
  }
  return g;
}

export interface ChangeThresholds {
  /** A link's change must exceed this share of its previous RTT (default 0.2 = 20 %). */
  relative?: number;
  /** ...and also this many ms (default 10): 20 % of a 5 ms LAN link is noise, not a reason to reroute. */
  absoluteMs?: number;
}

/**
 * Whether routes should be recomputed: a link appeared or disappeared, or a link's symmetric RTT moved by
 * more than BOTH thresholds. Compare against the matrix the current routes were computed from, not the
 * previous sample, or a slow drift never crosses the threshold. Nodes without any link are ignored (they
 * are unreachable either way); changes to the set of nodes are the caller's to notice.
 */
export function matrixChangedBeyond(prev: RttMatrix, next: RttMatrix, thresholds: ChangeThresholds = {}): boolean {
  const relative = thresholds.relative ?? 0.2;
  const absoluteMs = thresholds.absoluteMs ?? 10;
  const before = linkGraph(prev);
  const after = linkGraph(next);
  const nodes = new Set([...before.keys(), ...after.keys()]);
  for (const a of nodes) {
    const neighbours = new Set([...(before.get(a)?.keys() ?? []), ...(after.get(a)?.keys() ?? [])]);
    for (const b of neighbours) {
      if (b < a) continue; // each unordered link once
      const p = before.get(a)?.get(b);
      const n = after.get(a)?.get(b);
      if (p === undefined || n === undefined) return true; // appeared or disappeared
      const delta = Math.abs(n - p);
      if (delta > absoluteMs && delta > relative * p) return true;
    }
  }
  return false;
}
