import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer, type ProducerLayer } from './producer.ts';
import { Consumer, type ConsumerParams } from './consumer.ts';
import { PublishSession } from './publish-session.ts';
import type { ProducerParams } from './media-types.ts';
import { CapturingTransport } from '../../test/testkit/capturing-transport.ts';
import { RtpView, writeRtpHeader } from '../rtp/rtp-packet.ts';
import { ExtensionWriter } from '../rtp/extension-writer.ts';
import { Vp8Descriptor } from '../rtp/vp8.ts';
import { parseRtcp } from '../rtp/rtcp-compound.ts';
import type { RtcpPacket } from '../rtp/rtcp-types.ts';
import type { WebRtcTransport } from '../transport/webrtc-transport.ts';
import { FakeClock } from '../util/clock.ts';
import { dropCount } from '../metrics/drop-reasons.ts';
import { seededRandom } from '../util/prng.ts';

// ---------------------------------------------------------------------------------------------------------
// A synthetic VP8 simulcast publisher: per layer its own SSRC, sequence, timestamp, PictureID and TL0PICIDX
// bases; L1T3 temporal pattern (TID 0 2 1 2, Y on frames that reference only TL0); two packets per frame;
// the last payload byte tags the layer so the subscriber side can tell layers apart.

const PT = 96;
const RTX_PT = 97;
const SIZES: Record<string, [number, number]> = { q: [320, 180], h: [640, 360], f: [1280, 720] };
const TAG: Record<string, number> = { q: 0xa0, h: 0xa1, f: 0xa2 };
const TIDS = [0, 2, 1, 2];
const SYNC = [false, true, true, false];

interface VP8PacketSpec {
  ssrc: number;
  seq: number;
  ts: number;
  first: boolean;
  key: boolean;
  pic: number;
  tl0: number;
  tid: number;
  y: boolean;
  tag: number;
  size?: [number, number];
  marker?: boolean;
  ext?: ExtensionWriter | null;
  pt?: number;
}

function vp8Buffer(o: VP8PacketSpec): Buffer {
  const body = 40;
  const buf = Buffer.alloc(12 + 40 + 5 + 10 + body);
  const hl = writeRtpHeader(buf, 0, { marker: o.marker ?? !o.first, payloadType: o.pt ?? PT, sequenceNumber: o.seq & 0xffff, timestamp: o.ts >>> 0, ssrc: o.ssrc }, o.ext ?? null);
  let i = hl;
  buf[i++] = 0x80 | (o.first ? 0x10 : 0); // X, S, PID 0
  buf[i++] = 0xe0; // I, L, T
  buf[i++] = 0x80 | ((o.pic >> 8) & 0x7f);
  buf[i++] = o.pic & 0xff;
  buf[i++] = o.tl0 & 0xff;
  buf[i++] = (o.tid << 6) | (o.y ? 0x20 : 0);
  if (o.first) {
    buf[i++] = o.key ? 0x10 : 0x11; // frame tag, P bit
    buf[i++] = 0;
    buf[i++] = 0;
    if (o.key) {
      const [w, h] = o.size ?? [640, 480];
      buf.set([0x9d, 0x01, 0x2a, w & 0xff, w >> 8, h & 0xff, h >> 8], i);
      i += 7;
    }
  }
  for (let k = 0; k < body; k++) buf[i++] = (o.seq + k) & 0xff;
  buf[i - 1] = o.tag;
  return buf.subarray(0, i);
}

function view(buf: Buffer): RtpView {
  const v = new RtpView();
  assert.equal(v.parse(buf), null);
  return v;
}

class LayerSource {
  seq: number;
  ts: number;
  pic: number;
  tl0: number;
  /** Frames since the last keyframe (temporal pattern position). */
  pos = 0;
  keyDueAt = -1;
  stopped = false;
  readonly rtxSsrc: number;
  rtxSeq = 0;
  readonly sent = new Map<number, Buffer>();
  constructor(
    readonly rid: string,
    readonly ssrc: number,
    rnd: () => number,
  ) {
    this.seq = Math.floor(rnd() * 0x10000);
    this.ts = Math.floor(rnd() * 0x1_0000_0000);
    this.pic = Math.floor(rnd() * 0x8000);
    this.tl0 = Math.floor(rnd() * 0x100);
    this.rtxSsrc = (ssrc + 0x1000) >>> 0;
  }

