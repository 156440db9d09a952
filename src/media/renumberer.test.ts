import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Renumberer } from './renumberer.ts';

test('15-bit PictureIDs: wrap, skipped pictures numbered away, a new mapping continues the output', () => {
  const r = new Renumberer(15);
  assert.ok(Number.isNaN(r.map(5)), 'nothing maps before reset');
  r.reset(0x7ffd, 100);
  assert.equal(r.map(0x7ffd), 100);
  assert.equal(r.map(0x7ffd), 100, 'another packet of the same picture');
  assert.equal(r.skip(0x7ffe), true);
  assert.equal(r.skip(0x7ffe), true, 'the dropped picture’s second packet');
  assert.equal(r.map(0x7fff), 101);
  assert.equal(r.skip(0), true);
  assert.equal(r.skip(1), true);
  assert.equal(r.map(2), 102, 'across the wrap');
  assert.ok(Number.isNaN(r.map(0x7ffe)), 'a skipped picture stays dropped');
  assert.equal(r.map(0x7fff), 101, 'a late packet keeps its number');
  assert.equal(r.skip(0x7fff), false, 'cannot skip what was mapped');
  assert.ok(Number.isNaN(r.map(0x7ffc)), 'before the start');
  // Another source (a simulcast switch) continues after the highest output.
  r.reset(9000, 103);
  assert.equal(r.map(9000), 103);
  assert.equal(r.map(9001), 104);
  assert.ok(Number.isNaN(r.map(2)), 'the old source no longer maps');
});

test('7-bit PictureIDs wrap at 128', () => {
  const r = new Renumberer(7);
  r.reset(126, 0);
  assert.equal(r.map(126), 0);
  assert.equal(r.map(127), 1);
  assert.equal(r.map(0), 2);
  assert.equal(r.map(1), 3);
});
