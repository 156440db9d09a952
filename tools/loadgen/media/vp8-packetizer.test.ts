import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Vp8Descriptor } from '../../../src/rtp/vp8.ts';
import { parseIvf } from './ivf.ts';
import { isVp8Keyframe, Vp8Packetizer } from './vp8-packetizer.ts';

const frames = parseIvf(readFileSync(new URL('./fixtures/clip-160x90.ivf', import.meta.url))).frames.map((f) => f.data);

test('isVp8Keyframe finds the fixture keyframes', () => {
  assert.deepEqual(
    frames.flatMap((f, i) => (isVp8Keyframe(f) ? [i] : [])),
    [0, 15],
  );
  assert.equal(isVp8Keyframe(Buffer.alloc(0)), false);
});

test('splits a keyframe into balanced payloads with the RFC 7741 descriptor', () => {
  const p = new Vp8Packetizer(0x1234);
  const key = frames[0]; // 3921 bytes
  const out = p.packetize(key);
  assert.equal(out.length, 4); // ceil(3921 / 1096)
  for (const [i, b] of out.entries()) {
    assert.ok(b.length <= 1100);
    assert.equal(b[0], i === 0 ? 0x90 : 0x80, 'X=1, S only on the first, PID 0');
    assert.equal(b[1], 0x80, 'I=1, L=T=K=0');
    assert.equal(b[2], 0x80 | 0x12, 'M=1 and PictureID high bits');
    assert.equal(b[3], 0x34);
  }
  const sizes = out.map((b) => b.length - 4);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  assert.deepEqual(Buffer.concat(out.map((b) => b.subarray(4))), key);
  assert.equal(p.pictureId, 0x1235);
});

test('payloads round-trip through the SFU descriptor parser', () => {
  const p = new Vp8Packetizer(500, 300);
  const d = new Vp8Descriptor();
  for (const [n, frame] of frames.entries()) {
    const out = p.packetize(frame);
    const rebuilt: Buffer[] = [];
    for (const [i, b] of out.entries()) {
      assert.equal(d.parse(b, 0, b.length), null);
      assert.equal(d.pictureId, 500 + n);
      assert.equal(d.pictureIdLength, 15);
      assert.equal(d.pictureIdOffset, 2);
      assert.equal(d.descriptorLength, 4);
      assert.equal(d.startOfPartition, i === 0);
      assert.equal(d.partitionId, 0);
      assert.equal(d.nonReference, false);
      assert.equal(d.tl0PicIdx, -1);
      assert.equal(d.tid, -1);
      assert.equal(d.isKeyframe, i === 0 && (n === 0 || n === 15));
      rebuilt.push(b.subarray(d.descriptorLength));
    }
    assert.deepEqual(Buffer.concat(rebuilt), frame);
  }
});

test('PictureID wraps at 0x7fff', () => {
  const p = new Vp8Packetizer(0x7ffe);
  const d = new Vp8Descriptor();
  const ids = [0, 1, 2, 3].map(() => {
    const [b] = p.packetize(frames[1]);
    assert.equal(d.parse(b, 0, b.length), null);
    return d.pictureId;
  });
  assert.deepEqual(ids, [0x7ffe, 0x7fff, 0, 1]);
});

test('sizes stay within the limit for any frame length', () => {
  for (const max of [5, 6, 7, 100, 1100, 1200]) {
    const p = new Vp8Packetizer(0, max);
    const room = max - 4;
    for (const len of [1, 2, room - 1, room, room + 1, 2 * room, 2 * room + 1, 5000]) {
      if (len < 1) continue;
      const frame = Buffer.from(Array.from({ length: len }, (_, i) => (i * 7) & 0xff));
      const out = p.packetize(frame);
      assert.equal(out.length, Math.ceil(len / room), `len ${len} max ${max}`);
      for (const b of out) assert.ok(b.length <= max && b.length > 4, `len ${len} max ${max}`);
      assert.deepEqual(Buffer.concat(out.map((b) => b.subarray(4))), frame);
    }
  }
});

test('rejects bad arguments', () => {
  assert.throws(() => new Vp8Packetizer(0x8000), /PictureID/);
  assert.throws(() => new Vp8Packetizer(-1), /PictureID/);
  assert.throws(() => new Vp8Packetizer(0, 4), /maxPayloadBytes/);
  assert.throws(() => new Vp8Packetizer().packetize(Buffer.alloc(0)), /empty VP8 frame/);
});

test('with temporal layers: TID, layer sync and TL0PICIDX (counting layer-0 frames) round-trip', () => {
  const p = new Vp8Packetizer(7, 300);
  const d = new Vp8Descriptor();
  const pattern = [0, 2, 1, 2, 0, 2, 1, 2];
  const sync = [false, true, true, false, false, true, true, false];
  const seen: Array<[number, boolean, number]> = [];
  for (let n = 0; n < pattern.length; n++) {
    const frame = frames[n % frames.length];
    const out = p.packetize(frame, pattern[n], sync[n]);
    const rebuilt: Buffer[] = [];
    for (const b of out) {
      assert.equal(d.parse(b, 0, b.length), null);
      assert.equal(d.descriptorLength, 6);
      assert.equal(d.tid, pattern[n]);
      assert.equal(d.layerSync, sync[n]);
      rebuilt.push(b.subarray(d.descriptorLength));
    }
    seen.push([d.tid, d.layerSync, d.tl0PicIdx]);
    assert.deepEqual(Buffer.concat(rebuilt), frame);
  }
  // Layer-0 frames raise TL0PICIDX; the frames after carry the same value.
  assert.deepEqual(
    seen.map((s) => s[2]),
    [8, 8, 8, 8, 9, 9, 9, 9],
  );
  assert.throws(() => p.packetize(frames[1], 4), /TID is 2 bits/);
});
