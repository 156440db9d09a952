/**
 * Which nodes are alive. Each node keeps its NodeInfo in the `proxima-nodes` bucket (so a newcomer finds
 * everyone) and heartbeats on a plain subject (cheap, not stored). A peer is up while its heartbeats
 * arrive and down `deadAfterMs` after the last one, or at once when it says Leave. Node numbers are claimed
 * atomically in `proxima-node-nums`, so two live nodes never share one.
 */
import type { KV, KvEntry } from '@nats-io/kv';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.ts';
import { createLogger, type Logger } from '../../util/logger.ts';
import type { ControlBus } from './control-bus.ts';
import { decodeControl, decoderFor, encodeControl, type NodeInfo, type NodeLoad } from './messages.ts';
import { aliveSubject, BUCKETS, SUBJECTS } from './subjects.ts';
import { countControlInvalid } from '../../metrics/registry.ts';
import { isCasConflict, valueOf, watchBucket, type BucketWatch } from './kv-helpers.ts';

export type DownReason = 'leave' | 'expired';

/** Far above any real cluster; bounds what a flood of invented node ids can cost. */
const MAX_PEERS = 4096;

export interface NodeRegistryOptions {
  /** Heartbeat period (default 500 ms). */
  heartbeatMs?: number;
  /** A peer without a heartbeat for this long is down (default 1500 ms: three missed heartbeats). */
  deadAfterMs?: number;
  clock?: Clock;
  log?: Logger;
}

interface Peer {
  info: NodeInfo | null;
  /** Revision of its key in the nodes bucket (for CAS cleanup), 0 if none. */
  revision: number;
  lastSeen: number;
  up: boolean;
  left: boolean;
  expiry: TimerHandle | null;
}

type Listener<A extends unknown[]> = (...args: A) => void;

export class NodeRegistry {
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  private readonly bus: ControlBus;
  private readonly clock: Clock;
  private readonly log: Logger;
  private self: NodeInfo | null = null;
  private selfRevision = 0;
  private numRevision = 0;
  private readonly peers = new Map<string, Peer>();
  private nodesKv: KV | null = null;
  private numsKv: KV | null = null;
  private watch: BucketWatch | null = null;
  private unsubs: Array<() => void> = [];
  private heartbeatTimer: TimerHandle | null = null;
  private lastProbeAnswer = -Infinity;
  private state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  /** While starting: a heartbeat/announce with our own id comes from another process. */
  private idClash: string | null = null;
  /** While starting: the bucket held our id (a previous run, or a live twin). */
  private ownKeyExisted = false;
  private readonly heardWaiters = new Set<() => void>();
  private readonly upListeners = new Set<Listener<[NodeInfo]>>();
  private readonly downListeners = new Set<Listener<[string, DownReason]>>();
  private readonly changeListeners = new Set<Listener<[ReadonlyMap<string, NodeInfo>]>>();

  constructor(bus: ControlBus, opts: NodeRegistryOptions = {}) {
    this.bus = bus;
    this.heartbeatMs = opts.heartbeatMs ?? 500;
    this.deadAfterMs = opts.deadAfterMs ?? 1500;
    if (this.deadAfterMs <= this.heartbeatMs) throw new Error('deadAfterMs must be longer than heartbeatMs');
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? createLogger('warn', { component: 'node-registry' });
  }

  /** Our own id (after start). */
  get selfId(): string {
    if (!this.self) throw new Error('NodeRegistry not started');
    return this.self.id;
  }

