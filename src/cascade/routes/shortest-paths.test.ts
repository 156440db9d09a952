import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkRtt } from './rtt-matrix.ts';
import { pathTo, shortestPaths, type ShortestPathOptions } from './shortest-paths.ts';
import { REGIONS, floydWarshall, nodeIds, randomMatrix, subset, symmetric } from './test-fixtures.ts';
import { seededRandom } from '../../util/prng.ts';

const close = (actual: number, expected: number, msg: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${msg}: ${actual} != ${expected}`);

test('5 regions: the slow direct eu-west–ap-northeast link loses to a detour, costs as documented', () => {
  const cases: Array<{ name: string; source: string; target: string; opts?: ShortestPathOptions; path: string[]; cost: number }> = [
    { name: 'detour through us-east', source: 'eu-west', target: 'ap-northeast', path: ['eu-west', 'us-east', 'ap-northeast'], cost: 40 + 80 + 2 },
    { name: 'and back the same way', source: 'ap-northeast', target: 'eu-west', path: ['ap-northeast', 'us-east', 'eu-west'], cost: 122 },
    { name: 'us-east draining: via us-west', source: 'eu-west', target: 'ap-northeast', opts: { exclude: ['us-east'] }, path: ['eu-west', 'us-west', 'ap-northeast'], cost: 72.5 + 50 + 2 },
    { name: 'both us nodes out: direct beats ap-south', source: 'eu-west', target: 'ap-northeast', opts: { exclude: ['us-east', 'us-west'] }, path: ['eu-west', 'ap-northeast'], cost: 125 },
    { name: 'heavier hop cost makes the direct link win', source: 'eu-west', target: 'ap-northeast', opts: { hopCostMs: 6 }, path: ['eu-west', 'ap-northeast'], cost: 125 },
    { name: 'asymmetric link uses the mean (190/210)', source: 'us-east', target: 'ap-south', path: ['us-east', 'ap-south'], cost: 100 },
    { name: 'direct when it is the fastest', source: 'us-east', target: 'us-west', path: ['us-east', 'us-west'], cost: 32.5 },
    { name: 'excluded target is still reached', source: 'eu-west', target: 'us-east', opts: { exclude: ['us-east'] }, path: ['eu-west', 'us-east'], cost: 40 },
    { name: 'excluded source still sends', source: 'eu-west', target: 'ap-northeast', opts: { exclude: ['eu-west'] }, path: ['eu-west', 'us-east', 'ap-northeast'], cost: 122 },
  ];
  for (const c of cases) {
    const sp = shortestPaths(REGIONS, c.source, c.opts);
    assert.deepEqual(pathTo(sp, c.target), c.path, c.name);
    close(sp.get(c.target)!.cost, c.cost, c.name);
    assert.equal(sp.get(c.target)!.hops, c.path.length - 1, c.name);
  }
});

test('source: cost 0, no parent; unreachable nodes absent', () => {
  const m = symmetric([['a', 'b', 10], ['c', 'd', 10]]);
  const sp = shortestPaths(m, 'a');
  assert.deepEqual(sp.get('a'), { cost: 0, parent: null, hops: 0 });
  assert.deepEqual([...sp.keys()].sort(), ['a', 'b']);
  assert.equal(pathTo(sp, 'c'), null);
  // A source the matrix does not know reaches only itself.
  assert.deepEqual([...shortestPaths(m, 'zz').keys()], ['zz']);
});

test('an excluded node never forwards: what lies only behind it is unreachable', () => {
  const m = symmetric([['a', 'b', 10], ['b', 'c', 10]]);
  assert.deepEqual(pathTo(shortestPaths(m, 'a'), 'c'), ['a', 'b', 'c']);
  const sp = shortestPaths(m, 'a', { exclude: new Set(['b']) });
  assert.ok(sp.has('b'));
  assert.equal(sp.has('c'), false);
});

test('ties: the direct link beats an equally fast detour (hop cost), then fewer hops, then the smaller parent id', () => {
  // s–b direct costs 5; s–m–b costs 2 + 1 = 3 in links, + 2 for m forwarding = 5: a tie the direct link wins
  // (by fewer hops: the parent id alone would pick m < s).
  const tri = symmetric([['s', 'b', 10], ['s', 'm', 4], ['m', 'b', 2]]);
  assert.deepEqual(pathTo(shortestPaths(tri, 's'), 'b'), ['s', 'b']);
  // With a cheaper hop the detour is strictly faster, and taken.
  assert.deepEqual(pathTo(shortestPaths(tri, 's', { hopCostMs: 1 }), 'b'), ['s', 'm', 'b']);
  // Without a hop cost, a tie in cost still goes to fewer hops.
  const tie0 = symmetric([['s', 'b', 6], ['s', 'm', 4], ['m', 'b', 2]]);
  assert.deepEqual(pathTo(shortestPaths(tie0, 's', { hopCostMs: 0 }), 'b'), ['s', 'b']);
  // Diamond: d via b or via c, same cost and hops: parent b (smaller id), whatever the insertion order.
  const links: Array<[string, string, number]> = [['a', 'b', 10], ['a', 'c', 10], ['b', 'd', 10], ['c', 'd', 10]];
  for (const order of [links, [...links].reverse(), [links[3], links[0], links[2], links[1]]]) {
    assert.equal(shortestPaths(symmetric(order), 'a').get('d')!.parent, 'b');
  }
  // Costs within COST_EPSILON are a tie (float sums of the same RTTs differ in the last bits).
  const fl = symmetric([['s', 'p', 0.2], ['p', 't', 0.4], ['s', 'q', 0.6], ['q', 't', 0]]);
  // s→p→t = 0.1 + 0.2 = 0.30000000000000004 > s→q→t = 0.3 in floats, yet a tie: same hops → parent p (< q).
  assert.equal(shortestPaths(fl, 's', { hopCostMs: 0 }).get('t')!.parent, 'p');
});

test('rejects a negative hop cost', () => {
  assert.throws(() => shortestPaths(REGIONS, 'eu-west', { hopCostMs: -1 }), RangeError);
});

test('sweep: Dijkstra costs equal Floyd–Warshall on random matrices of 3–12 nodes, parents are consistent', () => {
  const rand = seededRandom(0x5eed);
  let multiHop = 0;
  for (let round = 0; round < 400; round++) {
    const n = 3 + Math.floor(rand() * 10);
    const ids = nodeIds(n);
    const m = randomMatrix(rand, n, 0.3 + 0.6 * rand());
    const hopCostMs = [0, 2, 5][round % 3];
    const exclude = new Set(subset(rand, ids, 0.2));
    const fw = floydWarshall(m, ids, hopCostMs, exclude);
    for (const source of ids) {
      const sp = shortestPaths(m, source, { hopCostMs, exclude });
      for (const target of ids) {
        const want = fw.get(source)!.get(target)!;
        const got = sp.get(target);
        const where = `round ${round} ${source}→${target}`;
        if (want === Infinity) {
          assert.equal(got, undefined, `${where}: reached but FW says unreachable`);
          continue;
        }
        assert.ok(got, `${where}: unreachable but FW reaches it`);
        close(got.cost, want, where);
        if (target === source) continue;
        const parent = got.parent!;
        const up = sp.get(parent)!;
        assert.ok(parent === source || !exclude.has(parent), `${where}: forwards through excluded ${parent}`);
        assert.equal(got.hops, up.hops + 1, where);
        close(got.cost, up.cost + linkRtt(m, parent, target)! / 2 + (parent === source ? 0 : hopCostMs), `${where} parent link`);
        if (got.hops > 1 && linkRtt(m, source, target) !== undefined) multiHop++;
      }
    }
  }
  // The sweep must exercise detours that beat an existing direct link, not only chains.
  assert.ok(multiHop > 100, `only ${multiHop} detours beat a direct link`);
});
