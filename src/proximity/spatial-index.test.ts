import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distance } from './rules.ts';
import { SpatialIndex } from './spatial-index.ts';

test('radius queries include the boundary and use the Euclidean metric', () => {
  const ix = new SpatialIndex<string>(40, 40, 6);
  ix.insert('c', 10, 10);
  ix.insert('edge', 13, 14); // exactly 5
  ix.insert('diag', 14, 14); // 5.66
  ix.insert('far', 30, 30);
  assert.deepEqual(ix.within(10, 10, 5).sort(), ['c', 'edge']);
  assert.deepEqual(ix.within(10, 10, 6).sort(), ['c', 'diag', 'edge']);
  assert.deepEqual(ix.within(10, 10, 0), ['c']);
});

test('moves across cells, removal, and errors', () => {
  const ix = new SpatialIndex<string>(20, 20, 6);
  ix.insert('a', 0, 0);
  ix.move('a', 19, 19);
  assert.deepEqual(ix.within(0, 0, 5), []);
  assert.deepEqual(ix.within(19, 19, 1), ['a']);
  ix.move('a', 18, 19); // same cell
  assert.deepEqual(ix.within(18, 19, 0), ['a']);
  assert.throws(() => ix.insert('a', 1, 1));
  assert.throws(() => ix.move('b', 1, 1));
  assert.throws(() => ix.insert('b', 20, 0), RangeError);
  assert.equal(ix.remove('a'), true);
  assert.equal(ix.remove('a'), false);
  assert.equal(ix.size, 0);
  assert.deepEqual(ix.within(19, 19, 30), []);
});

test('sweep: queries equal a brute-force scan through random moves', () => {
  let seed = 11;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const W = 97;
  const H = 61;
  const ix = new SpatialIndex<number>(W, H, 6);
  const pos = new Map<number, { x: number; y: number }>();
  for (let i = 0; i < 300; i++) {
    const p = { x: Math.floor(rnd() * W), y: Math.floor(rnd() * H) };
    pos.set(i, p);
    ix.insert(i, p.x, p.y);
  }
  for (let step = 0; step < 3000; step++) {
    const id = Math.floor(rnd() * 300);
    const p = pos.get(id)!;
    p.x = Math.min(W - 1, Math.max(0, p.x + Math.floor(rnd() * 3) - 1));
    p.y = Math.min(H - 1, Math.max(0, p.y + Math.floor(rnd() * 3) - 1));
    ix.move(id, p.x, p.y);
    if (step % 10 === 0) {
      const q = { x: rnd() * W, y: rnd() * H };
      const r = [0, 1, 5, 6, 9.5][step % 5]!;
      const want = [...pos].filter(([, v]) => distance(q, v) <= r).map(([k]) => k).sort((a, b) => a - b);
      assert.deepEqual(ix.within(q.x, q.y, r).sort((a, b) => a - b), want, `step ${step}`);
    }
  }
});
