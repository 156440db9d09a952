import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckedBitrate } from './acked-bitrate.ts';
import { AIMD_BETA, AimdRateControl, expectedPacketBytes } from './aimd-rate-control.ts';
import { PacketGrouper, TrendlineDetector } from './delay-based.ts';
import { LossBasedControl } from './loss-based.ts';

/** Feeds `groups` groups 10 ms apart whose one-way delay grows by `growMs` each; returns the signals. */
function trend(growMs: number, groups: number, d = new TrendlineDetector()): string[] {
  const out: string[] = [];
  for (let i = 1; i <= groups; i++) out.push(d.update(10, 10 + growMs, i * (10 + growMs)));
  return out;
}

test('trendline: a growing queue is overuse, a draining one underuse, a steady one normal', () => {
  const over = trend(1, 40);
  const firstOver = over.indexOf('overuse');
  assert.ok(firstOver >= 19 && firstOver < 25, `overuse after the window fills, got index ${firstOver}`);
  assert.equal(trend(-1, 40).at(-1), 'underuse');
  assert.ok(trend(0, 60).every((s) => s === 'normal'));
});

test('trendline: the threshold adapts to the noise level and stays within [6, 600]', () => {
  const d = new TrendlineDetector();
  // Alternating ±3 ms delay variation: noise, no trend.
  for (let i = 1; i <= 500; i++) d.update(10, i % 2 ? 13 : 7, i * 10);
  assert.ok(d.threshold >= 6 && d.threshold < 12.5, `threshold ${d.threshold}`);
  assert.notEqual(d.signal, 'overuse');
});

test('grouper: packets sent within 5 ms form one group; deltas compare the last packets of groups', () => {
  const g = new PacketGrouper();
  // Group A: sent 0,2,4 arriving 50,52,54. Group B: 10,12 → 61,63. Group C starts at 20.
  const pkts: Array<[number, number]> = [[0, 50], [2, 52], [4, 54], [10, 61], [12, 63], [20, 70]];
  const done: Array<[number, number]> = [];
  for (const [s, a] of pkts) if (g.add(s, a)) done.push([g.sendDelta, g.arrivalDelta]);
  assert.deepEqual(done, [[12 - 4, 63 - 54]]);
});

test('grouper: a packet that queued behind the previous one (burst delivery) joins its group', () => {
  const g = new PacketGrouper();
  // Sent 0 and 8 (two send groups) but the second arrived 1 ms after the first: delivered as a burst.
  assert.equal(g.add(0, 100), false);
  assert.equal(g.add(8, 101), false);
  // Had 8 started its own group, this would complete it (with 0 as predecessor) and return true.
  assert.equal(g.add(20, 120), false, 'first completed group has no predecessor');
  assert.equal(g.add(40, 140), true);
  // The merged group ends with the packet sent at 8 that arrived at 101.
  assert.deepEqual([g.sendDelta, g.arrivalDelta], [20 - 8, 120 - 101]);
});

test('grouper: packets sent before the current group (reordered) are ignored; long gaps reset', () => {
  const g = new PacketGrouper();
  g.add(0, 10);
  g.add(10, 20);
  assert.equal(g.add(5, 21), false);
  assert.equal(g.add(20, 30), true);
  assert.deepEqual([g.sendDelta, g.arrivalDelta], [10, 10]);
  assert.equal(g.add(30, 5000), false, 'gap > 3 s: starts over, no delta across it');
  assert.equal(g.add(40, 5010), false);
});

test('AIMD: overuse cuts to 0.85 × received rate, underuse holds, normal grows ≤ 8 %/s far from congestion', () => {
  const a = new AimdRateControl(1_000_000, 30_000, 20_000_000);
  a.update('normal', 2_000_000, 0, 0);
  a.update('normal', 2_000_000, 0, 1000);
  assert.ok(a.bps > 1_070_000 && a.bps <= 1_081_001, `multiplicative ${a.bps}`);
  a.update('overuse', 900_000, 0, 1100);
  assert.equal(a.bps, AIMD_BETA * 900_000);
  assert.equal(a.lastAction, 'decrease');
  const held = a.bps;
  a.update('underuse', 900_000, 0, 1200);
  assert.equal(a.bps, held);
  assert.equal(a.lastAction, 'hold');
  // Near the last congestion point (received ≈ 900 kbps): additive, one expected packet per (RTT + 100 ms).
  a.update('normal', 800_000, 0, 1300); // hold → increase
  a.update('normal', 800_000, 0, 2300);
  const perS = (expectedPacketBytes(held) * 8 * 1000) / (100 + 100);
  assert.ok(Math.abs(a.bps - held - perS) < perS * 0.2, `additive ${a.bps - held} vs ${perS}`);
  // The decrease uses the recent (200 ms) rate when it is higher than the 500 ms one.
  a.update('overuse', 500_000, 800_000, 2400);
  assert.equal(a.bps, AIMD_BETA * 800_000);
});

