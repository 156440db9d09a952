import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AFFINITY_HEADROOM, choosePlacement } from './worker-pool.ts';

const w = (score: number, near = 0, alive = true) => ({ alive, score, near });

test('without neighbours anywhere: the least busy live worker', () => {
  assert.equal(choosePlacement([w(0.5), w(0.2), w(0.3)]), 1);
  assert.equal(choosePlacement([w(0.5), w(0.2, 0, false), w(0.3)]), 2, 'a dead worker is never chosen');
  assert.equal(choosePlacement([w(0, 0, false)]), -1);
});

test('neighbours pull the newcomer to their worker within the headroom, not beyond it', () => {
  for (let extra = 0; extra <= 0.3 + 1e-9; extra += 0.01) {
    const got = choosePlacement([w(0.2), w(0.2 + extra, 3)]);
    assert.equal(got, extra <= AFFINITY_HEADROOM + 1e-12 ? 1 : 0, `neighbours' worker ${extra.toFixed(2)} busier`);
  }
});

test('the worker with most neighbours wins; a tie goes to the less busy one; dead ones never', () => {
  assert.equal(choosePlacement([w(0.1, 1), w(0.15, 4), w(0.1, 2)]), 1);
  assert.equal(choosePlacement([w(0.2, 2), w(0.1, 2), w(0.05)]), 1);
  assert.equal(choosePlacement([w(0.1, 5, false), w(0.2, 1), w(0.3)]), 1);
});
