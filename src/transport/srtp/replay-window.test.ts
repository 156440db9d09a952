import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPLAY_DUPLICATE, REPLAY_OK, REPLAY_TOO_OLD, ReplayWindow } from './replay-window.ts';

test('replay window verdicts (size 64), table-driven', () => {
  // [accepted indices, probe, expected verdict]
  const cases: Array<[number[], number, number]> = [
    [[], 0, REPLAY_OK],
    [[], 123456, REPLAY_OK],
    [[10], 10, REPLAY_DUPLICATE],
    [[10], 11, REPLAY_OK],
    [[10], 9, REPLAY_OK], // below top, inside window, never seen
    [[100, 90], 90, REPLAY_DUPLICATE],
    [[100, 90], 91, REPLAY_OK],
    [[100], 37, REPLAY_OK], // delta 63: last slot
    [[100], 36, REPLAY_TOO_OLD], // delta 64: just outside
    [[0, 1, 2, 3], 2, REPLAY_DUPLICATE],
    [[5, 200], 5, REPLAY_TOO_OLD], // window jumped past it
    [[5, 40], 5, REPLAY_DUPLICATE], // shift by 35 crosses a word boundary and keeps the bit
    [[5, 69], 5, REPLAY_TOO_OLD],
    [[5, 68], 5, REPLAY_DUPLICATE],
    [[1, 33, 65], 33, REPLAY_DUPLICATE],
    [[1, 33, 65], 1, REPLAY_TOO_OLD], // delta 64
    [[1, 33, 64], 1, REPLAY_DUPLICATE], // delta 63 after two cross-word shifts
    [[1, 33, 64], 2, REPLAY_OK],
    [[2 ** 47, 2 ** 47 + 40], 2 ** 47, REPLAY_DUPLICATE], // 48-bit indices
  ];
  for (const [accepted, probe, want] of cases) {
    const w = new ReplayWindow(64);
    for (const i of accepted) w.accept(i);
    assert.equal(w.check(probe), want, `after ${accepted.join(',')} probe ${probe}`);
  }
});

test('check() never changes state; accept() of an old index keeps top', () => {
  const w = new ReplayWindow(128);
  w.accept(500);
  for (let i = 0; i < 1000; i++) w.check(i);
  assert.equal(w.top, 500);
  assert.equal(w.check(499), REPLAY_OK);
  w.accept(499);
  assert.equal(w.top, 500);
  assert.equal(w.check(499), REPLAY_DUPLICATE);
  assert.equal(w.check(500 - 127), REPLAY_OK);
  assert.equal(w.check(500 - 128), REPLAY_TOO_OLD);
});

test('every index in a long shuffled run is accepted once and then reported duplicate', () => {
  const w = new ReplayWindow(128);
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let base = 0; base < 5000; base += 16) {
    const block = Array.from({ length: 16 }, (_, i) => base + i).sort(() => rnd() - 0.5);
    for (const i of block) {
      assert.equal(w.check(i), REPLAY_OK, `first ${i}`);
      w.accept(i);
      assert.equal(w.check(i), REPLAY_DUPLICATE, `again ${i}`);
    }
  }
});

test('window sizes are validated and rounded up to 32', () => {
  assert.equal(new ReplayWindow(64).size, 64);
  assert.equal(new ReplayWindow(100).size, 128);
  for (const bad of [0, 31, 1.5, NaN, 40000]) assert.throws(() => new ReplayWindow(bad), RangeError, String(bad));
});
