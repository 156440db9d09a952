import { NO_RECORDER, type Recorder } from '../recorder/recorder.ts';
import type { Participant } from './participant.ts';
import type { MapInfo, Mode, PersonInfo, PublisherInfo } from '../signaling/messages.ts';
import { serverMessage } from '../signaling/messages.ts';
import { ProximityEngine, type LinkChange } from '../proximity/proximity-engine.ts';
import type { SpaceMap } from '../proximity/map.ts';
import { SubscriptionManager } from './subscription-manager.ts';
import { Walker } from './walker.ts';
import type { Speaker } from './speaker.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';

/** A move the server refused, with a reason safe to show. */
export class MoveError extends Error {}

/**
 * What a cluster node needs to hear of this space's local people to replicate them to the other nodes
 * (src/cascade/space-replica.ts); absent on a single node.
 */
export interface SpaceObserver {
  /** Local people changed (batched like the pushes to clients). */
  peopleChanged(upserts: PersonInfo[], removed: string[]): void;
  speakingChanged(personId: string, speaking: boolean): void;
  /** A local participant's tracks changed (published, added, ended). */
  tracksChanged(p: Participant): void;
  /** A spotlight for someone hosted by another node: sent to their node, which applies it. */
  spotlightRemote(personId: string, on: boolean): void;
}

/** Positions reach the other people at most this often (moves in between are folded together). */
const PEOPLE_FLUSH_MS = 50;
/** How often link holds (hysteresis) are checked. */
const ENGINE_TICK_MS = 250;

/**
 * A space: a map, the people on it, and who receives whom. Positions of local participants are
 * authoritative here; in cluster mode people hosted by other nodes are mirrored in `remotes` (their node
 * is authoritative for them). The proximity engine turns everyone's positions into desired links; the
 * subscription manager makes the media of local listeners follow.
 */
export class Space {
  /** People connected to this node. */
  readonly participants = new Map<string, Participant>();
  /** Cluster mode: people of this space hosted by other nodes. */
  readonly remotes = new Map<string, Speaker>();
  observer: SpaceObserver | null = null;
  readonly engine: ProximityEngine;
  readonly subscriptions: SubscriptionManager;
  private readonly walkers = new Map<string, Walker>();
  /** Steps by hand: token bucket per person, so nobody moves faster than walking speed. */
  private readonly stepBudget = new Map<string, { tokens: number; at: number }>();
  private readonly upserts = new Set<string>();
  private readonly removed = new Set<string>();
  /** The local ones among `removed` (what the cluster replica tells the other nodes). */
  private readonly removedLocal = new Set<string>();
  private flushTimer: TimerHandle | null = null;
  private readonly tickTimer: TimerHandle;
  private readonly mapInfo: MapInfo;

  constructor(
    readonly id: string,
    readonly map: SpaceMap,
    private readonly clock: Clock,
    private readonly walkSpeed: number,
    /** What happens here is recorded (docs/recorder.md); the participants record through it too. */
    readonly recorder: Recorder = NO_RECORDER,
  ) {
    this.engine = new ProximityEngine(map, clock);
    this.subscriptions = new SubscriptionManager(this, clock);
    this.tickTimer = clock.setInterval(() => this.apply(this.engine.tick()), ENGINE_TICK_MS);
    this.mapInfo = mapInfoOf(map);
  }

  /** No local participant (mirrored remote people do not keep a space open on this node). */
  get empty(): boolean {
    return this.participants.size === 0;
  }

  /** A local participant or a remote person. */
  speaker(id: string): Speaker | undefined {
    return this.participants.get(id) ?? this.remotes.get(id);
  }

  get info(): MapInfo {
    return this.mapInfo;
  }

  /** Where a newcomer appears: the requested tile if one can stand there, else the spawn point. */
  placeFor(x?: number, y?: number): { x: number; y: number } {
    if (x !== undefined && y !== undefined && this.map.isWalkable(x, y)) return { x, y };
    return { x: this.map.spawn.x, y: this.map.spawn.y };
  }

  add(p: Participant): void {
    this.participants.set(p.id, p);
    this.recorder.record({ space: this.id, participant: p.id, kind: 'join', data: { name: p.name, mode: p.mode, x: p.x, y: p.y, publish: p.grants.publish, moderator: p.grants.moderator, ...(p.client ? { client: p.client } : {}) } });
    this.upserts.add(p.id);
    this.scheduleFlush();
    this.apply(this.engine.join({ id: p.id, x: p.x, y: p.y, mode: p.mode, spotlit: p.spotlit }));
  }

  remove(p: Participant): void {
    if (!this.participants.delete(p.id)) return;
    this.walkers.get(p.id)?.cancel();
    this.walkers.delete(p.id);
    this.stepBudget.delete(p.id);
    this.upserts.delete(p.id);
    this.removed.add(p.id);
    this.removedLocal.add(p.id);
    this.scheduleFlush();
    this.apply(this.engine.leave(p.id));
    this.subscriptions.forget(p.id);
  }

