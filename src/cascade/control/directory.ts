/**
 * Who is where: person → node and track → TrackEntry, in the `proxima-directory` bucket (keys
 * `person.<id>` and `track.<id>`, ids escaped), watched by every node. What others see is the bucket
 * filtered by the registry: entries of a node that is not up are hidden at once when it goes down (onTrack
 * 'removed'), shown again if it comes back, and deleted from the bucket a little later by the cluster's
 * cleaner node. A node deletes its own leftovers from an earlier run at start, and puts back its own
 * entries if someone else deleted them while it lives (a peer that wrongly thought it dead).
 */
import type { KV, KvEntry } from '@nats-io/kv';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.ts';
import { createLogger, type Logger } from '../../util/logger.ts';
import type { ControlBus } from './control-bus.ts';
import { decodeControl, encodeControl, type PersonEntry, type TrackEntry } from './messages.ts';
import type { NodeRegistry } from './node-registry.ts';
import { BUCKETS } from './subjects.ts';
import { countControlInvalid } from '../../metrics/registry.ts';
import { escapeKey, isCasConflict, unescapeKey, valueOf, watchBucket, type BucketWatch } from './kv-helpers.ts';

export type DirectoryEventKind = 'added' | 'updated' | 'removed';
export interface TrackEvent {
  kind: DirectoryEventKind;
  track: TrackEntry;
}
export interface PersonEvent {
  kind: DirectoryEventKind;
  person: PersonEntry;
}

export interface DirectoryOptions {
  /** How long after a node goes down the cleaner deletes its entries (default 5000 ms; hidden at once). */
  cleanupDelayMs?: number;
  clock?: Clock;
  log?: Logger;
}

type Kind = 'person' | 'track';
interface Stored<T> {
  value: T;
  revision: number;
}
/** Ours: what we put, so we can put it back, and a remove in flight is not undone by a late watch entry. */
interface Own {
  bytes: Uint8Array;
}

export class Directory {
  private readonly bus: ControlBus;
  private readonly registry: NodeRegistry;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly cleanupDelayMs: number;
  private kv: KV | null = null;
  private watch: BucketWatch | null = null;
  /** Everything in the bucket (last revision per key), visible or not. */
  private readonly people = new Map<string, Stored<PersonEntry>>();
  private readonly tracksById = new Map<string, Stored<TrackEntry>>();
  /** Highest revision seen per key, deletes included: older watch entries never undo newer state. */
  private readonly seen = new Map<string, number>();
  private readonly own = new Map<string, Own>();
  private readonly trackListeners = new Set<(e: TrackEvent) => void>();
  private readonly personListeners = new Set<(e: PersonEvent) => void>();
  private readonly cleanups = new Map<string, TimerHandle>();
  private unsubs: Array<() => void> = [];
  private closed = false;

  constructor(bus: ControlBus, registry: NodeRegistry, opts: DirectoryOptions = {}) {
    this.bus = bus;
    this.registry = registry;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? createLogger('warn', { component: 'directory' });
    this.cleanupDelayMs = opts.cleanupDelayMs ?? 5000;
  }

  /** Loads and watches the bucket, removes our own leftovers. Call after registry.start(). */
  async start(): Promise<void> {
    this.kv = await this.bus.kv(BUCKETS.directory);
    this.watch = await watchBucket(this.kv, (e) => this.onEntry(e), this.log);
    this.unsubs.push(
      this.registry.onDown((id) => this.nodeDown(id)),
      this.registry.onUp((n) => this.nodeUp(n.id)),
      this.bus.onClose(() => this.close()),
    );
    const self = this.registry.selfId;
    await Promise.all([...this.entriesOf(self)].map(([key, rev]) => this.casDelete(key, rev)));
  }

  async putPerson(entry: Omit<PersonEntry, 'v'>): Promise<void> {
    await this.put(`person.${escapeKey(entry.personId)}`, encodeControl('person', { ...entry, v: 1 }));
  }
  async removePerson(personId: string): Promise<void> {
    await this.remove(`person.${escapeKey(personId)}`);
  }
  async putTrack(entry: Omit<TrackEntry, 'v'>): Promise<void> {
    await this.put(`track.${escapeKey(entry.trackId)}`, encodeControl('track', { ...entry, v: 1 }));
  }
  async removeTrack(trackId: string): Promise<void> {
    await this.remove(`track.${escapeKey(trackId)}`);
  }

