import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SCENARIOS } from './index.ts';
import { SpaceLayout } from './space-layout.ts';
import { mapInfoOf } from '../../../src/server/space.ts';
import { DEFAULT_MAP_URL, loadSpaceMap } from '../../../src/proximity/map.ts';
import { seededRandom } from '../../../src/util/prng.ts';
import type { LoadPerson } from '../person.ts';

const map = mapInfoOf(loadSpaceMap(DEFAULT_MAP_URL));
const walkable = (x: number, y: number) => map.blocked[y]?.[x] === '0';
const inKind = (kind: string, x: number, y: number) => map.areas.some((a) => a.kind === kind && a.rects.some((r) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h));

describe('load scenarios on the office map (sweep over seeds)', () => {
  for (const s of Object.values(SCENARIOS)) {
    it(`${s.name}: the planned people stand on walkable open tiles, on distinct tiles`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const rnd = seededRandom(seed);
        const people = s.defaultPeople;
        const ctx = { people, layout: new SpaceLayout(map, rnd), rnd };
        const specs = s.plan(ctx);
        assert.equal(specs.length, people, `seed ${seed}`);
        const tiles = new Set<string>();
        for (const p of specs) {
          assert.ok(p.x !== undefined && p.y !== undefined && walkable(p.x, p.y), `${s.name} seed ${seed}: ${p.name} at ${p.x},${p.y}`);
          assert.ok(!inKind('private', p.x, p.y), `${p.name} in a private area`);
          if (!p.spotlight) assert.ok(!inKind('stage', p.x, p.y), `${p.name} on the stage`);
          tiles.add(`${p.x},${p.y}`);
        }
        assert.equal(tiles.size, specs.length, `seed ${seed}: two people on one tile`);
        assert.equal(new Set(specs.map((p) => p.name)).size, specs.length);
      }
    });
  }

  it('fanout and townhall have one spotlit publisher; fanout viewers do not publish', () => {
    const rnd = seededRandom(1);
    const f = SCENARIOS.fanout!.plan({ people: 11, layout: new SpaceLayout(map, rnd), rnd });
    assert.deepEqual(f.map((p) => [p.publish, Boolean(p.spotlight)]), [[true, true], ...Array(10).fill([false, false])]);
    const t = SCENARIOS.townhall!.plan({ people: 21, layout: new SpaceLayout(map, rnd), rnd });
    assert.equal(t.filter((p) => p.spotlight).length, 1);
    assert.ok(inKind('stage', t[0]!.x!, t[0]!.y!), 'the speaker stands on the stage');
    assert.ok(t.every((p) => p.publish));
  });

  it('mingle groups people around well-spread centres: most people have a groupmate within 3 tiles', () => {
    const rnd = seededRandom(4);
    const specs = SCENARIOS.mingle!.plan({ people: 60, layout: new SpaceLayout(map, rnd), rnd });
    const near = specs.filter((p) => specs.some((q) => q !== p && Math.hypot(q.x! - p.x!, q.y! - p.y!) <= 3)).length;
    assert.ok(near >= 57, `${near} of 60 have someone within 3 tiles`);
  });

  it('mingle walks: each person leaves for another group about once a minute, to open tiles', () => {
    const rnd = seededRandom(7);
    const ctx = { people: 60, layout: new SpaceLayout(map, rnd), rnd };
    const specs = SCENARIOS.mingle!.plan(ctx);
    const people = specs.map((spec) => ({ spec }) as unknown as LoadPerson);
    let walks = 0;
    for (let t = 0; t < 100; t++) {
      for (const w of SCENARIOS.mingle!.step!(ctx, people, t)) {
        walks++;
        assert.ok(walkable(w.x, w.y) && !inKind('private', w.x, w.y));
      }
    }
    assert.ok(walks > 60 && walks < 140, `${walks} walks in 100 s (expected ~100)`);
  });
});