test('AIMD: growth is capped at 1.5 × the received rate (app-limited), never cut by that cap', () => {
  const a = new AimdRateControl(1_000_000, 30_000, 20_000_000);
  for (let t = 0; t <= 30_000; t += 50) a.update('normal', 300_000, 0, t);
  assert.equal(a.bps, 1_000_000, 'already above 1.5 × 300k + 10k: held, not lowered');
  const b = new AimdRateControl(200_000, 30_000, 20_000_000);
  for (let t = 0; t <= 30_000; t += 50) b.update('normal', 300_000, 0, t);
  assert.ok(b.bps <= 1.5 * 300_000 + 10_000 + 1 && b.bps > 400_000, `${b.bps}`);
});

test('loss-based: < 2 % grows, 2–10 % holds, > 10 % cuts by (1 − 0.5·p) at most once per RTT + 300 ms', () => {
  const l = new LossBasedControl(1_000_000, 30_000, 20_000_000);
  l.onFeedback(0, 100, 0, 0);
  l.onFeedback(1, 100, 0, 1000); // 1 %
  assert.ok(l.bps > 1_070_000 && l.bps < 1_090_000, `${l.bps}`);
  const grown = l.bps;
  l.onFeedback(5, 100, 0, 2000); // 5 %
  assert.equal(l.bps, grown);
  l.onFeedback(20, 100, 0, 2100); // 20 %
  assert.equal(l.bps, grown * 0.9);
  l.onFeedback(40, 100, 0, 2200); // again, but within RTT + 300 ms of the last cut
  assert.equal(l.bps, grown * 0.9);
  l.onFeedback(40, 100, 0, 2500);
  assert.equal(l.bps, grown * 0.9 * 0.8);
  // Windows need 100 packets, or 20 packets and 1 s.
  const w = new LossBasedControl(1_000_000, 30_000, 20_000_000);
  w.onFeedback(10, 19, 0, 0);
  w.onFeedback(0, 0, 0, 5000);
  assert.equal(w.bps, 1_000_000);
  w.onFeedback(5, 10, 0, 5100);
  assert.equal(w.bps, 1_000_000 * (1 - 0.5 * (15 / 29)));
  // Reports recovered later (first "lost", then received) do not count as loss.
  const r = new LossBasedControl(1_000_000, 30_000, 20_000_000);
  r.onFeedback(30, 90, 0, 0);
  r.onFeedback(0, 10, 30, 100);
  assert.equal(r.lossFraction, 0);
});

test('loss-based: 2–10 % loss with no queue building is the medium’s and lets the estimate grow; above 10 % it cuts once it lasts', () => {
  const l = new LossBasedControl(1_000_000, 30_000, 20_000_000);
  l.onFeedback(0, 100, 0, 0, false);
  l.onFeedback(5, 100, 0, 1000, false); // 5 %, no queue
  assert.ok(l.bps > 1_070_000 && l.bps < 1_090_000, `${l.bps}`);
  const grown = l.bps;
  l.onFeedback(5, 100, 0, 2000, true); // 5 % while a queue builds: congestion, hold
  assert.equal(l.bps, grown);
  // Over 10 % without a queue: a blackout's losses, reported at once, hold; the same loss a second later
  // (a policer keeps dropping) cuts.
  l.onFeedback(20, 100, 0, 3000, false);
  assert.equal(l.bps, grown);
  l.onFeedback(20, 100, 0, 3100, false);
  assert.equal(l.bps, grown);
  l.onFeedback(20, 100, 0, 4000, false);
  assert.equal(l.bps, grown * 0.9);
  assert.equal(l.outageHolds, 2);
  // With a queue, high loss is congestion and cuts at once.
  const q = new LossBasedControl(1_000_000, 30_000, 20_000_000);
  q.onFeedback(0, 100, 0, 0, true);
  q.onFeedback(20, 100, 0, 1000, true);
  assert.equal(q.bps, 900_000);
});

test('acked bitrate: bytes over the last 500 ms of receiver time; unknown until 250 ms of history', () => {
  const a = new AckedBitrate();
  for (let t = 0; t < 200; t += 10) a.add(1000 + t, 1250); // 1 Mbps
  assert.equal(a.rate(), 0);
  for (let t = 200; t < 2000; t += 10) a.add(1000 + t, 1250);
  assert.ok(Math.abs(a.rate() - 1_000_000) < 30_000, `${a.rate()}`);
  for (let t = 2000; t < 2200; t += 5) a.add(1000 + t, 1250); // jumps to 2 Mbps for 200 ms
  assert.ok(a.rate() < 1_500_000);
  assert.ok(Math.abs(a.recentRate(200) - 2_000_000) < 60_000, `${a.recentRate(200)}`);
});