  /** One frame (two packets); a keyframe when `key`. Advances the state. */
  frame(key: boolean, ext?: (first: boolean) => ExtensionWriter | null): Buffer[] {
    if (key) this.pos = 0;
    const tid = TIDS[this.pos % 4];
    const y = SYNC[this.pos % 4];
    if (tid === 0) this.tl0 = (this.tl0 + 1) & 0xff;
    const out: Buffer[] = [];
    for (let k = 0; k < 2; k++) {
      const b = vp8Buffer({ ssrc: this.ssrc, seq: this.seq, ts: this.ts, first: k === 0, key, pic: this.pic, tl0: this.tl0, tid, y, tag: TAG[this.rid], size: SIZES[this.rid], ext: ext?.(k === 0) ?? null });
      this.sent.set(this.seq, b);
      out.push(b);
      this.seq = (this.seq + 1) & 0xffff;
    }
    this.pic = (this.pic + 1) & 0x7fff;
    this.ts = (this.ts + 3000) >>> 0;
    this.pos++;
    return out;
  }
}

interface Sent {
  seq: number;
  ts: number;
  ssrc: number;
  pt: number;
  payload: Buffer;
  first: boolean;
  key: boolean;
  pic: number;
  tl0: number;
  tid: number;
  tag: number;
}

/** What the subscriber received (test/testkit/capturing-transport.ts), with each packet's VP8 descriptor read. */
function capturing(): CapturingTransport<Sent> {
  const d = new Vp8Descriptor();
  return new CapturingTransport((v) => {
    let po = v.payloadOffset;
    let pl = v.payloadLength;
    if (v.payloadType === CONSUMER.rtxPayloadType) {
      po += 2;
      pl -= 2;
    }
    assert.equal(d.parse(v.buf, po, pl), null, 'VP8 descriptor parses');
    const payload = Buffer.from(v.buf.subarray(po, po + pl));
    return {
      seq: v.sequenceNumber,
      ts: v.timestamp,
      ssrc: v.ssrc,
      pt: v.payloadType,
      payload,
      first: d.startOfPartition && d.partitionId === 0,
      key: d.isKeyframe,
      pic: d.pictureId,
      tl0: d.tl0PicIdx,
      tid: d.tid,
      tag: payload[payload.length - 1]!,
    };
  });
}

const CONSUMER: ConsumerParams = { id: 'c1', ssrc: 0xaaaa, rtxSsrc: 0xbbbb, payloadType: 100, rtxPayloadType: 101, ext: { transportCc: 3, absSendTime: 0, audioLevel: 0 } };

function simulcastParams(rids: string[]): ProducerParams {
  return { id: 'tv', publisherId: 'pa', kind: 'video', mid: '1', codec: 'vp8', clockRate: 90000, payloadType: PT, rtxPayloadType: RTX_PT, ssrc: 0, rtxSsrc: null, rids };
}

/** Producer with its layers bound to the sources' SSRCs, one consumer, PLIs recorded by SSRC. */
function setup(rids: string[], seed = 1) {
  const rnd = seededRandom(seed);
  const clock = new FakeClock();
  const plis: number[] = [];
  const producer = new Producer(simulcastParams(rids), clock, { requestKeyframe: (ssrc) => plis.push(ssrc) });
  const sources = new Map<string, LayerSource>();
  const layerOf = new Map<string, ProducerLayer>();
  rids.forEach((rid, i) => {
    const src = new LayerSource(rid, 0x10000 * (i + 1) + 7, rnd);
    sources.set(rid, src);
    const layer = producer.layers[i];
    layer.bind(src.ssrc);
    layerOf.set(rid, layer);
  });
  const transport = capturing();
  const consumer = new Consumer(CONSUMER, producer, transport);
  producer.addSink(consumer);
  const feed = (rid: string, key: boolean) => {
    for (const b of sources.get(rid)!.frame(key)) producer.onRtp(view(b), clock.now(), false, layerOf.get(rid)!);
  };
  return { clock, plis, producer, sources, layerOf, transport, consumer, feed, rnd };
}

