import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import { youngBytesAllocated } from '../rtp/test-alloc.ts';
import {
  burstMsFor,
  FRAME_BURST_MS,
  PACE_BURST_MS,
  Pacer,
  PACER_DROPPED,
  PACER_QUEUED,
  PACER_SEND_NOW,
  PRIORITY_AUDIO,
  PRIORITY_PADDING,
  PRIORITY_RETRANSMISSION,
  PRIORITY_VIDEO,
  type PacerDropReason,
  type PacerOptions,
} from './pacer.ts';

interface Log {
  released: Array<{ handle: number; size: number; cluster: number; at: number }>;
  dropped: Array<{ handle: number; reason: PacerDropReason }>;
  padding: Array<{ bytes: number; cluster: number; at: number }>;
}

function make(opts: PacerOptions = {}, padding = false): { pacer: Pacer; log: Log } {
  const log: Log = { released: [], dropped: [], padding: [] };
  const pacer = new Pacer(
    {
      release: (handle, size, cluster, at) => log.released.push({ handle, size, cluster, at }),
      drop: (handle, reason) => log.dropped.push({ handle, reason }),
      padding: padding
        ? (bytes, cluster, at) => {
            log.padding.push({ bytes, cluster, at });
            return bytes;
          }
        : undefined,
    },
    opts,
  );
  return { pacer, log };
}

test('releases at the pacing rate (estimate × 2.5) over time, with only a small burst', () => {
  const clock = new FakeClock();
  const { pacer, log } = make({ maxQueuePackets: 4096, maxQueueDelayMs: 60_000 });
  pacer.setEstimate(400_000); // 1 Mbps pacing = 125 bytes/ms
  assert.equal(pacer.pacingRateBps, 1_000_000);
  pacer.process(0);
  clock.advance(1000); // idle: only the burst allowance (5 ms) may be saved
  let sentNow = 0;
  for (let i = 0; i < 2000; i++) if (pacer.enqueue(i, 1000, PRIORITY_VIDEO, clock.now()) === PACER_SEND_NOW) sentNow++;
  assert.equal(sentNow, 1, 'one packet rides the saved burst, the rest queue');
  const start = clock.now();
  const bytesBy = (t: number) => (sentNow + log.released.filter((r) => r.at <= t).length) * 1000;
  for (let t = 0; t < 10_000; t += 5) {
    clock.advance(5);
    pacer.process(clock.now());
  }
  for (const s of [1, 2, 5, 10]) {
    const expected = (1_000_000 * s) / 8;
    const got = bytesBy(start + s * 1000);
    assert.ok(Math.abs(got - expected) <= 2000, `after ${s} s: ${got} bytes, expected ${expected}`);
  }
  // No 5 ms slot released more than 5 ms of budget plus one packet.
  const perSlot = new Map<number, number>();
  for (const r of log.released) perSlot.set(r.at, (perSlot.get(r.at) ?? 0) + r.size);
  assert.ok(Math.max(...perSlot.values()) <= 625 + 1000);
});

test('a new estimate changes the rate; a late process() catches up at most 40 ms worth', () => {
  const { pacer, log } = make({ maxQueueDelayMs: 60_000 });
  pacer.setPacingRate(8_000_000); // 1000 bytes/ms
  pacer.process(0);
  for (let i = 0; i < 500; i++) pacer.enqueue(i, 1000, PRIORITY_VIDEO, 0);
  pacer.process(10);
  assert.equal(log.released.length, 10);
  pacer.process(210); // 200 ms late
  assert.equal(log.released.length, 10 + 40);
  pacer.setPacingRate(800_000); // 100 bytes/ms
  for (let t = 220; t <= 320; t += 10) pacer.process(t);
  assert.equal(log.released.length, 50 + 11);
  assert.ok(Math.abs(pacer.nextProcessMs(320) - 320) < 10);
});

test('priority: audio > retransmission > video > padding, FIFO within a class', () => {
  const { pacer, log } = make({ bypassAudio: false });
  pacer.setPacingRate(800_000);
  pacer.process(0); // budget 0: everything queues
  const order: Array<[number, 0 | 1 | 2 | 3]> = [
    [1, PRIORITY_PADDING],
    [2, PRIORITY_VIDEO],
    [3, PRIORITY_RETRANSMISSION],
    [4, PRIORITY_VIDEO],
    [5, PRIORITY_AUDIO],
    [6, PRIORITY_RETRANSMISSION],
    [7, PRIORITY_AUDIO],
  ];
  for (const [h, p] of order) assert.equal(pacer.enqueue(h, 100, p, 0), PACER_QUEUED);
  for (let t = 1; t <= 20; t++) pacer.process(t);
  assert.deepEqual(
    log.released.map((r) => r.handle),
    [5, 7, 3, 6, 2, 4, 1],
  );
});

