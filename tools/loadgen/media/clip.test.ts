import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FakeClock, type Clock, type TimerHandle } from '../../../src/util/clock.ts';
import { buildClip, ClipPlayer, type VideoFrame } from './clip.ts';
import { parseIvf } from './ivf.ts';
import { parseOggOpus } from './ogg-opus.ts';

const ivf = parseIvf(readFileSync(new URL('./fixtures/clip-160x90.ivf', import.meta.url)));
const opus = parseOggOpus(readFileSync(new URL('./fixtures/clip-1s.ogg', import.meta.url))).packets;
// The one fixture stands in for three aligned layers.
const clip = buildClip([0, 1, 2].map((l) => ({ name: `layer${l}`, ivf, targetKbps: 100 * (l + 1) })), opus);

interface Sent {
  t: number;
  layer: number;
  index: number;
  key: boolean;
  ts: number;
}

function record(c: Clock) {
  const video: Sent[] = [];
  const audio: { t: number; ts: number; packet: Buffer }[] = [];
  return {
    video,
    audio,
    /** One entry per frame time (layer 0 only). */
    frames: () => video.filter((v) => v.layer === 0),
    sink: {
      videoFrame: (layer: number, f: VideoFrame, ts: number) => video.push({ t: c.now(), layer, index: f.index, key: f.keyframe, ts }),
      audioPacket: (packet: Buffer, ts: number) => audio.push({ t: c.now(), ts, packet }),
    },
  };
}

/**
 * Like FakeClock, but timers fire `lateness` ms after they are due, and stall() moves time without firing
 * anything (a blocked event loop); overdue timers then fire at the current time.
 */
class LateClock implements Clock {
  private t = 0;
  private nextId = 1;
  private timers = new Map<number, { at: number; fn: () => void }>();
  constructor(private readonly lateness = 0) {}
  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms + this.lateness, fn });
    return { id };
  }
  setInterval(): TimerHandle {
    throw new Error('not used');
  }
  clear(h: TimerHandle): void {
    this.timers.delete(h.id);
  }
  stall(ms: number): void {
    this.t += ms;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.timers) if (e[1].at <= end && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}

test('buildClip describes the fixture', () => {
  assert.equal(clip.fps, 30);
  assert.equal(clip.frameCount, 30);
  assert.equal(clip.durationMs, 1000);
  assert.equal(clip.layers.length, 3);
  assert.deepEqual(
    clip.layers.map((l) => [l.width, l.height, l.targetKbps]),
    [
      [160, 90, 100],
      [160, 90, 200],
      [160, 90, 300],
    ],
  );
  assert.deepEqual(
    clip.layers[2].frames.flatMap((f) => (f.keyframe ? [f.index] : [])),
    [0, 15],
  );
  assert.equal(clip.opus.length, 51);
});

test('buildClip rejects clips the player cannot use', () => {
  const shorter = { ...ivf, frames: ivf.frames.slice(0, 29) };
  assert.throws(() => buildClip([{ name: 'a', ivf, targetKbps: 1 }, { name: 'b', ivf: shorter, targetKbps: 1 }], opus), /b: 29 frames, but a has 30/);
  // Keyframe moved from 15 to 16: swap two frames in the second layer.
  const moved = { ...ivf, frames: ivf.frames.map((f, i) => ({ pts: f.pts, data: ivf.frames[i === 15 ? 16 : i === 16 ? 15 : i].data })) };
  assert.throws(() => buildClip([{ name: 'a', ivf, targetKbps: 1 }, { name: 'b', ivf: moved, targetKbps: 1 }], opus), /b: keyframes not aligned with a at frame 15/);
  const noKey = { ...ivf, frames: ivf.frames.slice(1, 15) };
  assert.throws(() => buildClip([{ name: 'a', ivf: noKey, targetKbps: 1 }], opus), /frame 0 is not a keyframe/);
  const vfr = { ...ivf, frames: ivf.frames.map((f, i) => ({ ...f, pts: i === 5 ? 6 : i })) };
  assert.throws(() => buildClip([{ name: 'a', ivf: vfr, targetKbps: 1 }], opus), /variable frame rate/);
  assert.throws(() => buildClip([{ name: 'a', ivf, targetKbps: 1 }], [...opus, Buffer.from([30 << 3])], 'x.ogg'), /x\.ogg: packet 51 lasts 10 ms/);
  assert.throws(() => buildClip([{ name: 'a', ivf, targetKbps: 1 }], []), /no Opus packets/);
});