/** Checks the invariants of a subscriber's stream: contiguous seq, monotonic ts, continuous VP8 ids. */
function assertContinuous(sent: readonly Sent[], what: string): void {
  for (let i = 1; i < sent.length; i++) {
    const a = sent[i - 1];
    const b = sent[i];
    const at = `${what}: packet ${i}`;
    assert.equal(b.seq, (a.seq + 1) & 0xffff, `${at}: contiguous seq`);
    assert.ok(((b.ts - a.ts) | 0) >= 0, `${at}: monotonic timestamp`);
    if (b.tag !== a.tag) assert.ok(b.key, `${at}: a layer change starts at a keyframe`);
    if (b.first) {
      assert.ok(((b.ts - a.ts) | 0) > 0, `${at}: a new frame has a newer timestamp`);
      assert.equal(b.pic, (a.pic + 1) & 0x7fff, `${at}: PictureID continues`);
      assert.equal(b.tl0, b.tid === 0 ? (a.tl0 + 1) & 0xff : a.tl0, `${at}: TL0PICIDX continues`);
    } else {
      assert.equal(b.ts, a.ts, `${at}: same frame, same timestamp`);
      assert.equal(b.pic, a.pic, `${at}: same frame, same PictureID`);
      assert.equal(b.tag, a.tag, `${at}: same frame, same layer`);
    }
  }
}

test('layers rank by key frame resolution whatever the a=simulcast order; the default target is the top', () => {
  const { producer, consumer, feed, clock, layerOf, transport } = setup(['f', 'q', 'h']);
  consumer.resume(clock.now());
  for (let i = 0; i < 30; i++) {
    for (const rid of ['f', 'q', 'h']) feed(rid, i === 0);
    clock.advance(33);
  }
  assert.deepEqual(producer.bySpatial.map((l) => l.rid), ['q', 'h', 'f']);
  assert.equal(layerOf.get('f')!.spatial, 2);
  assert.deepEqual(consumer.current, { spatial: 2, temporal: 2 });
  assert.ok(transport.sent.length > 0 && transport.sent.every((s) => s.tag === TAG.f), 'forwards f only');
  const opts = consumer.layers();
  assert.deepEqual(opts.map((o) => [o.spatial, o.temporal]), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]]);
  const top = opts.find((o) => o.spatial === 2 && o.temporal === 2)!;
  assert.equal(top.width, 1280);
  assert.equal(top.height, 720);
  assert.ok(top.fps! > 25 && top.fps! < 35, `~30 fps, got ${top.fps}`);
  const t0 = opts.find((o) => o.spatial === 2 && o.temporal === 0)!;
  assert.ok(t0.fps! > 6 && t0.fps! < 10, `TL0 is a quarter of the frames, got ${t0.fps}`);
  assert.ok(t0.bitrate > 0 && t0.bitrate < top.bitrate, 'temporal bitrates are cumulative');
});

test('a downgrade asks for the target layer’s keyframe, keeps the current layer until it arrives, then switches seamlessly', () => {
  const { consumer, feed, clock, plis, sources, transport } = setup(['q', 'h', 'f']);
  consumer.resume(clock.now());
  // Past the 500 ms PLI window of the start.
  for (let i = 0; i < 20; i++) {
    for (const rid of ['q', 'h', 'f']) feed(rid, i === 0);
    clock.advance(33);
  }
  const changes: Array<unknown> = [];
  consumer.onLayerChange = (c) => changes.push(c.current);
  plis.length = 0;
  consumer.setTarget({ spatial: 0, temporal: 255 });
  assert.deepEqual(plis, [sources.get('q')!.ssrc], 'PLI on the target layer’s SSRC');
  assert.equal(consumer.pendingSpatial, 0);
  const waiting = dropCount('switch_waiting_keyframe');
  const before = transport.sent.length;
  for (let i = 0; i < 3; i++) {
    for (const rid of ['q', 'h', 'f']) feed(rid, false);
    clock.advance(33);
  }
  assert.equal(dropCount('switch_waiting_keyframe') - waiting, 6, 'q’s delta frames wait');
  assert.ok(transport.sent.slice(before).every((s) => s.tag === TAG.f), 'f keeps flowing meanwhile');
  feed('q', true);
  feed('h', false);
  feed('f', false);
  assert.deepEqual(consumer.current, { spatial: 0, temporal: 2 });
  assert.equal(consumer.pendingSpatial, null);
  assert.deepEqual(changes, [{ spatial: 0, temporal: 2 }]);
  const sw = transport.sent.findIndex((s, i) => i >= before && s.tag === TAG.q);
  assert.ok(transport.sent[sw].key, 'the switch packet is a keyframe');
  assert.equal(((transport.sent[sw].ts - transport.sent[sw - 1].ts) | 0), 3000, 'one frame interval after the last frame sent');
  assertContinuous(transport.sent, 'downgrade');
  assert.ok(transport.sent.slice(sw).every((s) => s.tag === TAG.q), 'nothing of f after the switch');
});

