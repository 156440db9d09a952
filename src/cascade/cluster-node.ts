import { NODE_SPACE } from '../recorder/events.ts';
import type { Config } from '../config/config.ts';
import type { SpaceRegistry } from '../server/space-registry.ts';
import type { Space } from '../server/space.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { RelayEndpoint, type RelayAddress } from '../transport/relay/relay-endpoint.ts';
import { nodeNumOf } from '../transport/relay/relay-packet.ts';
import { ControlBus } from './control/control-bus.ts';
import { NodeRegistry } from './control/node-registry.ts';
import { RttRows } from './control/rtt-rows.ts';
import { SpaceLeases } from './control/space-lease.ts';
import type { NodeInfo } from './control/messages.ts';
import { chooseNode, matrixChangedBeyond, shortestPaths, type RttMatrix } from './routes/index.ts';
import { TrackRelay } from './relay/track-relay.ts';
import { SpaceReplica } from './space-replica.ts';

export type ClusterConfig = NonNullable<Config['cluster']>;

/** Cluster mode could not start for a reason the operator can fix (NATS unreachable, a clashing id…). */
export class ClusterStartError extends Error {
  override name = 'ClusterStartError';
}

export interface ClusterNodeOptions {
  cluster: ClusterConfig;
  /** This node's signaling URL as clients reach it. */
  signalingUrl: string;
  spaces: SpaceRegistry;
  clock: Clock;
  log: Logger;
  /** Tests: where relay datagrams for a peer go (a weather proxy in front of it); default its announced address. */
  relayAddressOf?: (peer: NodeInfo) => RelayAddress;
}

/** A node's view of another, for clients choosing where to connect (GET /api/cluster). */
export interface ClusterNodeView {
  id: string;
  region: string;
  signalingUrl: string;
  load: number;
  draining: boolean;
  self: boolean;
}

/**
 * Cluster mode, composed: the control plane on NATS (registry with heartbeats, RTT rows, space leases),
 * one relay endpoint towards every other node, the TrackRelay that moves tracks along routes, and a
 * SpaceReplica per space this node hosts people of. Routes are shortest paths over the measured RTT
 * matrix: every node computes the same ones, and each relayed track is taken from this node's parent in
 * the tree rooted at the track's origin. Routes are recomputed when a node comes or goes or the matrix
 * moves beyond the hysteresis (src/cascade/routes), make before break.
 */
export class ClusterNode {
  readonly nodeId: string;
  readonly nodeNum: number;
  private readonly replicas = new Map<string, SpaceReplica>();
  private parents = new Map<string, string | null>();
  /** The upstream last used per origin, across recomputations: a change is a recorded route change. */
  private readonly lastParents = new Map<string, string | null>();
  /** Peers silent on their relay link: not used as upstreams until heard again. */
  private readonly silent = new Set<string>();
  private routedMatrix: RttMatrix = new Map();
  private closed = false;
  private loadTimer: TimerHandle | null = null;
  private readonly unsubs: Array<() => void> = [];

  private constructor(
    private readonly o: ClusterNodeOptions,
    readonly bus: ControlBus,
    readonly endpoint: RelayEndpoint,
    readonly registry: NodeRegistry,
    readonly relay: TrackRelay,
    readonly rtt: RttRows,
    readonly leases: SpaceLeases,
  ) {
    this.nodeId = o.cluster.nodeId;
    this.nodeNum = endpoint.nodeNum;
  }

