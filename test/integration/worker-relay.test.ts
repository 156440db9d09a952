// The media path between two workers of one node (docs/workers.md): a track published on worker w0 reaches
// a consumer on worker w1 through TrackRelay over WorkerRelayLink (shared-memory rings), keeping what the
// single loop guarantees: one contiguous rewritten stream, keyframe requests that reach the publisher,
// losses between workers repaired from w0's cache, a subscriber's NACK answered from w1's own cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer } from '../../src/media/producer.ts';
import { Consumer, type ConsumerParams } from '../../src/media/consumer.ts';
import type { ProducerParams } from '../../src/media/media-types.ts';
import { CapturingTransport, payloadOf } from '../testkit/capturing-transport.ts';
import { RtpView, writeRtpHeader } from '../../src/rtp/rtp-packet.ts';
import { TrackRelay } from '../../src/cascade/relay/track-relay.ts';
import { WorkerRelayLink, linkWorkers } from '../../src/transport/workers/worker-relay-link.ts';
import { Doorbell } from '../../src/transport/workers/doorbell.ts';
import { FakeClock } from '../../src/util/clock.ts';
import { createLogger } from '../../src/util/logger.ts';
import { dropCount } from '../../src/metrics/drop-reasons.ts';
import { workerStats } from '../../src/metrics/registry.ts';

const VIDEO: ProducerParams = { id: 'tv', publisherId: 'pa', kind: 'video', mid: '1', codec: 'vp8', clockRate: 90000, payloadType: 120, rtxPayloadType: 121, ssrc: 0x1111, rtxSsrc: 0x2222 };
const CONSUMER: ConsumerParams = { id: 'c1', ssrc: 0xaaaa, rtxSsrc: 0xbbbb, payloadType: 96, rtxPayloadType: 97, ext: { transportCc: 3, absSendTime: 2, audioLevel: 0 } };

function vp8(seq: number, ts: number, key: boolean, body = 1000): RtpView {
  const buf = Buffer.alloc(12 + 2 + body + 10); // + room an SRTP tag took: the packet is a sub-range
  writeRtpHeader(buf, 0, { marker: true, payloadType: VIDEO.payloadType, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc: VIDEO.ssrc }, null);
  buf[12] = 0x10;
  buf[13] = key ? 0x00 : 0x01;
  for (let i = 14; i < 14 + body; i++) buf[i] = (seq + i) & 0xff;
  const v = new RtpView();
  assert.equal(v.parse(buf, 14 + body), null);
  return v;
}

/** Two workers' relays linked by rings, in one thread: `pump` lets each read what the other wrote. */
function twoWorkers(ringBytes = 1 << 16) {
  const clock = new FakeClock();
  const log = createLogger('silent');
  const bell0 = new Doorbell().sab;
  const bell1 = new Doorbell().sab;
  const rings = linkWorkers(bell0, bell1, ringBytes);
  const l0 = new WorkerRelayLink({ self: 'w0', bell: bell0, clock, log });
  const l1 = new WorkerRelayLink({ self: 'w1', bell: bell1, clock, log });
  l0.addPeer('w1', rings.a);
  l1.addPeer('w0', rings.b);
  const r0 = new TrackRelay({ nodeId: 'w0', nodeNum: 1, endpoint: l0, upstreamOf: (o) => o, clock, log });
  const r1 = new TrackRelay({ nodeId: 'w1', nodeNum: 2, endpoint: l1, upstreamOf: (o) => o, clock, log });
  l0.setHandler(r0);
  l1.setHandler(r1);
  const pump = () => {
    for (let i = 0; i < 4; i++) if (l0.poll() + l1.poll() === 0) break;
  };
  // The publisher on w0, its track named for the other workers; a subscriber's consumer on w1.
  const plis: number[] = [];
  const producer = new Producer(VIDEO, clock, { requestKeyframe: (ssrc) => plis.push(ssrc) });
  const desc = r0.addLocal(producer);
  const relayed = r1.relayedProducer(desc);
  const transport = new CapturingTransport((v) => ({ seq: v.sequenceNumber, ssrc: v.ssrc, payload: payloadOf(v) }));
  const consumer = new Consumer(CONSUMER, relayed, transport);
  relayed.addSink(consumer);
  consumer.resume(clock.now());
  // w1 wants the track (at its next relay tick), w0 adds a sink for w1 and asks its publisher for a keyframe.
  clock.advance(20);
  pump();
  const step = (ms: number) => {
    clock.advance(ms);
    pump();
  };
  return { clock, l0, l1, r0, r1, producer, relayed, consumer, transport, plis, pump, step };
}

