import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StallMonitor } from './stall-monitor.ts';
import { FrameTracker } from './frame-tracker.ts';
import { FakeClock, systemClock } from '../../../src/util/clock.ts';

describe('StallMonitor', () => {
  it('sums the blocked time that falls inside an interval', () => {
    const m = new StallMonitor(new FakeClock());
    m.record(100, 150);
    m.record(300, 400);
    assert.equal(m.blockedMs(0, 1000), 150);
    assert.equal(m.blockedMs(120, 350), 30 + 50);
    assert.equal(m.blockedMs(500, 600), 0);
    m.close();
  });

  it('notices a real blocked event loop', async () => {
    const m = new StallMonitor(systemClock);
    await new Promise((r) => setTimeout(r, 30));
    const t0 = systemClock.now();
    while (systemClock.now() - t0 < 120); // block the loop
    await new Promise((r) => setTimeout(r, 30));
    const blocked = m.blockedMs(t0 - 50, systemClock.now());
    m.close();
    assert.ok(blocked >= 90 && blocked <= 160, `blocked ${blocked} ms`);
  });
});

describe('FrameTracker with the generator’s stalls', () => {
  const run = (stallMs: number) => {
    const m = new StallMonitor(new FakeClock());
    const t = new FrameTracker(200, (a, b) => m.blockedMs(a, b));
    // 15 fps, one gap of 300 ms after frame 5, during which the generator was blocked for `stallMs`.
    let at = 0;
    for (let f = 0; f < 12; f++) {
      at += f === 6 ? 300 : 66;
      if (f === 6) m.record(at - stallMs - 10, at - 10);
      t.onPacket(f, f * 6000, true, true, f === 0, at);
    }
    m.close();
    return t.stats;
  };

  it('a gap that is a freeze only because the generator stalled is counted apart', () => {
    const s = run(150);
    assert.equal(s.freezes, 0);
    assert.equal(s.generatorFreezes, 1);
  });

  it('a gap that stays a freeze without the stall is the server’s', () => {
    const s = run(50);
    assert.equal(s.freezes, 1);
    assert.equal(s.generatorFreezes, 0);
  });
});
