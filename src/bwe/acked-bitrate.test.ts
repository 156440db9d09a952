import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckedBitrate } from './acked-bitrate.ts';

/** 1000-byte packets every `everyMs` from `fromMs` to `toMs`, calling rate() after each as feedback would. */
function feed(a: AckedBitrate, fromMs: number, toMs: number, everyMs: number): void {
  for (let t = fromMs; t < toMs; t += everyMs) {
    a.add(t, 1000);
    a.rate();
  }
}

test('rate: bytes over the last 500 ms of arrivals; 0 until 250 ms of history', () => {
  const a = new AckedBitrate();
  feed(a, 0, 200, 8); // 1 Mbit/s
  assert.equal(a.rate(), 0);
  feed(a, 200, 1000, 8);
  assert.ok(Math.abs(a.rate() - 1_000_000) < 30_000, `${a.rate()}`);
});

test('peakRate: a pause in arrivals reads the 500 ms rate low, the peak of the last second does not; it forgets after the window', () => {
  const a = new AckedBitrate();
  feed(a, 0, 1000, 8); // 1 Mbit/s
  // 300 ms with nothing arriving (a stall, a delay step), then the same rate again for 100 ms.
  feed(a, 1300, 1400, 8);
  assert.ok(a.rate() < 500_000, `the window spans the pause: ${a.rate()}`);
  assert.ok(a.peakRate(1000) > 950_000, `the peak of the last second: ${a.peakRate(1000)}`);
  // A second and a half at a quarter of the rate: the peak is that rate now.
  feed(a, 1400, 2900, 32);
  assert.ok(a.peakRate(1000) < 300_000, `the old peak is forgotten: ${a.peakRate(1000)}`);
  assert.equal(a.peakRate(0), 0);
  a.reset();
  assert.equal(a.peakRate(1000), 0);
});
