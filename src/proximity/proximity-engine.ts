/**
 * The stateful half of proximity: people on one map, the desired link set (who receives whom, at what
 * gain and priority), and the holds before distance drops. Rules live in rules.ts; the engine only decides
 * which pairs to re-ask after a mutation, applies the answers and reports what changed.
 *
 * Which pairs a mutation re-asks (both directions unless noted): the person's current links (anything
 * that may end), people within CONNECT_RADIUS (anything that may start by distance), members of the
 * private area they stand in, broadcasters when their own private area or silence changed, and everyone
 * when they become a broadcaster (or one moves between private and open floor). The sweep test checks
 * this against re-asking every pair.
 */
import type { Clock } from '../util/clock.ts';
import type { SpaceMap } from './map.ts';
import {
  CONNECT_RADIUS,
  DISCONNECT_RADIUS,
  DROP_HOLD_MS,
  decideLink,
  isBroadcaster,
  isHeldDrop,
  isSilent,
  type Mode,
  type PersonView,
} from './rules.ts';
import { SpatialIndex } from './spatial-index.ts';

/** Changes smaller than these are not worth a message to the forwarding side. */
export const GAIN_EPSILON = 0.01;
export const PRIORITY_EPSILON = 1;

export interface PersonInit {
  id: string;
  x: number;
  y: number;
  mode?: Mode;
  spotlit?: boolean;
  speaking?: boolean;
}

export interface Link {
  readonly gain: number;
  readonly priority: number;
}

export interface LinkChange {
  listener: string;
  speaker: string;
  kind: 'add' | 'remove' | 'update';
  /** The link's values after the change (0 for a removal). */
  gain: number;
  priority: number;
}

class Person implements PersonView {
  mode: Mode;
  spotlit: boolean;
  speaking: boolean;
  privateArea: string | null = null;
  onStage = false;
  /** Links where this person listens, by speaker id. */
  readonly out = new Map<string, LinkRec>();
  /** Links where this person speaks, by listener id. */
  readonly in = new Map<string, LinkRec>();
  /** The engine's candidate epoch this person was last collected in (dedup without a Set). */
  seen = 0;

  constructor(
    readonly id: string,
    public x: number,
    public y: number,
    init: PersonInit,
  ) {
    this.mode = init.mode ?? 'normal';
    this.spotlit = init.spotlit ?? false;
    this.speaking = init.speaking ?? false;
  }
}

interface LinkRec {
  readonly listener: Person;
  readonly speaker: Person;
  gain: number;
  priority: number;
  /** When a held distance drop takes effect; -1 when no drop is pending. */
  holdUntil: number;
}

type Directions = 'both' | 'as-speaker';

const EMPTY: ReadonlyMap<string, Link> = new Map();

export class ProximityEngine {
  private readonly people = new Map<string, Person>();
  private readonly index: SpatialIndex<Person>;
  private readonly areaMembers = new Map<string, Set<Person>>();
  private readonly broadcasters = new Set<Person>();
  /** Pending drops in deadline order: every hold lasts DROP_HOLD_MS and the clock is monotonic. */
  private readonly holds = new Set<LinkRec>();
  private readonly candidates: Person[] = [];
  private readonly nearby: Person[] = [];
  private epoch = 0;
  private changes: LinkChange[] = [];

  constructor(
    readonly map: SpaceMap,
    private readonly clock: Clock,
  ) {
    // A cell of the disconnect radius: every radius query the engine makes touches at most 3×3 cells.
    this.index = new SpatialIndex(map.width, map.height, DISCONNECT_RADIUS);
  }

  get size(): number {
    return this.people.size;
  }

  has(id: string): boolean {
    return this.people.has(id);
  }

  /** A read-only view of a person (position, mode, derived area and stage), or undefined. */
  person(id: string): PersonView | undefined {
    return this.people.get(id);
  }

  ids(): IterableIterator<string> {
    return this.people.keys();
  }

  /** The speakers a listener should receive now, with the values last reported. */
  linksOf(listenerId: string): ReadonlyMap<string, Link> {
    return this.people.get(listenerId)?.out ?? EMPTY;
  }

