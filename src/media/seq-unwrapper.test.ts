import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeqUnwrapper, TimestampUnwrapper, seqDelta, seqNewer, tsDelta } from './seq-unwrapper.ts';
import { seededRandom as prng } from '../util/prng.ts';


/** Order 0..n-1 with each element displaced by a few positions. */
function jitteredOrder(n: number, window: number, rnd: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n - 1; i++) {
    const j = Math.min(n - 1, i + Math.floor(rnd() * window));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

test('seqDelta / seqNewer across the 16-bit wrap', () => {
  const cases: [number, number, number][] = [
    [0, 1, 1],
    [1, 0, -1],
    [65535, 0, 1],
    [0, 65535, -1],
    [65530, 5, 11],
    [5, 65530, -11],
    [0, 32767, 32767],
    [0, 32768, -32768],
    [100, 100, 0],
  ];
  for (const [a, b, d] of cases) {
    assert.equal(seqDelta(a, b), d, `${a}->${b}`);
    assert.equal(seqNewer(b, a), d > 0, `${b} newer than ${a}`);
  }
});

test('tsDelta across the 32-bit wrap', () => {
  const cases: [number, number, number][] = [
    [0, 3000, 3000],
    [4294967295, 0, 1],
    [4294966296, 2000, 3000],
    [2000, 4294966296, -3000],
    [0, 0x7fffffff, 0x7fffffff],
    [0, 0x80000000, -0x80000000],
  ];
  for (const [a, b, d] of cases) assert.equal(tsDelta(a, b), d, `${a}->${b}`);
});

test('seq unwrap: in-order and reordered sweep starting at every seq near the wrap', () => {
  const rnd = prng(1);
  const starts = [...Array.from({ length: 200 }, (_, i) => 65336 + i), 0, 1, 32767, 32768];
  for (const start of starts) {
    const u = new SeqUnwrapper();
    const order = jitteredOrder(1500, 6, rnd);
    const first = order[0];
    for (const i of order) {
      const seq = (start + i) & 0xffff;
      const expected = ((start + first) & 0xffff) + (i - first);
      assert.equal(u.unwrap(seq), expected, `start ${start} index ${i}`);
    }
    assert.equal(u.highestExt, ((start + first) & 0xffff) + (1499 - first));
  }
});

test('seq unwrap: late packet before the first one across the wrap goes negative, not +65535', () => {
  const u = new SeqUnwrapper();
  assert.equal(u.unwrap(0), 0);
  assert.equal(u.unwrap(65535), -1);
  assert.equal(u.unwrap(1), 1);
  assert.equal(u.highestExt, 1);
});

test('seq peek does not move the reference', () => {
  const u = new SeqUnwrapper();
  u.unwrap(65000);
  assert.equal(u.peek(100), 65636);
  assert.equal(u.highestExt, 65000);
  // 100 is still read relative to 65000, so 32000 is forward, 32800 is backward.
  assert.equal(u.peek(32000), 97536);
  assert.equal(u.peek(32800), 32800);
  u.reset();
  assert.equal(u.hasValue, false);
  assert.equal(u.unwrap(7), 7);
});

test('timestamp unwrap: reordered sweep across 2^32 with video frame steps', () => {
  const rnd = prng(2);
  for (let k = 0; k < 50; k++) {
    const start = 0x1_0000_0000 - 3000 * k - 1;
    const u = new TimestampUnwrapper();
    const order = jitteredOrder(400, 5, rnd);
    const first = order[0];
    const base = (start + 3000 * first) % 0x1_0000_0000;
    for (const i of order) {
      const ts = (start + 3000 * i) % 0x1_0000_0000;
      assert.equal(u.unwrap(ts), base + 3000 * (i - first), `k ${k} i ${i}`);
    }
  }
});