test('temporal layers: dropped above the target without gaps; up again only at layer-sync frames', () => {
  const { consumer, feed, clock, transport } = setup(['q', 'h', 'f']);
  consumer.resume(clock.now());
  consumer.setTarget({ spatial: 2, temporal: 0 });
  const dropped = dropCount('temporal_layer_dropped');
  for (let i = 0; i < 16; i++) {
    feed('f', i === 0);
    clock.advance(33);
  }
  assert.equal(dropCount('temporal_layer_dropped') - dropped, 24, 'three frames of four dropped, two packets each');
  assert.ok(transport.sent.every((s) => s.tid === 0), 'TL0 only');
  assert.equal(transport.sent.length, 8);
  assertContinuous(transport.sent, 'TL0 only');
  assert.deepEqual(consumer.current, { spatial: 2, temporal: 0 });
  // Back up to 2: the pattern is TID 0 2(Y) 1(Y) 2; from 0 the first safe step is the TID 1 Y frame, then
  // the next TID 2 Y frame.
  consumer.setTarget({ spatial: 2, temporal: 2 });
  const from = transport.sent.length;
  for (let i = 0; i < 8; i++) {
    feed('f', false);
    clock.advance(33);
  }
  const tids = transport.sent.slice(from).filter((s) => s.first).map((s) => s.tid);
  assert.deepEqual(tids, [0, 1, 0, 2, 1, 2], 'the TID 2 frame before the TID 1 sync is skipped; full rate after the TID 2 sync');
  assertContinuous(transport.sent, 'temporal up');
});

test('pausing by target is immediate; resuming waits for a keyframe and continues the numbering', () => {
  const { consumer, feed, clock, plis, sources, transport } = setup(['q', 'h', 'f']);
  consumer.resume(clock.now());
  for (let i = 0; i < 5; i++) {
    for (const rid of ['q', 'h', 'f']) feed(rid, i === 0);
    clock.advance(33);
  }
  consumer.setTarget(null);
  assert.equal(consumer.current, null);
  const paused = dropCount('layer_paused');
  const n = transport.sent.length;
  feed('f', false);
  assert.equal(transport.sent.length, n);
  assert.equal(dropCount('layer_paused') - paused, 2);
  for (let i = 0; i < 60; i++) {
    clock.advance(33);
    for (const rid of ['q', 'h', 'f']) feed(rid, false);
  }
  assert.equal(transport.sent.length, n, 'nothing while paused');
  plis.length = 0;
  clock.advance(33);
  consumer.setTarget({ spatial: 1, temporal: 255 });
  assert.deepEqual(plis, [sources.get('h')!.ssrc]);
  feed('f', true);
  feed('h', false);
  assert.equal(transport.sent.length, n, 'no keyframe of h yet');
  feed('h', true);
  assert.equal(transport.sent.length, n + 2);
  assert.ok(((transport.sent[n].ts - transport.sent[n - 1].ts) | 0) >= 2000 * 90, 'timestamp advanced by the pause');
  assertContinuous(transport.sent, 'pause');
});

test('a layer that stops sending makes consumers fall back to the next lower one at its keyframe', () => {
  const { consumer, feed, clock, plis, sources, transport } = setup(['q', 'h', 'f']);
  consumer.resume(clock.now());
  for (let i = 0; i < 5; i++) {
    for (const rid of ['q', 'h', 'f']) feed(rid, i === 0);
    clock.advance(33);
  }
  plis.length = 0;
  // f stops (the browser dropped it for bandwidth): silent for LAYER_FRESH_MS (350 ms) while h keeps sending,
  // it counts as stopped; a viewer does not wait out the second a layer takes to stop counting as sending.
  for (let i = 0; i < 12; i++) {
    feed('q', false);
    feed('h', false);
    clock.advance(33);
  }
  assert.ok(plis.includes(sources.get('h')!.ssrc), 'asked h for a keyframe');
  assert.equal(consumer.pendingSpatial, 1);
  feed('h', true);
  assert.deepEqual(consumer.current?.spatial, 1);
  assertContinuous(transport.sent, 'fallback');
  assert.deepEqual(consumer.layers().map((o) => o.spatial), [0, 0, 0, 1, 1, 1], 'f is no longer offered');
});

