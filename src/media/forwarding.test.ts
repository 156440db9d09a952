import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer } from './producer.ts';
import { Consumer, type ConsumerParams } from './consumer.ts';
import type { ProducerParams } from './media-types.ts';
import { CapturingTransport, payloadOf } from '../../test/testkit/capturing-transport.ts';
import { RtpView, writeRtpHeader } from '../rtp/rtp-packet.ts';
import { rtxOriginalSeq } from '../rtp/rtx.ts';
import { parseRtcp } from '../rtp/rtcp-compound.ts';
import type { RtcpPacket } from '../rtp/rtcp-types.ts';
import { FakeClock } from '../util/clock.ts';
import { dropCount } from '../metrics/drop-reasons.ts';
import { RtxDiscardDetector, UNHEEDED_MIN_PACKETS } from './rtx-discard-detector.ts';
import { repairStats } from '../metrics/registry.ts';
import { ExtensionWriter } from '../rtp/extension-writer.ts';
import { parseRed } from '../rtp/red.ts';

/** What the subscriber received (test/testkit/capturing-transport.ts), with the transport-wide seq it carried. */
const capturing = () =>
  new CapturingTransport((v) => {
    const tpos = v.findExtension(3);
    return { seq: v.sequenceNumber, ts: v.timestamp, ssrc: v.ssrc, pt: v.payloadType, marker: v.marker, payload: payloadOf(v), tseq: tpos >= 0 ? v.buf.readUInt16BE(tpos) : -1 };
  });

const VIDEO: ProducerParams = { id: 'tv', publisherId: 'pa', kind: 'video', mid: '1', codec: 'vp8', clockRate: 90000, payloadType: 120, rtxPayloadType: 121, ssrc: 0x1111, rtxSsrc: 0x2222 };
const AUDIO: ProducerParams = { id: 'ta', publisherId: 'pa', kind: 'audio', mid: '0', codec: 'opus', clockRate: 48000, payloadType: 109, rtxPayloadType: null, ssrc: 0x3333, rtxSsrc: null };
const CONSUMER: ConsumerParams = { id: 'c1', ssrc: 0xaaaa, rtxSsrc: 0xbbbb, payloadType: 96, rtxPayloadType: 97, ext: { transportCc: 3, absSendTime: 2, audioLevel: 0 } };

/** A VP8 packet: descriptor S=1 PID=0, then a payload header whose P bit says key (0) or delta (1). */
function vp8Packet(seq: number, ts: number, key: boolean, body = 40, ssrc = VIDEO.ssrc): RtpView {
  const buf = Buffer.alloc(12 + 2 + body);
  writeRtpHeader(buf, 0, { marker: true, payloadType: VIDEO.payloadType, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc }, null);
  buf[12] = 0x10;
  buf[13] = key ? 0x00 : 0x01;
  for (let i = 14; i < buf.length; i++) buf[i] = (seq + i) & 0xff;
  const v = new RtpView();
  assert.equal(v.parse(buf), null);
  return v;
}

function paddingOnly(seq: number, ts: number): RtpView {
  const buf = Buffer.alloc(12 + 32);
  writeRtpHeader(buf, 0, { marker: false, payloadType: VIDEO.payloadType, sequenceNumber: seq & 0xffff, timestamp: ts, ssrc: VIDEO.ssrc }, null);
  buf[0] |= 0x20;
  buf[buf.length - 1] = 32;
  const v = new RtpView();
  assert.equal(v.parse(buf), null);
  return v;
}

function setup(params = VIDEO) {
  const clock = new FakeClock();
  const plis: number[] = [];
  const producer = new Producer(params, clock, { requestKeyframe: (ssrc) => plis.push(ssrc) });
  const transport = capturing();
  const consumer = new Consumer(params.kind === 'video' ? CONSUMER : { ...CONSUMER, rtxSsrc: null, rtxPayloadType: null, payloadType: 111 }, producer, transport);
  producer.addSink(consumer);
  return { clock, plis, producer, transport, consumer };
}

test('a paused consumer sends nothing; resuming asks the publisher for a keyframe at once', () => {
  const { producer, transport, consumer, plis, clock } = setup();
  producer.onRtp(vp8Packet(10, 1000, true), clock.now(), false);
  assert.equal(transport.sent.length, 0);
  consumer.resume(clock.now());
  assert.deepEqual(plis, [VIDEO.ssrc]);
});

