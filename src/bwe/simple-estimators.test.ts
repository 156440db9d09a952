import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BandwidthEstimator, TwccFeedback } from './estimator.ts';
import { NullEstimator } from './null-estimator.ts';
import { RembEstimator } from './remb-estimator.ts';

const FB: TwccFeedback = {
  type: 'twcc',
  senderSsrc: 1,
  mediaSsrc: 2,
  baseSeq: 0,
  statusCount: 1,
  referenceTime: 0,
  fbPktCount: 0,
  recvOffset: new Uint16Array([0]),
  recvArrivalUs: new Float64Array([100]),
  symbols: new Uint8Array([1]),
  arrivalUs: new Float64Array([100]),
};

test('null estimator: a fixed budget (unlimited by default) whatever happens', () => {
  const unlimited: BandwidthEstimator = new NullEstimator();
  assert.equal(unlimited.estimate(0), Infinity);
  const fixed: BandwidthEstimator = new NullEstimator(2_000_000);
  for (let i = 0; i < 100; i++) fixed.onPacketSent(i, 1200, i, i % 2 === 0);
  fixed.onTransportFeedback(FB, 100);
  fixed.onRemb?.(100_000, 100);
  assert.equal(fixed.estimate(1e6), 2_000_000);
  const st = fixed.stats();
  assert.equal(st.kind, 'null');
  assert.equal(st.estimateBps, 2_000_000);
  assert.equal(st.feedbacks, 1);
  assert.throws(() => new NullEstimator(0), RangeError);
});

test('REMB estimator: follows the receiver, bounded; initial value until the first REMB', () => {
  const e = new RembEstimator({ initialBps: 500_000, minBps: 50_000, maxBps: 3_000_000 });
  assert.equal(e.estimate(0), 500_000);
  e.onRemb(1_200_000, 100);
  assert.equal(e.estimate(100), 1_200_000);
  e.onRemb(10_000, 200);
  assert.equal(e.estimate(200), 50_000, 'clamped to min');
  e.onRemb(1e9, 300);
  assert.equal(e.estimate(300), 3_000_000, 'clamped to max');
  e.onRemb(NaN, 400);
  e.onRemb(-5, 400);
  assert.equal(e.estimate(400), 3_000_000, 'garbage ignored');
  e.onTransportFeedback(FB, 500);
  assert.equal(e.estimate(500), 3_000_000, 'transport-cc feedback is not its signal');
  assert.equal(e.stats().kind, 'remb');
  assert.equal(e.stats().feedbacks, 3);
});

test('REMB estimator: a REMB that stops arriving halves the estimate per stale period', () => {
  const e = new RembEstimator({ minBps: 100_000, staleMs: 5000 });
  e.onRemb(1_600_000, 0);
  assert.equal(e.estimate(4999), 1_600_000);
  assert.equal(e.estimate(5000), 800_000);
  assert.equal(e.estimate(7000), 800_000, 'once per period');
  assert.equal(e.estimate(15_000), 200_000);
  assert.equal(e.estimate(60_000), 100_000, 'floor');
  e.onRemb(900_000, 60_001);
  assert.equal(e.estimate(60_001), 900_000);
});
