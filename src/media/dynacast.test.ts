import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layerRequested, OFF_AFTER_MS, type LayerDemand } from './dynacast.ts';

const d = (o: Partial<LayerDemand>): LayerDemand => ({ wanted: false, sending: true, requested: true, lowest: false, unwantedSinceMs: 0, ...o });

test('layerRequested: every combination', () => {
  const now = 10_000;
  const cases: Array<[string, LayerDemand, boolean]> = [
    ['wanted: on', d({ wanted: true, requested: false, sending: false, unwantedSinceMs: -1 }), true],
    ['the lowest: on, even unwanted', d({ lowest: true, requested: false }), true],
    ['off and unwanted: stays off', d({ requested: false }), false],
    ['unwanted for less than OFF_AFTER_MS: kept', d({ unwantedSinceMs: now - OFF_AFTER_MS + 1 }), true],
    ['unwanted for OFF_AFTER_MS: off', d({ unwantedSinceMs: now - OFF_AFTER_MS }), false],
    ['asked for but not sending: never turned off', d({ sending: false, unwantedSinceMs: now - 60_000 }), true],
  ];
  for (const [what, demand, want] of cases) assert.equal(layerRequested(demand, now), want, what);
});
