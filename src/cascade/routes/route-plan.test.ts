import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_LAYER, diffPlans, edgeKey, makeBeforeBreak, planRoutes, type RoutePlan, type TrackDemand, type TrackRoute } from './route-plan.ts';
import type { RttMatrix } from './rtt-matrix.ts';
import { REGIONS, nodeIds, randomMatrix, symmetric } from './test-fixtures.ts';
import { seededRandom } from '../../util/prng.ts';

const needs = (o: Record<string, number>) => new Map(Object.entries(o));
/** track → "from>to" → layer */
const layers = (p: RoutePlan) => new Map([...p.tracks].map(([id, r]) => [id, Object.fromEntries(r.edges.map((e) => [edgeKey(e.from, e.to), e.layer]))]));
const layersOf = (r: TrackRoute | undefined) => new Map((r?.edges ?? []).map((e) => [edgeKey(e.from, e.to), e.layer]));

test('5 regions: each link carries the top layer needed below it', () => {
  const plan = planRoutes(
    [
      // ap-northeast wants full (2) through us-east, which itself wants only the lowest (0); us-west medium.
      { trackId: 'v1', origin: 'eu-west', needs: needs({ 'us-east': 0, 'ap-northeast': 2, 'us-west': 1, 'ap-south': NO_LAYER }) },
      { trackId: 'v2', origin: 'eu-west', needs: needs({ 'us-east': 1, 'ap-northeast': 0 }) },
      // The origin's own needs never make a link; nobody else wants it.
      { trackId: 'v3', origin: 'us-west', needs: needs({ 'us-west': 2, 'eu-west': -1 }) },
      { trackId: 'a1', origin: 'ap-south', needs: needs({ 'eu-west': 0 }) },
    ],
    REGIONS,
  );
  assert.deepEqual(
    layers(plan),
    new Map<string, Record<string, number>>([
      ['v1', { 'eu-west>us-east': 2, 'eu-west>us-west': 1, 'us-east>ap-northeast': 2 }],
      ['v2', { 'eu-west>us-east': 1, 'us-east>ap-northeast': 0 }],
      ['v3', {}],
      ['a1', { 'ap-south>eu-west': 0 }],
    ]),
  );
  assert.equal(plan.tracks.get('v1')!.origin, 'eu-west');
});

test('unreachable receivers are reported per track; exclude reroutes', () => {
  const m = symmetric([['a', 'b', 10], ['b', 'c', 10], ['a', 'c', 30]]);
  const t: TrackDemand = { trackId: 't', origin: 'a', needs: needs({ c: 1, z: 2 }) };
  const plain = planRoutes([t], m).tracks.get('t')!;
  assert.deepEqual(layersOf(plain), new Map([['a>b', 1], ['b>c', 1]]));
  assert.deepEqual(plain.unreachable, ['z']);
  assert.deepEqual(layersOf(planRoutes([t], m, { exclude: ['b'] }).tracks.get('t')), new Map([['a>c', 1]]));
});

test('a track listed twice is an error', () => {
  const t: TrackDemand = { trackId: 't', origin: 'a', needs: new Map() };
  assert.throws(() => planRoutes([t, t], new Map()), /listed twice/);
});

