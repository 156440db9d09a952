/**
 * One owner node per space (it runs the space's proximity engine), as a lease in the
 * `proxima-space-owners` bucket: key = space id, value { node, term, expiresAt }. Every write is a CAS on
 * the key's revision, so of two nodes racing (to create, or to take over) exactly one wins. The owner
 * renews every ttl/3; a node interested in the space (it called acquire) takes over with term + 1 when the
 * registry says the owner is down, or when it has not seen the lease renewed for a whole ttl.
 *
 * Expiry is judged on our own monotonic clock ("no new revision seen for ttl"), never by comparing
 * `expiresAt` with our wall clock: nodes' wall clocks differ. `expiresAt` is there for people reading the
 * bucket.
 */
import type { KV, KvEntry } from '@nats-io/kv';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.ts';
import { createLogger, type Logger } from '../../util/logger.ts';
import type { ControlBus } from './control-bus.ts';
import { decodeControl, encodeControl, SpaceIdSchema } from './messages.ts';
import type { NodeRegistry } from './node-registry.ts';
import { BUCKETS } from './subjects.ts';
import { isCasConflict, valueOf, watchBucket, type BucketWatch } from './kv-helpers.ts';

export interface SpaceOwner {
  node: string;
  term: number;
}

export interface SpaceLeasesOptions {
  /** Lease lifetime without renewal (default 3000 ms); the owner renews every ttl/3. */
  ttlMs?: number;
  clock?: Clock;
  log?: Logger;
}

interface Lease {
  /** null: the key is deleted (released). */
  owner: SpaceOwner | null;
  /** Last term ever seen, so a re-created lease continues the count. */
  lastTerm: number;
  revision: number;
  /** Our clock when we last saw a new revision of this key. */
  seenAt: number;
  /** Our clock when our own last write succeeded (for isOwner's self-fencing). */
  wroteAt: number;
}

export class SpaceLeases {
  readonly ttlMs: number;
  private readonly bus: ControlBus;
  private readonly registry: NodeRegistry;
  private readonly clock: Clock;
  private readonly log: Logger;
  private kv: KV | null = null;
  private watch: BucketWatch | null = null;
  private readonly leases = new Map<string, Lease>();
  /** Spaces we want to own (or take over). */
  private readonly wanted = new Set<string>();
  /** Spaces with a write in flight: one at a time per space. */
  private readonly busy = new Set<string>();
  private readonly listeners = new Set<(spaceId: string, nodeId: string | null, term: number) => void>();
  private unsubs: Array<() => void> = [];
  private timer: TimerHandle | null = null;
  private closed = false;

  constructor(bus: ControlBus, registry: NodeRegistry, opts: SpaceLeasesOptions = {}) {
    this.bus = bus;
    this.registry = registry;
    this.ttlMs = opts.ttlMs ?? 3000;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? createLogger('warn', { component: 'space-leases' });
  }

  /** Opens the bucket and watches it (every node learns every owner). Call after registry.start(). */
  async start(): Promise<void> {
    this.kv = await this.bus.kv(BUCKETS.spaceOwners);
    this.watch = await watchBucket(this.kv, (e) => this.onEntry(e), this.log);
    this.unsubs.push(
      this.registry.onDown((nodeId) => {
        for (const space of this.wanted) if (this.leases.get(space)?.owner?.node === nodeId) void this.tryTake(space);
      }),
      this.bus.onClose(() => this.close()),
    );
    this.timer = this.clock.setInterval(() => this.tick(), Math.max(1, Math.floor(this.ttlMs / 3)));
  }

  /**
   * We want this space: create the lease if there is none, take it over if its owner is gone, else stay a
   * candidate (we take over later if the owner dies). Resolves with the owner after our attempt.
   */
  async acquire(spaceId: string): Promise<SpaceOwner | null> {
    if (!SpaceIdSchema.safeParse(spaceId).success) throw new Error(`invalid space id ${JSON.stringify(spaceId)}`);
    if (this.closed) throw new Error('SpaceLeases closed');
    this.wanted.add(spaceId);
    await this.tryTake(spaceId);
    return this.ownerOf(spaceId) ?? null;
  }

  /** We no longer want the space; if we own it, the lease is deleted (CAS) so a candidate takes it at once. */
  async release(spaceId: string): Promise<void> {
    this.wanted.delete(spaceId);
    const l = this.leases.get(spaceId);
    if (!this.kv || !l?.owner || l.owner.node !== this.registry.selfId) return;
    try {
      await this.kv.delete(spaceId, { previousSeq: l.revision });
    } catch (err) {
      if (!isCasConflict(err)) this.log.warn('lease release failed', { space: spaceId, err });
    }
  }

  /** The owner as the bucket says (may lag the bucket by the watch delay). */
  ownerOf(spaceId: string): SpaceOwner | undefined {
    return this.leases.get(spaceId)?.owner ?? undefined;
  }