  static async start(o: ClusterNodeOptions): Promise<ClusterNode> {
    const c = o.cluster;
    const log = o.log.child({ node: c.nodeId });
    const bus = await ControlBus.connect(c.natsUrl, { name: c.nodeId, clock: o.clock, log, auth: c.nats }).catch((e: Error) => {
      throw new ClusterStartError(`cannot reach NATS at ${c.natsUrl}: ${e.message}`);
    });
    // Pings every 100 ms and a peer silent after 600 ms: a dead node in the middle of a tree is routed
    // around well before heartbeats (1.5 s) would say so; a false alarm costs one re-want. Quiet for
    // 250 ms, NATS is asked whether the peer's connection still exists: a crashed process is gone sooner.
    const endpoint = new RelayEndpoint({ nodeId: c.nodeId, clusterSecret: c.secret, host: c.relayBindIp, port: c.relayPort, clock: o.clock, log, pingIntervalMs: 100, silentAfterMs: c.relaySilentMs, quietAfterMs: c.relayQuietMs });
    let node: ClusterNode | null = null;
    try {
      await endpoint.start();
      const registry = new NodeRegistry(bus, { heartbeatMs: c.heartbeatMs, deadAfterMs: c.deadAfterMs, clock: o.clock, log });
      const relay = new TrackRelay({ nodeId: c.nodeId, nodeNum: endpoint.nodeNum, endpoint, upstreamOf: (origin) => node?.upstreamOf(origin) ?? null, clock: o.clock, log });
      endpoint.setHandler({
        onRtp: relay.onRtp.bind(relay),
        onRtcp: relay.onRtcp.bind(relay),
        onControl: relay.onControl.bind(relay),
        onRtt: (peer) => node?.peerHeard(peer),
        onPeerSilent: (peer) => node?.peerSilent(peer),
        onPeerQuiet: (peer) => node?.peerQuiet(peer),
      });
      const rtt = new RttRows(bus, registry, { measure: () => node?.measuredRtts() ?? new Map(), clock: o.clock, log });
      const leases = new SpaceLeases(bus, registry, { clock: o.clock, log });
      node = new ClusterNode({ ...o, log }, bus, endpoint, registry, relay, rtt, leases);
      node.wire();
      await registry.start({
        v: 1,
        id: c.nodeId,
        num: endpoint.nodeNum,
        region: c.region,
        relay: { host: c.relayAnnouncedIp, port: endpoint.port },
        signalingUrl: o.signalingUrl,
        publicKey: endpoint.publicKeyB64,
        load: { people: 0, tracks: 0, cpu: 0 },
        draining: false,
        startedAt: Math.round(o.clock.wallNow()),
      });
      rtt.start();
      await leases.start();
      // Spaces already open (none at start-up, normally) and every one opened later.
      for (const s of o.spaces.all()) node.follow(s);
      log.info('cluster node up', { nodeId: c.nodeId, nodeNum: endpoint.nodeNum, region: c.region, relayPort: endpoint.port, peers: registry.nodes().size - 1 });
      return node;
    } catch (e) {
      await node?.close().catch(() => {});
      await endpoint.close().catch(() => {});
      await bus.close().catch(() => {});
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE') throw new ClusterStartError(`relay port in use: ${err.message} (set PROXIMA_RELAY_PORT)`);
      // The registry refuses a node id or number another live node holds: a configuration problem.
      if (e instanceof Error && /already used by (a )?live node/i.test(e.message)) throw new ClusterStartError(e.message);
      throw e;
    }
  }

  private wire(): void {
    const { registry, endpoint, relay, rtt } = this;
    const addPeer = (n: NodeInfo) => {
      if (n.id === this.nodeId || endpoint.hasPeer(n.id)) return;
      if (nodeNumOf(n.id) !== n.num) {
        this.o.log.warn('peer node number does not match its id: ignored', { peer: n.id, num: n.num });
        return;
      }
      endpoint.addPeer({ id: n.id, publicKeyB64: n.publicKey, address: this.o.relayAddressOf?.(n) ?? n.relay });
      this.routesChanged('node up');
    };
    this.unsubs.push(
      registry.onUp(addPeer),
      registry.onDown((id, reason) => {
        this.o.log.info('cluster node down', { peer: id, reason });
        endpoint.removePeer(id);
        this.silent.delete(id);
        relay.peerDown(id);
        for (const r of this.replicas.values()) r.dropNode(id);
        relay.removeRelayedFrom(id);
        this.routesChanged('node down');
      }),
      rtt.onChange((m) => {
        if (!matrixChangedBeyond(this.routedMatrix, m)) return;
        this.routedMatrix = m;
        this.routesChanged('rtt matrix');
      }),
    );
    this.o.spaces.onOpen = (s) => this.follow(s);
    this.o.spaces.onRelease = (s) => this.unfollow(s);
    this.loadTimer = this.o.clock.setInterval(() => this.reportLoad(), 1000);
  }

  /** Load reported with heartbeats: people and tracks hosted here (cpu: a coarse people-based proxy). */
  private reportLoad(): void {
    let people = 0;
    let tracks = 0;
    for (const s of this.o.spaces.all()) {
      people += s.participants.size;
      for (const p of s.participants.values()) tracks += p.producers.size;
    }
    this.registry.setLoad({ people, tracks, cpu: Math.min(1, people / 200) });
  }

  /** The next node towards `origin` for this node (the parent in origin's shortest-path tree), null if none. */
  upstreamOf(origin: string): string | null {
    if (origin === this.nodeId || !this.registry.isUp(origin) || this.silent.has(origin)) return null;
    const cached = this.parents.get(origin);
    if (cached !== undefined) return cached;
    const exclude = [...this.registry.nodes().values()].filter((n) => n.draining).map((n) => n.id);
    exclude.push(...this.silent);
    // A silent node is no path at all (not even the last hop): drop its row and column.
    const m = new Map([...this.matrix()].filter(([id]) => !this.silent.has(id)).map(([id, row]) => [id, new Map([...row].filter(([to]) => !this.silent.has(to)))]));
    const paths = shortestPaths(m, origin, { exclude });
    let parent = paths.get(this.nodeId)?.parent ?? null;
    const usable = (id: string) => this.endpoint.hasPeer(id) && !this.silent.has(id);
    // Before the first RTT rows: the direct link.
    if (parent === null && usable(origin)) parent = origin;
    if (parent !== null && !usable(parent)) parent = usable(origin) ? origin : null;
    this.parents.set(origin, parent);
    if (this.lastParents.get(origin) !== parent) {
      this.lastParents.set(origin, parent);
      this.o.spaces.recorder.record({ space: NODE_SPACE, participant: null, kind: 'route', data: { from: origin, to: this.nodeId, via: parent === null ? [] : [parent] } });
    }
    return parent;
  }

