/**
 * The key correctness test: random people walk, teleport, change mode, spotlight and speaking on the office
 * map; after every step the engine's incremental link set and the changes it reported must equal a brute
 * force that re-asks the pure rules for every ordered pair, carrying the same hysteresis state (the previous
 * link set and its holds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import { DEFAULT_MAP_URL, loadSpaceMap, type SpaceMap, type Tile } from './map.ts';
import { GAIN_EPSILON, PRIORITY_EPSILON, ProximityEngine, type LinkChange } from './proximity-engine.ts';
import { DROP_HOLD_MS, decideLink, isHeldDrop, type Mode, type PersonView } from './rules.ts';
import { seededRandom } from '../util/prng.ts';

interface RefPerson {
  id: string;
  x: number;
  y: number;
  mode: Mode;
  spotlit: boolean;
  speaking: boolean;
}
interface RefLink {
  gain: number;
  priority: number;
  holdUntil: number;
}

/** The brute force: every ordered pair, every step; the same epsilon and hold semantics as documented. */
class Reference {
  readonly people = new Map<string, RefPerson>();
  readonly links = new Map<string, RefLink>(); // `${listener}>${speaker}`
  constructor(private readonly map: SpaceMap) {}

  view(p: RefPerson): PersonView {
    return { ...p, privateArea: this.map.privateAreaAt(p.x, p.y), onStage: this.map.isStage(p.x, p.y) };
  }

  /** Re-asks every pair; `tick` lets due holds end. Returns the changes. */
  settle(now: number, tick: boolean): LinkChange[] {
    const out: LinkChange[] = [];
    for (const key of [...this.links.keys()]) {
      const [l, s] = key.split('>') as [string, string];
      if (!this.people.has(l) || !this.people.has(s)) {
        this.links.delete(key);
        out.push({ listener: l, speaker: s, kind: 'remove', gain: 0, priority: 0 });
      }
    }
    const views = [...this.people.values()].map((p) => this.view(p));
    for (const L of views)
      for (const S of views) {
        if (L === S) continue;
        const key = `${L.id}>${S.id}`;
        const rec = this.links.get(key);
        const d = decideLink(L, S, rec !== undefined);
        if (d.state === 'drop') {
          if (!rec) continue;
          if (isHeldDrop(d.reason) && !(tick && rec.holdUntil >= 0 && rec.holdUntil <= now)) {
            if (rec.holdUntil < 0) rec.holdUntil = now + DROP_HOLD_MS;
            continue;
          }
          this.links.delete(key);
          out.push({ listener: L.id, speaker: S.id, kind: 'remove', gain: 0, priority: 0 });
        } else if (!rec) {
          this.links.set(key, { gain: d.gain, priority: d.priority, holdUntil: -1 });
          out.push({ listener: L.id, speaker: S.id, kind: 'add', gain: d.gain, priority: d.priority });
        } else {
          rec.holdUntil = -1;
          if (Math.abs(d.gain - rec.gain) > GAIN_EPSILON || Math.abs(d.priority - rec.priority) > PRIORITY_EPSILON) {
            rec.gain = d.gain;
            rec.priority = d.priority;
            out.push({ listener: L.id, speaker: S.id, kind: 'update', gain: d.gain, priority: d.priority });
          }
        }
      }
    return out;
  }
}

const key = (c: LinkChange) => `${c.kind} ${c.listener}>${c.speaker} ${c.gain.toFixed(6)} ${c.priority}`;

