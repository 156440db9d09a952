import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distributionTree, type DistributionTree } from './distribution-tree.ts';
import { edgeKey } from './edge.ts';
import { REGIONS, floydWarshall, nodeIds, randomMatrix, subset, symmetric } from './test-fixtures.ts';
import { linkRtt } from './rtt-matrix.ts';
import { seededRandom } from '../../util/prng.ts';

const keys = (t: DistributionTree) => t.edges.map((e) => edgeKey(e.from, e.to));

test('5 regions: trees from eu-west', () => {
  const cases: Array<{ name: string; receivers: string[]; exclude?: string[]; edges: string[]; unreachable?: string[] }> = [
    { name: 'one far receiver: through us-east, which is not a receiver', receivers: ['ap-northeast'], edges: ['eu-west>us-east', 'us-east>ap-northeast'] },
    {
      name: 'everyone: us-east is shared, each link once',
      receivers: ['us-east', 'us-west', 'ap-south', 'ap-northeast'],
      edges: ['eu-west>ap-south', 'eu-west>us-east', 'eu-west>us-west', 'us-east>ap-northeast'],
    },
    { name: 'us-east draining', receivers: ['ap-northeast', 'us-west'], exclude: ['us-east'], edges: ['eu-west>us-west', 'us-west>ap-northeast'] },
    { name: 'origin as a receiver needs no link', receivers: ['eu-west'], edges: [] },
    { name: 'duplicates count once', receivers: ['us-west', 'us-west'], edges: ['eu-west>us-west'] },
    { name: 'unknown receiver is unreachable', receivers: ['mars', 'us-west', 'moon'], edges: ['eu-west>us-west'], unreachable: ['mars', 'moon'] },
    { name: 'nobody', receivers: [], edges: [] },
  ];
  for (const c of cases) {
    const t = distributionTree('eu-west', c.receivers, REGIONS, { exclude: c.exclude });
    assert.equal(t.origin, 'eu-west');
    assert.deepEqual(keys(t), c.edges, c.name);
    assert.deepEqual(t.unreachable, c.unreachable ?? [], c.name);
    assert.deepEqual(new Map(t.edges.map((e) => [e.to, e.from])), t.parent, `${c.name}: parent and edges agree`);
  }
});

test('edges are top-down: an edge comes after the edge into its from', () => {
  const chain = symmetric([['a', 'b', 10], ['b', 'c', 10], ['c', 'd', 10], ['a', 'd', 100]]);
  assert.deepEqual(keys(distributionTree('a', ['d', 'b'], chain)), ['a>b', 'b>c', 'c>d']);
});

test('sweep: one parent per node, every edge leads to a receiver, paths are shortest, unreachable is exact', () => {
  const rand = seededRandom(99);
  let shared = 0;
  for (let round = 0; round < 400; round++) {
    const n = 3 + Math.floor(rand() * 10);
    const ids = nodeIds(n);
    const m = randomMatrix(rand, n, 0.3 + 0.6 * rand());
    const origin = ids[Math.floor(rand() * n)];
    const receivers = subset(rand, ids, 0.5);
    const exclude = new Set(subset(rand, ids, 0.15));
    const t = distributionTree(origin, receivers, m, { exclude });
    const fw = floydWarshall(m, ids, 2, exclude).get(origin)!;
    const where = `round ${round}`;

    // One parent per node, none for the origin; the parent map and the edge list say the same.
    const tos = t.edges.map((e) => e.to);
    assert.equal(new Set(tos).size, tos.length, `${where}: a node has two parents`);
    assert.ok(!tos.includes(origin), `${where}: the origin has a parent`);
    assert.equal(t.parent.size, t.edges.length);
    for (const e of t.edges) {
      assert.equal(t.parent.get(e.to), e.from);
      assert.notEqual(linkRtt(m, e.from, e.to), undefined, `${where}: edge over an unmeasured link`);
      assert.ok(e.from === origin || !exclude.has(e.from), `${where}: ${e.from} is excluded but forwards`);
    }

    // Every node in the tree climbs to the origin (no cycles), and its path cost is the shortest.
    const costOf = new Map<string, number>([[origin, 0]]);
    const climb = (node: string): number => {
      const known = costOf.get(node);
      if (known !== undefined) return known;
      const up = t.parent.get(node);
      assert.ok(up !== undefined, `${where}: ${node} does not reach the origin`);
      const c = climb(up) + linkRtt(m, up, node)! / 2 + (up === origin ? 0 : 2);
      costOf.set(node, c);
      return c;
    };
    for (const to of tos) {
      const c = climb(to);
      if (receivers.includes(to)) assert.ok(Math.abs(c - fw.get(to)!) < 1e-6, `${where}: path to ${to} costs ${c}, shortest ${fw.get(to)}`);
    }

    // Every edge leads to a receiver: the subtree under its `to` holds one (the pruning).
    const children = new Map<string, string[]>();
    for (const e of t.edges) children.set(e.from, [...(children.get(e.from) ?? []), e.to]);
    const leadsToReceiver = (node: string): boolean => receivers.includes(node) || (children.get(node) ?? []).some(leadsToReceiver);
    for (const e of t.edges) assert.ok(leadsToReceiver(e.to), `${where}: edge ${edgeKey(e.from, e.to)} leads to no receiver`);
    for (const e of t.edges) if (!receivers.includes(e.to)) shared++;

    // Reachable receivers are in the tree; the others are listed, sorted, once.
    const wanted = [...new Set(receivers)].filter((r) => r !== origin);
    for (const r of wanted) {
      if (fw.get(r) === Infinity) assert.ok(t.unreachable.includes(r), `${where}: ${r} should be unreachable`);
      else assert.ok(t.parent.has(r), `${where}: ${r} is reachable but not in the tree`);
    }
    assert.deepEqual(t.unreachable, wanted.filter((r) => fw.get(r) === Infinity).sort(), where);
  }
  assert.ok(shared > 50, `only ${shared} intermediates that are not receivers: the pruning is barely exercised`);
});