test('paces frames every 33.3 ms and audio every 20 ms from the start time', () => {
  const clock = new FakeClock();
  clock.advance(12345);
  const r = record(clock);
  const p = new ClipPlayer(clip, clock, r.sink);
  p.start();
  assert.equal(r.video.length, 3, 'first frame goes out on start()');
  assert.deepEqual(
    r.video.map((v) => v.layer),
    [0, 1, 2],
  );
  clock.advance(1000);
  const f = r.frames();
  assert.equal(f.length, 31); // slots 0..30, the last due exactly at +1000 ms
  f.forEach((v, n) => {
    assert.ok(Math.abs(v.t - 12345 - (n * 1000) / 30) < 1e-6, `frame ${n} at ${v.t}`);
    assert.equal(v.ts, n * 3000);
    assert.equal(v.index, n % 30);
  });
  assert.equal(r.video.length, 93);
  // Every layer carries the same clip index and timestamp at each frame time.
  for (let i = 0; i < r.video.length; i += 3) {
    assert.deepEqual(
      r.video.slice(i, i + 3).map((v) => [v.layer, v.index, v.ts, v.t]),
      [0, 1, 2].map((l) => [l, r.video[i].index, r.video[i].ts, r.video[i].t]),
    );
  }
  assert.equal(r.audio.length, 51);
  r.audio.forEach((a, n) => {
    assert.ok(Math.abs(a.t - 12345 - n * 20) < 1e-6);
    assert.equal(a.ts, n * 960);
    assert.equal(a.packet, opus[n]);
  });
  p.stop();
  clock.advance(1000);
  assert.equal(r.frames().length, 31, 'nothing after stop()');
  assert.equal(r.audio.length, 51);
});

test('loops forever with continuous timestamps', () => {
  const clock = new FakeClock();
  const r = record(clock);
  const p = new ClipPlayer(clip, clock, r.sink, { videoTimestamp: 2 ** 32 - 3000 * 40, audioTimestamp: 1000 });
  p.start();
  clock.advance(3000);
  const f = r.frames();
  assert.equal(f.length, 91);
  f.forEach((v, n) => {
    assert.equal(v.index, n % 30);
    assert.equal(v.key, n % 15 === 0);
    // Wraps modulo 2^32 after 40 frames.
    assert.equal(v.ts, (2 ** 32 - 3000 * 40 + n * 3000) >>> 0);
  });
  assert.equal(f[40].ts, 0);
  assert.equal(r.audio.length, 151);
  r.audio.forEach((a, n) => {
    assert.equal(a.packet, opus[n % 51]);
    assert.equal(a.ts, 1000 + n * 960);
  });
  assert.deepEqual(p.stats, { videoFrames: 91, videoFramesSkipped: 0, audioPackets: 151, audioPacketsSkipped: 0, keyframeJumps: 0 });
  p.stop();
});

test('startFrame offsets the clip position (modulo its length)', () => {
  const clock = new FakeClock();
  const r = record(clock);
  new ClipPlayer(clip, clock, r.sink, { startFrame: 37 }).start();
  clock.advance(100);
  assert.deepEqual(
    r.frames().map((v) => [v.index, v.key, v.ts]),
    [
      [7, false, 0],
      [8, false, 3000],
      [9, false, 6000],
      [10, false, 9000],
    ],
  );
  assert.throws(() => new ClipPlayer(clip, clock, r.sink, { startFrame: -1 }), /startFrame/);
});

test('requestKeyframe skips forward to the next keyframe on every layer, timestamps unaffected', () => {
  const clock = new FakeClock();
  const r = record(clock);
  const p = new ClipPlayer(clip, clock, r.sink, { startFrame: 3 });
  p.start(); // index 3
  clock.advance(40); // index 4
  p.requestKeyframe();
  p.requestKeyframe(); // coalesces
  clock.advance(30); // next slot at 66.7 ms
  assert.deepEqual(
    r.video.slice(-3).map((v) => [v.layer, v.index, v.key, v.ts]),
    [
      [0, 15, true, 6000],
      [1, 15, true, 6000],
      [2, 15, true, 6000],
    ],
  );
  assert.equal(p.stats.keyframeJumps, 1);
  assert.equal(p.position, 16);
  // Past the last keyframe of the clip: wraps to frame 0.
  clock.advance(150); // indices 16..19
  p.requestKeyframe();
  clock.advance(34);
  assert.deepEqual(
    r.frames().slice(-2).map((v) => [v.index, v.key]),
    [
      [19, false],
      [0, true],
    ],
  );
  // Already at a keyframe: nothing skipped.
  clock.advance(14 * (1000 / 30)); // now next is index 15
  assert.equal(p.position, 15);
  p.requestKeyframe();
  clock.advance(34);
  assert.deepEqual(r.frames().at(-1)!.index, 15);
  assert.equal(p.stats.keyframeJumps, 2);
  // Frame times and timestamps never moved.
  r.frames().forEach((v, n) => assert.equal(v.ts, n * 3000));
  p.stop();
});

