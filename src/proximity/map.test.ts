import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAP_URL, MapError, loadSpaceMap, parseSpaceMap, type SpaceMapJson } from './map.ts';

const small = (): SpaceMapJson => ({
  name: 'small',
  width: 6,
  height: 4,
  tiles: ['######', '#..s.#', '#.d..#', '######'],
  areas: [
    { id: 'st', name: 'Stage', kind: 'stage', rects: [{ x: 3, y: 1, w: 2, h: 1 }] },
    { id: 'pv', name: 'Nook', kind: 'private', rects: [{ x: 1, y: 2, w: 2, h: 1 }] },
  ],
  spawn: { x: 1, y: 1 },
});

test('a valid map: walkability, areas, stage, blocked tiles', () => {
  const m = parseSpaceMap(small());
  assert.deepEqual([m.name, m.width, m.height], ['small', 6, 4]);
  assert.equal(m.isWalkable(1, 1), true);
  assert.equal(m.isWalkable(2, 2), false, "'d' desk blocks");
  assert.equal(m.isWalkable(0, 0), false, "'#' wall blocks");
  assert.equal(m.isWalkable(-1, 1), false);
  assert.equal(m.isWalkable(6, 1), false);
  assert.equal(m.isWalkable(1.5, 1), false, 'positions are whole tiles');
  assert.equal(m.isStage(3, 1), true);
  assert.equal(m.isStage(4, 1), true, 'a stage area tile is stage whatever its character');
  assert.equal(m.isStage(2, 1), false);
  assert.equal(m.areaAt(3, 1)?.id, 'st');
  assert.equal(m.areaAt(1, 2)?.id, 'pv');
  assert.equal(m.privateAreaAt(1, 2), 'pv');
  assert.equal(m.privateAreaAt(3, 1), null, 'a stage is not private');
  assert.equal(m.areaAt(1, 1), null);
  assert.deepEqual(m.area('pv')!.tiles, [{ x: 1, y: 2 }], 'area tiles leave out the desk');
  assert.equal(m.blockedTiles().length, 6 * 4 - 7);
  assert.deepEqual(
    m.blockedTiles().find(([x, y]) => x === 2 && y === 2),
    [2, 2],
  );
  assert.equal(m.walkableTiles().length, 7);
  assert.equal(m.charAt(3, 1), 's');
});

test('the shipped office map parses and has what it promises', () => {
  const m = loadSpaceMap(DEFAULT_MAP_URL);
  assert.ok(m.width >= 30 && m.height >= 20);
  assert.ok(m.isWalkable(m.spawn.x, m.spawn.y));
  const meeting = m.area('meeting')!;
  const stage = m.area('stage')!;
  assert.equal(meeting.kind, 'private');
  assert.equal(stage.kind, 'stage');
  assert.ok(stage.tiles.length >= 10 && stage.tiles.every((t) => m.isStage(t.x, t.y)));
  assert.equal(m.areas.filter((a) => a.kind === 'private').length, 2);
  // The meeting room's door: a gap in its wall, outside the private area, reachable from the spawn.
  const door = { x: 6, y: 9 };
  assert.equal(m.isWalkable(door.x, door.y), true);
  assert.equal(m.privateAreaAt(door.x, door.y), null);
  assert.equal(m.privateAreaAt(door.x, door.y - 1), 'meeting');
  const path = m.findPath(m.spawn, { x: 3, y: 2 })!;
  assert.ok(path, 'the meeting room is reachable from the spawn');
  assert.ok(path.some((t) => t.y === 9 && (t.x === 6 || t.x === 7)), 'through the door');
  // Every stage tile and every private tile is reachable from the spawn.
  for (const a of m.areas) for (const t of a.tiles) assert.ok(m.findPath(m.spawn, t), `${a.id} (${t.x},${t.y}) unreachable`);
});

