import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import { youngBytesAllocated } from '../rtp/test-alloc.ts';
import { dropCount } from '../metrics/drop-reasons.ts';
import { PRIORITY_AUDIO, PRIORITY_RETRANSMISSION, PRIORITY_VIDEO } from '../bwe/pacer.ts';
import { NullEstimator } from '../bwe/null-estimator.ts';
import type { BandwidthEstimator } from '../bwe/estimator.ts';
import { PacedSender, type RtpWire } from './paced-sender.ts';
import { WIRE_OVERHEAD_BYTES } from './media-types.ts';

/** The wire: records (time, first payload byte = packet id, transport seq at offset 2) of what left. */
class Wire implements RtpWire {
  connected = true;
  sent: Array<{ at: number; id: number; tseq: number }> = [];
  private seq = 65_530; // crosses the 16-bit wrap
  constructor(private readonly clock: FakeClock) {}
  nextTransportSeq(): number {
    const s = this.seq;
    this.seq = (s + 1) & 0xffff;
    return s;
  }
  sendRtp(buf: Buffer, _length: number): boolean {
    this.sent.push({ at: this.clock.now(), id: buf[0], tseq: buf.readUInt16BE(2) });
    return true;
  }
  sendRtcp(): boolean {
    return true;
  }
}

/** Records what the sender reports to the estimator; a fixed estimate. */
class Recorder implements BandwidthEstimator {
  reports: Array<{ seq: number; size: number; at: number; probe: boolean; receiverDrops: boolean }> = [];
  constructor(private readonly bps: number) {}
  onPacketSent(seq: number, size: number, at: number, probe = false, receiverDrops = false): void {
    this.reports.push({ seq, size, at, probe, receiverDrops });
  }
  onTransportFeedback(): void {}
  estimate(): number {
    return this.bps;
  }
  stats() {
    return new NullEstimator().stats();
  }
}

function packet(id: number, size = 1000): Buffer {
  const b = Buffer.alloc(size);
  b[0] = id;
  return b;
}

function setup(bps: number) {
  const clock = new FakeClock();
  const wire = new Wire(clock);
  const sender = new PacedSender(wire, clock);
  const est = new Recorder(bps);
  sender.estimator = est;
  sender.pacer.setEstimate(bps);
  return { clock, wire, sender, est };
}

test('within the budget packets leave at once, numbered in send order, and each is reported to the estimator', () => {
  const { clock, wire, sender, est } = setup(2_000_000);
  for (let i = 0; i < 5; i++) {
    assert.equal(sender.sendRtp(packet(i, 200), 200, PRIORITY_VIDEO, 2), true);
    clock.advance(10);
  }
  assert.deepEqual(
    wire.sent.map((s) => s.id),
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    wire.sent.map((s) => s.tseq),
    [65530, 65531, 65532, 65533, 65534],
  );
  assert.deepEqual(
    est.reports.map((r) => [r.seq, r.size, r.probe]),
    wire.sent.map((s) => [s.tseq, 200 + WIRE_OVERHEAD_BYTES, false]),
  );
});

test('once the subscriber is known to discard RTX, RTX and padding-only packets are reported as dropped by the receiver', () => {
  const { clock, sender, est } = setup(2_000_000);
  const MEDIA = 0x1111;
  const RTX = 0x2222;
  sender.rtxSsrcs.add(RTX);
  const rtp = (ssrc: number, padding: boolean) => {
    const b = Buffer.alloc(200);
    b[0] = padding ? 0xa0 : 0x80;
    b.writeUInt32BE(ssrc, 8);
    return b;
  };
  // One at a time, 10 ms apart: each leaves at once.
  const sendAll = () => {
    const step = (send: () => boolean) => {
      assert.equal(send(), true);
      clock.advance(10);
    };
    step(() => sender.sendRtp(rtp(MEDIA, false), 200, PRIORITY_VIDEO, 2));
    step(() => sender.sendRtp(rtp(RTX, false), 200, PRIORITY_RETRANSMISSION, 2));
    step(() => sender.sendRtp(rtp(MEDIA, false), 200, PRIORITY_RETRANSMISSION, 2)); // a repair in the original stream
    step(() => sender.sendProbe(rtp(RTX, true), 200, 2, 1));
    step(() => sender.sendProbe(rtp(MEDIA, true), 200, 2, 1));
  };
  sendAll();
  assert.deepEqual(est.reports.map((r) => r.receiverDrops), [false, false, false, false, false]);
  sender.receiverDropsRtx = true;
  sendAll();
  assert.deepEqual(est.reports.slice(5).map((r) => r.receiverDrops), [false, true, false, true, true]);
});

