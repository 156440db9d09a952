/**
 * Every NATS subject and KV bucket of the control plane, in one place (see README.md). Subjects carry the
 * protocol version so a v2 can run beside v1 during a rollout.
 */
export const SUBJECT_PREFIX = 'proxima.v1.';

export const SUBJECTS = {
  /** NodeInfo: a node that has started (or changed its info). */
  announce: 'proxima.v1.nodes.announce',
  /** Heartbeat: every heartbeatMs from every live node. */
  heartbeat: 'proxima.v1.nodes.heartbeat',
  /** Leave: a node going away cleanly; peers report it down at once. */
  leave: 'proxima.v1.nodes.leave',
  /** Probe: a starting node asks every live node for an immediate heartbeat. */
  probe: 'proxima.v1.nodes.probe',
  /** RttRow: one node's measured RTTs to the others, every intervalMs. */
  rtt: 'proxima.v1.rtt.rows',
} as const;

/** Request/reply, empty both ways: every node answers on its own, so "no responders" means its connection is gone. */
export function aliveSubject(nodeId: string): string {
  return `proxima.v1.nodes.alive.${nodeId}`;
}

export const BUCKETS = {
  /** key = node id → NodeInfo. */
  nodes: 'proxima-nodes',
  /** key = node number → { id }: makes "num is unique among live nodes" atomic (kv.create / CAS). */
  nodeNums: 'proxima-node-nums',
  /** key = space id → SpaceLease { node, term, expiresAt }. */
  spaceOwners: 'proxima-space-owners',
  /** key = person.<id> → PersonEntry, track.<id> → TrackEntry (ids escaped, see directory.ts). */
  directory: 'proxima-directory',
} as const;
