import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpaceMap, type SpaceMap, type Tile } from './map.ts';

const grid = (rows: string[]): SpaceMap => {
  const spawn = rows.flatMap((r, y) => [...r].map((c, x) => ({ c, x, y }))).find((t) => t.c !== '#')!;
  return parseSpaceMap({ name: 't', width: rows[0]!.length, height: rows.length, tiles: rows, spawn: { x: spawn.x, y: spawn.y } });
};

/** Checks a path is a chain of legal steps on walkable tiles and returns its cost. */
function cost(m: SpaceMap, path: Tile[]): number {
  let c = 0;
  for (let i = 0; i < path.length; i++) {
    const t = path[i]!;
    assert.ok(m.isWalkable(t.x, t.y), `(${t.x},${t.y}) is not walkable`);
    if (i === 0) continue;
    const p = path[i - 1]!;
    const dx = t.x - p.x;
    const dy = t.y - p.y;
    assert.ok(Math.abs(dx) <= 1 && Math.abs(dy) <= 1 && (dx !== 0 || dy !== 0), `jump from (${p.x},${p.y}) to (${t.x},${t.y})`);
    if (dx !== 0 && dy !== 0) {
      assert.ok(m.isWalkable(p.x + dx, p.y) && m.isWalkable(p.x, p.y + dy), `corner cut at (${p.x},${p.y})→(${t.x},${t.y})`);
      c += Math.SQRT2;
    } else c += 1;
  }
  return c;
}

test('open floor: straight and diagonal paths are shortest', () => {
  const m = grid(['......', '......', '......', '......']);
  const straight = m.findPath({ x: 0, y: 0 }, { x: 5, y: 0 })!;
  assert.equal(straight.length, 6);
  assert.equal(cost(m, straight), 5);
  const diag = m.findPath({ x: 0, y: 0 }, { x: 3, y: 3 })!;
  assert.deepEqual(diag, [{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 2, y: 2 }, { x: 3, y: 3 }]);
  assert.deepEqual(m.findPath({ x: 2, y: 1 }, { x: 2, y: 1 }), [{ x: 2, y: 1 }]);
});

test('walls: the path goes round, through the gap', () => {
  const m = grid([
    '.......',
    '.#####.',
    '.#...#.',
    '.#.#.#.',
    '.....#.',
  ]);
  const p = m.findPath({ x: 2, y: 2 }, { x: 6, y: 4 })!;
  assert.ok(p);
  const c = cost(m, p);
  assert.deepEqual(p[0], { x: 2, y: 2 });
  assert.deepEqual(p.at(-1), { x: 6, y: 4 });
  // Out through the gap at the bottom, round the left and over the top: as short as brute force says.
  assert.ok(c > 10);
  assert.ok(Math.abs(c - bfsCost(m, { x: 2, y: 2 }, { x: 6, y: 4 })) < 1e-9);
});

test('no corner cutting between walls that touch at a corner', () => {
  const m = grid([
    '.#.',
    '#..',
    '...',
  ]);
  // (0,0) → (1,1) would slip between (1,0) and (0,1): (0,0) is sealed off.
  assert.equal(m.findPath({ x: 0, y: 0 }, { x: 2, y: 2 }), null);
  const m2 = grid([
    '...',
    '.#.',
    '...',
  ]);
  const p = m2.findPath({ x: 0, y: 0 }, { x: 2, y: 2 })!;
  // Every diagonal step next to the pillar would clip its corner: four straight steps.
  assert.equal(cost(m2, p), 4);
});

test('unreachable targets and unwalkable endpoints give null', () => {
  const m = grid([
    '..#..',
    '..#..',
    '..#..',
  ]);
  assert.equal(m.findPath({ x: 0, y: 0 }, { x: 4, y: 2 }), null);
  assert.equal(m.findPath({ x: 0, y: 0 }, { x: 2, y: 0 }), null, 'target is a wall');
  assert.equal(m.findPath({ x: 2, y: 1 }, { x: 0, y: 0 }), null, 'start is a wall');
  assert.equal(m.findPath({ x: 0, y: 0 }, { x: 9, y: 0 }), null, 'target off the map');
});

