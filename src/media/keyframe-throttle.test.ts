import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import { KeyframeThrottle, ScheduledKeyframeThrottle } from './keyframe-throttle.ts';

test('one request per window; a throttled one becomes due at the end of the window', () => {
  const k = new KeyframeThrottle(500);
  const steps: [op: 'req' | 'due', at: number, want: boolean][] = [
    ['req', 0, true],
    ['req', 100, false],
    ['due', 499, false],
    ['req', 300, false],
    ['due', 500, true],
    ['due', 600, false], // nothing pending any more
    ['req', 700, false], // window restarted at 500
    ['due', 999, false],
    ['due', 1000, true],
    ['req', 1600, true],
    ['due', 5000, false],
  ];
  for (const [op, at, want] of steps) {
    assert.equal(op === 'req' ? k.shouldRequest(at) : k.due(at), want, `${op} @${at}`);
  }
});

test('dueAtMs and keyframe arrival clearing the pending request', () => {
  const k = new KeyframeThrottle(300);
  assert.equal(k.dueAtMs, null);
  assert.equal(k.shouldRequest(1000), true);
  assert.equal(k.shouldRequest(1100), false);
  assert.equal(k.isPending, true);
  assert.equal(k.dueAtMs, 1300);
  k.onKeyframe();
  assert.equal(k.isPending, false);
  assert.equal(k.due(1300), false);
  // After the window a fresh request goes straight out.
  assert.equal(k.shouldRequest(1300), true);
});

test('scheduled throttle sends immediately, coalesces requests, and sends the pending one on time', () => {
  const clock = new FakeClock();
  const sent: number[] = [];
  const k = new ScheduledKeyframeThrottle(clock, () => sent.push(clock.now()), 500);
  k.request();
  clock.advance(100);
  k.request();
  clock.advance(100);
  k.request();
  clock.advance(1000);
  assert.deepEqual(sent, [0, 500]);
  k.request(); // at 1200: window from 500 is over
  assert.deepEqual(sent, [0, 500, 1200]);
  clock.advance(10);
  k.request();
  k.onKeyframe(); // satisfied: nothing more is sent
  clock.advance(2000);
  assert.deepEqual(sent, [0, 500, 1200]);
  k.request();
  clock.advance(10);
  k.request();
  k.close();
  clock.advance(2000);
  assert.deepEqual(sent, [0, 500, 1200, 3210]);
});

test('a pending request survives a timer that fires before the window has ended', () => {
  // A clock whose timers fire 1 ms early, like Node's millisecond timers against performance.now().
  class EarlyClock extends FakeClock {
    override setTimeout(fn: () => void, ms: number) {
      return super.setTimeout(fn, ms > 1 ? ms - 1 : ms);
    }
  }
  const clock = new EarlyClock();
  let sent = 0;
  const t = new ScheduledKeyframeThrottle(clock, () => sent++, 500);
  t.request();
  clock.advance(100);
  t.request();
  assert.equal(sent, 1);
  clock.advance(1000);
  assert.equal(sent, 2, 'the pending request was sent after all');
});