test('a burst over the budget waits in the pool and leaves paced, in order; audio passes the queue', () => {
  const { clock, wire, sender } = setup(400_000); // pacing 1.5 × 400 kbit/s = 75 bytes/ms
  // A 30-packet keyframe at once: ~31 KB, about 410 ms at the pacing rate.
  for (let i = 0; i < 30; i++) sender.sendRtp(packet(i, 1000), 1000, PRIORITY_VIDEO, 2);
  assert.ok(wire.sent.length < 5, `most of the burst waits (sent ${wire.sent.length})`);
  sender.sendRtp(packet(200, 120), 120, PRIORITY_AUDIO, 2);
  assert.equal(wire.sent[wire.sent.length - 1].id, 200, 'audio leaves at once');
  for (let t = 0; t < 700; t += 5) clock.advance(5);
  const video = wire.sent.filter((s) => s.id !== 200);
  assert.deepEqual(
    video.map((s) => s.id),
    [...Array(30).keys()],
    'video in order',
  );
  // Transport seqs follow the wire order, audio included.
  for (let i = 1; i < wire.sent.length; i++) assert.equal(wire.sent[i].tseq, (wire.sent[i - 1].tseq + 1) & 0xffff);
  const span = video[29].at - video[0].at;
  assert.ok(span > 330 && span < 500, `spread over ~410 ms (got ${span})`);
});

test('retransmissions beyond their share of the estimate are dropped, counted', () => {
  const { sender, wire } = setup(100_000); // RTX share 30 %: 3.75 bytes/ms, 250 ms burst ≈ 940 bytes
  const before = dropCount('rtx_rate_limited');
  let ok = 0;
  for (let i = 0; i < 10; i++) if (sender.sendRtp(packet(i, 400), 400, PRIORITY_RETRANSMISSION, -1)) ok++;
  assert.equal(ok, 2, 'two 438-byte resends fit the burst');
  assert.equal(dropCount('rtx_rate_limited') - before, 8);
  assert.equal(sender.counters.rtxLimited, 8);
  assert.ok(wire.sent.length <= 2);
});

test('probe padding comes from padding sources, round robin, reported as probe', () => {
  const { clock, sender, est } = setup(500_000);
  const asked: string[] = [];
  const source = (name: string, bytes: number) => ({
    sendPadding: (_want: number, cluster: number) => {
      asked.push(name);
      if (bytes === 0) return 0;
      sender.sendProbe(packet(9, bytes), bytes, 2, cluster);
      return bytes;
    },
  });
  sender.addPaddingSource(source('empty', 0));
  sender.addPaddingSource(source('a', 300));
  sender.addPaddingSource(source('b', 300));
  sender.pacer.startCluster({ id: 7, targetBps: 2_000_000, bytes: 3000, minPackets: 5, deadlineMs: 100 }, clock.now());
  for (let t = 0; t < 60; t += 5) {
    clock.advance(5);
    sender.process(clock.now());
  }
  assert.ok(est.reports.length >= 5, `the cluster got its packets (${est.reports.length})`);
  assert.ok(est.reports.every((r) => r.probe));
  assert.ok(asked.includes('a') && asked.includes('b'), asked.join(','));
  assert.equal(sender.counters.probePackets, est.reports.length);
});

test('a closed sender drops what is queued and sends nothing more', () => {
  const { clock, wire, sender } = setup(100_000);
  for (let i = 0; i < 10; i++) sender.sendRtp(packet(i, 1000), 1000, PRIORITY_VIDEO, 2);
  const n = wire.sent.length;
  const before = dropCount('pacer_cleared');
  sender.close();
  assert.ok(dropCount('pacer_cleared') - before > 0);
  clock.advance(1000);
  assert.equal(wire.sent.length, n);
  assert.equal(sender.sendRtp(packet(1), 1000, PRIORITY_VIDEO, 2), false);
});