test('diffPlans: adds, removes and layer changes per track; unchanged tracks absent', () => {
  const m = REGIONS;
  const prev = planRoutes(
    [
      { trackId: 'v1', origin: 'eu-west', needs: needs({ 'ap-northeast': 2, 'us-west': 1 }) },
      { trackId: 'same', origin: 'us-east', needs: needs({ 'us-west': 1 }) },
      { trackId: 'gone', origin: 'us-east', needs: needs({ 'eu-west': 0 }) },
    ],
    m,
  );
  const next = planRoutes(
    [
      // us-east drains: ap-northeast now via us-west, whose own need drops to 0 but its link still carries 1
      // onwards, so eu-west>us-west is unchanged. us-east stays the origin of `same`: an excluded origin still sends.
      { trackId: 'v1', origin: 'eu-west', needs: needs({ 'ap-northeast': 1, 'us-west': 0 }) },
      { trackId: 'same', origin: 'us-east', needs: needs({ 'us-west': 1 }) },
      { trackId: 'new', origin: 'ap-south', needs: needs({ 'us-east': 2 }) },
    ],
    m,
    { exclude: ['us-east'] },
  );
  const d = diffPlans(prev, next);
  assert.deepEqual([...d.keys()], ['gone', 'new', 'v1']);
  assert.deepEqual(d.get('v1'), {
    add: [{ from: 'us-west', to: 'ap-northeast', layer: 1 }],
    remove: [
      { from: 'eu-west', to: 'us-east' },
      { from: 'us-east', to: 'ap-northeast' },
    ],
    layerChanges: [],
  });
  assert.deepEqual(d.get('gone'), { add: [], remove: [{ from: 'us-east', to: 'eu-west' }], layerChanges: [] });
  assert.deepEqual(d.get('new'), { add: [{ from: 'ap-south', to: 'us-east', layer: 2 }], remove: [], layerChanges: [] });

  // Layer only.
  const lower = planRoutes([{ trackId: 'v1', origin: 'eu-west', needs: needs({ 'ap-northeast': 0, 'us-west': 1 }) }], m);
  const higher = planRoutes([{ trackId: 'v1', origin: 'eu-west', needs: needs({ 'ap-northeast': 2, 'us-west': 1 }) }], m);
  assert.deepEqual(diffPlans(lower, higher).get('v1'), {
    add: [],
    remove: [],
    layerChanges: [
      { from: 'eu-west', to: 'us-east', before: 0, after: 2 },
      { from: 'us-east', to: 'ap-northeast', before: 0, after: 2 },
    ],
  });
  assert.equal(diffPlans(higher, higher).size, 0);
});

test('makeBeforeBreak: union of both trees at the higher layer; the re-parenting cycle case', () => {
  // Old: a→b→c. New (a–b slowed): a→c→b. The interim feeds b and c twice and holds b⇄c: see the contract.
  const before = symmetric([['a', 'b', 10], ['b', 'c', 10], ['a', 'c', 30]]);
  const after = symmetric([['a', 'b', 50], ['b', 'c', 10], ['a', 'c', 30]]);
  const prev = planRoutes([{ trackId: 't', origin: 'a', needs: needs({ b: 2, c: 0 }) }], before);
  const next = planRoutes([{ trackId: 't', origin: 'a', needs: needs({ b: 1, c: 0 }) }], after);
  assert.deepEqual(layersOf(prev.tracks.get('t')), new Map([['a>b', 2], ['b>c', 0]]));
  assert.deepEqual(layersOf(next.tracks.get('t')), new Map([['a>c', 1], ['c>b', 1]]));
  const interim = makeBeforeBreak(prev, next);
  assert.deepEqual(layersOf(interim.tracks.get('t')), new Map([['a>c', 1], ['c>b', 1], ['a>b', 2], ['b>c', 0]]));
  // Tracks in one plan only are carried as they are.
  const only = planRoutes([{ trackId: 'x', origin: 'a', needs: needs({ b: 0 }) }], before);
  assert.deepEqual(layers(makeBeforeBreak(only, next)), new Map([...layers(only), ...layers(next)]));
  assert.deepEqual(layers(makeBeforeBreak(next, only)), new Map([...layers(next), ...layers(only)]));
});

/** What the caller does with a diff: prev's edges, minus removes, plus adds, with layer changes. */
function applyDiff(prev: RoutePlan, d: ReturnType<typeof diffPlans>, trackId: string): Map<string, number> {
  const out = layersOf(prev.tracks.get(trackId));
  const td = d.get(trackId);
  if (!td) return out;
  for (const e of td.remove) assert.ok(out.delete(edgeKey(e.from, e.to)), 'removes an edge that was not there');
  for (const e of td.add) {
    assert.ok(!out.has(edgeKey(e.from, e.to)), 'adds an edge that was there');
    out.set(edgeKey(e.from, e.to), e.layer);
  }
  for (const c of td.layerChanges) {
    assert.equal(out.get(edgeKey(c.from, c.to)), c.before);
    out.set(edgeKey(c.from, c.to), c.after);
  }
  return out;
}

function randomDemands(rand: () => number, n: number, count: number): TrackDemand[] {
  const ids = nodeIds(n);
  return Array.from({ length: count }, (_, i) => ({
    trackId: `t${i}`,
    origin: ids[Math.floor(rand() * n)],
    needs: new Map(ids.filter(() => rand() < 0.6).map((id) => [id, Math.floor(rand() * 4) - 1])),
  }));
}