test('a track published on one worker plays on another: contiguous rewritten stream, payload intact', () => {
  const w = twoWorkers();
  assert.ok(w.plis.length >= 1, 'the far worker taking the track asked the publisher for a keyframe');
  const sentBefore = workerStats.recordsSent;
  for (let i = 0; i < 200; i++) {
    w.producer.onRtp(vp8(1000 + i, i * 3000, i === 0), w.clock.now(), false);
    if (i % 7 === 0) w.pump(); // bursts of packets between reads, as a busy worker reads them
  }
  w.pump();
  assert.equal(w.transport.sent.length, 200);
  for (let i = 1; i < 200; i++) assert.equal(w.transport.sent[i]!.seq, (w.transport.sent[i - 1]!.seq + 1) & 0xffff, `seq continuity at ${i}`);
  assert.ok(w.transport.sent.every((s) => s.ssrc === CONSUMER.ssrc));
  assert.ok(w.transport.sent[57]!.payload.subarray(2).equals(vp8(1057, 0, false).buf.subarray(14, 1014)), 'the bytes that crossed are the publisher’s');
  assert.ok(workerStats.recordsSent - sentBefore >= 200);
});

test("a subscriber's keyframe request crosses to the publisher's worker (throttled there per layer)", () => {
  const w = twoWorkers();
  for (let i = 0; i < 10; i++) w.producer.onRtp(vp8(1 + i, i * 3000, i === 0), w.clock.now(), false);
  w.pump();
  w.step(600); // past the publisher's throttle window of the first request
  const before = w.plis.length;
  w.consumer.requestKeyframe(); // a PLI from the subscriber's browser
  w.pump();
  w.step(20);
  assert.equal(w.plis.length, before + 1, 'one PLI reached the publisher');
  assert.equal(w.plis.at(-1), VIDEO.ssrc);
});

test("a packet lost between workers is NACKed up and resent from the publisher's worker cache", () => {
  const w = twoWorkers();
  const send = w.l0.sendRtp.bind(w.l0);
  let dropped = false;
  // The ring refuses one packet (as a full ring would): seq 1005 does not cross the first time.
  w.l0.sendRtp = (peer, o, s, buf, off, len) => {
    if (!dropped && buf.readUInt16BE(off + 2) === 1005) return (dropped = true), false;
    return send(peer, o, s, buf, off, len);
  };
  for (let i = 0; i < 20; i++) w.producer.onRtp(vp8(1000 + i, i * 3000, i === 0), w.clock.now(), false);
  w.pump();
  assert.equal(w.transport.sent.length, 19);
  for (let k = 0; k < 10; k++) w.step(20); // w1's relay NACKs up, w0 answers from its cache
  assert.equal(w.transport.sent.length, 20, 'the hole was filled');
  const seqs = w.transport.sent.map((s) => s.seq).sort((a, b) => a - b);
  for (let i = 1; i < 20; i++) assert.equal(seqs[i], seqs[0]! + i, 'one contiguous stream once repaired');
});

test("a subscriber's NACK is answered from its own worker's cache: nothing crosses", () => {
  const w = twoWorkers();
  for (let i = 0; i < 20; i++) w.producer.onRtp(vp8(1000 + i, i * 3000, i === 0), w.clock.now(), false);
  w.pump();
  const crossed = workerStats.recordsSent;
  const n = w.transport.sent.length;
  w.consumer.onNack([w.transport.sent[10]!.seq]);
  assert.equal(w.transport.sent.length, n + 1, 'RTX went out at once');
  assert.equal(workerStats.recordsSent, crossed, 'no record crossed for it');
});

test('a full ring refuses and counts (worker_ring_full); the track recovers once the reader catches up', () => {
  const w = twoWorkers(1 << 13); // 8 KiB: seven 1 KB packets
  const full = dropCount('worker_ring_full');
  for (let i = 0; i < 20; i++) w.producer.onRtp(vp8(2000 + i, i * 3000, i === 0), w.clock.now(), false);
  assert.ok(dropCount('worker_ring_full') - full >= 10, 'refused records counted');
  w.pump();
  // The stream goes on (a trailing loss shows only at the next packet, as on any link); repairs are paced
  // by the same small ring, so they take a few rounds.
  for (let k = 0; k < 50; k++) {
    if (k < 10) w.producer.onRtp(vp8(2020 + k, (20 + k) * 3000, false), w.clock.now(), false);
    w.step(20);
  }
  const seqs = w.transport.sent.map((s) => s.seq).sort((a, b) => a - b);
  assert.equal(seqs.length, 30, 'NACKs up brought back every refused packet');
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[0]! + i);
});

test('a worker that dies takes its tracks on the others down (their consumers see the producer close)', () => {
  const w = twoWorkers();
  for (let i = 0; i < 5; i++) w.producer.onRtp(vp8(1 + i, i * 3000, i === 0), w.clock.now(), false);
  w.pump();
  assert.equal(w.r1.upstreamOfTrack(w.producer.id), 'w0');
  w.l1.removePeer('w0');
  assert.equal(w.r1.upstreamOfTrack(w.producer.id), 'w0', 'upstreamOf still names w0: the owner closes the track');
  const closed = w.r1.removeRelayedFrom('w0');
  assert.equal(closed.length, 1);
  assert.ok(w.relayed.closed);
});
