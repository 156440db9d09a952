import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROBE_FACTOR, PROBE_INITIAL_FACTOR, Prober, type ProbeCluster } from './prober.ts';

/** Sends the cluster as `n` packets of `size` bytes every `sendGapMs`, arriving every `recvGapMs`. */
function runCluster(p: Prober, c: ProbeCluster, n: number, size: number, sendGapMs: number, recvGapMs: number, lost = 0): number {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(p.onProbeSent(size, c.startMs + i * sendGapMs));
  for (let i = 0; i < n; i++) p.onProbeFeedback(ids[i], i < lost ? NaN : 5000 + i * recvGapMs, size);
  return p.evaluate(c.startMs + 200);
}

test('never probes when the estimate already covers what the subscriber wants', () => {
  const p = new Prober();
  for (let t = 0; t < 60_000; t += 5) {
    assert.equal(p.plan(t, 1_000_000, 1_000_000), null);
    assert.equal(p.plan(t, 1_000_000, 500_000), null);
    assert.equal(p.plan(t, 1_000_000, 0), null);
  }
  assert.equal(p.stats.clustersStarted, 0);
});

test('initial cluster at 3× the estimate, capped at wanted × 1.25; none while one is in flight', () => {
  const p = new Prober();
  const c = p.plan(0, 1_000_000, 10_000_000)!;
  assert.equal(c.reason, 'initial');
  assert.equal(c.targetBps, PROBE_INITIAL_FACTOR * 1_000_000);
  assert.equal(c.bytes, Math.ceil((3_000_000 * 15) / 8000), '15 ms worth');
  assert.equal(c.minPackets, 10);
  assert.ok(c.deadlineMs > c.startMs);
  for (let t = 1; t < 100; t++) assert.equal(p.plan(t, 1_000_000, 10_000_000), null);
  const q = new Prober();
  assert.equal(q.plan(0, 1_000_000, 2_000_000)!.targetBps, 2_500_000);
});

test('a cluster the path carried continues exponentially at 2×; a saturated one stops and periodic takes over', () => {
  const p = new Prober();
  const c1 = p.plan(0, 1_000_000, 20_000_000)!;
  // 10 × 1000 B every 2 ms = 4 Mbps sent... received at the same spacing: not saturated. A cluster proves
  // at most what it tried (3 Mbps).
  const r1 = runCluster(p, c1, 10, 1000, 2, 2);
  assert.equal(r1, c1.targetBps);
  assert.ok(r1 >= 0.7 * c1.targetBps);
  // The estimator took the result: the next plan continues at 2× it.
  const c2 = p.plan(300, r1, 20_000_000)!;
  assert.equal(c2.reason, 'exponential');
  assert.equal(c2.targetBps, PROBE_FACTOR * r1);
  // Sent at 8 Mbps, received at 2 Mbps: the bottleneck was saturated, 95 % of the receive rate is taken.
  const r2 = runCluster(p, c2, 10, 1000, 1, 4);
  assert.ok(Math.abs(r2 - 0.95 * 2_000_000) < 1, `${r2}`);
  assert.equal(p.plan(600, 2_000_000, 20_000_000), null, 'below 70 % of the target: no exponential step');
  assert.equal(p.plan(1299, 2_000_000, 20_000_000), null, 'periodic: 1 s after the last cluster started');
  const c3 = p.plan(1300, 2_000_000, 20_000_000)!;
  assert.equal(c3.reason, 'periodic');
  assert.equal(c3.targetBps, 4_000_000);
  // Saturated again at what the estimate already is: nothing found, the periodic interval doubles…
  assert.ok(runCluster(p, c3, 10, 1000, 1, 4) < 1.2 * 2_000_000);
  assert.equal(p.plan(3299, 2_000_000, 20_000_000), null, 'backed off to 2 s');
  const c4 = p.plan(3300, 2_000_000, 20_000_000)!;
  assert.equal(c4.reason, 'periodic');
  runCluster(p, c4, 10, 1000, 1, 4);
  assert.equal(p.plan(5299, 2_000_000, 20_000_000), null, 'and no more than 2 s');
  const c5 = p.plan(5300, 2_000_000, 20_000_000)!;
  // …and a periodic cluster that finds room (the weather cleared) brings it back to 1 s.
  assert.ok(runCluster(p, c5, 10, 1000, 2, 2) >= 1.2 * 2_000_000);
  const c6 = p.plan(5600, 3_800_000, 20_000_000)!;
  assert.equal(c6.reason, 'exponential');
  runCluster(p, c6, 10, 1000, 1, 4);
  assert.equal(p.plan(6599, 3_800_000, 20_000_000), null);
  assert.equal(p.plan(6600, 3_800_000, 20_000_000)!.reason, 'periodic', '1 s again');
});