test('audio bypasses the queue by default but is charged to the budget', () => {
  const { pacer, log } = make();
  pacer.setPacingRate(800_000);
  pacer.process(0);
  assert.equal(pacer.enqueue(1, 1000, PRIORITY_VIDEO, 0), PACER_QUEUED);
  assert.equal(pacer.enqueue(2, 100, PRIORITY_AUDIO, 0), PACER_SEND_NOW);
  pacer.process(10); // 1000 bytes of budget minus the audio
  assert.equal(log.released.length, 1);
  assert.equal(pacer.nextProcessMs(10) > 10, true, 'budget overdrawn by the audio');
});

test('a packet is not sent ahead of queued packets of its class or above', () => {
  const { pacer } = make();
  pacer.setPacingRate(8_000_000);
  pacer.process(0);
  assert.equal(pacer.enqueue(1, 1000, PRIORITY_VIDEO, 0), PACER_QUEUED);
  pacer.process(1); // budget +1000, releases 1 → 0
  pacer.process(3); // +2000
  assert.equal(pacer.enqueue(2, 1000, PRIORITY_PADDING, 3), PACER_SEND_NOW);
  assert.equal(pacer.enqueue(3, 1000, PRIORITY_VIDEO, 3), PACER_SEND_NOW);
  assert.equal(pacer.enqueue(4, 1000, PRIORITY_VIDEO, 3), PACER_QUEUED, 'budget spent');
  assert.equal(pacer.enqueue(5, 1000, PRIORITY_RETRANSMISSION, 3), PACER_QUEUED);
  assert.equal(pacer.enqueue(6, 1000, PRIORITY_VIDEO, 3), PACER_QUEUED, 'behind 4');
});

test('bounded queue: less important packets are evicted for more important ones, else the newcomer is dropped', () => {
  const { pacer, log } = make({ maxQueuePackets: 4 });
  pacer.setPacingRate(100_000);
  pacer.process(0);
  for (let h = 1; h <= 2; h++) assert.equal(pacer.enqueue(h, 500, PRIORITY_PADDING, 0), PACER_QUEUED);
  for (let h = 3; h <= 4; h++) assert.equal(pacer.enqueue(h, 500, PRIORITY_VIDEO, 0), PACER_QUEUED);
  assert.equal(pacer.enqueue(5, 500, PRIORITY_VIDEO, 0), PACER_QUEUED, 'evicts padding 1');
  assert.equal(pacer.enqueue(6, 500, PRIORITY_RETRANSMISSION, 0), PACER_QUEUED, 'evicts padding 2');
  assert.equal(pacer.enqueue(7, 500, PRIORITY_VIDEO, 0), PACER_DROPPED, 'nothing less important left');
  assert.equal(pacer.enqueue(8, 500, PRIORITY_PADDING, 0), PACER_DROPPED);
  assert.equal(pacer.enqueue(9, 500, PRIORITY_RETRANSMISSION, 0), PACER_QUEUED, 'evicts video 3');
  assert.deepEqual(log.dropped, [
    { handle: 1, reason: 'queue_full' },
    { handle: 2, reason: 'queue_full' },
    { handle: 3, reason: 'queue_full' },
  ]);
  assert.equal(pacer.counters.queue_full, 5);
  assert.equal(pacer.queuedPackets, 4);
  assert.equal(pacer.queuedBytes, 2000);
  pacer.clear();
  assert.equal(pacer.counters.cleared, 4);
  assert.equal(pacer.queuedPackets, 0);
});

test('packets queued longer than maxQueueDelayMs are dropped as expired', () => {
  const { pacer, log } = make({ maxQueueDelayMs: 100 });
  pacer.setPacingRate(80_000); // 10 bytes/ms
  pacer.process(0);
  for (let h = 1; h <= 5; h++) pacer.enqueue(h, 500, PRIORITY_VIDEO, 0);
  for (let t = 1; t <= 300; t++) pacer.process(t);
  assert.deepEqual(
    log.released.map((r) => r.handle),
    [1, 2],
  );
  assert.equal(pacer.counters.expired, 3);
  assert.deepEqual(
    log.dropped.map((d) => d.reason),
    ['expired', 'expired', 'expired'],
  );
});