  /**
   * Joins the cluster: learns the live nodes (bucket + their answers to a probe), claims `self.num`, then
   * announces and heartbeats. Rejects if the id or the number is held by a live node.
   */
  async start(self: NodeInfo): Promise<void> {
    if (this.state !== 'idle') throw new Error('NodeRegistry.start called twice');
    this.state = 'starting';
    encodeControl('nodeInfo', self); // our own info must be valid before anyone sees it
    this.self = { ...self, load: { ...self.load } };
    try {
      this.nodesKv = await this.bus.kv(BUCKETS.nodes);
      this.numsKv = await this.bus.kv(BUCKETS.nodeNums);
      this.unsubs.push(
        this.bus.subscribe(SUBJECTS.announce, decoderFor('nodeInfo'), (m) => this.onAnnounce(m)),
        this.bus.subscribe(SUBJECTS.heartbeat, decoderFor('heartbeat'), (m) => this.onHeartbeat(m.id, m.load, m.draining)),
        this.bus.subscribe(SUBJECTS.leave, decoderFor('leave'), (m) => this.onLeave(m.id)),
        this.bus.subscribe(SUBJECTS.probe, decoderFor('probe'), (m) => this.onProbe(m.id)),
        // Before anyone can know us: a peer asking here while we live must always get an answer.
        this.bus.answer(aliveSubject(self.id)),
        this.bus.onClose(() => this.stop()),
      );
      this.watch = await watchBucket(this.nodesKv, (e) => this.onNodeEntry(e), this.log);
      await this.bus.flush(); // our subscriptions are live before anyone is asked to answer
      const probedAt = this.clock.now();
      this.bus.publish(SUBJECTS.probe, 'probe', { v: 1, id: self.id });
      await this.claimNum(probedAt);
      await this.waitForCandidates(probedAt);
      if (this.idClash) throw new Error(this.idClash);
      if (this.state !== 'starting') throw new Error('control bus closed while starting');
      await this.confirmNum();
      this.selfRevision = await this.nodesKv.put(self.id, encodeControl('nodeInfo', this.self));
      this.bus.publish(SUBJECTS.announce, 'nodeInfo', this.self);
      this.heartbeatTimer = this.clock.setInterval(() => this.sendHeartbeat(), this.heartbeatMs);
      this.state = 'running';
    } catch (err) {
      this.stop();
      // A number we claimed for a start that failed goes back (CAS: only if still ours).
      if (this.numRevision) void this.numsKv!.delete(String(self.num), { previousSeq: this.numRevision }).catch((e) => this.logKvError('free num claim', e));
      this.numRevision = 0;
      throw err;
    }
  }

