import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import { RtpView, writeRtpHeader } from '../rtp/rtp-packet.ts';
import { Producer } from './producer.ts';
import { Consumer } from './consumer.ts';
import { PacedSender, type RtpWire } from './paced-sender.ts';
import { DownlinkController } from './downlink-controller.ts';
import { NO_CAPS } from '../allocation/receive-caps.ts';
import type { ProducerParams } from './media-types.ts';

const AUDIO: ProducerParams = { id: 'ta', publisherId: 'pa', kind: 'audio', mid: '0', codec: 'opus', clockRate: 48000, payloadType: 109, rtxPayloadType: null, ssrc: 0x3333, rtxSsrc: null };

const wire: RtpWire = { connected: true, nextTransportSeq: () => 0, sendRtp: () => true, sendRtcp: () => true };

function audioPacket(seq: number): RtpView {
  const buf = Buffer.alloc(12 + 20);
  writeRtpHeader(buf, 0, { marker: false, payloadType: AUDIO.payloadType, sequenceNumber: seq, timestamp: seq * 960, ssrc: AUDIO.ssrc }, null);
  const v = new RtpView();
  assert.equal(v.parse(buf), null);
  return v;
}

function setup() {
  const clock = new FakeClock();
  const producer = new Producer(AUDIO, clock, { requestKeyframe: () => undefined });
  const sender = new PacedSender(wire, clock);
  const consumer = new Consumer({ id: 'c', ssrc: 0xaaaa, rtxSsrc: null, rtxPayloadType: null, payloadType: 111, ext: { transportCc: 3, absSendTime: 0, audioLevel: 0 } }, producer, sender);
  producer.addSink(consumer);
  const downlink = new DownlinkController(sender, { priorityOf: () => 100, caps: () => NO_CAPS });
  let allocations = 0;
  const allocate = downlink.allocateNow.bind(downlink);
  downlink.allocateNow = (now, cs) => {
    allocations++;
    return allocate(now, cs);
  };
  /** Media-loop ticks for `ms`; returns the allocations made meanwhile. */
  const run = (ms: number, packetEveryMs = 0): number => {
    const before = allocations;
    let seq = 0;
    for (let t = 0; t < ms; t += 20) {
      if (packetEveryMs > 0 && t % packetEveryMs === 0) producer.onRtp(audioPacket(seq++), clock.now(), false);
      clock.advance(20);
      downlink.tick(clock.now(), [consumer]);
    }
    return allocations - before;
  };
  return { clock, producer, downlink, run };
}

test('while its tracks send, a subscriber is allocated every 200 ms', () => {
  const { run } = setup();
  run(200); // the first allocation
  assert.equal(run(2000, 20), 10);
});

test('an idle subscriber (no packet, no feedback, same estimate) stops being allocated after 3 s, and the next packet brings it back', () => {
  const { run, producer, clock, downlink } = setup();
  run(1000, 20);
  const quietAfter = run(3000);
  assert.ok(quietAfter >= 13 && quietAfter <= 15, `allocations go on for the 3 s after the last packet (${quietAfter})`);
  assert.equal(run(5000), 0, 'then none');
  producer.onRtp(audioPacket(1000), clock.now(), false);
  assert.equal(run(20), 1, 'a packet: allocated at the next tick');
  assert.equal(run(5000), 14, 'and every 200 ms until quiet again');
  downlink.onRtt(40);
  assert.equal(run(20), 1, 'feedback: allocated at the next tick');
  assert.equal(run(1000), 0);
  downlink.invalidate();
  assert.equal(run(20), 1, 'invalidate(): allocated at the next tick');
});