test('video starts at a keyframe, with our SSRC and payload type and contiguous sequence numbers', () => {
  const { producer, transport, consumer, clock } = setup();
  consumer.resume(clock.now());
  const before = dropCount('not_keyframe');
  producer.onRtp(vp8Packet(100, 9000, false), clock.now(), false);
  producer.onRtp(vp8Packet(101, 9000, false), clock.now(), false);
  assert.equal(transport.sent.length, 0, 'delta frames before the first keyframe are not sent');
  assert.equal(dropCount('not_keyframe') - before, 2);
  for (let i = 0; i < 5; i++) producer.onRtp(vp8Packet(102 + i, 12000 + i * 3000, i === 0), clock.now(), false);
  assert.equal(transport.sent.length, 5);
  for (let i = 0; i < 5; i++) {
    const s = transport.sent[i];
    assert.equal(s.ssrc, CONSUMER.ssrc);
    assert.equal(s.pt, CONSUMER.payloadType);
    assert.equal(s.seq, (transport.sent[0].seq + i) & 0xffff);
    assert.equal((s.ts - transport.sent[0].ts) >>> 0, i * 3000, 'timestamps keep their spacing');
    assert.equal(s.tseq, i, 'transport-wide sequence numbers per connection');
  }
});

test('source sequence numbers wrapping past 65535 stay contiguous at the subscriber', () => {
  const { producer, transport, consumer, clock } = setup();
  consumer.resume(clock.now());
  for (let i = 0; i < 20; i++) producer.onRtp(vp8Packet(65530 + i, 500 + i, i === 0), clock.now(), false);
  assert.equal(transport.sent.length, 20);
  for (let i = 1; i < 20; i++) assert.equal(transport.sent[i].seq, (transport.sent[i - 1].seq + 1) & 0xffff);
});

test('padding-only packets are not forwarded and leave no gap', () => {
  const { producer, transport, consumer, clock } = setup();
  consumer.resume(clock.now());
  producer.onRtp(vp8Packet(1, 0, true), clock.now(), false);
  producer.onRtp(paddingOnly(2, 0), clock.now(), false);
  producer.onRtp(paddingOnly(3, 0), clock.now(), false);
  producer.onRtp(vp8Packet(4, 3000, false), clock.now(), false);
  assert.equal(transport.sent.length, 2);
  assert.equal(transport.sent[1].seq, (transport.sent[0].seq + 1) & 0xffff);
});

test('a NACK is answered with RTX: RTX SSRC and payload type, the original sequence number first, then the payload', () => {
  const { producer, transport, consumer, clock } = setup();
  consumer.resume(clock.now());
  for (let i = 0; i < 10; i++) producer.onRtp(vp8Packet(500 + i, 1000, i === 0), clock.now(), false);
  const wanted = transport.sent[4];
  consumer.onNack([wanted.seq]);
  const rtx = transport.sent[10];
  assert.ok(rtx, 'a retransmission was sent');
  assert.equal(rtx.ssrc, CONSUMER.rtxSsrc);
  assert.equal(rtx.pt, CONSUMER.rtxPayloadType);
  assert.equal(rtx.ts, wanted.ts);
  assert.equal(rtx.payload.readUInt16BE(0), wanted.seq, 'OSN (RFC 4588 §4)');
  assert.deepEqual(rtx.payload.subarray(2), wanted.payload);
  const v = new RtpView();
  const b = Buffer.alloc(12 + rtx.payload.length);
  writeRtpHeader(b, 0, { marker: false, payloadType: 97, sequenceNumber: 1, timestamp: 0, ssrc: 1 }, null);
  rtx.payload.copy(b, 12);
  v.parse(b);
  assert.equal(rtxOriginalSeq(v), wanted.seq);
});

test('on a lossy path each retransmission goes out twice, under two RTX sequence numbers; a repeated NACK within the guard is not resent', () => {
  const { producer, transport, consumer, clock } = setup();
  consumer.resume(clock.now());
  for (let i = 0; i < 10; i++) producer.onRtp(vp8Packet(500 + i, 1000, i === 0), clock.now(), false);
  transport.lossy = true;
  const wanted = transport.sent[4];
  consumer.onNack([wanted.seq]);
  const rtx = transport.sent.slice(10);
  assert.equal(rtx.length, 2);
  assert.ok(rtx.every((r) => r.ssrc === CONSUMER.rtxSsrc && r.payload.readUInt16BE(0) === wanted.seq));
  assert.equal(rtx[1].seq, (rtx[0].seq + 1) & 0xffff, 'each copy its own RTX sequence number');
  const before = dropCount('nack_too_soon');
  consumer.onNack([wanted.seq]);
  assert.equal(transport.sent.length, 12, 'asked again at once: the copies are on their way');
  assert.equal(dropCount('nack_too_soon') - before, 1);
  clock.advance(50);
  consumer.onNack([wanted.seq]);
  assert.equal(transport.sent.length, 14, 'asked again later: resent');
});