  /** Says goodbye (peers report us down at once), removes our keys, stops. Idempotent. */
  async leave(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'starting') return;
    const self = this.self!;
    const [nodesKv, numsKv, selfRev, numRev] = [this.nodesKv, this.numsKv, this.selfRevision, this.numRevision];
    this.stop();
    this.bus.publish(SUBJECTS.leave, 'leave', { v: 1, id: self.id });
    // CAS deletes: if someone already replaced our key (a restart of this id), theirs stays.
    await Promise.all([
      selfRev && nodesKv ? nodesKv.delete(self.id, { previousSeq: selfRev }).catch((err) => this.logKvError('delete node key', err)) : null,
      numRev && numsKv ? numsKv.delete(String(self.num), { previousSeq: numRev }).catch((err) => this.logKvError('delete num claim', err)) : null,
    ]);
    await this.bus.flush().catch(() => {});
  }

  /**
   * Is `nodeId`'s NATS connection still there? 'gone' is the server saying nobody answers on its alive
   * subject: its process ended (a kill -9 closes its socket at once), long before heartbeats expire.
   * 'alive' and 'unknown' (timeout, closed bus, a node we do not know as up) change nothing. Within the
   * timeout the question is asked again until the server gives a definite answer (see ControlBus.ask).
   */
  async probeAlive(nodeId: string, timeoutMs = 250): Promise<'alive' | 'gone' | 'unknown'> {
    if (this.state !== 'running' || !this.isUp(nodeId)) return 'unknown';
    const r = await this.bus.ask(aliveSubject(nodeId), timeoutMs);
    return r === 'answered' ? 'alive' : r === 'no-responders' ? 'gone' : 'unknown';
  }

  /** Our load, sent with the next heartbeat. */
  setLoad(load: NodeLoad): void {
    if (!this.self) return;
    this.self = { ...this.self, load: { ...load } };
  }

  /** Draining nodes take no new people; peers learn it at once (heartbeat) and newcomers from the bucket. */
  setDraining(draining: boolean): void {
    if (!this.self || this.self.draining === draining) return;
    this.self = { ...this.self, draining };
    if (this.state !== 'running') return;
    this.sendHeartbeat();
    void this.nodesKv!.put(this.self.id, encodeControl('nodeInfo', this.self)).then(
      (rev) => (this.selfRevision = rev),
      (err) => this.logKvError('update node info', err),
    );
  }

  /** Live nodes, ourselves included, by id. */
  nodes(): ReadonlyMap<string, NodeInfo> {
    const out = new Map<string, NodeInfo>();
    if (this.self && this.state === 'running') out.set(this.self.id, this.self);
    for (const [id, p] of this.peers) if (p.up && p.info) out.set(id, p.info);
    return out;
  }

  isUp(nodeId: string): boolean {
    if (this.self && nodeId === this.self.id) return this.state === 'running';
    return this.peers.get(nodeId)?.up === true;
  }

  node(nodeId: string): NodeInfo | undefined {
    if (this.self && nodeId === this.self.id) return this.self;
    const p = this.peers.get(nodeId);
    return p?.up && p.info ? p.info : undefined;
  }

  /** A peer came up (never ourselves). Returns the unregister function. */
  onUp(fn: (node: NodeInfo) => void): () => void {
    this.upListeners.add(fn);
    return () => this.upListeners.delete(fn);
  }
  /** A peer went down: it said Leave (or its key was deleted), or its heartbeats stopped. */
  onDown(fn: (nodeId: string, reason: DownReason) => void): () => void {
    this.downListeners.add(fn);
    return () => this.downListeners.delete(fn);
  }
  /** The live set or a node's info (draining, KV update) changed; load-only heartbeats do not fire it. */
  onChange(fn: (nodes: ReadonlyMap<string, NodeInfo>) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  // --- start-up ----------------------------------------------------------------------------------------

  /**
   * kv.create on the number's key; if it is taken by another id, that id must prove it is alive (heard after
   * our probe, within deadAfterMs) or we take the key over with a CAS update. Looping makes two nodes
   * starting with the same number at once safe: one create or update wins, the other sees it.
   *
   * The deadAfterMs window starts again whenever the key holds a revision we have not seen before. A claim
   * written while we look is its writer at work: a starting holder confirming its claim just before it
   * announces (confirmNum), or another starter taking it over. Measured from our probe instead, the window
   * could already be over when the confirmed revision is read after a lost CAS, and we would take over at
   * once the claim of a holder that is a moment from announcing: two live nodes with one number. Given a
   * whole window, it is heard (and we refuse), or it is as good as dead and we take the key over.
   */
  private async claimNum(probedAt: number): Promise<void> {
    const self = this.self!;
    const key = String(self.num);
    const claim = encodeControl('numClaim', { v: 1, id: self.id });
    let lastRevision: number | null = null; // the key's revision when we last read it (0: no claim)
    let windowFrom = probedAt;
    for (let attempt = 0; attempt < 10; attempt++) {
      const e = await this.numsKv!.get(key);
      const bytes = e ? valueOf(e) : null;
      const holder = bytes ? decodeControl('numClaim', bytes) : null;
      const revision = e?.revision ?? 0;
      if (lastRevision !== null && revision !== lastRevision) windowFrom = this.clock.now();
      lastRevision = revision;
      try {
        if (!e || !bytes) {
          this.numRevision = await this.numsKv!.create(key, claim);
          return;
        }
        if (holder?.ok && holder.value.id !== self.id) {
          if (await this.waitHeard(holder.value.id, probedAt, windowFrom)) {
            throw new Error(`node number ${self.num} is already used by live node ${holder.value.id}; give node ${self.id} another number`);
          }
        }
        // Ours from an earlier run, a dead holder, or an invalid value: take it over (CAS).
        this.numRevision = await this.numsKv!.update(key, claim, e.revision);
        return;
      } catch (err) {
        if (!isCasConflict(err)) throw err;
      }
    }
    throw new Error(`could not claim node number ${self.num}: too much contention`);
  }

  /**
   * Re-writes our claim (CAS on the revision we hold) just before announcing. Someone who waited in vain for
   * our heartbeat while we were still starting may have taken the number over: then this fails and we do
   * not announce. Once we heartbeat, nobody takes it, since takers wait for the holder's heartbeat first.
   */
  private async confirmNum(): Promise<void> {
    const self = this.self!;
    try {
      this.numRevision = await this.numsKv!.update(String(self.num), encodeControl('numClaim', { v: 1, id: self.id }), this.numRevision);
    } catch (err) {
      if (!isCasConflict(err)) throw err;
      this.numRevision = 0;
      const e = await this.numsKv!.get(String(self.num)).catch(() => null);
      const bytes = e ? valueOf(e) : null;
      const holder = bytes ? decodeControl('numClaim', bytes) : null;
      throw new Error(`node number ${self.num} is already used by live node ${holder?.ok ? holder.value.id : '(unknown)'}; give node ${self.id} another number`);
    }
  }

  /**
   * Every node the bucket lists must answer the probe within deadAfterMs, else it is a leftover. Our own id
   * in the bucket is either our previous run (crashed: silent) or another live process with our id (it
   * answers the probe): only waiting tells them apart.
   */
  private async waitForCandidates(probedAt: number): Promise<void> {
    const pending = () => [...this.peers.entries()].filter(([, p]) => p.info && !p.left && p.lastSeen < probedAt).map(([id]) => id);
    const self = this.self!.id;
    await Promise.all([...pending().map((id) => this.waitHeard(id, probedAt)), this.ownKeyExisted ? this.waitHeard(self, probedAt) : null]);
    // Leftovers of crashed nodes: remove them (CAS, so a node that just re-put its key keeps it).
    for (const id of pending()) {
      const p = this.peers.get(id)!;
      if (p.revision) void this.nodesKv!.delete(id, { previousSeq: p.revision }).catch((err) => this.logKvError('delete stale node key', err));
    }
  }

  /** True once `id` is heard after `since`; false if deadAfterMs passes after `windowFrom` first (or we stop). */
  private waitHeard(id: string, since: number, windowFrom = since): Promise<boolean> {
    const heard = () => (id === this.self?.id ? this.idClash !== null : (this.peers.get(id)?.lastSeen ?? -Infinity) >= since);
    if (heard()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (heard()) finish(true);
        else if (this.state === 'stopped') finish(false);
      };
      const finish = (v: boolean) => {
        this.clock.clear(timer);
        this.heardWaiters.delete(check);
        resolve(v);
      };
      const timer = this.clock.setTimeout(() => finish(heard()), Math.max(0, windowFrom + this.deadAfterMs - this.clock.now()));
      this.heardWaiters.add(check);
    });
  }

  // --- incoming ----------------------------------------------------------------------------------------

  private onAnnounce(info: NodeInfo): void {
    if (this.isSelfId(info.id)) return;
    const p = this.peer(info.id);
    const changed = p.up && p.info !== null && !sameInfo(p.info, info);
    p.info = info;
    p.left = false;
    this.heard(info.id, p);
    if (changed) this.fireChange();
  }

  private onHeartbeat(id: string, load: NodeLoad, draining: boolean): void {
    if (this.isSelfId(id)) return;
    const p = this.peer(id);
    if (p.left) return; // it said goodbye; only a new announce brings it back
    let changed = false;
    if (p.info) {
      changed = p.up && p.info.draining !== draining;
      p.info = { ...p.info, load, draining };
    }
    this.heard(id, p);
    if (changed) this.fireChange();
  }

  private onLeave(id: string): void {
    if (this.isSelfId(id)) return;
    const p = this.peers.get(id);
    if (!p) return;
    p.left = true;
    this.markDown(id, p, 'leave');
  }

  private onProbe(id: string): void {
    if (this.isSelfId(id) || this.state !== 'running') return;
    // Answer at once, but a flood of probes costs at most one heartbeat per 50 ms.
    const now = this.clock.now();
    if (now - this.lastProbeAnswer < 50) return;
    this.lastProbeAnswer = now;
    this.sendHeartbeat();
  }

  private onNodeEntry(e: KvEntry): void {
    const id = e.key;
    const bytes = valueOf(e);
    if (this.self && id === this.self.id) {
      if (this.state === 'starting' && bytes) this.ownKeyExisted = true;
      // Someone deleted our key while we live (a peer that thought us dead): put it back.
      if (!bytes && this.state === 'running' && e.revision > this.selfRevision) {
        void this.nodesKv!.put(id, encodeControl('nodeInfo', this.self)).then(
          (rev) => (this.selfRevision = rev),
          (err) => this.logKvError('restore node key', err),
        );
      }
      return;
    }
    if (!bytes) {
      // A deleted key says nothing about liveness: a leaving node says Leave first (same connection, so it
      // arrives first), and a cleaner deletes keys of nodes that expired at *its* end. Heartbeats decide;
      // a live node puts its key back. Only a node that is not up is forgotten.
      const p = this.peers.get(id);
      if (!p || e.revision < p.revision) return;
      p.revision = 0;
      if (!p.up) p.info = null;
      return;
    }
    const r = decodeControl('nodeInfo', bytes);
    if (!r.ok || r.value.id !== id) {
      if (r.ok) countControlInvalid('nodeInfo', 'schema'); // valid info under another node's key
      this.bus.noteInvalid(`kv:${BUCKETS.nodes}`, 'nodeInfo', r.ok ? 'schema' : r.reason, r.ok ? 'key and id differ' : r.detail);
      return;
    }
    const p = this.peer(id);
    if (e.revision < p.revision) return;
    p.revision = e.revision;
    const changed = p.up && p.info !== null && !sameInfo(p.info, r.value);
    // The bucket's load is from start-up; heartbeats carry the current one.
    p.info = p.info ? { ...r.value, load: p.info.load, draining: p.info.draining } : r.value;
    if (!p.up && !p.left && this.clock.now() - p.lastSeen < this.deadAfterMs) this.markUp(id, p);
    else if (changed) this.fireChange();
  }

  // --- state -------------------------------------------------------------------------------------------

  private heard(id: string, p: Peer): void {
    p.lastSeen = this.clock.now();
    if (p.expiry) this.clock.clear(p.expiry);
    p.expiry = this.clock.setTimeout(() => {
      p.expiry = null;
      this.markDown(id, p, 'expired');
    }, this.deadAfterMs);
    if (!p.up && p.info && this.state !== 'stopped') this.markUp(id, p);
    for (const w of [...this.heardWaiters]) w();
  }

  private markUp(id: string, p: Peer): void {
    p.up = true;
    this.log.info('node up', { node: id });
    for (const fn of [...this.upListeners]) this.safely(() => fn(p.info!));
    this.fireChange();
  }

  private markDown(id: string, p: Peer, reason: DownReason): void {
    if (p.expiry) {
      this.clock.clear(p.expiry);
      p.expiry = null;
    }
    if (!p.up) return;
    p.up = false;
    this.log.info('node down', { node: id, reason });
    for (const fn of [...this.downListeners]) this.safely(() => fn(id, reason));
    this.fireChange();
    if (reason === 'expired' && this.isCleaner() && p.revision) {
      // One node (the lowest live id) removes a dead node's key, CAS so a revived node's new key stays.
      void this.nodesKv!.delete(id, { previousSeq: p.revision }).catch((err) => this.logKvError('delete expired node key', err));
    }
  }

  /** The lowest live id does the cluster's housekeeping; duplicates would be harmless (CAS) but noisy. */
  isCleaner(): boolean {
    if (!this.self || this.state !== 'running') return false;
    for (const [id, p] of this.peers) if (p.up && id < this.self.id) return false;
    return true;
  }

  private sendHeartbeat(): void {
    const s = this.self;
    if (!s || this.state !== 'running') return;
    this.bus.publish(SUBJECTS.heartbeat, 'heartbeat', { v: 1, id: s.id, at: Math.round(this.clock.wallNow()), load: s.load, draining: s.draining });
  }

  private isSelfId(id: string): boolean {
    if (!this.self || id !== this.self.id) return false;
    // noEcho: our own messages never come back, so this is another process using our id.
    if (this.state === 'starting') {
      this.idClash = `node id ${id} is already used by a live node`;
      for (const w of [...this.heardWaiters]) w();
    } else this.bus.noteInvalid('node-id-clash', 'heartbeat', 'schema', `another process uses node id ${id}`);
    return true;
  }

  private peer(id: string): Peer {
    let p = this.peers.get(id);
    if (!p) {
      p = { info: null, revision: 0, lastSeen: -Infinity, up: false, left: false, expiry: null };
      // Heartbeats with made-up ids must not grow this map without bound: past the cap they are not kept.
      if (this.peers.size < MAX_PEERS) this.peers.set(id, p);
    }
    return p;
  }

  private stop(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.heartbeatTimer) this.clock.clear(this.heartbeatTimer);
    this.heartbeatTimer = null;
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.watch?.stop();
    // Without the bus our view is stale: forget who is up (quietly; nobody listens to a stopped registry).
    for (const p of this.peers.values()) {
      if (p.expiry) this.clock.clear(p.expiry);
      p.expiry = null;
      p.up = false;
    }
    for (const w of [...this.heardWaiters]) w();
  }

  private fireChange(): void {
    if (this.changeListeners.size === 0) return;
    const snapshot = this.nodes();
    for (const fn of [...this.changeListeners]) this.safely(() => fn(snapshot));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error('node registry listener threw', { err });
    }
  }

  private logKvError(what: string, err: unknown): void {
    if (isCasConflict(err)) return; // someone else already changed it: that is the point of CAS
    this.log.warn(`node registry: ${what} failed`, { err });
  }
}

function sameInfo(a: NodeInfo, b: NodeInfo): boolean {
  return (
    a.num === b.num &&
    a.region === b.region &&
    a.relay.host === b.relay.host &&
    a.relay.port === b.relay.port &&
    a.signalingUrl === b.signalingUrl &&
    a.publicKey === b.publicKey &&
    a.draining === b.draining &&
    a.startedAt === b.startedAt
  );
}
