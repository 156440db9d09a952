import { test } from 'node:test';
import assert from 'node:assert/strict';
import { youngBytesAllocated } from '../rtp/test-alloc.ts';
import { FB_LOST, FB_NONE, FB_RECEIVED, SendHistory } from './send-history.ts';

test('lookup returns send time, size and probe cluster of a sent seq; unknown seqs are -1', () => {
  const h = new SendHistory({ capacity: 64 });
  assert.equal(h.lookup(5, 0), -1, 'empty history');
  for (let s = 10; s < 20; s++) h.add(s, 100 + s, s * 2, s === 15 ? 3 : -1);
  const slot = h.lookup(15, 40);
  assert.ok(slot >= 0);
  assert.equal(h.sendMsAt(slot), 30);
  assert.equal(h.sizeAt(slot), 115);
  assert.equal(h.clusterAt(slot), 3);
  assert.equal(h.statusAt(slot), FB_NONE);
  assert.equal(h.clusterAt(h.lookup(16, 40)), -1);
  assert.equal(h.lookup(9, 40), -1, 'before the first');
  assert.equal(h.lookup(20, 40), -1, 'not sent yet');
  assert.equal(h.sent, 10);
});

test('16-bit wrap-around: seqs on both sides of 65535 → 0 stay distinct and findable', () => {
  const h = new SendHistory({ capacity: 64 });
  const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 4, 5];
  seqs.forEach((s, i) => h.add(s, 1000 + i, i));
  assert.equal(h.highestSeq, 65536 + 5, 'unwrapped past 65535');
  seqs.forEach((s, i) => {
    const slot = h.lookup(s, 20);
    assert.ok(slot >= 0, `seq ${s}`);
    assert.equal(h.sizeAt(slot), 1000 + i, `seq ${s}`);
    assert.equal(h.seqAt(slot), s >= 65530 ? s : 65536 + s);
  });
  // Several wraps later the same 16-bit seq names the newest packet, never a stale one.
  const h2 = new SendHistory({ capacity: 16 });
  for (let i = 0; i < 3 * 65536 + 10; i++) h2.add(i & 0xffff, i % 1500, i);
  const slot = h2.lookup(5, 3 * 65536 + 10);
  assert.equal(h2.seqAt(slot), 3 * 65536 + 5);
  assert.equal(h2.sendMsAt(slot), 3 * 65536 + 5);
});

test('the ring forgets overwritten packets and counts those that never got feedback', () => {
  const h = new SendHistory({ capacity: 16 });
  for (let s = 0; s < 16; s++) h.add(s, 100, s);
  // Feedback for the first four before they are overwritten.
  for (let s = 0; s < 4; s++) h.setStatus(h.lookup(s, 16), s % 2 ? FB_LOST : FB_RECEIVED);
  for (let s = 16; s < 40; s++) h.add(s, 100, s);
  assert.equal(h.lookup(0, 40), -1);
  assert.equal(h.lookup(23, 40), -1, 'overwritten by 39');
  assert.ok(h.lookup(24, 40) >= 0, 'the last 16 remain');
  assert.ok(h.lookup(39, 40) >= 0);
  assert.equal(h.evictedUnacked, 24 - 4);
});

test('packets older than maxAgeMs are not matched any more', () => {
  const h = new SendHistory({ capacity: 64, maxAgeMs: 1000 });
  h.add(1, 100, 0);
  h.add(2, 100, 500);
  assert.ok(h.lookup(1, 1000) >= 0);
  assert.equal(h.lookup(1, 1001), -1, 'aged out');
  assert.ok(h.lookup(2, 1001) >= 0);
});

test('a seq sent out of order (lower than the highest) is still recorded; one older than the ring is ignored', () => {
  const h = new SendHistory({ capacity: 16 });
  for (let s = 100; s < 110; s++) h.add(s, 100, s);
  h.add(95, 50, 111);
  assert.equal(h.sizeAt(h.lookup(95, 111)), 50);
  h.add(80, 50, 112); // 29 behind the highest with a 16-slot ring
  assert.equal(h.lookup(80, 112), -1);
  assert.equal(h.highestSeq, 109);
});

test('add() does not allocate', () => {
  const h = new SendHistory();
  let seq = 0;
  const bytes = youngBytesAllocated(() => {
    for (let i = 0; i < 10_000; i++, seq++) h.add(seq & 0xffff, 1200, seq, i & 1 ? -1 : 2);
  });
  assert.ok(bytes < 16_000, `young generation grew ${bytes} bytes`);
});