test('a subscriber that NACKs RTX-repaired packets again gets repairs in the original stream: same SSRC, sequence number, timestamp and payload; no padding', () => {
  const { producer, transport, consumer, clock } = setup();
  const watch = new RtxDiscardDetector();
  consumer.rtxWatch = watch;
  transport.rttMs = 10;
  consumer.resume(clock.now());
  for (let i = 0; i < 40; i++) producer.onRtp(vp8Packet(500 + i, 1000 + i * 3000, i === 0), clock.now(), false);
  const sentMedia = transport.sent.length;
  for (let k = 0; k < UNHEEDED_MIN_PACKETS; k++) {
    const seq = transport.sent[5 + k].seq;
    consumer.onNack([seq]);
    clock.advance(5);
    consumer.onNack([seq]); // too soon to say anything about the repair
    assert.equal(watch.unheeded, k);
    clock.advance(60); // > RTT + REPAIR_GRACE_MS: the RTX had arrived, had it been used
    consumer.onNack([seq]);
    consumer.onNack([seq]); // counted once per packet
    clock.advance(200);
  }
  assert.equal(watch.discarding, true);
  assert.equal(watch.unheeded, UNHEEDED_MIN_PACKETS);
  const rtx = transport.sent.slice(sentMedia);
  assert.ok(rtx.slice(0, -1).every((r) => r.ssrc === CONSUMER.rtxSsrc), 'RTX until detected');
  const last = rtx.at(-1)!;
  assert.equal(last.ssrc, CONSUMER.ssrc, 'the NACK that decided it is answered in the original stream');
  const before = repairStats.originalStreamResends;
  const wanted = transport.sent[20];
  consumer.onNack([wanted.seq]);
  const r = transport.sent.at(-1)!;
  assert.deepEqual({ ssrc: r.ssrc, seq: r.seq, ts: r.ts, pt: r.pt }, { ssrc: CONSUMER.ssrc, seq: wanted.seq, ts: wanted.ts, pt: CONSUMER.payloadType });
  assert.deepEqual(r.payload, wanted.payload);
  assert.notEqual(r.tseq, wanted.tseq, 'a transport-wide seq of its own');
  assert.equal(repairStats.originalStreamResends - before, 1);
  transport.lossy = true;
  const n = transport.sent.length;
  consumer.onNack([transport.sent[21].seq]);
  assert.equal(transport.sent.length, n + 1, 'no second copy in the original stream, even on a lossy path');
  assert.equal(consumer.sendPadding(300, 1, clock.now()), 0, 'no probe padding');
});

test('a NACK for something never sent or long gone is a counted drop, not a crash', () => {
  const { producer, consumer, transport, clock } = setup();
  consumer.resume(clock.now());
  producer.onRtp(vp8Packet(1, 0, true), clock.now(), false);
  const before = dropCount('nack_not_in_cache');
  consumer.onNack([(transport.sent[0].seq + 100) & 0xffff, (transport.sent[0].seq + 30000) & 0xffff]);
  assert.equal(dropCount('nack_not_in_cache') - before, 2);
  assert.equal(transport.sent.length, 1);
});

test('a retransmission from the publisher of a packet already held is forwarded once', () => {
  const { producer, consumer, transport, clock } = setup();
  consumer.resume(clock.now());
  producer.onRtp(vp8Packet(1, 0, true), clock.now(), false);
  producer.onRtp(vp8Packet(3, 0, false), clock.now(), false);
  producer.onRtp(vp8Packet(2, 0, false), clock.now(), true); // recovered by RTX: forwarded in its place
  producer.onRtp(vp8Packet(2, 0, false), clock.now(), true); // a second copy: dropped
  assert.equal(transport.sent.length, 3);
  const seqs = transport.sent.map((s) => s.seq);
  assert.equal(seqs[2], (seqs[0] + 1) & 0xffff, 'the late packet gets the number it would have had');
});

test('keyframe requests upstream are throttled to one per 500 ms, the last one kept', () => {
  const { producer, plis, clock } = setup();
  producer.requestKeyframe();
  producer.requestKeyframe();
  producer.requestKeyframe();
  assert.equal(plis.length, 1);
  clock.advance(499);
  assert.equal(plis.length, 1);
  clock.advance(1);
  assert.equal(plis.length, 2, 'the pending request is sent when the window ends');
  clock.advance(2000);
  assert.equal(plis.length, 2, 'nothing more without new requests');
});