test('map errors name the field, row and column', () => {
  const cases: [what: string, edit: (j: SpaceMapJson) => unknown, message: RegExp][] = [
    ['not an object', () => 'office', /\(root\)/],
    ['missing name', (j) => ({ ...j, name: undefined }), /name:/],
    ['unknown field', (j) => ({ ...j, colour: 'red' }), /colour/],
    ['width not an integer', (j) => ({ ...j, width: 6.5 }), /width:/],
    ['bad area kind', (j) => ({ ...j, areas: [{ ...j.areas![0]!, kind: 'public' }] }), /areas\.0\.kind/],
    ['empty rects', (j) => ({ ...j, areas: [{ ...j.areas![0]!, rects: [] }] }), /areas\.0\.rects/],
    ['too few rows', (j) => ({ ...j, tiles: j.tiles.slice(0, 3) }), /tiles: 3 rows, height says 4/],
    ['short row', (j) => ({ ...j, tiles: ['######', '#..s#', '#.d..#', '######'] }), /tiles\[1\]: 5 columns, width says 6/],
    ['space in a row', (j) => ({ ...j, tiles: ['######', '#..s.#', '#. ..#', '######'] }), /tiles\[2\] column 2/],
    ['spawn on a wall', (j) => ({ ...j, spawn: { x: 0, y: 1 } }), /spawn: \(0,1\) is not walkable/],
    ['spawn on a desk', (j) => ({ ...j, spawn: { x: 2, y: 2 } }), /spawn: \(2,2\) is not walkable \('d'\)/],
    ['spawn outside', (j) => ({ ...j, spawn: { x: 9, y: 1 } }), /spawn: \(9,1\) is outside/],
    ['area past the edge', (j) => ({ ...j, areas: [{ ...j.areas![0]!, rects: [{ x: 4, y: 1, w: 3, h: 1 }] }] }), /areas\[0\] 'st'\.rects\[0\].*extends past/],
    ['overlapping areas', (j) => ({ ...j, areas: [j.areas![0]!, { ...j.areas![1]!, rects: [{ x: 3, y: 1, w: 1, h: 2 }] }] }), /areas\[1\] 'pv'.*overlaps areas\[0\] 'st' at \(3,1\)/],
    ['duplicate area id', (j) => ({ ...j, areas: [j.areas![0]!, { ...j.areas![1]!, id: 'st' }] }), /areas\[1\] 'st': duplicate id/],
    ['area on walls only', (j) => ({ ...j, areas: [j.areas![0]!, { ...j.areas![1]!, rects: [{ x: 0, y: 0, w: 2, h: 1 }] }] }), /'pv': covers no walkable tile/],
    ['stage floor outside a stage', (j) => ({ ...j, tiles: ['######', '#s.s.#', '#.d..#', '######'] }), /tiles\[1\] column 1: 's'/],
  ];
  for (const [what, edit, message] of cases) {
    assert.throws(
      () => parseSpaceMap(edit(small())),
      (e: unknown) => e instanceof MapError && message.test(e.message),
      what,
    );
  }
  // Every problem at once, not only the first.
  try {
    parseSpaceMap({ ...small(), spawn: { x: 0, y: 0 }, areas: [{ id: 'x', name: 'X', kind: 'stage', rects: [{ x: 5, y: 3, w: 2, h: 2 }] }] });
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof MapError);
    assert.equal(e.issues.length, 4, e.message); // rect past the edge, area with no tile, 's' outside a stage, spawn
  }
});

test('loadSpaceMap: unreadable file and bad JSON are MapErrors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxima-map-'));
  assert.throws(() => loadSpaceMap(join(dir, 'missing.json')), (e: unknown) => e instanceof MapError && /cannot read/.test(e.message));
  writeFileSync(join(dir, 'bad.json'), '{ "name": ');
  assert.throws(() => loadSpaceMap(join(dir, 'bad.json')), (e: unknown) => e instanceof MapError && /not valid JSON/.test(e.message));
  writeFileSync(join(dir, 'ok.json'), JSON.stringify(small()));
  assert.equal(loadSpaceMap(join(dir, 'ok.json')).name, 'small');
});