test('sweep: random target changes and keyframes across 3 layers keep one continuous stream, switching exactly at target keyframes', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rids = seed % 2 === 0 ? ['q', 'h', 'f'] : ['f', 'h', 'q'];
    const { consumer, producer, clock, plis, sources, layerOf, transport, rnd } = setup(rids, seed);
    const bySsrc = new Map([...sources.values()].map((s) => [s.ssrc, s]));
    consumer.resume(clock.now());
    let nextChange = 0;
    let switchesChecked = 0;
    let temporalChecked = 0;
    for (let tick = 0; tick < 400; tick++) {
      const now = clock.now();
      // PLIs become keyframes after 0–2 frames (the encoder's latency).
      for (const ssrc of plis.splice(0)) {
        const s = bySsrc.get(ssrc)!;
        if (s.keyDueAt < 0) s.keyDueAt = tick + Math.floor(rnd() * 3);
      }
      if (tick >= nextChange) {
        nextChange = tick + 3 + Math.floor(rnd() * 40);
        const r = rnd();
        consumer.setTarget(r < 0.1 ? null : { spatial: Math.floor(rnd() * 3), temporal: rnd() < 0.3 ? 255 : Math.floor(rnd() * 3) });
      }
      // Now and then the top layer stops for a while, as when the browser drops it.
      if (rnd() < 0.01) sources.get('f')!.stopped = !sources.get('f')!.stopped;
      const order = [...rids];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const rid of order) {
        const s = sources.get(rid)!;
        if (s.stopped) continue;
        const key = tick === 0 || (s.keyDueAt >= 0 && s.keyDueAt <= tick) || rnd() < 0.01;
        if (key) s.keyDueAt = -1;
        const layer = layerOf.get(rid)!;
        const frame = s.frame(key);
        for (let k = 0; k < frame.length; k++) {
          const v = view(frame[k]);
          const pending = consumer.pendingSpatial;
          const curBefore = consumer.current;
          const n = transport.sent.length;
          producer.onRtp(v, now, false, layer);
          const firstOfKey = key && k === 0;
          const out = transport.sent[n];
          if (out !== undefined && out.first) {
            const t = consumer.target;
            assert.ok(t !== null && out.tid <= t.temporal, `seed ${seed} tick ${tick}: TID ${out.tid} within the target ${JSON.stringify(t)}`);
            temporalChecked += out.tid > 0 && t !== null && t.temporal < 255 ? 1 : 0;
          }
          if (firstOfKey && pending === layer.spatial && consumer.target !== null) {
            switchesChecked++;
            assert.equal(consumer.current?.spatial, layer.spatial, `seed ${seed} tick ${tick}: switched at the target layer's keyframe`);
            assert.equal(transport.sent.length, n + 1, `seed ${seed} tick ${tick}: the keyframe was sent`);
            assert.equal(transport.sent[n].tag, TAG[rid]);
          } else if (!firstOfKey && curBefore !== null && layer.spatial !== curBefore.spatial) {
            assert.equal(transport.sent.length, n, `seed ${seed} tick ${tick}: nothing of another layer without a keyframe`);
          }
        }
      }
      clock.advance(33);
    }
    assert.ok(switchesChecked > 3, `seed ${seed}: the sweep switched (${switchesChecked})`);
    assert.ok(temporalChecked > 0, `seed ${seed}: upper temporal layers under a temporal cap were seen`);
    assertContinuous(transport.sent, `seed ${seed}`);
    assert.ok(transport.sent.length > 200, `seed ${seed}: forwarded ${transport.sent.length}`);
  }
});

test('a subscriber NACK after a switch is answered from the new layer’s cache with the rewritten ids; one from before the switch is not', () => {
  const { consumer, feed, clock, transport } = setup(['q', 'h', 'f']);
  consumer.resume(clock.now());
  for (let i = 0; i < 4; i++) {
    for (const rid of ['q', 'h', 'f']) feed(rid, i === 0);
    clock.advance(33);
  }
  consumer.setTarget({ spatial: 0, temporal: 255 });
  feed('q', true);
  feed('f', false);
  feed('q', false);
  const media = transport.sent.filter((x) => x.pt === CONSUMER.payloadType).reverse();
  const fromF = media.find((s) => s.tag === TAG.f)!;
  const fromQ = media.find((s) => s.tag === TAG.q)!;
  const n = transport.sent.length;
  // The f packet went out before the q keyframe the stream restarted from: the decoder no longer needs it.
  const before = dropCount('nack_not_decodable');
  consumer.onNack([fromF.seq]);
  assert.equal(transport.sent.length, n);
  assert.equal(dropCount('nack_not_decodable') - before, 1);
  consumer.onNack([fromQ.seq]);
  const rtx = transport.sent.slice(n);
  assert.equal(rtx.length, 1);
  for (const [r, orig] of [[rtx[0], fromQ]] as const) {
    assert.equal(r.ssrc, CONSUMER.rtxSsrc);
    assert.equal(r.payload.length, orig.payload.length);
    assert.equal(r.tag, orig.tag, 'same layer');
    assert.equal(r.pic, orig.pic, 'PictureID as the subscriber got it');
    assert.equal(r.tl0, orig.tl0, 'TL0PICIDX as the subscriber got it');
    assert.equal(r.ts, orig.ts);
  }
});