test('a probe cluster runs at its own rate, tags its packets, pads when idle, and ends at its bytes', () => {
  const { pacer, log } = make({}, true);
  pacer.setPacingRate(1_000_000);
  pacer.process(0);
  pacer.startCluster({ id: 9, targetBps: 4_000_000, bytes: 7500, minPackets: 5, deadlineMs: 100 }, 0);
  assert.equal(pacer.activeClusterId, 9);
  pacer.enqueue(1, 1000, PRIORITY_VIDEO, 0);
  for (let t = 1; t <= 40; t++) pacer.process(t);
  assert.equal(pacer.activeClusterId, -1);
  assert.equal(log.released[0].cluster, 9, 'media sent during the cluster counts for it');
  const padded = log.padding.reduce((s, p) => s + p.bytes, 0);
  assert.ok(padded + 1000 >= 7500 && padded + 1000 < 7500 + 1200, `padding ${padded}`);
  assert.ok(log.padding.every((p) => p.cluster === 9));
  // 7.5 kB at 4 Mbps ≈ 15 ms: the last padding left around then, not at the 1 Mbps pacing rate (60 ms).
  const last = log.padding.at(-1)!.at;
  assert.ok(last >= 10 && last <= 20, `last padding at ${last} ms`);
  const n = log.padding.length;
  for (let t = 41; t <= 100; t++) pacer.process(t);
  assert.equal(log.padding.length, n, 'no padding outside a cluster');
});

test('a cluster ends at its deadline, or when the sink has nothing to pad with', () => {
  const { pacer } = make({}, true);
  pacer.startCluster({ id: 1, targetBps: 4_000_000, bytes: 1e9, minPackets: 5, deadlineMs: 50 }, 0);
  for (let t = 1; t <= 60; t++) pacer.process(t);
  assert.equal(pacer.activeClusterId, -1);
  const none = new Pacer({ release: () => {}, padding: () => 0 });
  none.process(0);
  none.startCluster({ id: 2, targetBps: 4_000_000, bytes: 10_000, minPackets: 5, deadlineMs: 50 }, 0);
  none.process(5);
  assert.equal(none.activeClusterId, -1);
});

test('enqueue/process do not allocate', () => {
  let released = 0;
  const pacer = new Pacer({ release: () => void released++, padding: (b) => b });
  pacer.setPacingRate(10_000_000);
  let now = 0;
  const bytes = youngBytesAllocated(() => {
    for (let i = 0; i < 10_000; i++) {
      pacer.enqueue(i, 1000, (i & 3) as 0 | 1 | 2 | 3, now);
      if ((i & 3) === 0) {
        now++;
        pacer.process(now);
      }
    }
  });
  assert.ok(bytes < 16_000, `young generation grew ${bytes} bytes`);
  assert.ok(released > 0);
});

test('flows of one class are served round robin (deficit round robin in bytes), FIFO within each flow', () => {
  const { pacer, log } = make({ initialEstimateBps: 400_000, pacingFactor: 1, burstMs: 0 });
  pacer.process(0);
  pacer.enqueue(999, 1500, PRIORITY_VIDEO, 0, 0); // no budget yet: queued
  // Flow 1 queues 6 full-size packets before flow 2's 2: they still alternate.
  for (let i = 0; i < 6; i++) assert.equal(pacer.enqueue(100 + i, 1500, PRIORITY_VIDEO, 0, 1), PACER_QUEUED);
  for (let i = 0; i < 2; i++) assert.equal(pacer.enqueue(200 + i, 1500, PRIORITY_VIDEO, 0, 2), PACER_QUEUED);
  for (let t = 20; t <= 800; t += 20) pacer.process(t);
  assert.deepEqual(
    log.released.map((r) => r.handle),
    [999, 100, 200, 101, 201, 102, 103, 104, 105],
  );
});

