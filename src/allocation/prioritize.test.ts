import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prioritize } from './prioritize.ts';
import type { TrackSubscription } from './types.ts';

const audio = (trackId: string, priority: number): TrackSubscription => ({ kind: 'audio', trackId, priority, bitrate: 40_000 });
const video = (trackId: string, priority: number): TrackSubscription => ({ kind: 'video', trackId, priority, layers: [] });
const ids = (subs: readonly TrackSubscription[]): string[] => subs.map((s) => s.trackId);

test('prioritize: all audio first, then video by priority descending, ties by trackId', () => {
  const table: [name: string, input: TrackSubscription[], want: string[]][] = [
    ['empty', [], []],
    ['audio before any video, even a higher-priority one', [video('v', 1000), audio('a', 0)], ['a', 'v']],
    ['video by priority', [video('far', 100), video('close', 550), video('mid', 300)], ['close', 'mid', 'far']],
    ['audio by priority too', [audio('a1', 10), audio('a2', 900)], ['a2', 'a1']],
    ['ties by trackId', [video('c', 450), video('a', 450), video('b', 450)], ['a', 'b', 'c']],
    ['ties by code unit, not locale', [video('b', 1), video('B', 1), video('a', 1)], ['B', 'a', 'b']],
    [
      'mixed',
      [video('v2', 700), audio('a2', 350), video('v1', 1000), audio('a1', 1000), video('v3', 700)],
      ['a1', 'a2', 'v1', 'v2', 'v3'],
    ],
  ];
  for (const [name, input, want] of table) assert.deepEqual(ids(prioritize(input)), want, name);
});

test('prioritize returns a sorted copy and is independent of input order', () => {
  const input = [video('z', 1), audio('y', 5), video('x', 9), video('w', 9), audio('v', 5)];
  const before = ids(input);
  const want = ids(prioritize(input));
  assert.deepEqual(ids(input), before, 'input untouched');
  // Every rotation and the reverse give the same order.
  for (let r = 0; r < input.length; r++) assert.deepEqual(ids(prioritize([...input.slice(r), ...input.slice(0, r)])), want);
  assert.deepEqual(ids(prioritize(input.slice().reverse())), want);
  assert.deepEqual(want, ['v', 'y', 'w', 'x', 'z']);
});
