import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overlapArea, placeLabels, type LabelItem } from './label-layout.ts';

const TILE = 32;
/** A person on tile (x, y) with a label `w` px wide, as the map view draws them. */
const at = (id: string, x: number, y: number, w = 70): LabelItem => ({ id, cx: (x + 0.5) * TILE, cy: (y + 0.5) * TILE, r: TILE * 0.42, w, h: 18 });

function assertNoOverlaps(items: LabelItem[]): void {
  const placed = placeLabels(items);
  assert.equal(placed.length, items.length);
  for (let i = 0; i < placed.length; i++) {
    for (let j = i + 1; j < placed.length; j++) assert.equal(overlapArea(placed[i]!, placed[j]!), 0, `${placed[i]!.id} and ${placed[j]!.id} overlap`);
    for (const it of items) {
      if (it.id === placed[i]!.id) continue;
      const face = { x: it.cx - it.r, y: it.cy - it.r, w: 2 * it.r, h: 2 * it.r };
      assert.equal(overlapArea(placed[i]!, face), 0, `${placed[i]!.id}'s label covers ${it.id}`);
    }
  }
}

test('alone, the label sits centred under the avatar', () => {
  const [p] = placeLabels([at('a', 5, 5)]);
  assert.equal(p!.x + p!.w / 2, 5.5 * TILE);
  assert.ok(p!.y > 5.5 * TILE + TILE * 0.42, 'below the avatar');
});

test('two people side by side: both labels readable, none on a face', () => {
  assertNoOverlaps([at('a', 5, 5), at('b', 6, 5)]);
});

test('five people in a row, in a block, and on one tile: no label covers another or a face', () => {
  assertNoOverlaps([0, 1, 2, 3, 4].map((i) => at(`p${i}`, 10 + i, 10, 60 + i * 10)));
  assertNoOverlaps([at('a', 10, 10), at('b', 11, 10), at('c', 10, 11), at('d', 11, 11), at('e', 12, 11)]);
  // The map view fans people on one tile out by up to 0.7 tiles: nearly on top of each other.
  assertNoOverlaps([0, 1, 2].map((i) => ({ ...at(`s${i}`, 20, 20), cx: (20.5 + (i - 1) * 0.53) * TILE })));
});

test('the order given is the priority: with two labels wanting the same room, the first keeps its place under the avatar', () => {
  const [you, other] = placeLabels([at('you', 5, 5, 90), at('b', 6, 5, 90)]);
  assert.equal(you!.x + you!.w / 2, 5.5 * TILE);
  assert.ok(you!.y > 5.5 * TILE);
  assert.equal(overlapArea(you!, other!), 0);
  assert.notEqual(other!.y, you!.y, 'the second moved out of the way');
});

test('a label never covers the face of someone standing right below', () => {
  assertNoOverlaps([at('you', 5, 5), at('b', 5, 6)]);
});