  /** A person on a live node. */
  person(personId: string): PersonEntry | undefined {
    const s = this.people.get(personId);
    return s && this.registry.isUp(s.value.nodeId) ? s.value : undefined;
  }
  /** The node a person is connected to (if that node is live). */
  nodeOf(personId: string): string | undefined {
    return this.person(personId)?.nodeId;
  }
  /** A track published on a live node. */
  track(trackId: string): TrackEntry | undefined {
    const s = this.tracksById.get(trackId);
    return s && this.registry.isUp(s.value.originNode) ? s.value : undefined;
  }
  /** Live tracks, optionally of one space, person or origin node. */
  tracks(filter: { spaceId?: string; personId?: string; originNode?: string } = {}): TrackEntry[] {
    const out: TrackEntry[] = [];
    for (const { value: t } of this.tracksById.values()) {
      if (!this.registry.isUp(t.originNode)) continue;
      if (filter.spaceId !== undefined && t.spaceId !== filter.spaceId) continue;
      if (filter.personId !== undefined && t.personId !== filter.personId) continue;
      if (filter.originNode !== undefined && t.originNode !== filter.originNode) continue;
      out.push(t);
    }
    return out;
  }
  /** People on live nodes, optionally of one space. */
  peopleIn(spaceId?: string): PersonEntry[] {
    const out: PersonEntry[] = [];
    for (const { value: p } of this.people.values()) if (this.registry.isUp(p.nodeId) && (spaceId === undefined || p.spaceId === spaceId)) out.push(p);
    return out;
  }

  /** A visible track appeared, changed or went (removed, or its node went down). Returns the unregister function. */
  onTrack(fn: (e: TrackEvent) => void): () => void {
    this.trackListeners.add(fn);
    return () => this.trackListeners.delete(fn);
  }
  onPerson(fn: (e: PersonEvent) => void): () => void {
    this.personListeners.add(fn);
    return () => this.personListeners.delete(fn);
  }

  /** Stops watching. Our entries stay in the bucket (others hide them when we go down). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.stop();
    for (const u of this.unsubs) u();
    this.unsubs = [];
    for (const t of this.cleanups.values()) this.clock.clear(t);
    this.cleanups.clear();
  }

  // --- writes ------------------------------------------------------------------------------------------

  private async put(key: string, bytes: Uint8Array): Promise<void> {
    if (!this.kv || this.closed) throw new Error('Directory not started or closed');
    this.own.set(key, { bytes });
    let rev: number;
    try {
      rev = await this.kv.put(key, bytes);
    } catch (err) {
      if (this.own.get(key)?.bytes === bytes) this.own.delete(key); // not ours to restore if it never got in
      throw err;
    }
    // Apply our own write at once (the watch confirms later; the revision check ignores the echo).
    this.applyBytes(key, rev, bytes);
  }

  private async remove(key: string): Promise<void> {
    if (!this.kv || this.closed) throw new Error('Directory not started or closed');
    this.own.delete(key);
    const before = this.seen.get(key) ?? 0;
    await this.kv.delete(key);
    // The delete's revision is not returned; anything up to what we knew is now history.
    this.applyBytes(key, before + 0.5, null);
  }

  private casDelete(key: string, revision: number): Promise<void> {
    return this.kv!.delete(key, { previousSeq: revision }).catch((err) => {
      if (!isCasConflict(err)) this.log.warn('directory cleanup failed', { key, err });
    });
  }

  // --- incoming ----------------------------------------------------------------------------------------

  private onEntry(e: KvEntry): void {
    const bytes = valueOf(e);
    if (!bytes && this.own.has(e.key) && this.registry.isUp(this.registry.selfId)) {
      // Ours, deleted by someone else while we live: put it back.
      const own = this.own.get(e.key)!;
      this.applyBytes(e.key, e.revision, null);
      void this.put(e.key, own.bytes).catch((err) => this.log.warn('directory restore failed', { key: e.key, err }));
      return;
    }
    this.applyBytes(e.key, e.revision, bytes);
  }

  /** Revision-ordered apply of one key (null bytes = deleted); fires events for visible changes. */
  private applyBytes(key: string, revision: number, bytes: Uint8Array | null): void {
    if (this.closed) return;
    if (revision <= (this.seen.get(key) ?? 0)) return;
    this.seen.set(key, revision);
    const dot = key.indexOf('.');
    const kind = key.slice(0, dot) as Kind;
    const id = dot > 0 ? unescapeKey(key.slice(dot + 1)) : null;
    if ((kind !== 'person' && kind !== 'track') || id === null) {
      countControlInvalid('track', 'schema');
      this.bus.noteInvalid(`kv:${BUCKETS.directory}`, 'track', 'schema', `unknown key ${key.slice(0, 80)}`);
      return;
    }
    if (kind === 'person') this.applyPerson(id, revision, bytes);
    else this.applyTrack(id, revision, bytes);
  }