  /** The server is closing: everyone leaves (their transports, senders and timers close), then the timers stop. */
  close(): void {
    for (const p of [...this.participants.values()]) p.close('server closing');
    this.clock.clear(this.tickTimer);
    if (this.flushTimer) this.clock.clear(this.flushTimer);
    for (const w of this.walkers.values()) w.cancel();
  }

  people(): PersonInfo[] {
    return [...this.participants.values(), ...this.remotes.values()].map((p) => p.personInfo());
  }

  /** Cluster mode: a person of another node appears (or was already mirrored: then this is a no-op). */
  addRemote(r: Speaker): void {
    if (this.participants.has(r.id) || this.remotes.has(r.id)) return;
    this.remotes.set(r.id, r);
    this.pushUpsert(r.id);
    this.apply(this.engine.join({ id: r.id, x: r.x, y: r.y, mode: r.mode, spotlit: r.spotlit }));
  }

  /** A remote person's state changed (its node already moved it: no walking-speed check here). */
  updateRemote(r: Speaker, before: { x: number; y: number; mode: Mode; spotlit: boolean }): void {
    if (this.remotes.get(r.id) !== r) return;
    this.pushUpsert(r.id);
    if (r.x !== before.x || r.y !== before.y) this.apply(this.engine.move(r.id, r.x, r.y));
    if (r.mode !== before.mode) this.apply(this.engine.setMode(r.id, r.mode));
    if (r.spotlit !== before.spotlit) this.apply(this.engine.setSpotlight(r.id, r.spotlit));
  }

  removeRemote(id: string): void {
    const r = this.remotes.get(id);
    if (!r) return;
    this.remotes.delete(id);
    this.upserts.delete(id);
    this.removed.add(id);
    this.scheduleFlush();
    this.apply(this.engine.leave(id));
    this.subscriptions.forget(id);
    for (const trackId of r.producers.keys()) this.producerClosed(trackId);
    if (r.producers.size > 0) this.announceLeft(r);
  }

  remoteSpeaking(id: string, on: boolean): void {
    if (!this.remotes.has(id) || this.engine.person(id)?.speaking === on) return;
    this.apply(this.engine.setSpeaking(id, on));
    this.pushSpeaking(id, on);
  }

  /**
   * Step to an adjacent tile (at most walking speed), or with goTo walk the server's path there.
   * Resolves with where the person stands when the move ends.
   */
  move(p: Participant, x: number, y: number, goTo: boolean): Promise<{ x: number; y: number }> {
    if (!this.map.isWalkable(x, y)) return Promise.reject(new MoveError(this.map.inBounds(x, y) ? `tile ${x},${y} is blocked` : `tile ${x},${y} is outside the map`));
    const walker = this.walkerOf(p);
    if (!goTo) {
      if (Math.max(Math.abs(x - p.x), Math.abs(y - p.y)) > 1) return Promise.reject(new MoveError('a step must go to an adjacent tile; use goTo to walk further'));
      // The same rule as walking a path: no slipping between two walls that touch at a corner.
      if (!this.map.canStep({ x: p.x, y: p.y }, { x, y })) return Promise.reject(new MoveError(`a diagonal step from ${p.x},${p.y} to ${x},${y} would cut a wall corner`));
      if (!this.takeStep(p.id)) return Promise.reject(new MoveError(`faster than walking speed (${this.walkSpeed} tiles/s)`));
      walker.cancel();
      this.place(p, x, y);
      return Promise.resolve({ x, y });
    }
    const path = this.map.findPath({ x: p.x, y: p.y }, { x, y });
    if (path === null) return Promise.reject(new MoveError(`no path to ${x},${y}`));
    const steps = path.length > 0 && path[0]!.x === p.x && path[0]!.y === p.y ? path.slice(1) : path;
    return new Promise((resolve) => {
      walker.walk(
        steps,
        (sx, sy) => this.place(p, sx, sy),
        () => resolve({ x: p.x, y: p.y }),
      );
    });
  }

  setMode(p: Participant, mode: Mode): void {
    p.mode = mode;
    this.recorder.record({ space: this.id, participant: p.id, kind: 'mode', data: { mode } });
    this.upserts.add(p.id);
    this.scheduleFlush();
    this.apply(this.engine.setMode(p.id, mode));
  }

  setSpotlight(target: Participant, on: boolean): void {
    target.spotlit = on;
    this.recorder.record({ space: this.id, participant: target.id, kind: 'spotlight', data: { on } });
    this.upserts.add(target.id);
    this.scheduleFlush();
    this.apply(this.engine.setSpotlight(target.id, on));
  }

  setSpeaking(p: Participant, on: boolean): void {
    if (!this.participants.has(p.id) || this.engine.person(p.id)?.speaking === on) return;
    this.apply(this.engine.setSpeaking(p.id, on));
    this.recorder.record({ space: this.id, participant: p.id, kind: 'speaking', data: { on } });
    this.pushSpeaking(p.id, on);
    p.send(serverMessage.speaking(p.id, on)); // the speaker's own page: the server hears you
    this.observer?.speakingChanged(p.id, on);
  }

