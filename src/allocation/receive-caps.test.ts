import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyReceiveCaps, spatialFitting } from './receive-caps.ts';
import { allocate, ladderOf } from './allocate.ts';
import { prioritize } from './prioritize.ts';
import type { LayerOption, TrackSubscription, VideoSubscription } from './types.ts';

const layers = (heights: number[]): LayerOption[] =>
  heights.flatMap((h, s) => [0, 1, 2].map((t) => ({ spatial: s, temporal: t, bitrate: (s + 1) * (s + 1) * 100_000 * (t + 1), height: h, width: (h * 16) / 9 })));

const video = (id: string, priority: number, heights = [180, 360, 720]): VideoSubscription => ({ kind: 'video', trackId: id, priority, layers: layers(heights) });

test('maxVideos pauses the lowest-priority videos, never audio', () => {
  const subs: TrackSubscription[] = prioritize([video('far', 100), { kind: 'audio', trackId: 'a', priority: 100, bitrate: 40_000 }, video('near', 900), video('mid', 500)]);
  const out = applyReceiveCaps(subs, { maxVideos: 2 });
  assert.deepEqual(
    out.map((s) => [s.trackId, s.muted ?? false]),
    [
      ['a', false],
      ['near', false],
      ['mid', false],
      ['far', true],
    ],
  );
  const alloc = allocate(10_000_000, out, null);
  assert.equal(alloc.tracks.find((t) => t.trackId === 'far')!.target, null);
  assert.equal(alloc.tracks.find((t) => t.trackId === 'far')!.reason, 'muted');
  assert.equal(applyReceiveCaps(subs, { maxVideos: 0 }).filter((s) => s.muted).length, 3);
});

test('maxHeight becomes each publisher’s own spatial cap; nothing fitting leaves the lowest layer', () => {
  assert.equal(spatialFitting(layers([180, 360, 720]), 360), 1);
  assert.equal(spatialFitting(layers([90, 180, 360]), 360), 2);
  assert.equal(spatialFitting(layers([360, 720]), 100), -1);
  assert.equal(spatialFitting([], 100), null);
  const [a, b] = applyReceiveCaps([video('a', 1, [180, 360, 720]), video('b', 0, [90, 180, 360])], { maxHeight: 360 }) as VideoSubscription[];
  assert.equal(a.maxSpatial, 1);
  assert.equal(b.maxSpatial, 2);
  const [c] = applyReceiveCaps([video('c', 1, [360, 720])], { maxHeight: 100 }) as VideoSubscription[];
  assert.deepEqual(
    ladderOf(c).map((l) => [l.spatial, l.temporal]),
    [[0, 0]],
    'caps limit upgrades, not visibility',
  );
});

test('caps only tighten: an existing tighter cap stays, maxTemporal applies', () => {
  const [v] = applyReceiveCaps([{ ...video('v', 1), maxSpatial: 0, maxTemporal: 0 }], { maxHeight: 720, maxTemporal: 1 }) as VideoSubscription[];
  assert.equal(v.maxSpatial, 0);
  assert.equal(v.maxTemporal, 0);
  const [w] = applyReceiveCaps([video('w', 1)], { maxTemporal: 1 }) as VideoSubscription[];
  assert.equal(w.maxTemporal, 1);
  assert.ok(ladderOf(w).every((l) => l.temporal <= 1));
});
