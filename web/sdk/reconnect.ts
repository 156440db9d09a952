/**
 * When and where the SDK tries again after its signaling dropped: one mechanism for a single server that
 * restarts and for a cluster whose node died (docs/cascading.md).
 */

/** Backoff between rounds of attempts: the first retry comes fast, later ones at most ~2 s apart. */
export const RECONNECT_BACKOFF = { firstMs: 250, maxMs: 2000, jitter: 0.25 } as const;

/**
 * Wait before round `round + 1` (round 0 is tried at once): 250 ms doubling to 2 s, each ±25 % at random so
 * that the pages of a restarted server do not all come back in the same millisecond. The cap stays short:
 * a server back from a restart should not wait for a page asleep in a long backoff.
 */
export function reconnectDelay(round: number, random: () => number = Math.random): number {
  const base = Math.min(RECONNECT_BACKOFF.firstMs * 2 ** Math.max(0, round), RECONNECT_BACKOFF.maxMs);
  return Math.round(base * (1 - RECONNECT_BACKOFF.jitter + 2 * RECONNECT_BACKOFF.jitter * random()));
}

/**
 * Where to try, in order: the node we were on first (only there can the session resume, and a restarted
 * single server is only there), then the cluster's other nodes, best first. A node that is draining
 * (it closed us with 4002) comes last, as long as there is anywhere else to go.
 */
export function reconnectOrder(current: string, cluster: readonly string[], currentDraining: boolean): string[] {
  const others = cluster.filter((u) => u !== current);
  if (currentDraining && others.length > 0) return [...others, current];
  return [current, ...others];
}
