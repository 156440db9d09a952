import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkGraph, linkRtt, matrixChangedBeyond, nodesOf, type RttMatrix } from './rtt-matrix.ts';
import { directed, nodeIds, randomMatrix, symmetric } from './test-fixtures.ts';
import { seededRandom } from '../../util/prng.ts';

test('linkRtt: the symmetric view of one link', () => {
  const cases: Array<{ name: string; m: RttMatrix; a: string; b: string; want: number | undefined }> = [
    { name: 'both directions: mean', m: directed([['a', 'b', 100], ['b', 'a', 140]]), a: 'a', b: 'b', want: 120 },
    { name: 'both directions, asked the other way', m: directed([['a', 'b', 100], ['b', 'a', 140]]), a: 'b', b: 'a', want: 120 },
    { name: 'only a→b', m: directed([['a', 'b', 90]]), a: 'b', b: 'a', want: 90 },
    { name: 'only b→a', m: directed([['b', 'a', 70]]), a: 'a', b: 'b', want: 70 },
    { name: 'neither', m: directed([['a', 'c', 10]]), a: 'a', b: 'b', want: undefined },
    { name: 'unknown nodes', m: new Map(), a: 'x', b: 'y', want: undefined },
    { name: 'NaN direction ignored', m: directed([['a', 'b', NaN], ['b', 'a', 40]]), a: 'a', b: 'b', want: 40 },
    { name: 'negative direction ignored', m: directed([['a', 'b', -1], ['b', 'a', 40]]), a: 'a', b: 'b', want: 40 },
    { name: 'infinite only: no link', m: directed([['a', 'b', Infinity]]), a: 'a', b: 'b', want: undefined },
    { name: 'zero is a measurement', m: directed([['a', 'b', 0]]), a: 'a', b: 'b', want: 0 },
    { name: 'self is not a link', m: directed([['a', 'a', 5]]), a: 'a', b: 'a', want: undefined },
  ];
  for (const c of cases) assert.equal(linkRtt(c.m, c.a, c.b), c.want, c.name);
});

test('nodesOf: rows and columns, sorted, once each', () => {
  assert.deepEqual(nodesOf(directed([['c', 'a', 1], ['b', 'd', 2], ['a', 'c', 3]])), ['a', 'b', 'c', 'd']);
  assert.deepEqual(nodesOf(new Map([['lonely', new Map()]])), ['lonely']);
  assert.deepEqual(nodesOf(new Map()), []);
});

test('linkGraph: every known link in both directions, with the symmetric RTT', () => {
  const rand = seededRandom(7);
  for (let round = 0; round < 50; round++) {
    const n = 3 + Math.floor(rand() * 10);
    const m = randomMatrix(rand, n);
    const g = linkGraph(m);
    for (const a of nodeIds(n)) {
      for (const b of nodeIds(n)) {
        assert.equal(g.get(a)?.get(b), linkRtt(m, a, b), `${a}-${b}`);
      }
    }
  }
});