  /**
   * Speaking goes at once (not with the 100 ms link pushes) to those who receive the speaker, and only to
   * them: it is part of the media they get, and nobody outside a private room learns who talks inside it.
   * A listener who links later learns it from the subscription manager.
   */
  private pushSpeaking(speakerId: string, on: boolean): void {
    const msg = serverMessage.speaking(speakerId, on);
    for (const id of this.engine.listenersOf(speakerId)) this.participants.get(id)?.send(msg);
  }

  /** Does the rule set let `listener` receive `speaker`? (The server enforces it whatever clients ask.) */
  isGranted(listenerId: string, speakerId: string): boolean {
    return this.engine.linksOf(listenerId).has(speakerId);
  }

  publishers(except?: Participant): PublisherInfo[] {
    const out: PublisherInfo[] = [];
    for (const p of this.participants.values()) if (p !== except && p.producers.size > 0) out.push(p.publisherInfo());
    for (const r of this.remotes.values()) if (r.producers.size > 0) out.push(r.publisherInfo());
    return out;
  }

  /** `publisher`'s tracks changed: tell everyone, and let those linked to it receive the new tracks. */
  announceTracks(publisher: Speaker, firstTime: boolean): void {
    const info = publisher.publisherInfo();
    if (!publisher.remote) {
      const tracks = info.tracks.map((t) => ({ trackId: t.trackId, kind: t.kind, source: t.source ?? (t.kind === 'audio' ? 'microphone' : 'camera'), muted: t.muted ?? false }));
      this.recorder.record({ space: this.id, participant: publisher.id, kind: 'tracks', data: { tracks } });
    }
    for (const p of this.participants.values()) if (p !== publisher) p.notifyPublisher(info, firstTime);
    this.subscriptions.publisherChanged(publisher);
    if (!publisher.remote) this.observer?.tracksChanged(publisher as Participant);
  }

  announceLeft(publisher: Speaker): void {
    for (const p of this.participants.values()) if (p !== publisher) p.notifyPublisherLeft(publisher.id);
  }

  /** A track ended: every subscriber drops its consumer of it. */
  producerClosed(trackId: string): void {
    for (const p of this.participants.values()) p.onTrackClosed(trackId);
  }

  private place(p: Participant, x: number, y: number): void {
    p.x = x;
    p.y = y;
    this.recorder.move(this.id, p.id, x, y);
    this.upserts.add(p.id);
    this.scheduleFlush();
    this.apply(this.engine.move(p.id, x, y));
  }

  private apply(changes: readonly LinkChange[]): void {
    if (changes.length > 0) this.subscriptions.apply(changes);
  }

  private walkerOf(p: Participant): Walker {
    let w = this.walkers.get(p.id);
    if (!w) this.walkers.set(p.id, (w = new Walker(this.clock, 1000 / this.walkSpeed)));
    return w;
  }

  private takeStep(id: string): boolean {
    const now = this.clock.now();
    const b = this.stepBudget.get(id) ?? { tokens: this.walkSpeed, at: now };
    b.tokens = Math.min(this.walkSpeed, b.tokens + ((now - b.at) * this.walkSpeed) / 1000);
    b.at = now;
    this.stepBudget.set(id, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private pushUpsert(id: string): void {
    this.removed.delete(id);
    this.upserts.add(id);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = this.clock.setTimeout(() => this.flushPeople(), PEOPLE_FLUSH_MS);
  }

  /** Everyone in the space sees every avatar (positions are not media): one batched message per flush. */
  private flushPeople(): void {
    this.flushTimer = null;
    const upserts = [...this.upserts].map((id) => this.speaker(id)?.personInfo()).filter((x): x is PersonInfo => x !== undefined);
    const removed = [...this.removed];
    const removedLocal = [...this.removedLocal];
    this.upserts.clear();
    this.removed.clear();
    this.removedLocal.clear();
    if (upserts.length === 0 && removed.length === 0) return;
    const msg = serverMessage.peopleChanged(upserts, removed);
    for (const p of this.participants.values()) p.send(msg);
    if (this.observer) {
      const local = upserts.filter((u) => this.participants.has(u.id));
      if (local.length > 0 || removedLocal.length > 0) this.observer.peopleChanged(local, removedLocal);
    }
  }
}

/** The map as the `joined` message carries it. */
export function mapInfoOf(map: SpaceMap): MapInfo {
  const rows: string[] = [];
  for (let y = 0; y < map.height; y++) {
    let row = '';
    for (let x = 0; x < map.width; x++) row += map.isWalkable(x, y) ? '0' : '1';
    rows.push(row);
  }
  return {
    name: map.name,
    width: map.width,
    height: map.height,
    blocked: rows,
    areas: map.areas.map((a) => ({ id: a.id, name: a.name, kind: a.kind, rects: a.rects.map((r) => ({ x: r.x, y: r.y, w: r.w, h: r.h })) })),
    spawn: { x: map.spawn.x, y: map.spawn.y },
  };
}
