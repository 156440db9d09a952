import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AbuseMeter, IngressLimiter, TokenBucket } from './rate-limit.ts';
import { youngBytesAllocated } from '../rtp/test-alloc.ts';

// First: earlier tests feeding whole-number times would leave V8 type feedback the packet path never sees
// (clock times are fractions), and code deoptimised a few times boxes its numbers.
test('admit allocates nothing', () => {
  const l = new IngressLimiter({ bitsPerS: 8_000_000, packetsPerS: 1000, windowMs: 500, closeAfterMs: 2000 });
  const clock = new Float64Array(1);
  const bytes = youngBytesAllocated(() => {
    for (let i = 0; i < 10_000; i++) {
      clock[0] += 0.3;
      l.admit(1200, clock[0]);
    }
  });
  assert.ok(bytes < 4000, `${bytes} bytes for 10,000 packets`);
});

test('token bucket: a burst, then the rate', () => {
  const b = new TokenBucket(10, 5);
  let ok = 0;
  for (let i = 0; i < 20; i++) if (b.take(0)) ok++;
  assert.equal(ok, 5, 'the burst');
  ok = 0;
  for (let t = 0; t <= 1000; t += 10) if (b.take(t)) ok++;
  assert.ok(ok >= 9 && ok <= 10, `${ok} ≈ 10 per second afterwards`);
  assert.equal(b.take(1000, 100), false, 'a cost above what is there takes nothing');
});

test('abuse meter: one burst of refusals is not abuse, refusals that go on are', () => {
  const m = new AbuseMeter(3000, 1000);
  for (let t = 0; t < 500; t += 10) assert.equal(m.note(t), false);
  // Quiet for 2 s: the streak starts over.
  for (let t = 2500; t < 5400; t += 100) assert.equal(m.note(t), false, `${t}`);
  assert.equal(m.note(5500), true);
});

test('ingress limiter: bytes and packets per second; refusals sustained mark the sender abusive', () => {
  const l = new IngressLimiter({ bitsPerS: 8_000_000, packetsPerS: 1000, windowMs: 500, closeAfterMs: 2000 });
  // 1 MB/s = 1000 × 1000 bytes: what fits passes. Offer 2000 packets/s of 1000 bytes for 3 s.
  let ok = 0;
  let t = 0;
  for (; t < 3000; t += 1) for (let k = 0; k < 2; k++) if (l.admit(1000, t + 0.25)) ok++; // clock times are fractions
  assert.ok(ok > 3000 && ok < 3600, `${ok} of 6000 admitted (3000 + the 500 ms window)`);
  assert.ok(l.abusive, 'refusals for 3 s');
  // Small packets hit the packet rate, not the byte rate.
  const s = new IngressLimiter({ bitsPerS: 8_000_000, packetsPerS: 100, windowMs: 500, closeAfterMs: 2000 });
  ok = 0;
  for (let i = 0; i < 1000; i++) if (s.admit(60, i + 0.25)) ok++;
  assert.ok(ok >= 140 && ok <= 160, `${ok}`);
  assert.equal(s.abusive, false);
});