test('sender reports carry the publisher’s NTP/RTP pair forward, shifted into the consumer’s timestamps', () => {
  const { producer, consumer, transport, clock } = setup(AUDIO);
  consumer.resume(clock.now());
  const audio = (seq: number, ts: number) => {
    const buf = Buffer.alloc(12 + 20, 7);
    writeRtpHeader(buf, 0, { marker: false, payloadType: AUDIO.payloadType, sequenceNumber: seq, timestamp: ts, ssrc: AUDIO.ssrc }, null);
    const v = new RtpView();
    v.parse(buf);
    return v;
  };
  assert.equal(consumer.makeSenderReport(clock.now()), null, 'nothing to report before media and a publisher SR');
  producer.onRtp(audio(1, 48_000), clock.now(), false);
  const offset = (transport.sent[0].ts - 48_000) >>> 0;
  producer.onSenderReport(3_900_000_000, 0x80000000, 96_000, clock.now()); // NTP …000.5 s ↔ RTP 96000
  clock.advance(1000);
  const sr = consumer.makeSenderReport(clock.now());
  assert.ok(sr);
  const list: RtcpPacket[] = [];
  assert.equal(parseRtcp(sr, sr.length, list), null);
  const p = list[0];
  assert.equal(p.type, 'sr');
  if (p.type !== 'sr') return;
  assert.equal(p.ssrc, 0xaaaa);
  assert.equal(p.ntpSec, 3_900_000_001);
  assert.ok(Math.abs(p.ntpFrac - 0x80000000) < 0x10000, 'NTP moved by exactly the elapsed second');
  assert.equal(p.rtpTimestamp, (96_000 + 48_000 + offset) >>> 0);
  assert.equal(p.packetCount, 1);
  // RFC 3550 §6.4.1: a sender that sent nothing since the report before the last one is no longer a sender.
  clock.advance(1000);
  assert.ok(consumer.makeSenderReport(clock.now()), 'sent since the report before the last one');
  clock.advance(1000);
  assert.equal(consumer.makeSenderReport(clock.now()), null, 'nothing sent for two report intervals: no SR');
  clock.advance(1000);
  assert.equal(consumer.makeSenderReport(clock.now()), null);
  producer.onRtp(audio(2, 48_960), clock.now(), false);
  clock.advance(1000);
  assert.ok(consumer.makeSenderReport(clock.now()), 'sending again: SRs again');
});

test('a consumer waiting for a keyframe asks again every second (a PLI may be lost)', () => {
  const { producer, consumer, plis, clock } = setup();
  consumer.resume(clock.now());
  assert.equal(plis.length, 1);
  for (let i = 0; i < 29; i++) {
    clock.advance(100);
    producer.onRtp(vp8Packet(10 + i, 3000 * i, false), clock.now(), false);
  }
  assert.equal(plis.length, 3, 'asked again after 1 s and 2 s (2.9 s of delta frames)');
  producer.onRtp(vp8Packet(40, 90000, true), clock.now(), false);
  clock.advance(3000);
  producer.onRtp(vp8Packet(41, 93000, false), clock.now(), false);
  assert.equal(plis.length, 3, 'no more requests once the keyframe arrived');
});

test('a consumer whose transport is not connected yet keeps waiting for its keyframe and asks once connected', () => {
  const { producer, consumer, transport, plis, clock } = setup();
  transport.connected = false;
  consumer.resume(clock.now());
  assert.equal(plis.length, 0, 'no keyframe request that could only be wasted');
  producer.onRtp(vp8Packet(1, 0, true), clock.now(), false);
  assert.equal(transport.sent.length, 0);
  transport.connected = true;
  consumer.restartAtKeyframe(clock.now());
  assert.equal(plis.length, 1, 'asked at once on connection, no throttle wait');
  producer.onRtp(vp8Packet(2, 3000, false), clock.now(), false);
  assert.equal(transport.sent.length, 0, 'still waiting for a keyframe');
  producer.onRtp(vp8Packet(3, 6000, true), clock.now(), false);
  assert.equal(transport.sent.length, 1);
});