// ---------------------------------------------------------------------------------------------------------
// SSRC learning in the publish session (RFC 8852).

const EXT = { mid: 4, rid: 10, rrid: 11 };

class FakePubTransport {
  connected = true;
  rtcp: RtcpPacket[] = [];
  setHandler(): void {}
  sendRtcp(buf: Buffer): boolean {
    parseRtcp(buf, buf.length, this.rtcp);
    return true;
  }
}

function sessionSetup() {
  const rnd = seededRandom(9);
  const clock = new FakeClock();
  const t = new FakePubTransport();
  const session = new PublishSession(t as unknown as WebRtcTransport, clock, () => {});
  session.midExtId = EXT.mid;
  session.ridExtId = EXT.rid;
  session.repairedRidExtId = EXT.rrid;
  const producer = new Producer(simulcastParams(['q', 'h', 'f']), clock, { requestKeyframe: (ssrc) => session.sendPli(ssrc) });
  session.addProducer(producer);
  const transport = capturing();
  const consumer = new Consumer(CONSUMER, producer, transport);
  producer.addSink(consumer);
  consumer.resume(clock.now());
  const sources = new Map(['q', 'h', 'f'].map((rid, i) => [rid, new LayerSource(rid, 0x5000 + i, rnd)]));
  const extFor = (mid: string | null, rid: string | null, rrid: string | null) => {
    const w = new ExtensionWriter();
    if (mid !== null) w.setMid(EXT.mid, mid);
    if (rid !== null) w.setMid(EXT.rid, rid);
    if (rrid !== null) w.setMid(EXT.rrid, rrid);
    return w;
  };
  /** One frame of `rid`, naming itself with mid + rid like Chrome's first packets when `named`. */
  const send = (rid: string, key: boolean, named: boolean) => {
    const s = sources.get(rid)!;
    for (const b of s.frame(key, () => (named ? extFor('1', rid, null) : null))) session.onRtp(view(Buffer.from(b)));
  };
  /** RTX of a packet `rid` sent (RFC 4588 §4), naming its layer with repaired-rtp-stream-id. */
  const sendRtx = (rid: string, seq: number, named = true) => {
    const s = sources.get(rid)!;
    const orig = view(s.sent.get(seq)!);
    const ext = named ? extFor('1', null, rid) : null;
    const payload = Buffer.concat([Buffer.from([seq >> 8, seq & 0xff]), orig.buf.subarray(orig.payloadOffset, orig.payloadOffset + orig.payloadLength)]);
    const buf = Buffer.alloc(12 + 40 + payload.length);
    const hl = writeRtpHeader(buf, 0, { marker: orig.marker, payloadType: RTX_PT, sequenceNumber: s.rtxSeq++, timestamp: orig.timestamp, ssrc: s.rtxSsrc }, ext);
    payload.copy(buf, hl);
    session.onRtp(view(buf.subarray(0, hl + payload.length)));
  };
  return { clock, t, session, producer, consumer, transport, sources, send, sendRtx, extFor };
}

test('rid-only simulcast: SSRCs are learned from mid + rid, then routed without the extensions', () => {
  const { producer, consumer, transport, sources, send } = sessionSetup();
  const unknown = dropCount('unknown_ssrc');
  send('f', true, false);
  assert.equal(dropCount('unknown_ssrc') - unknown, 2, 'a layer that never named itself is not routed');
  for (const rid of ['q', 'h', 'f']) send(rid, true, true);
  assert.deepEqual(producer.layers.map((l) => l.ssrc), [sources.get('q')!.ssrc, sources.get('h')!.ssrc, sources.get('f')!.ssrc]);
  const n = transport.sent.length;
  for (const rid of ['q', 'h', 'f']) send(rid, false, false);
  assert.equal(transport.sent.length - n, 2, 'f, the top layer, flows on without extensions');
  assert.equal(consumer.switchCount, 3);
  assert.deepEqual(consumer.current?.spatial, 2);
  // Each layer's first keyframe was the best sending so far: q, then h, then f, each at its keyframe.
  assert.deepEqual(transport.sent.map((s) => s.tag), [TAG.q, TAG.q, TAG.h, TAG.h, TAG.f, TAG.f, TAG.f, TAG.f]);
  assertContinuous(transport.sent, 'learned');
});