test('bounded work: maxExpanded stops the search', () => {
  const rows = Array.from({ length: 50 }, () => '.'.repeat(50));
  const m = grid(rows);
  assert.ok(m.findPath({ x: 0, y: 0 }, { x: 49, y: 49 }));
  assert.equal(m.findPath({ x: 0, y: 0 }, { x: 49, y: 49 }, { maxExpanded: 10 }), null);
});

test('sweep: A* cost equals a Dijkstra brute force on random maps', () => {
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let round = 0; round < 40; round++) {
    const rows = Array.from({ length: 12 }, () => Array.from({ length: 14 }, () => (rnd() < 0.28 ? '#' : '.')).join(''));
    rows[0] = '.' + rows[0]!.slice(1);
    const m = grid(rows);
    const tiles = m.walkableTiles();
    for (let k = 0; k < 10; k++) {
      const a = tiles[Math.floor(rnd() * tiles.length)]!;
      const b = tiles[Math.floor(rnd() * tiles.length)]!;
      const p = m.findPath(a, b);
      const want = bfsCost(m, a, b);
      if (want === Infinity) assert.equal(p, null);
      else assert.ok(p && Math.abs(cost(m, p) - want) < 1e-9, `round ${round}: (${a.x},${a.y})→(${b.x},${b.y})`);
    }
  }
});

/** Plain Dijkstra with the same step rules, O(n²): the reference. */
function bfsCost(m: SpaceMap, a: Tile, b: Tile): number {
  const dist = new Map<string, number>([[`${a.x},${a.y}`, 0]]);
  const done = new Set<string>();
  for (;;) {
    let best: string | null = null;
    for (const [k, d] of dist) if (!done.has(k) && (best === null || d < dist.get(best)!)) best = k;
    if (best === null) return Infinity;
    const [x, y] = best.split(',').map(Number) as [number, number];
    if (x === b.x && y === b.y) return dist.get(best)!;
    done.add(best);
    for (let dx = -1; dx <= 1; dx++)
      for (let dy = -1; dy <= 1; dy++) {
        if ((dx === 0 && dy === 0) || !m.isWalkable(x + dx, y + dy)) continue;
        if (dx !== 0 && dy !== 0 && !(m.isWalkable(x + dx, y) && m.isWalkable(x, y + dy))) continue;
        const k = `${x + dx},${y + dy}`;
        const nd = dist.get(best)! + (dx !== 0 && dy !== 0 ? Math.SQRT2 : 1);
        if (nd < (dist.get(k) ?? Infinity)) dist.set(k, nd);
      }
  }
}

test('sweep: a single step is legal exactly when path-finding can take it as one step (canStep = one-step paths)', () => {
  // Every 3×3 neighbourhood of walls (512 of them), every step from the centre to each tile around it.
  for (let mask = 0; mask < 512; mask++) {
    const rows = [0, 1, 2].map((y) => [0, 1, 2].map((x) => (x === 1 && y === 1 ? '.' : mask & (1 << (y * 3 + x)) ? '#' : '.')).join(''));
    const m = grid(rows);
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 3; x++) {
        if (x === 1 && y === 1) continue;
        const path = m.findPath({ x: 1, y: 1 }, { x, y });
        const oneStep = path !== null && path.length === 2;
        assert.equal(m.canStep({ x: 1, y: 1 }, { x, y }), oneStep, `${rows.join('/')}: (1,1)→(${x},${y})`);
      }
    }
  }
  const open = grid(['...', '...', '...']);
  assert.equal(open.canStep({ x: 0, y: 0 }, { x: 2, y: 0 }), false, 'two tiles away is not a step');
  assert.equal(open.canStep({ x: 0, y: 0 }, { x: -1, y: 0 }), false, 'off the map');
});