  /** True only while our last successful write is younger than ttl: a cut-off owner stops acting by itself. */
  isOwner(spaceId: string): boolean {
    const l = this.leases.get(spaceId);
    return !!l?.owner && l.owner.node === this.registry.selfId && this.clock.now() - l.wroteAt < this.ttlMs;
  }

  /** The owner (or its term) changed; nodeId null: released. Returns the unregister function. */
  onOwnerChange(fn: (spaceId: string, nodeId: string | null, term: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Stops renewing and watching. Leases we own are left to expire (use release() to hand over at once). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) this.clock.clear(this.timer);
    this.timer = null;
    this.watch?.stop();
    for (const u of this.unsubs) u();
    this.unsubs = [];
  }

  private tick(): void {
    const self = this.registry.selfId;
    const now = this.clock.now();
    for (const [space, l] of this.leases) {
      if (l.owner?.node === self && this.wanted.has(space)) void this.write(space, l.owner.term, l.revision);
    }
    for (const space of this.wanted) {
      const l = this.leases.get(space);
      if (!l?.owner || (l.owner.node !== self && (!this.registry.isUp(l.owner.node) || now - l.seenAt >= this.ttlMs))) void this.tryTake(space);
    }
  }

  /** Create when absent, take over when the owner is gone; renewing is tick's job. */
  private async tryTake(space: string): Promise<void> {
    if (this.closed || !this.wanted.has(space)) return;
    const l = this.leases.get(space);
    const self = this.registry.selfId;
    if (!l || !l.owner) {
      await this.write(space, (l?.lastTerm ?? 0) + 1, l?.revision ?? 0);
    } else if (l.owner.node === self) {
      if (this.clock.now() - l.wroteAt >= this.ttlMs) await this.write(space, l.owner.term + 1, l.revision); // ours from an earlier run
    } else if (!this.registry.isUp(l.owner.node) || this.clock.now() - l.seenAt >= this.ttlMs) {
      await this.write(space, l.owner.term + 1, l.revision);
    }
  }

  /** One CAS write: revision 0 = create. A lost race refreshes our view from the bucket. */
  private async write(space: string, term: number, revision: number): Promise<void> {
    if (this.busy.has(space) || !this.kv) return;
    this.busy.add(space);
    const self = this.registry.selfId;
    const value = encodeControl('spaceLease', { v: 1, node: self, term, expiresAt: Math.round(this.clock.wallNow() + this.ttlMs) });
    try {
      const rev = revision === 0 ? await this.kv.create(space, value) : await this.kv.update(space, value, revision);
      this.wroteAt(space, rev, { node: self, term });
    } catch (err) {
      if (!isCasConflict(err)) {
        this.log.warn('lease write failed', { space, err });
      } else if (!this.closed) {
        // Someone else wrote first: learn what they wrote (the watch will say so too, perhaps later).
        const e = await this.kv.get(space).catch(() => null);
        if (e) this.onEntry(e);
      }
    } finally {
      this.busy.delete(space);
    }
  }

  private wroteAt(space: string, revision: number, owner: SpaceOwner): void {
    const l = this.apply(space, revision, owner);
    if (l) l.wroteAt = this.clock.now();
  }

  private onEntry(e: KvEntry): void {
    const space = e.key;
    const bytes = valueOf(e);
    if (!bytes) {
      this.apply(space, e.revision, null);
      return;
    }
    const r = decodeControl('spaceLease', bytes);
    if (!r.ok) {
      this.bus.noteInvalid(`kv:${BUCKETS.spaceOwners}`, 'spaceLease', r.reason, r.detail);
      // An unreadable lease is as good as none: a candidate may overwrite it (CAS on this revision).
      this.apply(space, e.revision, null);
      return;
    }
    this.apply(space, e.revision, { node: r.value.node, term: r.value.term });
  }

  /** Applies a revision if newer than what we know; fires onOwnerChange when owner or term changed. */
  private apply(space: string, revision: number, owner: SpaceOwner | null): Lease | null {
    if (this.closed) return null;
    let l = this.leases.get(space);
    if (l && revision <= l.revision) return revision === l.revision ? l : null;
    const before = l?.owner ?? null;
    if (!l) this.leases.set(space, (l = { owner: null, lastTerm: 0, revision: 0, seenAt: 0, wroteAt: -Infinity }));
    l.owner = owner;
    l.revision = revision;
    l.seenAt = this.clock.now();
    if (owner) l.lastTerm = Math.max(l.lastTerm, owner.term);
    const changed = before?.node !== owner?.node || before?.term !== owner?.term;
    if (changed) {
      for (const fn of [...this.listeners]) {
        try {
          fn(space, owner?.node ?? null, owner?.term ?? l.lastTerm);
        } catch (err) {
          this.log.error('owner listener threw', { err });
        }
      }
      // Released or unreadable: a candidate takes it now rather than at the next tick.
      if (!owner && this.wanted.has(space)) queueMicrotask(() => void this.tryTake(space));
    }
    return l;
  }
}
