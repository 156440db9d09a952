import type { Participant } from './participant.ts';
import type { MapInfo, Mode, PersonInfo, PublisherInfo } from '../signaling/messages.ts';
import { serverMessage } from '../signaling/messages.ts';
import type { Producer } from '../media/producer.ts';
import { ProximityEngine, type LinkChange } from '../proximity/proximity-engine.ts';
import type { SpaceMap } from '../proximity/map.ts';
import { SubscriptionManager } from './subscription-manager.ts';
import { Walker } from './walker.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';

/** A move the server refused, with a reason safe to show. */
export class MoveError extends Error {}

/** Positions reach the other people at most this often (moves in between are folded together). */
const PEOPLE_FLUSH_MS = 50;
/** How often link holds (hysteresis) are checked. */
const ENGINE_TICK_MS = 250;

/**
 * A space: a map, the people on it, and who receives whom. Positions are authoritative here; the
 * proximity engine turns them into desired links; the subscription manager makes the media follow.
 */
export class Space {
  readonly participants = new Map<string, Participant>();
  readonly engine: ProximityEngine;
  readonly subscriptions: SubscriptionManager;
  private readonly walkers = new Map<string, Walker>();
  /** Steps by hand: token bucket per person, so nobody moves faster than walking speed. */
  private readonly stepBudget = new Map<string, { tokens: number; at: number }>();
  private readonly upserts = new Set<string>();
  private readonly removed = new Set<string>();
  private flushTimer: TimerHandle | null = null;
  private readonly tickTimer: TimerHandle;
  private readonly mapInfo: MapInfo;

  constructor(
    readonly id: string,
    readonly map: SpaceMap,
    private readonly clock: Clock,
    private readonly walkSpeed: number,
  ) {
    this.engine = new ProximityEngine(map, clock);
    this.subscriptions = new SubscriptionManager(this, clock);
    this.tickTimer = clock.setInterval(() => this.apply(this.engine.tick()), ENGINE_TICK_MS);
    this.mapInfo = mapInfoOf(map);
  }

  get empty(): boolean {
    return this.participants.size === 0;
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
    return [...this.participants.values()].map((p) => p.personInfo());
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
    this.upserts.add(p.id);
    this.scheduleFlush();
    this.apply(this.engine.setMode(p.id, mode));
  }

  setSpotlight(target: Participant, on: boolean): void {
    target.spotlit = on;
    this.upserts.add(target.id);
    this.scheduleFlush();
    this.apply(this.engine.setSpotlight(target.id, on));
  }

  setSpeaking(p: Participant, on: boolean): void {
    if (!this.participants.has(p.id)) return;
    this.apply(this.engine.setSpeaking(p.id, on));
  }

  /** Does the rule set let `listener` receive `speaker`? (The server enforces it whatever clients ask.) */
  isGranted(listenerId: string, speakerId: string): boolean {
    return this.engine.linksOf(listenerId).has(speakerId);
  }

  publishers(except?: Participant): PublisherInfo[] {
    const out: PublisherInfo[] = [];
    for (const p of this.participants.values()) if (p !== except && p.producers.size > 0) out.push(p.publisherInfo());
    return out;
  }

  /** `publisher`'s tracks changed: tell everyone, and let those linked to it receive the new tracks. */
  announceTracks(publisher: Participant, firstTime: boolean): void {
    const info = publisher.publisherInfo();
    for (const p of this.participants.values()) if (p !== publisher) p.notifyPublisher(info, firstTime);
    this.subscriptions.publisherChanged(publisher);
  }

  announceLeft(publisher: Participant): void {
    for (const p of this.participants.values()) if (p !== publisher) p.notifyPublisherLeft(publisher.id);
  }

  /** A producer went away: every subscriber drops its consumer of it. */
  producerClosed(producer: Producer): void {
    for (const p of this.participants.values()) p.onProducerClosed(producer);
  }

  private place(p: Participant, x: number, y: number): void {
    p.x = x;
    p.y = y;
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

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = this.clock.setTimeout(() => this.flushPeople(), PEOPLE_FLUSH_MS);
  }

  /** Everyone in the space sees every avatar (positions are not media): one batched message per flush. */
  private flushPeople(): void {
    this.flushTimer = null;
    const upserts = [...this.upserts].map((id) => this.participants.get(id)?.personInfo()).filter((x): x is PersonInfo => x !== undefined);
    const removed = [...this.removed];
    this.upserts.clear();
    this.removed.clear();
    if (upserts.length === 0 && removed.length === 0) return;
    const msg = serverMessage.peopleChanged(upserts, removed);
    for (const p of this.participants.values()) p.send(msg);
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
