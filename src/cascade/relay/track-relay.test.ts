import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrackRelay } from './track-relay.ts';
import type { TrackDesc } from './track-desc.ts';
import type { RelayEndpoint } from '../../transport/relay/relay-endpoint.ts';
import { FakeClock } from '../../util/clock.ts';
import { createLogger } from '../../util/logger.ts';
import { dropCount } from '../../metrics/drop-reasons.ts';
import { writeRtpHeader } from '../../rtp/rtp-packet.ts';

/** The endpoint's send side, recorded (the relay logic is tested without sockets). */
function fakeEndpoint() {
  const sent = { rtp: [] as Array<{ peer: string; streamId: number }>, control: [] as Array<{ peer: string; msg: any }>, rtcp: [] as string[] };
  const ep = {
    sendRtp: (peer: string, _o: number, streamId: number) => (sent.rtp.push({ peer, streamId }), true),
    sendRtcp: (peer: string) => (sent.rtcp.push(peer), true),
    sendControl: (peer: string, buf: Buffer, off: number, len: number) => (sent.control.push({ peer, msg: JSON.parse(buf.toString('utf8', off, off + len)) }), true),
    rttMs: () => 20,
    forgetStream: () => {},
  };
  return { ep: ep as unknown as RelayEndpoint, sent };
}

const desc = (i: number, origin = 'o', originNum = 7): TrackDesc => ({
  trackId: `t${i}-${'x'.repeat(20)}`,
  publisherId: 'p1',
  origin,
  originNum,
  kind: 'audio',
  mid: String(i),
  codec: 'opus',
  clockRate: 48000,
  payloadType: 111,
  audioLevelExtId: 0,
  rids: [],
  streamIds: [100 + i],
});

function rtp(seq: number): Buffer {
  const b = Buffer.alloc(40);
  const hl = writeRtpHeader(b, 0, { marker: false, payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc: 0xabc }, null);
  return b.subarray(0, hl + 20);
}

function want(relay: TrackRelay, peer: string, w: object): void {
  const b = Buffer.from(JSON.stringify(w));
  relay.onControl(peer, b, 0, b.length, 0);
}

test('a long want goes in parts, is applied only when complete, and an older one is ignored', () => {
  const clock = new FakeClock();
  const { ep, sent } = fakeEndpoint();
  const relay = new TrackRelay({ nodeId: 'mid', nodeNum: 9, endpoint: ep, upstreamOf: () => 'o', clock, log: createLogger('silent') });
  // Twelve tracks of node o, wanted by node d: one datagram would be too long.
  const tracks = Array.from({ length: 12 }, (_, i) => ({ desc: desc(i), active: [] }));
  const d1 = tracks.slice(0, 6);
  const d2 = tracks.slice(6);
  want(relay, 'd', { v: 1, t: 'want', seq: 5, part: 0, parts: 2, tracks: d1 });
  assert.deepEqual(relay.sinkTracks('d'), [], 'nothing until every part is in');
  want(relay, 'd', { v: 1, t: 'want', seq: 5, part: 1, parts: 2, tracks: d2 });
  assert.equal(relay.sinkTracks('d').length, 12);
  const stale = dropCount('relay_control_stale');
  want(relay, 'd', { v: 1, t: 'want', seq: 4, part: 0, parts: 1, tracks: [] });
  assert.equal(dropCount('relay_control_stale'), stale + 1);
  assert.equal(relay.sinkTracks('d').length, 12, 'the stale empty want changed nothing');
  // Our own want upstream (to o) for those twelve is split too, every part under the budget.
  clock.advance(400);
  const toO = sent.control.filter((c) => c.peer === 'o');
  assert.ok(toO.length >= 2, `parts sent: ${toO.length}`);
  const last = toO.at(-1)!.msg;
  const parts = toO.filter((c) => c.msg.seq === last.seq);
  assert.equal(parts.length, last.parts);
  assert.equal(parts.flatMap((c) => c.msg.tracks).length, 12);
  // A newer, shorter want ends the tracks it no longer names.
  want(relay, 'd', { v: 1, t: 'want', seq: 6, part: 0, parts: 1, tracks: [tracks[0]] });
  assert.equal(relay.sinkTracks('d').length, 1);
  relay.close();
});

test('hostile wants are counted drops; a track is never sent back to the node it comes from', () => {
  const clock = new FakeClock();
  const { ep } = fakeEndpoint();
  const relay = new TrackRelay({ nodeId: 'mid', nodeNum: 9, endpoint: ep, upstreamOf: () => 'o', clock, log: createLogger('silent') });
  const invalid = dropCount('relay_control_invalid');
  const b = Buffer.from('{not json');
  relay.onControl('d', b, 0, b.length, 0);
  want(relay, 'd', { v: 1, t: 'want', seq: 1, part: 3, parts: 2, tracks: [] });
  want(relay, 'd', { v: 2, t: 'want', seq: 1, part: 0, parts: 1, tracks: [] });
  assert.equal(dropCount('relay_control_invalid'), invalid + 3);
  // We take track 1 from o; o asking us for it would make a loop.
  relay.relayedProducer(desc(1));
  const loops = dropCount('relay_loop');
  want(relay, 'o', { v: 1, t: 'want', seq: 1, part: 0, parts: 1, tracks: [{ desc: desc(1), active: [] }] });
  assert.equal(dropCount('relay_loop'), loops + 1);
  assert.deepEqual(relay.sinkTracks('o'), []);
  // A desc claiming our node number with another node's id is ignored.
  want(relay, 'd', { v: 1, t: 'want', seq: 2, part: 0, parts: 1, tracks: [{ desc: desc(2, 'evil', 9), active: [] }] });
  assert.deepEqual(relay.sinkTracks('d'), []);
  relay.close();
});

test('packets are taken from the upstream only; a new upstream takes over at its first packet', () => {
  const clock = new FakeClock();
  const { ep } = fakeEndpoint();
  let up = 'a';
  const relay = new TrackRelay({ nodeId: 'me', nodeNum: 9, endpoint: ep, upstreamOf: () => up, clock, log: createLogger('silent') });
  const producer = relay.relayedProducer(desc(1));
  const got: number[] = [];
  producer.addSink({ id: 's', forward: (v) => void got.push(v.sequenceNumber), skip: () => {} });
  const p1 = rtp(1);
  relay.onRtp('a', 7, 101, p1, 0, p1.length, clock.now());
  const notUp = dropCount('relay_not_upstream');
  const p2 = rtp(2);
  relay.onRtp('b', 7, 101, p2, 0, p2.length, clock.now());
  assert.equal(dropCount('relay_not_upstream'), notUp + 1, 'b is not our upstream');
  // Routes change to b: a keeps delivering until b's first packet, then only b counts.
  up = 'b';
  relay.reroute();
  assert.equal(relay.upstreamOfTrack(desc(1).trackId), 'a', 'make before break');
  const p3 = rtp(3);
  relay.onRtp('a', 7, 101, p3, 0, p3.length, clock.now());
  const p4 = rtp(4);
  relay.onRtp('b', 7, 101, p4, 0, p4.length, clock.now());
  assert.equal(relay.upstreamOfTrack(desc(1).trackId), 'b');
  const p5 = rtp(5);
  relay.onRtp('a', 7, 101, p5, 0, p5.length, clock.now());
  assert.deepEqual(got, [1, 3, 4], 'one stream, no duplicates, nothing from the old path after the switch');
  const loops = dropCount('relay_loop');
  relay.onRtp('b', 9, 101, p5, 0, p5.length, clock.now());
  assert.equal(dropCount('relay_loop'), loops + 1, 'our own origin coming back');
  relay.close();
});