  private applyPerson(id: string, revision: number, bytes: Uint8Array | null): void {
    const before = this.person(id);
    let next: PersonEntry | null = null;
    if (bytes) {
      const r = decodeControl('person', bytes);
      if (r.ok && r.value.personId === id) next = r.value;
      else {
        if (r.ok) countControlInvalid('person', 'schema'); // valid message under the wrong key
        this.bus.noteInvalid(`kv:${BUCKETS.directory}`, 'person', r.ok ? 'schema' : r.reason, r.ok ? 'key and id differ' : r.detail);
      }
    }
    if (next) this.people.set(id, { value: next, revision });
    else this.people.delete(id);
    this.firePerson(before, this.person(id));
  }

  private applyTrack(id: string, revision: number, bytes: Uint8Array | null): void {
    const before = this.track(id);
    let next: TrackEntry | null = null;
    if (bytes) {
      const r = decodeControl('track', bytes);
      if (r.ok && r.value.trackId === id) next = r.value;
      else {
        if (r.ok) countControlInvalid('track', 'schema'); // valid message under the wrong key
        this.bus.noteInvalid(`kv:${BUCKETS.directory}`, 'track', r.ok ? 'schema' : r.reason, r.ok ? 'key and id differ' : r.detail);
      }
    }
    if (next) this.tracksById.set(id, { value: next, revision });
    else this.tracksById.delete(id);
    this.fireTrack(before, this.track(id));
  }

  private nodeDown(nodeId: string): void {
    // The registry already says it is down, so lookups hide its entries; tell listeners what vanished.
    for (const { value } of this.tracksById.values()) if (value.originNode === nodeId) this.emitTrack({ kind: 'removed', track: value });
    for (const { value } of this.people.values()) if (value.nodeId === nodeId) this.emitPerson({ kind: 'removed', person: value });
    if (this.cleanups.has(nodeId)) return;
    this.cleanups.set(
      nodeId,
      this.clock.setTimeout(() => {
        this.cleanups.delete(nodeId);
        if (this.registry.isUp(nodeId) || !this.registry.isCleaner()) return;
        for (const [key, rev] of this.entriesOf(nodeId)) void this.casDelete(key, rev);
      }, this.cleanupDelayMs),
    );
  }

  private nodeUp(nodeId: string): void {
    for (const { value } of this.tracksById.values()) if (value.originNode === nodeId) this.emitTrack({ kind: 'added', track: value });
    for (const { value } of this.people.values()) if (value.nodeId === nodeId) this.emitPerson({ kind: 'added', person: value });
  }

  /** Keys and revisions of every entry that belongs to a node. */
  private *entriesOf(nodeId: string): Iterable<[string, number]> {
    for (const [id, s] of this.people) if (s.value.nodeId === nodeId) yield [`person.${escapeKey(id)}`, s.revision];
    for (const [id, s] of this.tracksById) if (s.value.originNode === nodeId) yield [`track.${escapeKey(id)}`, s.revision];
  }

  private fireTrack(before: TrackEntry | undefined, after: TrackEntry | undefined): void {
    if (before && after) this.emitTrack({ kind: 'updated', track: after });
    else if (after) this.emitTrack({ kind: 'added', track: after });
    else if (before) this.emitTrack({ kind: 'removed', track: before });
  }

  private firePerson(before: PersonEntry | undefined, after: PersonEntry | undefined): void {
    if (before && after) this.emitPerson({ kind: 'updated', person: after });
    else if (after) this.emitPerson({ kind: 'added', person: after });
    else if (before) this.emitPerson({ kind: 'removed', person: before });
  }

  private emitTrack(e: TrackEvent): void {
    for (const fn of [...this.trackListeners]) {
      try {
        fn(e);
      } catch (err) {
        this.log.error('track listener threw', { err });
      }
    }
  }

  private emitPerson(e: PersonEvent): void {
    for (const fn of [...this.personListeners]) {
      try {
        fn(e);
      } catch (err) {
        this.log.error('person listener threw', { err });
      }
    }
  }
}