test('rid-only simulcast: an unknown rid or mid is a counted drop', () => {
  const { session, extFor, producer } = sessionSetup();
  const before = dropCount('rid_unknown');
  const b1 = vp8Buffer({ ssrc: 0x9999, seq: 1, ts: 1, first: true, key: true, pic: 1, tl0: 1, tid: 0, y: false, tag: 0, ext: extFor('1', 'x', null) });
  session.onRtp(view(b1));
  const b2 = vp8Buffer({ ssrc: 0x9998, seq: 1, ts: 1, first: true, key: true, pic: 1, tl0: 1, tid: 0, y: false, tag: 0, ext: extFor('7', 'q', null) });
  session.onRtp(view(b2));
  assert.equal(dropCount('rid_unknown') - before, 2);
  assert.ok(producer.layers.every((l) => l.ssrc === 0), 'nothing learned');
});

test('RTX naming its layer with repaired-rtp-stream-id is mapped to that layer and repairs its loss', () => {
  const { t, clock, session, consumer, transport, sources, send, sendRtx } = sessionSetup();
  for (const rid of ['q', 'h', 'f']) send(rid, true, true);
  // The first f packet of the next frame is lost on the way to us.
  const f = sources.get('f')!;
  const lostSeq = f.seq;
  const frame = f.frame(false);
  session.onRtp(view(Buffer.from(frame[1])));
  clock.advance(60);
  session.tick(clock.now());
  const nack = t.rtcp.find((p) => p.type === 'nack');
  assert.ok(nack && nack.type === 'nack', 'a NACK was sent');
  assert.equal(nack.mediaSsrc, f.ssrc, 'NACK towards the layer’s own SSRC');
  assert.deepEqual(nack.seqs, [lostSeq]);
  const n = transport.sent.length;
  sendRtx('f', lostSeq);
  assert.equal(transport.sent.length, n + 1, 'the recovered packet is forwarded');
  const rec = transport.sent[n];
  assert.equal(rec.seq, (transport.sent[n - 1].seq - 1) & 0xffff, 'in the slot it would have had');
  assert.equal(rec.tag, TAG.f);
  assert.equal(consumer.producer.layers[2].rtxSsrc, f.rtxSsrc);
  // Later RTX of that layer need no extension.
  const again = dropCount('duplicate');
  sendRtx('f', lostSeq, false);
  assert.equal(dropCount('duplicate') - again, 1, 'known RTX SSRC: unwrapped, seen as a duplicate');
});

test('PLIs from the subscriber go to the SSRC of the layer it receives', () => {
  const { t, clock, consumer, sources, send } = sessionSetup();
  for (const rid of ['q', 'h', 'f']) send(rid, true, true);
  t.rtcp.length = 0;
  clock.advance(1000);
  consumer.requestKeyframe();
  const pli = t.rtcp.filter((p) => p.type === 'pli');
  assert.equal(pli.length, 1);
  assert.equal(pli[0].type === 'pli' && pli[0].mediaSsrc, sources.get('f')!.ssrc);
});

// ---------------------------------------------------------------------------------------------------------
// Dynacast: what the sinks want decides what the publisher encodes.

/** A publisher sending q/h/f (except the `stopped` ones) and the producer's dynacast wishes, recorded. */
function dynacastSetup() {
  const s = setup(['q', 'h', 'f']);
  const wishes: Array<Record<string, boolean>> = [];
  s.producer.onLayerWish = (w) => wishes.push(Object.fromEntries(w.map((x) => [x.rid, x.active])));
  const stopped = new Set<string>();
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += 33) {
      for (const rid of ['q', 'h', 'f']) if (!stopped.has(rid)) s.feed(rid, t === 0);
      s.clock.advance(33);
      s.producer.tick(s.clock.now());
    }
  };
  s.consumer.resume(s.clock.now());
  return { ...s, wishes, stopped, run };
}