  /** The listeners receiving a speaker now (ids), as the link set says. */
  listenersOf(speakerId: string): IterableIterator<string> {
    return (this.people.get(speakerId)?.in ?? EMPTY).keys();
  }

  /** True while a distance drop of this link is pending. */
  isHeld(listenerId: string, speakerId: string): boolean {
    const rec = this.people.get(listenerId)?.out.get(speakerId);
    return rec !== undefined && rec.holdUntil >= 0;
  }

  /** When the next held drop falls due (for scheduling tick), or null. */
  nextHoldDeadline(): number | null {
    for (const rec of this.holds) return rec.holdUntil;
    return null;
  }

  join(init: PersonInit): LinkChange[] {
    if (this.people.has(init.id)) throw new Error(`person ${init.id} already in the space`);
    this.checkTile(init.x, init.y);
    const p = new Person(init.id, init.x, init.y, init);
    this.people.set(p.id, p);
    this.index.insert(p, p.x, p.y);
    this.place(p);
    const all = isBroadcaster(p) && !isSilent(p.mode);
    return this.reevaluate(p, { all, broadcasters: true });
  }

  leave(id: string): LinkChange[] {
    const p = this.people.get(id);
    if (!p) return [];
    for (const rec of [...p.out.values(), ...p.in.values()]) this.removeLink(rec);
    this.unplace(p);
    this.index.remove(p);
    this.people.delete(id);
    return this.flush();
  }

  move(id: string, x: number, y: number): LinkChange[] {
    const p = this.get(id);
    this.checkTile(x, y);
    const wasBroadcaster = isBroadcaster(p);
    const oldArea = p.privateArea;
    this.unplace(p);
    p.x = x;
    p.y = y;
    this.index.move(p, x, y);
    this.place(p);
    const areaChanged = oldArea !== p.privateArea;
    const all = isBroadcaster(p) && !isSilent(p.mode) && (!wasBroadcaster || areaChanged);
    return this.reevaluate(p, { all, broadcasters: areaChanged });
  }

  setMode(id: string, mode: Mode): LinkChange[] {
    const p = this.get(id);
    const old = p.mode;
    if (old === mode) return [];
    p.mode = mode;
    const waking = isSilent(old) && !isSilent(mode);
    return this.reevaluate(p, { all: waking && isBroadcaster(p), broadcasters: waking });
  }

  setSpotlight(id: string, on: boolean): LinkChange[] {
    const p = this.get(id);
    if (p.spotlit === on) return [];
    const was = isBroadcaster(p);
    this.unplace(p);
    p.spotlit = on;
    this.place(p);
    if (was === isBroadcaster(p)) return []; // on stage anyway: broadcast links do not depend on the spotlight
    // Spotlight only changes what others receive from p: p's own listening follows normal rules.
    return this.reevaluate(p, { all: !was && !isSilent(p.mode), broadcasters: false, dirs: 'as-speaker' });
  }

  setSpeaking(id: string, on: boolean): LinkChange[] {
    const p = this.get(id);
    if (p.speaking === on) return [];
    p.speaking = on;
    // Priority only: links cannot start or end, so only p's existing listeners are re-asked.
    return this.reevaluate(p, { all: false, broadcasters: false, near: false, dirs: 'as-speaker' });
  }

  /** Ends the holds that are due (re-asking each pair first). Costs O(holds ending). */
  tick(): LinkChange[] {
    const now = this.clock.now();
    for (const rec of this.holds) {
      if (rec.holdUntil > now) break;
      this.pair(rec.listener, rec.speaker, now, true);
    }
    return this.flush();
  }

