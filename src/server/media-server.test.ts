import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MediaServer, type Tickable } from './media-server.ts';
import { FakeClock, type TimerHandle } from '../util/clock.ts';
import { createLogger } from '../util/logger.ts';

/** A FakeClock that counts the timers armed and not yet cleared or fired. */
class CountingClock extends FakeClock {
  readonly live = new Set<number>();
  override setInterval(fn: () => void, ms: number): TimerHandle {
    const h = super.setInterval(fn, ms);
    this.live.add(h.id);
    return h;
  }
  override clear(h: TimerHandle): void {
    this.live.delete(h.id);
    super.clear(h);
  }
}

async function start(clock: FakeClock): Promise<MediaServer> {
  return MediaServer.start({ bindIp: '127.0.0.1', port: 0, announcedIp: '127.0.0.1', announcedPort: 0, tcpPort: null, publishDtlsRole: 'client', clock, log: createLogger('error') });
}

describe('MediaServer media loop', () => {
  it('arms no timer while nothing is registered, ticks every 20 ms while something is, and stops after the last leaves', async () => {
    const clock = new CountingClock();
    const media = await start(clock);
    try {
      assert.equal(clock.live.size, 0, 'an empty server has no media loop timer');
      const ticks: number[] = [];
      const t: Tickable = { tick: (now) => void ticks.push(now) };
      media.addTickable(t);
      assert.equal(clock.live.size, 1);
      clock.advance(100);
      assert.deepEqual(ticks, [20, 40, 60, 80, 100]);
      const u: Tickable = { tick: () => undefined };
      media.addTickable(u);
      assert.equal(clock.live.size, 1, 'one loop for all');
      media.removeTickable(t);
      media.removeTickable(u);
      assert.equal(clock.live.size, 0, 'the loop stops with the last one');
      clock.advance(100);
      assert.equal(ticks.length, 5);
      media.addTickable(t);
      clock.advance(20);
      assert.deepEqual(ticks.slice(5), [220]);
    } finally {
      await media.close();
    }
    assert.equal(clock.live.size, 0);
  });

  it('ticks a quiet session every 10th turn (200 ms), and at the next turn once it is no longer quiet', async () => {
    const clock = new CountingClock();
    const media = await start(clock);
    try {
      const ticks: number[] = [];
      const busyTicks: number[] = [];
      const t: Tickable = { quiet: true, onWake: null, tick: (now: number) => void ticks.push(now) };
      const u = { quiet: false, tick: (now: number) => void busyTicks.push(now) };
      media.addTickable(t);
      media.addTickable(u);
      clock.advance(400);
      assert.deepEqual(ticks, [200, 400], 'the quiet one every 10th turn');
      assert.equal(busyTicks.length, 20, 'the busy one every turn');
      media.removeTickable(u);
      clock.advance(1000);
      assert.deepEqual(ticks.slice(2), [600, 800, 1000, 1200, 1400], 'all quiet: the loop itself turns every 200 ms');
      assert.ok(t.onWake, 'the loop gave it a wake-up call');
      (t as { quiet: boolean }).quiet = false;
      t.onWake!();
      clock.advance(60);
      assert.deepEqual(ticks.slice(7), [1420, 1440, 1460], 'woken: every 20 ms at once');
    } finally {
      await media.close();
    }
  });
});

describe('MediaServer once-a-second work', () => {
  it('rides on the loop (no timer of its own), about once a second, with how late the loop ran', async () => {
    // `skew` moves the time the server reads without firing timers: a turn that starts late.
    const clock = new (class extends CountingClock {
      skew = 0;
      override now(): number {
        return super.now() + this.skew;
      }
    })();
    const media = await start(clock);
    try {
      const calls: Array<{ at: number; lag: number }> = [];
      const stop = media.everySecond((lag) => void calls.push({ at: clock.now(), lag }));
      assert.equal(clock.live.size, 0, 'nothing runs while the loop is not armed');
      clock.advance(1000);
      assert.equal(calls.length, 0);
      const t: Tickable = { tick: () => undefined };
      media.addTickable(t);
      assert.equal(clock.live.size, 1, 'still one timer: the loop');
      clock.advance(3000);
      assert.deepEqual(calls.map((c) => c.at - 1000), [20, 1020, 2020], 'once a second from the first turn');
      assert.ok(calls.every((c) => c.lag === 0), 'a fake clock runs every turn on time');
      // A turn that runs 300 ms late (a busy thread) is reported with the next second's work.
      clock.skew = 300;
      clock.advance(1000);
      assert.ok(calls.some((c) => c.lag >= 280), `lag reported: ${JSON.stringify(calls.slice(-2))}`);
      stop();
      const n = calls.length;
      clock.advance(2000);
      assert.equal(calls.length, n, 'stopped');
      media.removeTickable(t);
    } finally {
      await media.close();
    }
  });
});
