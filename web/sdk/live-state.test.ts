import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowWatch, MAX_GAP_MS, MIN_GAP_MS, rtpBytes } from './live-state.ts';

test('a growing counter is flowing; one that stopped is not, from the next sample on', () => {
  const w = new FlowWatch();
  assert.equal(w.observe(0, 1000), null, 'one sample proves nothing');
  assert.equal(w.observe(100, 2000), null, 'nor two closer than MIN_GAP_MS');
  assert.equal(w.observe(MIN_GAP_MS, 3000), true);
  assert.equal(w.observe(500, 9000), true);
  assert.equal(w.observe(800, 9000), false, 'nothing left for 300 ms');
  assert.equal(w.observe(1100, 9000), false);
  assert.equal(w.observe(1400, 9500), true, 'flows again');
  assert.equal(w.observe(1450, 9600), true, 'judged against the sample at 1100, not the one 50 ms ago');
});

test('a baseline older than MAX_GAP_MS says nothing; a counter that went back starts over', () => {
  const w = new FlowWatch();
  w.observe(0, 1000);
  assert.equal(w.observe(MAX_GAP_MS + 1, 5000), null);
  const v = new FlowWatch();
  v.observe(0, 5000);
  assert.equal(v.observe(500, 100), null, 'a new connection: no baseline yet');
  assert.equal(v.observe(800, 200), true);
});

test('rtpBytes sums one direction only', () => {
  const r = [
    { type: 'outbound-rtp', bytesSent: 10 },
    { type: 'outbound-rtp', bytesSent: 5 },
    { type: 'inbound-rtp', bytesReceived: 7 },
    { type: 'transport', bytesSent: 1000 },
  ];
  assert.equal(rtpBytes(r, 'outbound'), 15);
  assert.equal(rtpBytes(r, 'inbound'), 7);
});