function sweep(seed: number, people: number, steps: number): { changes: number; holdsEnded: number } {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

  const map = loadSpaceMap(DEFAULT_MAP_URL);
  const floor = map.walkableTiles();
  // Teleports favour the interesting places: private rooms, the stage, their doorways.
  const hot: Tile[] = [...map.areas.flatMap((a) => a.tiles), { x: 6, y: 9 }, { x: 7, y: 9 }, { x: 15, y: 5 }, { x: 6, y: 10 }];
  const clock = new FakeClock();
  const engine = new ProximityEngine(map, clock);
  const ref = new Reference(map);
  const replay = new Map<string, { gain: number; priority: number }>();
  let nextId = 0;
  const stats = { changes: 0, holdsEnded: 0 };

  const apply = (cs: LinkChange[]) => {
    for (const c of cs) {
      const k = `${c.listener}>${c.speaker}`;
      const had = replay.get(k);
      if (c.kind === 'add') assert.equal(had, undefined, `add of an existing link ${k}`);
      else assert.ok(had, `${c.kind} of a missing link ${k}`);
      if (c.kind === 'update') assert.ok(Math.abs(had!.gain - c.gain) > GAIN_EPSILON || Math.abs(had!.priority - c.priority) > PRIORITY_EPSILON, `no-op update ${k}`);
      if (c.kind === 'remove') replay.delete(k);
      else replay.set(k, { gain: c.gain, priority: c.priority });
    }
  };
  const join = () => {
    const id = `p${nextId++}`;
    const t = rnd() < 0.2 ? pick(hot) : pick(floor);
    const init = { id, x: t.x, y: t.y, mode: rnd() < 0.1 ? pick<Mode>(['quiet', 'ghost', 'dnd']) : ('normal' as Mode), spotlit: rnd() < 0.03, speaking: rnd() < 0.2 };
    ref.people.set(id, { ...init });
    return engine.join(init);
  };

  for (let i = 0; i < people; i++) {
    const cs = join();
    apply(cs);
    assert.deepEqual(cs.map(key).sort(), ref.settle(clock.now(), false).map(key).sort(), `join ${i}`);
  }

  for (let step = 0; step < steps; step++) {
    clock.advance(Math.floor(rnd() * 120));
    const ids = [...ref.people.keys()];
    const id = pick(ids);
    const p = ref.people.get(id)!;
    const r = rnd();
    let op: string;
    let cs: LinkChange[];
    let tick = false;
    if (r < 0.66) {
      const next = [-1, 0, 1].flatMap((dx) => [-1, 0, 1].map((dy) => ({ x: p.x + dx, y: p.y + dy }))).filter((t) => map.isWalkable(t.x, t.y));
      const t = pick(next);
      op = `move ${id} (${p.x},${p.y})→(${t.x},${t.y})`;
      p.x = t.x;
      p.y = t.y;
      cs = engine.move(id, t.x, t.y);
    } else if (r < 0.71) {
      const t = rnd() < 0.6 ? pick(hot) : pick(floor);
      op = `teleport ${id} → (${t.x},${t.y})`;
      p.x = t.x;
      p.y = t.y;
      cs = engine.move(id, t.x, t.y);
    } else if (r < 0.76) {
      const mode = pick<Mode>(['normal', 'normal', 'quiet', 'ghost', 'dnd']);
      op = `mode ${id} ${p.mode}→${mode}`;
      p.mode = mode;
      cs = engine.setMode(id, mode);
    } else if (r < 0.79) {
      // At most three spotlights at once, so broadcasts do not drown the proximity rules.
      const on = [...ref.people.values()].filter((q) => q.spotlit).length < 3 ? !p.spotlit : false;
      op = `spotlight ${id} ${on}`;
      p.spotlit = on;
      cs = engine.setSpotlight(id, on);
    } else if (r < 0.87) {
      op = `speaking ${id} ${!p.speaking}`;
      p.speaking = !p.speaking;
      cs = engine.setSpeaking(id, p.speaking);
    } else if (r < 0.89) {
      op = `leave ${id}`;
      ref.people.delete(id);
      cs = engine.leave(id);
    } else if (r < 0.91 || ref.people.size < people / 2) {
      op = 'join';
      cs = join();
    } else {
      clock.advance(Math.floor(rnd() * 1500));
      op = `tick @${clock.now()}`;
      tick = true;
      cs = engine.tick();
      stats.holdsEnded += cs.filter((c) => c.kind === 'remove').length;
    }
    apply(cs);
    const want = ref.settle(clock.now(), tick);
    assert.deepEqual(cs.map(key).sort(), want.map(key).sort(), `step ${step}: ${op}`);
    stats.changes += cs.length;

    // The engine's state, the replayed change stream and the reference agree link by link.
    let n = 0;
    for (const l of ref.people.keys()) {
      for (const [sp, link] of engine.linksOf(l)) {
        n++;
        const want = ref.links.get(`${l}>${sp}`);
        assert.ok(want, `step ${step}: engine has ${l}>${sp}, reference does not (${op})`);
        assert.deepEqual([link.gain, link.priority], [want.gain, want.priority]);
        assert.deepEqual(replay.get(`${l}>${sp}`), { gain: link.gain, priority: link.priority });
        assert.equal(engine.isHeld(l, sp), want.holdUntil >= 0, `step ${step}: hold of ${l}>${sp}`);
      }
      const pv = engine.person(l)!;
      const rv = ref.view(ref.people.get(l)!);
      assert.deepEqual([pv.x, pv.y, pv.mode, pv.spotlit, pv.privateArea, pv.onStage], [rv.x, rv.y, rv.mode, rv.spotlit, rv.privateArea, rv.onStage]);
    }
    assert.equal(n, ref.links.size, `step ${step}: link count`);
    assert.equal(replay.size, ref.links.size);
  }
  return stats;
}

test('sweep: incremental engine equals the brute-force rules after every step (office map)', () => {
  for (const [seed, people, steps] of [
    [1, 30, 2500],
    [2, 45, 1500],
    [3, 12, 2500],
  ] as const) {
    const st = sweep(seed, people, steps);
    // The walk must actually exercise the rules, or the comparison proves little.
    assert.ok(st.changes > steps, `seed ${seed}: only ${st.changes} changes`);
    assert.ok(st.holdsEnded > 0, `seed ${seed}: no hold ever ended`);
  }
});