test('dynacast: layers nobody is allocated go off after a second, stay offered at their rates, come back at once', () => {
  const { consumer, wishes, stopped, run } = dynacastSetup();
  run(900);
  assert.equal(wishes.length, 0, 'not within the first second');
  run(500);
  assert.deepEqual(wishes, [{ q: true, h: false, f: true }], 'the consumer gets f: h goes off, q stays as the floor');
  stopped.add('h');
  const fRate = consumer.layers().find((o) => o.spatial === 2 && o.temporal === 2)!.bitrate;

  consumer.setTarget({ spatial: 0, temporal: 2 });
  run(700);
  assert.equal(wishes.length, 1, 'f: not within the first second');
  run(600);
  assert.deepEqual(wishes[1], { q: true, h: false, f: false });
  // The publisher obeys: f stops.
  stopped.add('f');
  run(1500);
  const opts = consumer.layers();
  const f = opts.find((o) => o.spatial === 2 && o.temporal === 2);
  assert.ok(f, 'f is still offered to the allocator while off');
  assert.ok(f.bitrate >= 0.9 * fRate, `at least at the rate it had (${f.bitrate} vs ${fRate}; a layer still ramping up is offered at what its size needs)`);
  assert.equal(wishes.length, 2);

  // Allocated f again: asked back at once; it resumes and the consumer gets it.
  consumer.setTarget({ spatial: 2, temporal: 2 });
  run(200);
  assert.deepEqual(wishes[2], { q: true, h: false, f: true });
  stopped.delete('f');
  run(300);
  assert.ok(consumer.layers().some((o) => o.spatial === 2), 'f sends again');
});

test('dynacast: the lowest sending layer stays on with no sinks; a layer asked back that never comes is not flipped', () => {
  const { producer, consumer, clock, wishes, stopped, run } = dynacastSetup();
  run(500);
  consumer.close(); // nobody watches
  run(1500);
  assert.deepEqual(wishes.at(-1), { q: true, h: false, f: false });
  stopped.add('h');
  stopped.add('f');
  run(1000);
  const n = wishes.length;
  // Someone is allocated f, but the publisher cannot send it (its uplink): asked once, then left asked.
  const sink = { id: 'x', forward() {}, skip() {}, demand: () => ({ spatial: 2, temporal: 2 }) };
  producer.addSink(sink);
  run(400);
  assert.deepEqual(wishes.at(-1), { q: true, h: false, f: true });
  assert.equal(wishes.length, n + 1);
  run(5000);
  assert.equal(wishes.length, n + 1, 'no flapping while f does not come');
  assert.ok(!producer.layerOptions(clock.now()).some((o) => o.spatial === 2), 'f asked back and silent for 3 s: no longer offered');
  producer.removeSink(sink);
  run(3000);
  assert.equal(wishes.length, n + 1, 'a layer that does not send is not turned off either');
});

test('receiver reports carry a block per layer heard in the last two report intervals, and stop for a silent publisher', () => {
  const { clock, t, session, send, sources } = sessionSetup();
  for (const rid of ['q', 'h', 'f']) send(rid, true, true);
  const blocks = () => {
    t.rtcp.length = 0;
    clock.advance(1000);
    session.tick(clock.now());
    const rr = t.rtcp.find((p) => p.type === 'rr');
    return rr && rr.type === 'rr' ? rr.reports.map((b) => b.ssrc).sort() : [];
  };
  const all = ['q', 'h', 'f'].map((rid) => sources.get(rid)!.ssrc).sort();
  assert.deepEqual(blocks(), all);
  send('q', false, false);
  assert.deepEqual(blocks(), all, 'the others were heard within two intervals');
  assert.deepEqual(blocks(), [sources.get('q')!.ssrc], 'only q was heard lately');
  assert.deepEqual(blocks(), [], 'silent for two intervals: no receiver report at all');
  send('h', false, false);
  assert.deepEqual(blocks(), [sources.get('h')!.ssrc]);
});

test('a publish session with nothing arriving and nothing pending is quiet; a packet ends it', () => {
  const { clock, session, send } = sessionSetup();
  for (const rid of ['q', 'h', 'f']) send(rid, true, true);
  clock.advance(20);
  session.tick(clock.now());
  assert.equal(session.quiet, false, 'packets arrived since the last tick');
  clock.advance(60);
  session.tick(clock.now());
  assert.equal(session.quiet, true, 'nothing new, no NACK pending, feedback sent');
  send('q', false, false);
  assert.equal(session.quiet, false);
});