test('a muted track reaches no sink (counted track_muted) and leaves no gap: after unmute sequence numbers run on and a late repair of a muted packet is a duplicate', () => {
  const { producer, transport, consumer, clock } = setup();
  consumer.resume(clock.now());
  producer.onRtp(vp8Packet(1, 0, true), clock.now(), false);
  producer.muted = true;
  const before = dropCount('track_muted');
  for (let i = 2; i <= 4; i++) producer.onRtp(vp8Packet(i, i * 3000, false), clock.now(), false);
  assert.equal(transport.sent.length, 1, 'nothing forwarded while muted');
  assert.equal(dropCount('track_muted') - before, 3);
  producer.muted = false;
  producer.onRtp(vp8Packet(3, 9000, false), clock.now(), true); // the publisher answers an old NACK
  producer.onRtp(vp8Packet(5, 15000, true), clock.now(), false);
  assert.equal(transport.sent.length, 2, 'the repair of a packet booked while muted is not forwarded');
  assert.equal(transport.sent[1].seq, (transport.sent[0].seq + 1) & 0xffff, 'no hole the subscriber would NACK');
});

test('a muted microphone does not count as speaking, however loud its packets', () => {
  const { producer, clock } = setup(AUDIO);
  producer.audioLevelExtId = 1;
  const ext = new ExtensionWriter();
  const loud = (seq: number) => {
    ext.clear();
    ext.setAudioLevel(1, true, 20);
    const buf = Buffer.alloc(12 + 12 + 20);
    const n = writeRtpHeader(buf, 0, { marker: false, payloadType: AUDIO.payloadType, sequenceNumber: seq, timestamp: seq * 960, ssrc: AUDIO.ssrc }, ext);
    const v = new RtpView();
    assert.equal(v.parse(buf.subarray(0, n + 20)), null);
    return v;
  };
  const flips: boolean[] = [];
  producer.onSpeakingChange = (on) => flips.push(on);
  producer.muted = true;
  for (let i = 0; i < 50; i++) producer.onRtp(loud(i), clock.now(), false);
  assert.deepEqual(flips, []);
  producer.muted = false;
  for (let i = 50; i < 60; i++) producer.onRtp(loud(i), clock.now(), false);
  assert.deepEqual(flips, [true], 'unmuted, the same voice counts');
});

test('audio to a subscriber that took red: plain Opus while the path is clean, RFC 2198 with the two payloads before once it loses packets', () => {
  const { producer, consumer, transport, clock } = setup(AUDIO);
  consumer.redPayloadType = 63;
  consumer.resume(clock.now());
  const audio = (seq: number, ts: number, fill: number) => {
    const buf = Buffer.alloc(12 + 20, fill);
    writeRtpHeader(buf, 0, { marker: false, payloadType: AUDIO.payloadType, sequenceNumber: seq, timestamp: ts, ssrc: AUDIO.ssrc }, null);
    const v = new RtpView();
    v.parse(buf);
    return v;
  };
  producer.onRtp(audio(1, 48_000, 1), clock.now(), false);
  producer.onRtp(audio(2, 48_960, 2), clock.now(), false);
  assert.deepEqual(transport.sent.map((s) => [s.pt, s.payload.length]), [[111, 20], [111, 20]], 'clean: Opus as it came');
  transport.redWanted = true;
  producer.onRtp(audio(3, 49_920, 3), clock.now(), false);
  const red = transport.sent[2]!;
  assert.equal(red.pt, 63);
  assert.equal(red.seq, ((transport.sent[1]!.seq + 1) & 0xffff), 'one packet for one, numbered on');
  const blocks = parseRed(red.payload)!;
  assert.deepEqual(blocks.map((b) => [b.pt, b.tsOffset, b.data.length, b.data[0]]), [
    [111, 1920, 20, 1],
    [111, 960, 20, 2],
    [111, 0, 20, 3],
  ]);
  transport.redWanted = false;
  producer.onRtp(audio(4, 50_880, 4), clock.now(), false);
  assert.deepEqual([transport.sent[3]!.pt, transport.sent[3]!.payload.length], [111, 20], 'clean again: plain');
});

test('audio to a subscriber that did not take red stays plain Opus on a lossy path', () => {
  const { producer, consumer, transport, clock } = setup(AUDIO);
  consumer.resume(clock.now());
  transport.redWanted = true;
  const buf = Buffer.alloc(12 + 20, 9);
  writeRtpHeader(buf, 0, { marker: false, payloadType: AUDIO.payloadType, sequenceNumber: 1, timestamp: 960, ssrc: AUDIO.ssrc }, null);
  const v = new RtpView();
  v.parse(buf);
  producer.onRtp(v, clock.now(), false);
  assert.deepEqual([transport.sent[0]!.pt, transport.sent[0]!.payload.length], [111, 20]);
});