test('deficit round robin shares bytes, not packets: small packets of one flow are not starved by big ones of another', () => {
  const { pacer, log } = make({ initialEstimateBps: 800_000, pacingFactor: 1, burstMs: 0 });
  pacer.process(0);
  // Flow 1: 200 packets of 1500 bytes; flow 2: 200 packets of 500 bytes. Over 1 s (100 kB) each flow should
  // get ~50 kB: ~33 big packets and ~100 small ones.
  for (let i = 0; i < 200; i++) pacer.enqueue(1000 + i, 1500, PRIORITY_VIDEO, 0, 1);
  for (let i = 0; i < 200; i++) pacer.enqueue(2000 + i, 500, PRIORITY_VIDEO, 0, 2);
  for (let t = 5; t <= 1000; t += 5) pacer.process(t);
  const big = log.released.filter((r) => r.handle < 2000).length * 1500;
  const small = log.released.filter((r) => r.handle >= 2000).length * 500;
  assert.ok(Math.abs(big - small) <= 1500, `bytes ${big} vs ${small}`);
});

test('a full queue drops from its longest flow, never the newcomer of a short flow', () => {
  const { pacer, log } = make({ initialEstimateBps: 100_000, maxQueuePackets: 16, burstMs: 0 });
  pacer.process(0);
  for (let i = 0; i < 16; i++) pacer.enqueue(i, 1000, PRIORITY_VIDEO, 0, 5);
  assert.equal(pacer.enqueue(100, 1000, PRIORITY_VIDEO, 0, 6), PACER_QUEUED, 'the other flow’s packet gets in');
  assert.deepEqual(log.dropped, [{ handle: 0, reason: 'queue_full' }], 'the flooding flow lost its oldest');
  assert.equal(pacer.counters.flowEvictions, 1);
  // The flooding flow's own newcomer is refused once the queue is full of it.
  assert.equal(pacer.enqueue(17, 1000, PRIORITY_VIDEO, 0, 5), PACER_DROPPED);
  assert.equal(pacer.flowPackets(PRIORITY_VIDEO, 6), 1);
  assert.equal(pacer.flowPackets(PRIORITY_VIDEO, 5), 15);
});

test('on a clear path a frame leaves as one burst; with a queue or loss it is spread; a probe cluster never starts with the saved burst', () => {
  assert.equal(burstMsFor(0, 0), FRAME_BURST_MS);
  assert.equal(burstMsFor(9.9, 0.009), FRAME_BURST_MS);
  assert.equal(burstMsFor(10, 0), PACE_BURST_MS, 'a queue');
  assert.equal(burstMsFor(0, 0.01), PACE_BURST_MS, 'loss');
  // 800 kbit/s pacing = 100 bytes/ms; a 4-packet frame of 1,000 bytes after an idle 100 ms.
  const frame = (burstMs: number) => {
    const clock = new FakeClock();
    const { pacer, log } = make({ initialEstimateBps: 800_000, pacingFactor: 1 });
    pacer.setBurstMs(burstMs);
    pacer.process(0);
    clock.advance(100);
    let now = 0;
    for (let i = 0; i < 4; i++) if (pacer.enqueue(i, 1000, PRIORITY_VIDEO, clock.now()) === PACER_SEND_NOW) now++;
    for (let t = 0; t < 100; t++) {
      clock.advance(1);
      pacer.process(clock.now());
    }
    return { now, lastAt: log.released.at(-1)?.at ?? 100 };
  };
  assert.deepEqual(frame(FRAME_BURST_MS), { now: 4, lastAt: 100 }, '4,000 bytes within a 40 ms budget: all at once');
  const spread = frame(PACE_BURST_MS);
  assert.equal(spread.now, 1, 'a 5 ms budget (500 bytes) lets one packet go');
  assert.ok(spread.lastAt >= 125, `the rest leave at the pacing rate (last at ${spread.lastAt} ms)`);

  // A cluster starting after a long idle spell gets at most PROBE_BURST_MS (5 ms) of budget.
  const clock = new FakeClock();
  const { pacer, log } = make({ initialEstimateBps: 800_000, pacingFactor: 1 }, true);
  pacer.setBurstMs(FRAME_BURST_MS);
  pacer.process(0);
  clock.advance(500);
  pacer.startCluster({ id: 1, targetBps: 800_000, bytes: 10_000, minPackets: 5, deadlineMs: 1000 }, clock.now());
  pacer.process(clock.now());
  const first = log.padding.filter((p) => p.at === clock.now()).reduce((s, p) => s + p.bytes, 0);
  assert.ok(first <= 500 + 1200, `first instant of the cluster sent ${first} bytes`);
});