test('steady state allocates nothing: send now, queue, release', () => {
  const clock = new FakeClock();
  let seq = 0;
  const wire: RtpWire = { connected: true, nextTransportSeq: () => (seq = (seq + 1) & 0xffff), sendRtp: () => true, sendRtcp: () => true };
  const sender = new PacedSender(wire, clock);
  sender.estimator = new NullEstimator(1_000_000);
  sender.pacer.setEstimate(1_000_000);
  const buf = packet(1, 1500);
  // Grow the pool to its working size first.
  for (let i = 0; i < 64; i++) sender.sendRtp(buf, 1100, PRIORITY_VIDEO, 2);
  clock.advance(1000);
  let now = clock.now();
  const bytes = youngBytesAllocated(() => {
    // Bursts of 100 (mostly queued), then released: 4000 packets. The pacer timer is armed once a burst.
    for (let k = 0; k < 40; k++) {
      for (let i = 0; i < 100; i++) sender.sendRtp(buf, 1100, PRIORITY_VIDEO, 2);
      now += 1000;
      sender.process(now);
    }
  });
  assert.ok(sender.counters.queued > 1000, `the bursts were queued (${sender.counters.queued})`);
  assert.ok(bytes < 16_000, `young generation grew ${bytes} bytes for 4000 packets`);
});

/** A video packet of `ssrc` (RFC 3550 §5.1: SSRC at 8), id in the first byte as above. */
function streamPacket(id: number, ssrc: number, size = 1000): Buffer {
  const b = packet(id, size);
  b.writeUInt32BE(ssrc >>> 0, 8);
  return b;
}

test('per-stream fairness: a stream flooding the queue neither starves nor delays another stream', () => {
  const { clock, wire, sender } = setup(1_000_000); // pacing 1.5 Mbit/s ≈ 190 packets of 1000 bytes per second
  const FLOOD = 0xf0000001; // above 2^31 on purpose
  const NEIGHBOUR = 0x1234;
  const neighbourSent: number[] = [];
  const neighbourDue: number[] = [];
  const before = dropCount('pacer_queue_full');
  // 2 s: the flooder offers 50 packets every 5 ms (~80 Mbit/s), the neighbour one every 33 ms (~240 kbit/s).
  for (let t = 0; t < 2000; t += 5) {
    for (let i = 0; i < 50; i++) sender.sendRtp(streamPacket(1, FLOOD), 1000, PRIORITY_VIDEO, 2);
    if (t % 35 === 0) {
      sender.sendRtp(streamPacket(2, NEIGHBOUR), 1000, PRIORITY_VIDEO, 2);
      neighbourDue.push(t);
    }
    clock.advance(5);
  }
  clock.advance(200);
  for (const s of wire.sent) if (s.id === 2) neighbourSent.push(s.at);
  assert.equal(neighbourSent.length, neighbourDue.length, 'every neighbour packet left (none dropped for the flooder)');
  const worst = Math.max(...neighbourSent.map((at, i) => at - neighbourDue[i]!));
  assert.ok(worst <= 20, `a neighbour packet waited at most ${worst} ms`);
  assert.ok(dropCount('pacer_queue_full') - before > 10_000, 'the flooder lost its own excess');
  assert.ok(sender.pacer.counters.flowEvictions > 0, 'room was made by dropping from the longest flow');
  sender.close();
});

test('per-stream queues stay allocation-free with many SSRCs', () => {
  const clock = new FakeClock();
  let seq = 0;
  const wire: RtpWire = { connected: true, nextTransportSeq: () => (seq = (seq + 1) & 0xffff), sendRtp: () => true, sendRtcp: () => true };
  const sender = new PacedSender(wire, clock);
  sender.estimator = new NullEstimator(1_000_000);
  sender.pacer.setEstimate(1_000_000);
  const bufs = [0x10, 0x80000000, 0xfffffffe, 7].map((ssrc) => streamPacket(1, ssrc, 1500));
  for (let i = 0; i < 64; i++) sender.sendRtp(bufs[i % 4]!, 1100, PRIORITY_VIDEO, 2);
  clock.advance(1000);
  let now = clock.now();
  const bytes = youngBytesAllocated(() => {
    for (let k = 0; k < 40; k++) {
      for (let i = 0; i < 100; i++) sender.sendRtp(bufs[i & 3]!, 1100, PRIORITY_VIDEO, 2);
      now += 1000;
      sender.process(now);
    }
  });
  assert.ok(bytes < 16_000, `young generation grew ${bytes} bytes for 4000 packets of 4 streams`);
});
