import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VoiceActivity } from './voice-activity.ts';

/** Feeds levels (one per 20 ms packet) and returns the times (packet index) at which speaking flipped. */
function run(levels: number[]): Array<[number, boolean]> {
  const v = new VoiceActivity();
  const flips: Array<[number, boolean]> = [];
  levels.forEach((l, i) => {
    if (v.onLevel(l)) flips.push([i, v.speaking]);
  });
  return flips;
}

const silence = (n: number) => Array<number>(n).fill(120);
const voice = (n: number) => Array<number>(n).fill(30);

test('silence never counts as speaking', () => {
  assert.deepEqual(run(silence(500)), []);
});

test('voice turns speaking on within ~120 ms and off 1 s after it stops', () => {
  const flips = run([...silence(50), ...voice(100), ...silence(100)]);
  assert.equal(flips.length, 2);
  const [on, off] = flips;
  assert.equal(on[1], true);
  assert.ok(on[0] - 50 <= 6, `on after ${(on[0] - 50) * 20} ms`);
  assert.equal(off[1], false);
  const offDelay = off[0] - 150;
  assert.equal(offDelay * 20, 980, 'off after the 1 s hangover (the 50th quiet packet)');
});

test('pauses between words, or a tone beeping every half second, do not flip it', () => {
  const speech: number[] = [];
  for (let w = 0; w < 20; w++) speech.push(...voice(12), ...silence(3)); // 240 ms words, 60 ms gaps
  for (let b = 0; b < 20; b++) speech.push(...voice(5), ...silence(20)); // 100 ms beep, 400 ms silence
  const flips = run([...silence(10), ...speech]);
  assert.equal(flips.length, 1, 'on once, stays on');
});

test('a single loud click is not speech', () => {
  assert.deepEqual(run([...silence(20), ...voice(2), ...silence(50)]), []);
});
