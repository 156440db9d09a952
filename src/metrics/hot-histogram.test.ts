import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HotHistogram, addCounts } from './hot-histogram.ts';
import { createMetricsRegistry, histograms } from './registry.ts';

describe('HotHistogram', () => {
  it('counts each value in the first bucket whose bound it does not exceed, the rest above the last', () => {
    const h = new HotHistogram([1, 5, 10]);
    for (const v of [0, 1, 1.5, 5, 9, 10, 11, 1000]) h.observe(v);
    assert.deepEqual(h.snapshot(), { counts: [2, 2, 2, 2], sum: 1037.5 });
  });

  it('refuses bounds that do not ascend', () => {
    assert.throws(() => new HotHistogram([1, 1]), /ascend/);
    assert.throws(() => new HotHistogram([5, 2]), /ascend/);
  });

  it('adds counts of the same bounds and ignores a snapshot of other bounds', () => {
    const a = { counts: [1, 2, 3], sum: 10 };
    addCounts(a, { counts: [1, 1, 1], sum: 2 });
    assert.deepEqual(a, { counts: [2, 3, 4], sum: 12 });
    addCounts(a, { counts: [9, 9], sum: 99 });
    assert.deepEqual(a, { counts: [2, 3, 4], sum: 12 });
  });
});

describe('metrics registry', () => {
  it('exports hot histograms as cumulative Prometheus buckets in seconds', async () => {
    const h = histograms.walkInFirstFrame;
    h.reset();
    h.observe(40); // ≤ 50 ms
    h.observe(450); // ≤ 500 ms
    h.observe(60_000); // above every bound
    const text = await createMetricsRegistry().metrics();
    assert.match(text, /# TYPE proxima_walk_in_first_frame_seconds histogram/);
    assert.match(text, /proxima_walk_in_first_frame_seconds_bucket\{le="0.05"\} 1\n/);
    assert.match(text, /proxima_walk_in_first_frame_seconds_bucket\{le="0.3"\} 1\n/);
    assert.match(text, /proxima_walk_in_first_frame_seconds_bucket\{le="0.5"\} 2\n/);
    assert.match(text, /proxima_walk_in_first_frame_seconds_bucket\{le="5"\} 2\n/);
    assert.match(text, /proxima_walk_in_first_frame_seconds_bucket\{le="\+Inf"\} 3\n/);
    assert.match(text, /proxima_walk_in_first_frame_seconds_sum 60.49\n/);
    assert.match(text, /proxima_walk_in_first_frame_seconds_count 3\n/);
    const got = await createMetricsRegistry().getSingleMetric('proxima_walk_in_first_frame_seconds')!.get();
    assert.deepEqual((got.values as Array<{ metricName?: string; value: number }>).find((v) => v.metricName === 'proxima_walk_in_first_frame_seconds_count')?.value, 3);
    h.reset();
  });

  it('names process metrics as Node.js dashboards know them, once, and every counter ends in _total', async () => {
    const text = await createMetricsRegistry().metrics();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_p99_seconds /m);
    assert.doesNotMatch(text, /process_process_|proxima_process_/);
    for (const [, name] of text.matchAll(/^# TYPE (\S+) counter$/gm)) assert.match(name!, /_total$/, `${name} is a counter without _total`);
    // No per-participant label cardinality: no label carries an id.
    assert.doesNotMatch(text, /\{[^}]*(participant|peer_id|transport_id|consumer|producer)[a-z_]*=/);
  });
});