/** A perturbed copy: every RTT scaled by 0.5..1.5, some directions dropped. */
function perturb(rand: () => number, m: RttMatrix): RttMatrix {
  return new Map([...m].map(([a, row]) => [a, new Map([...row].filter(() => rand() > 0.1).map(([b, ms]) => [b, ms * (0.5 + rand())]))]));
}

test('sweep: layers are the max need downstream, monotone up the tree, never a layer nobody needs', () => {
  const rand = seededRandom(4242);
  let raisedByDownstream = 0;
  for (let round = 0; round < 300; round++) {
    const n = 3 + Math.floor(rand() * 10);
    const m = randomMatrix(rand, n, 0.3 + 0.6 * rand());
    const demands = randomDemands(rand, n, 1 + Math.floor(rand() * 6));
    const plan = planRoutes(demands, m);
    for (const d of demands) {
      const route = plan.tracks.get(d.trackId)!;
      const where = `round ${round} ${d.trackId}`;
      const parent = new Map(route.edges.map((e) => [e.to, e.from]));
      const layerInto = new Map(route.edges.map((e) => [e.to, e.layer]));
      const below = (node: string): string[] => [node, ...route.edges.filter((e) => e.from === node).flatMap((e) => below(e.to))];
      for (const e of route.edges) {
        const downstream = below(e.to).map((x) => d.needs.get(x) ?? NO_LAYER);
        assert.equal(e.layer, Math.max(...downstream), `${where}: ${edgeKey(e.from, e.to)}`);
        assert.ok(e.layer >= 0, `${where}: a link carries nothing anyone needs`);
        const up = parent.get(e.from);
        if (up !== undefined) assert.ok(layerInto.get(e.from)! >= e.layer, `${where}: layer grows going up at ${e.from}`);
        if (e.layer > (d.needs.get(e.to) ?? NO_LAYER)) raisedByDownstream++;
      }
      // Every node that needs something and is reachable gets a link; the rest are unreachable.
      for (const [node, need] of d.needs) {
        if (need < 0 || node === d.origin) continue;
        assert.ok(layerInto.has(node) !== route.unreachable.includes(node), `${where}: ${node} neither served nor unreachable`);
        if (layerInto.has(node)) assert.ok(layerInto.get(node)! >= need, `${where}: ${node} gets less than it needs`);
      }
    }
  }
  assert.ok(raisedByDownstream > 50, `only ${raisedByDownstream} links raised by a need below them`);
});

test('sweep: makeBeforeBreak is a superset of both plans (at the higher layer, nothing else); diffs replay', () => {
  const rand = seededRandom(777);
  for (let round = 0; round < 300; round++) {
    const n = 3 + Math.floor(rand() * 10);
    const m1 = randomMatrix(rand, n, 0.4 + 0.5 * rand());
    const m2 = rand() < 0.5 ? perturb(rand, m1) : m1;
    const d1 = randomDemands(rand, n, 1 + Math.floor(rand() * 5));
    // Next: same tracks with new needs, one track dropped, one added.
    const d2 = [...randomDemands(rand, n, d1.length).slice(1), { trackId: 'extra', origin: 'n00', needs: new Map([['n01', 1]]) }];
    const prev = planRoutes(d1, m1);
    const next = planRoutes(d2, m2, { exclude: rand() < 0.5 ? ['n02'] : [] });
    const interim = makeBeforeBreak(prev, next);
    const diff = diffPlans(prev, next);
    const ids = new Set([...prev.tracks.keys(), ...next.tracks.keys()]);
    assert.deepEqual(new Set(interim.tracks.keys()), ids, `round ${round}: interim tracks`);
    for (const id of ids) {
      const where = `round ${round} ${id}`;
      const p = layersOf(prev.tracks.get(id));
      const nx = layersOf(next.tracks.get(id));
      const i = layersOf(interim.tracks.get(id));
      for (const [k, layer] of [...p, ...nx]) assert.ok(i.has(k) && i.get(k)! >= layer, `${where}: interim lacks ${k}@${layer}`);
      for (const [k, layer] of i) assert.equal(layer, Math.max(p.get(k) ?? NO_LAYER, nx.get(k) ?? NO_LAYER), `${where}: ${k}`);
      assert.equal(i.size, new Set([...p.keys(), ...nx.keys()]).size, `${where}: interim has extra edges`);
      assert.deepEqual(applyDiff(prev, diff, id), nx, `${where}: diff does not turn prev into next`);
    }
  }
});