  private reevaluate(p: Person, o: { all: boolean; broadcasters: boolean; near?: boolean; dirs?: Directions }): LinkChange[] {
    const now = this.clock.now();
    const both = o.dirs !== 'as-speaker';
    if (o.all) {
      for (const q of this.people.values()) this.visit(p, q, now, both);
      return this.flush();
    }
    const cand = this.candidates;
    p.seen = ++this.epoch; // never a candidate of itself
    for (const rec of p.in.values()) this.collect(rec.listener);
    if (both) for (const rec of p.out.values()) this.collect(rec.speaker);
    // A silent person can only lose links: nobody else needs asking.
    if (!isSilent(p.mode)) {
      if (o.near !== false) for (const q of this.index.within(p.x, p.y, CONNECT_RADIUS, this.nearby)) this.collect(q);
      if (p.privateArea !== null) for (const q of this.areaMembers.get(p.privateArea)!) this.collect(q);
      if (o.broadcasters) for (const q of this.broadcasters) this.collect(q);
    }
    for (let i = 0; i < cand.length; i++) this.visit(p, cand[i]!, now, both);
    cand.length = 0;
    return this.flush();
  }

  private collect(q: Person): void {
    if (q.seen !== this.epoch) {
      q.seen = this.epoch;
      this.candidates.push(q);
    }
  }

  private visit(p: Person, q: Person, now: number, both: boolean): void {
    if (q === p) return;
    this.pair(q, p, now, false);
    if (both) this.pair(p, q, now, false);
  }

  /** Re-asks one direction and applies the answer. `expire`: a due hold may end now (only tick does this). */
  private pair(listener: Person, speaker: Person, now: number, expire: boolean): void {
    const rec = listener.out.get(speaker.id);
    const d = decideLink(listener, speaker, rec !== undefined);
    if (d.state === 'drop') {
      if (rec === undefined) return;
      if (isHeldDrop(d.reason) && !(expire && rec.holdUntil >= 0 && rec.holdUntil <= now)) {
        if (rec.holdUntil < 0) {
          rec.holdUntil = now + DROP_HOLD_MS;
          this.holds.add(rec);
        }
        return;
      }
      this.removeLink(rec);
      return;
    }
    if (rec === undefined) {
      const added: LinkRec = { listener, speaker, gain: d.gain, priority: d.priority, holdUntil: -1 };
      listener.out.set(speaker.id, added);
      speaker.in.set(listener.id, added);
      this.changes.push({ listener: listener.id, speaker: speaker.id, kind: 'add', gain: d.gain, priority: d.priority });
      return;
    }
    if (rec.holdUntil >= 0) {
      rec.holdUntil = -1;
      this.holds.delete(rec);
    }
    if (Math.abs(d.gain - rec.gain) > GAIN_EPSILON || Math.abs(d.priority - rec.priority) > PRIORITY_EPSILON) {
      rec.gain = d.gain;
      rec.priority = d.priority;
      this.changes.push({ listener: listener.id, speaker: speaker.id, kind: 'update', gain: d.gain, priority: d.priority });
    }
  }

  private removeLink(rec: LinkRec): void {
    rec.listener.out.delete(rec.speaker.id);
    rec.speaker.in.delete(rec.listener.id);
    if (rec.holdUntil >= 0) this.holds.delete(rec);
    this.changes.push({ listener: rec.listener.id, speaker: rec.speaker.id, kind: 'remove', gain: 0, priority: 0 });
  }

  /** Derives area and stage from the map and files the person under them. */
  private place(p: Person): void {
    p.privateArea = this.map.privateAreaAt(p.x, p.y);
    p.onStage = this.map.isStage(p.x, p.y);
    if (p.privateArea !== null) {
      let s = this.areaMembers.get(p.privateArea);
      if (!s) this.areaMembers.set(p.privateArea, (s = new Set()));
      s.add(p);
    }
    if (isBroadcaster(p)) this.broadcasters.add(p);
  }

  private unplace(p: Person): void {
    if (p.privateArea !== null) this.areaMembers.get(p.privateArea)!.delete(p);
    this.broadcasters.delete(p);
  }

  private flush(): LinkChange[] {
    const out = this.changes;
    this.changes = [];
    return out;
  }

  private get(id: string): Person {
    const p = this.people.get(id);
    if (!p) throw new Error(`no person ${id} in the space`);
    return p;
  }

  private checkTile(x: number, y: number): void {
    if (!this.map.isWalkable(x, y)) throw new RangeError(`(${x},${y}) is not a walkable tile of map '${this.map.name}'`);
  }
}
