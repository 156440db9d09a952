/**
 * Which node a new person connects to. Pure: the caller gathers the candidates (registry) and the hint
 * (the person's region, RTTs their client measured to nodes).
 */

export interface NodeCandidate {
  readonly id: string;
  readonly region: string;
  /** 0 (idle) .. 1 (full). */
  readonly load: number;
  readonly draining: boolean;
  readonly alive: boolean;
}

export interface NodeHint {
  readonly region?: string;
  /** Node id → RTT (ms) the person's client measured to it. */
  readonly rttMs?: ReadonlyMap<string, number>;
}

/**
 * Only alive, non-draining nodes. Then: a node in the person's region (the lowest load among them); else the
 * lowest measured RTT (ties: lower load); else the lowest load. Remaining ties go to the smaller id, so every
 * node answering the same question picks the same one. Null when no node can take the person.
 */
export function chooseNode<C extends NodeCandidate>(candidates: Iterable<C>, hint: NodeHint = {}): C | null {
  const open = [...candidates].filter((c) => c.alive && !c.draining);
  if (open.length === 0) return null;

  if (hint.region !== undefined) {
    const local = open.filter((c) => c.region === hint.region);
    if (local.length > 0) return lowest(local, (a, b) => loadOf(a) - loadOf(b));
  }

  const rtt = (c: C) => {
    const v = hint.rttMs?.get(c.id);
    return v !== undefined && Number.isFinite(v) && v >= 0 ? v : undefined;
  };
  const measured = open.filter((c) => rtt(c) !== undefined);
  if (measured.length > 0) return lowest(measured, (a, b) => rtt(a)! - rtt(b)! || loadOf(a) - loadOf(b));

  return lowest(open, (a, b) => loadOf(a) - loadOf(b));
}

/** A load that is not a number in [0, 1] counts as full: an unknown load must not attract everyone. */
function loadOf(c: NodeCandidate): number {
  return Number.isFinite(c.load) ? Math.min(1, Math.max(0, c.load)) : 1;
}

function lowest<C extends NodeCandidate>(cs: C[], cmp: (a: C, b: C) => number): C {
  return cs.reduce((best, c) => {
    const d = cmp(c, best);
    return d < 0 || (d === 0 && c.id < best.id) ? c : best;
  });
}
