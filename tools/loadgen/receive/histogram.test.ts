import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram } from './histogram.ts';
import { seededRandom } from '../../../src/util/prng.ts';

describe('Histogram', () => {
  it('is empty until the first sample', () => {
    const h = new Histogram();
    assert.ok(Number.isNaN(h.percentile(50)));
    assert.ok(Number.isNaN(h.mean));
  });

  it('gives percentiles within 2% of the exact ones over a sweep of distributions', () => {
    const rnd = seededRandom(3);
    for (const scale of [0.5, 5, 50, 500]) {
      const h = new Histogram();
      const xs: number[] = [];
      for (let i = 0; i < 5000; i++) {
        const x = scale * (1 + 3 * rnd() ** 3); // skewed
        xs.push(x);
        h.add(x);
      }
      xs.sort((a, b) => a - b);
      for (const p of [1, 50, 90, 99]) {
        const exact = xs[Math.ceil((p / 100) * xs.length) - 1]!;
        const got = h.percentile(p);
        assert.ok(Math.abs(got - exact) / exact <= 0.021, `scale ${scale} p${p}: ${got} vs ${exact}`);
      }
      assert.equal(h.percentile(100), xs[xs.length - 1]);
    }
  });

  it('merges counts, sums and extremes', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 100; i++) (i % 2 ? a : b).add(i);
    a.merge(b);
    assert.equal(a.count, 100);
    assert.equal(a.mean, 50.5);
    assert.equal(a.max, 100);
    assert.equal(a.min, 1);
    assert.ok(Math.abs(a.percentile(50) - 50) <= 1);
  });

  it('ignores non-finite samples and clamps negatives to 0', () => {
    const h = new Histogram();
    h.add(NaN);
    h.add(Infinity);
    h.add(-5);
    assert.equal(h.count, 1);
    assert.equal(h.percentile(50), 0);
  });
});

test('toJSON/fromJSON carry a histogram to another process; reset empties it', () => {
  const h = new Histogram();
  for (let i = 1; i <= 1000; i++) h.add(i / 10);
  const copy = Histogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())));
  for (const p of [1, 50, 99, 100]) assert.equal(copy.percentile(p), h.percentile(p));
  assert.equal(copy.count, 1000);
  assert.equal(copy.max, 100);
  h.reset();
  assert.equal(h.count, 0);
  assert.ok(Number.isNaN(h.percentile(50)));
  const empty = Histogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())));
  assert.ok(Number.isNaN(empty.percentile(99)));
  copy.merge(empty);
  assert.equal(copy.max, 100);
});
