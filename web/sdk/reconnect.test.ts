import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconnectDelay, reconnectOrder } from './reconnect.ts';

test('backoff: 250 ms first, doubling, capped at 2 s, jittered ±25 %', () => {
  const mid = () => 0.5;
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((r) => reconnectDelay(r, mid)), [250, 500, 1000, 2000, 2000, 2000]);
  assert.equal(reconnectDelay(0, () => 0), 188);
  assert.equal(reconnectDelay(0, () => 0.999999), 312);
  assert.equal(reconnectDelay(9, () => 0.999999), 2500);
  const seen = new Set(Array.from({ length: 50 }, () => reconnectDelay(2)));
  assert.ok(seen.size > 10, 'pages spread out');
  for (const d of seen) assert.ok(d >= 750 && d <= 1250, String(d));
});

test('order: the node we were on first (a resume is possible only there), then the others; a draining one last', () => {
  const n = ['ws://a/ws', 'ws://b/ws', 'ws://c/ws'];
  assert.deepEqual(reconnectOrder('ws://b/ws', n, false), ['ws://b/ws', 'ws://a/ws', 'ws://c/ws']);
  assert.deepEqual(reconnectOrder('ws://b/ws', n, true), ['ws://a/ws', 'ws://c/ws', 'ws://b/ws']);
  assert.deepEqual(reconnectOrder('ws://x/ws', [], false), ['ws://x/ws'], 'a single server');
  assert.deepEqual(reconnectOrder('ws://x/ws', [], true), ['ws://x/ws']);
  assert.deepEqual(reconnectOrder('ws://x/ws', ['ws://x/ws'], true), ['ws://x/ws']);
});