test('no exponential step when the estimate did not hold the result (e.g. overuse followed)', () => {
  const p = new Prober();
  const c1 = p.plan(0, 1_000_000, 20_000_000)!;
  const r1 = runCluster(p, c1, 10, 1000, 2, 2);
  assert.ok(r1 > 0);
  assert.equal(p.plan(300, 0.5 * r1, 20_000_000), null);
});

test('unusable clusters: too many lost, too few received, or no feedback in time', () => {
  const p = new Prober();
  const c1 = p.plan(0, 1_000_000, 20_000_000)!;
  assert.equal(runCluster(p, c1, 10, 1000, 2, 2, 3), 0, '30 % lost');
  const c2 = p.plan(3000, 1_000_000, 20_000_000)!;
  assert.equal(runCluster(p, c2, 3, 1000, 2, 2), 0, '3 packets');
  const c3 = p.plan(6000, 1_000_000, 20_000_000)!;
  for (let i = 0; i < 8; i++) p.onProbeSent(1000, 6000 + i);
  assert.equal(p.evaluate(6100), 0, 'still waiting for feedback');
  assert.equal(p.plan(c3.deadlineMs + 500, 1_000_000, 20_000_000), null);
  assert.equal(p.plan(c3.deadlineMs + 1001, 1_000_000, 20_000_000), null, 'times out (and gives up) here');
  assert.equal(p.stats.clustersFailed, 3);
  assert.ok(p.plan(c3.deadlineMs + 1002, 1_000_000, 20_000_000) === null, 'failed periodic clusters back off (to 2 s at most)');
  assert.equal(p.plan(7999, 1_000_000, 20_000_000), null);
  assert.ok(p.plan(8000, 1_000_000, 20_000_000) !== null);
});

test('probe packets count for the running cluster only until its bytes and packets are sent', () => {
  const p = new Prober();
  const c = p.plan(0, 100_000, 1_000_000)!; // 300 kbps × 15 ms = 563 bytes, 10 packets
  assert.equal(p.activeClusterId, c.id);
  for (let i = 0; i < 10; i++) assert.equal(p.onProbeSent(200, i), c.id);
  assert.equal(p.activeClusterId, -1);
  assert.equal(p.onProbeSent(200, 11), -1, 'the cluster is complete');
  // Feedback for an older cluster id is ignored.
  p.onProbeFeedback(c.id + 7, 100, 200);
});

test('a cluster whose deadline passes stops counting packets', () => {
  const p = new Prober();
  const c = p.plan(0, 1_000_000, 20_000_000)!;
  assert.equal(p.onProbeSent(1000, 1), c.id);
  assert.equal(p.onProbeSent(1000, c.deadlineMs), -1);
});

test('a cluster our own late loop sent too slowly to test the path does not back the periodic probes off', () => {
  const p = new Prober();
  const c1 = p.plan(0, 1_000_000, 20_000_000)!;
  runCluster(p, c1, 10, 1000, 1, 4); // saturated: periodic from now on
  const c2 = p.plan(1000, 1_000_000, 20_000_000)!;
  assert.equal(c2.reason, 'periodic');
  // Planned at 2 Mbps, sent at 10 × 1000 B over 45 ms (~1.6 Mbps… spread to 0.4 Mbps by a busy loop: one
  // packet every 20 ms), received at that spacing: the path was never tested at the target.
  const r = runCluster(p, c2, 10, 1000, 20, 20);
  assert.ok(r < 1.2 * 1_000_000, `${r}`);
  assert.equal(p.stats.clustersSentShort, 1);
  assert.ok(p.plan(2000, 1_000_000, 20_000_000) !== null, 'probes again after 1 s, not 2');
});

test('on a jittery path a cluster spans ten times the jitter (up to 200 ms), and one that arrived as a burst is dropped', () => {
  const p = new Prober();
  const c = p.plan(0, 1_000_000, 10_000_000, 12)!;
  assert.equal(c.bytes, Math.ceil((3_000_000 * 120) / 8000), '120 ms worth at 12 ms of jitter');
  assert.ok(c.deadlineMs - c.startMs >= 240, 'time to send it');
  // All 40 packets left over 117 ms and arrived within 39 ms: a release burst, not the path's rate.
  assert.equal(runCluster(p, c, 40, 1250, 3, 1), 0);
  assert.equal(p.stats.clustersCompressed, 1);
  const q = new Prober();
  assert.equal(q.plan(0, 1_000_000, 10_000_000, 80)!.bytes, Math.ceil((3_000_000 * 200) / 8000), 'capped at 200 ms');
});