test('no drift when every timer fires late', () => {
  const clock = new LateClock(7);
  const r = record(clock);
  const p = new ClipPlayer(clip, clock, r.sink);
  p.start();
  clock.advance(10_000 + 8);
  // Deadlines come from the start time: a relative 33 ms re-arm after each late fire would have sent ~250.
  assert.equal(r.frames().length, 301);
  assert.equal(r.audio.length, 501);
  r.frames().forEach((v, n) => assert.equal(v.ts, n * 3000));
  assert.equal(p.stats.videoFramesSkipped, 0);
  p.stop();
});

test('catches up after a stall, at most maxBurst at once, then resyncs', () => {
  const clock = new LateClock();
  const r = record(clock);
  const p = new ClipPlayer(clip, clock, r.sink);
  p.start();
  clock.stall(100); // slots 1..3 missed
  clock.advance(0);
  assert.deepEqual(
    r.frames().map((v) => [v.t, v.index, v.ts]),
    [
      [0, 0, 0],
      [100, 1, 3000],
      [100, 2, 6000],
      [100, 3, 9000],
    ],
  );
  clock.stall(1000); // now 1100: slots 4..33 due, 30 > 5
  clock.advance(0);
  const burst = r.frames().slice(4);
  // The oldest 25 frame times are dropped; the clip position continues so the reference chain is intact.
  assert.deepEqual(
    burst.map((v) => [v.t, v.index, v.ts]),
    [29, 30, 31, 32, 33].map((slot, i) => [1100, 4 + i, slot * 3000]),
  );
  assert.equal(p.stats.videoFramesSkipped, 25);
  // Audio: slots 6..55 due at 1100 ms, 45 dropped, 5 sent.
  assert.equal(p.stats.audioPacketsSkipped, 45);
  assert.deepEqual(
    r.audio.slice(-5).map((a) => [a.ts, a.packet]),
    [51, 52, 53, 54, 55].map((slot, i) => [slot * 960, opus[6 + i]]),
  );
  // Back on schedule: slot 34 at 1133.3 ms.
  clock.advance(40);
  assert.deepEqual(
    r.frames().slice(-1).map((v) => [Math.round(v.t * 10) / 10, v.ts]),
    [[1133.3, 34 * 3000]],
  );
  p.stop();
});

test('maxBurst option and a throwing sink do not stop playback', () => {
  const clock = new LateClock();
  let n = 0;
  const p = new ClipPlayer(
    clip,
    clock,
    {
      videoFrame: (layer) => {
        if (layer === 0 && ++n === 2) throw new Error('sink failure');
      },
      audioPacket: () => {},
    },
    { maxBurst: 2 },
  );
  p.start();
  clock.stall(200);
  assert.throws(() => clock.advance(0), /sink failure/);
  clock.advance(100);
  assert.equal(p.stats.videoFramesSkipped, 4); // slots 1..6 due at 200 ms, 2 sent
  assert.ok(p.stats.videoFrames >= 6);
  assert.throws(() => p.start(), /already started/);
  assert.throws(() => new ClipPlayer(clip, clock, record(clock).sink, { maxBurst: 0 }), /maxBurst/);
  p.stop();
});

test('stop() from inside the sink ends the burst', () => {
  const clock = new LateClock();
  let frames = 0;
  const p: ClipPlayer = new ClipPlayer(clip, clock, {
    videoFrame: (layer) => {
      if (layer === 0 && ++frames === 3) p.stop();
    },
    audioPacket: () => {},
  });
  p.start();
  clock.stall(150);
  clock.advance(1000);
  assert.equal(frames, 3);
});