  /**
   * The relay link to `peer` has been quiet for a moment: ask NATS whether its connection is gone. Only
   * both together route around it early (a stalled but live node still holds its subscription; a
   * broken relay path with a live node waits for the silence threshold).
   */
  peerQuiet(peer: string): void {
    const since = this.endpoint.lastHeardAgoMs(peer);
    void this.registry.probeAlive(peer).then((r) => {
      // Heard again while we asked: a late answer must not cut a link that came back.
      if (r !== 'gone' || this.closed || this.endpoint.lastHeardAgoMs(peer) < since) return;
      this.peerSilent(peer, 'its NATS connection is gone');
    });
  }

  /** The relay link to `peer` went quiet: route around it now (heartbeats confirm a death later). */
  peerSilent(peer: string, why = 'relay link silent'): void {
    if (this.silent.has(peer)) return;
    this.o.log.warn('relay peer silent: routing around it', { peer, why });
    this.silent.add(peer);
    this.parents = new Map();
    this.relay.peerDown(peer);
  }

  /** An RTT sample from `peer`: it is heard; if it was silent, routes may use it again. */
  peerHeard(peer: string): void {
    if (!this.silent.delete(peer)) return;
    this.o.log.info('relay peer heard again', { peer });
    this.routesChanged('peer back');
  }

  /** The matrix routes are computed on: everyone's published rows, ours replaced by what we measure now. */
  matrix(): RttMatrix {
    const m = new Map(this.routedMatrix.size > 0 ? this.routedMatrix : this.rtt.matrix());
    m.set(this.nodeId, this.measuredRtts());
    return m;
  }

  measuredRtts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const id of this.registry.nodes().keys()) {
      if (id === this.nodeId) continue;
      // The minimum of recent samples: a stalled event loop inflates every link at once, and a two-hop
      // path would pay it twice; routes must follow the network, not our scheduling.
      const r = this.endpoint.rttMinMs(id);
      if (r > 0) out.set(id, r);
    }
    return out;
  }

  /** Nodes for a client to connect to, best first for the hint (region, or measured RTTs). */
  nodesFor(hint: { region?: string; rttMs?: ReadonlyMap<string, number> } = {}): ClusterNodeView[] {
    const views: ClusterNodeView[] = [...this.registry.nodes().values()].map((n) => ({
      id: n.id,
      region: n.region,
      signalingUrl: n.signalingUrl,
      load: Math.min(1, n.load.cpu),
      draining: n.draining,
      self: n.id === this.nodeId,
    }));
    const out: ClusterNodeView[] = [];
    let rest = views.map((v) => ({ ...v, alive: true }));
    for (;;) {
      const best = chooseNode(rest, hint);
      if (!best) break;
      out.push(views.find((v) => v.id === best.id)!);
      rest = rest.filter((v) => v.id !== best.id);
    }
    return out;
  }

  /** Spotlight on someone hosted by another node (their node applies it). */
  spotlightRemote(space: Space, personId: string, on: boolean): boolean {
    const r = this.replicas.get(space.id);
    if (!r || !space.remotes.has(personId)) return false;
    r.spotlightRemote(personId, on);
    return true;
  }

  /** Stop taking new people (node choice skips a draining node). */
  setDraining(on: boolean): void {
    this.registry.setDraining(on);
  }

  private follow(space: Space): void {
    if (this.closed || this.replicas.has(space.id)) return;
    this.replicas.set(space.id, new SpaceReplica(space, this.nodeId, this.bus, this.relay, (id) => this.registry.isUp(id), this.o.clock, this.o.log));
    this.leases.acquire(space.id).catch((e) => this.o.log.warn('space lease not acquired', { space: space.id, err: String(e) }));
  }

  private unfollow(space: Space): void {
    const r = this.replicas.get(space.id);
    if (!r) return;
    this.replicas.delete(space.id);
    r.close();
    this.leases.release(space.id).catch((e) => this.o.log.warn('space lease not released', { space: space.id, err: String(e) }));
  }

  private routesChanged(why: string): void {
    this.parents = new Map();
    this.o.log.debug('routes recomputed', { why });
    this.relay.reroute();
  }

  /** Leave the cluster cleanly: peers drop us at once (a kill -9 is noticed by heartbeats instead). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubs) u();
    if (this.loadTimer) this.o.clock.clear(this.loadTimer);
    this.o.spaces.onOpen = null;
    this.o.spaces.onRelease = null;
    for (const r of this.replicas.values()) r.close();
    this.replicas.clear();
    this.relay.close();
    this.rtt.close();
    this.leases.close();
    await this.registry.leave().catch((e) => this.o.log.warn('leaving the registry failed', { err: String(e) }));
    await this.endpoint.close();
    await this.bus.close();
  }
}
