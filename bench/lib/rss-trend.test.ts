import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rssTrend } from './rss-trend.ts';

test('a flat noisy series with one high last sample reads as small growth', () => {
  // Like the hour's soak: 367–411 MB with no trend, its last sample the highest.
  const xs = Array.from({ length: 49 }, (_, i) => 375 + ((i * 7) % 11) - 5);
  xs.push(410);
  const t = rssTrend(xs);
  assert.equal(t.k, 10);
  assert.ok((xs.at(-1)! - xs[0]!) / xs[0]! > 0.05, 'the single samples alone would flag it');
  assert.ok(Math.abs(t.growth) < 0.02, `growth ${t.growth}`);
});

test('a steady climb reads as large growth', () => {
  const xs = Array.from({ length: 50 }, (_, i) => 300 + i * 2); // +2 MB a wave
  const t = rssTrend(xs);
  assert.equal(t.k, 10);
  assert.equal(t.firstMedianMb, 309);
  assert.equal(t.lastMedianMb, 389);
  assert.ok(t.growth > 0.25, `growth ${t.growth}`);
});

test('fewer than 3 waves: windows of one, from what exists', () => {
  assert.deepEqual(rssTrend([100, 110]), { k: 1, firstMedianMb: 100, lastMedianMb: 110, growth: 0.1 });
  assert.deepEqual(rssTrend([100]), { k: 1, firstMedianMb: 100, lastMedianMb: 100, growth: 0 });
});

test('K is a third of the waves up to 10', () => {
  assert.equal(rssTrend(Array(9).fill(1)).k, 3);
  assert.equal(rssTrend(Array(40).fill(1)).k, 10);
});
