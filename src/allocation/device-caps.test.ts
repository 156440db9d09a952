import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPS_LEVELS, INITIAL_DEVICE_CAPS, nextDeviceCaps, OVERLOAD_REPORTS, RECOVER_MS, floorOf, overloadOf, type DeviceCapsState, type DeviceReport } from './device-caps.ts';

const healthy: DeviceReport = { receive: { intervalMs: 2000, videos: 4, framesDecoded: 240, framesDropped: 0, decodeMs: 1200 } };
const slow: DeviceReport = { receive: { intervalMs: 2000, videos: 4, framesDecoded: 100, framesDropped: 0, decodeMs: 4000 } };

function run(reports: DeviceReport[], from: DeviceCapsState = INITIAL_DEVICE_CAPS, every = 2000): DeviceCapsState[] {
  const out: DeviceCapsState[] = [];
  let s = from;
  reports.forEach((r, i) => out.push((s = nextDeviceCaps(s, r, i * every))));
  return out;
}

test('overload causes: slow decode, dropped frames, a CPU-limited encoder; too few frames say nothing', () => {
  assert.equal(overloadOf(healthy), null);
  assert.equal(overloadOf(slow), 'decode_slow');
  assert.equal(overloadOf({ receive: { intervalMs: 2000, videos: 2, framesDecoded: 50, framesDropped: 20, decodeMs: 100 } }), 'frames_dropped');
  assert.equal(overloadOf({ publish: { qualityLimitationReason: 'cpu' } }), 'encoder_cpu');
  assert.equal(overloadOf({ publish: { qualityLimitationReason: 'bandwidth' } }), null, 'the uplink is the publisher’s business, not a decoding limit');
  assert.equal(overloadOf({ receive: { intervalMs: 2000, videos: 1, framesDecoded: 3, framesDropped: 0, decodeMs: 900 } }), null);
});

test('sustained overload steps down one level per OVERLOAD_REPORTS reports, to the last level and no further', () => {
  const states = run(Array(40).fill(slow));
  const levels = states.map((s) => s.level);
  assert.equal(levels[OVERLOAD_REPORTS - 2] ?? 0, 0, 'one bad report is not enough');
  assert.equal(levels[OVERLOAD_REPORTS - 1], 1);
  for (let i = 1; i < levels.length; i++) assert.ok(levels[i] - levels[i - 1] <= 1 && levels[i] >= levels[i - 1], 'never more than one step, never up while overloaded');
  assert.equal(levels[levels.length - 1], CAPS_LEVELS.length - 1);
  assert.deepEqual(states[states.length - 1].caps, CAPS_LEVELS[CAPS_LEVELS.length - 1]);
});

test('recovery: one level per RECOVER_MS of health, not past the device floor', () => {
  const down = run(Array(8).fill(slow));
  const reached = down[down.length - 1].level;
  assert.ok(reached >= 3);
  const n = Math.ceil((RECOVER_MS * (reached + 2)) / 2000);
  const up = run(Array(n).fill({ ...healthy, device: { cores: 2 } }), down[down.length - 1]);
  const levels = up.map((s) => s.level);
  for (let i = 1; i < levels.length; i++) assert.ok(levels[i] <= levels[i - 1] && levels[i - 1] - levels[i] <= 1);
  assert.equal(levels[levels.length - 1], floorOf({ cores: 2 }), 'stops at the 2-core floor');
  // Relaxing is slow: no step within the first RECOVER_MS.
  assert.equal(levels[Math.floor(RECOVER_MS / 2000) - 1], reached);
});

test('an intermittent overload (one bad report in three) never escalates', () => {
  const states = run(Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? slow : healthy)));
  assert.ok(states.every((s) => s.level === 0));
});

test('the UI’s limits always apply, tightening the level’s caps', () => {
  const s = nextDeviceCaps(INITIAL_DEVICE_CAPS, { ...healthy, limits: { maxVideos: 2, maxHeight: 1080 } }, 0);
  assert.deepEqual(s.caps, { maxVideos: 2, maxHeight: 1080 });
  const t = run(Array(4).fill(slow), s);
  assert.equal(t[t.length - 1].caps.maxVideos, 2);
  assert.ok((t[t.length - 1].caps.maxHeight ?? Infinity) <= 360);
  // Limits persist until a report changes them.
  assert.equal(nextDeviceCaps(s, healthy, 1).caps.maxVideos, 2);
});

test('device hints: weak devices start capped', () => {
  assert.equal(floorOf({ cores: 8, memoryGb: 8 }), 0);
  assert.equal(floorOf({ cores: 2 }), 1);
  assert.equal(floorOf({ cores: 1 }), 2);
  assert.equal(floorOf({ mobile: true, cores: 8 }), 2);
  assert.equal(nextDeviceCaps(INITIAL_DEVICE_CAPS, { device: { mobile: true } }, 0).caps.maxHeight, 360);
});