test('matrixChangedBeyond: table (defaults 20 % and 10 ms, both must be exceeded)', () => {
  const ab = (ms: number) => symmetric([['a', 'b', ms]]);
  const cases: Array<{ name: string; prev: RttMatrix; next: RttMatrix; want: boolean; opts?: { relative?: number; absoluteMs?: number } }> = [
    { name: 'unchanged', prev: ab(100), next: ab(100), want: false },
    { name: '+15 % / +15 ms: under relative', prev: ab(100), next: ab(115), want: false },
    { name: '+25 % / +25 ms: both exceeded', prev: ab(100), next: ab(125), want: true },
    { name: '-25 % / -25 ms: decreases count too', prev: ab(100), next: ab(75), want: true },
    { name: 'exactly +20 % / +20 ms: not beyond', prev: ab(100), next: ab(120), want: false },
    { name: 'small link +40 % but only +8 ms: under absolute', prev: ab(20), next: ab(28), want: false },
    { name: 'small link +75 % / +15 ms', prev: ab(20), next: ab(35), want: true },
    { name: 'long link +30 ms but only +15 %', prev: ab(200), next: ab(230), want: false },
    { name: 'link appeared', prev: new Map(), next: ab(100), want: true },
    { name: 'link disappeared', prev: ab(100), next: new Map(), want: true },
    { name: 'link disappeared, node row remains', prev: ab(100), next: new Map([['a', new Map()], ['b', new Map()]]), want: true },
    { name: 'one direction lost, symmetric view unchanged', prev: ab(100), next: directed([['a', 'b', 100]]), want: false },
    { name: 'reverse direction appears and moves the mean 30 %', prev: directed([['a', 'b', 100]]), next: directed([['a', 'b', 100], ['b', 'a', 160]]), want: true },
    { name: 'a node with no links appears', prev: ab(100), next: directed([['a', 'b', 100], ['b', 'a', 100], ['c', 'c', 1]]), want: false },
    { name: 'custom thresholds: 5 % and 1 ms', prev: ab(100), next: ab(107), want: true, opts: { relative: 0.05, absoluteMs: 1 } },
    { name: 'custom thresholds: 50 %', prev: ab(100), next: ab(140), want: false, opts: { relative: 0.5 } },
    {
      name: 'one link of many changes',
      prev: symmetric([['a', 'b', 50], ['b', 'c', 60], ['a', 'c', 200]]),
      next: symmetric([['a', 'b', 50], ['b', 'c', 60], ['a', 'c', 130]]),
      want: true,
    },
  ];
  for (const c of cases) assert.equal(matrixChangedBeyond(c.prev, c.next, c.opts), c.want, c.name);
});

test('matrixChangedBeyond sweep: noise inside the band never triggers, a jump beyond both always does', () => {
  const rand = seededRandom(20240611);
  for (let round = 0; round < 300; round++) {
    const n = 3 + Math.floor(rand() * 10);
    const prev = randomMatrix(rand, n, 0.8);
    // Noise: both directions of a link move by the same d, |d| <= max(9 ms, 19 % of the link's symmetric
    // RTT), so the symmetric RTT moves by d: under one of the two thresholds.
    const noisy = new Map<string, Map<string, number>>([...prev].map(([a, row]) => [a, new Map(row)]));
    for (const [a, row] of noisy) {
      for (const b of row.keys()) {
        if (b < a && prev.get(b)?.has(a)) continue; // moved with its reverse direction
        const p = linkRtt(prev, a, b)!;
        // ...and never below half the smaller direction: a negative RTT would read as "not measured".
        const floor = -0.5 * Math.min(prev.get(a)!.get(b)!, prev.get(b)?.get(a) ?? Infinity);
        const d = Math.max(floor, (rand() * 2 - 1) * Math.max(9, 0.19 * p));
        row.set(b, prev.get(a)!.get(b)! + d);
        if (prev.get(b)?.has(a)) noisy.get(b)!.set(a, prev.get(b)!.get(a)! + d);
      }
    }
    assert.equal(matrixChangedBeyond(prev, noisy), false, `round ${round}: noise triggered`);

    // A jump: pick a link and raise it in both directions by 50 % and at least 20 ms.
    const ids = nodeIds(n);
    const links = ids.flatMap((a) => ids.filter((b) => a < b && linkRtt(prev, a, b) !== undefined).map((b) => [a, b] as const));
    if (links.length === 0) continue;
    const [a, b] = links[Math.floor(rand() * links.length)];
    const jumped = new Map<string, Map<string, number>>([...noisy].map(([k, row]) => [k, new Map(row)]));
    const p = linkRtt(prev, a, b)!;
    const target = p + Math.max(20, 0.5 * p);
    jumped.get(a)!.set(b, target);
    jumped.get(b)!.set(a, target);
    assert.equal(matrixChangedBeyond(prev, jumped), true, `round ${round}: jump on ${a}-${b} missed`);
  }
});
