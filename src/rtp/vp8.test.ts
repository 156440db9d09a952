import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vp8Descriptor, vp8KeyframeSize, writePictureId, writeTl0PicIdx } from './vp8.ts';

test('parses descriptor variants', () => {
  const cases = [
    { name: 'minimal keyframe', b: [0x10, 0x00], len: 1, key: true, pid: -1, pidLen: 0, tl0: -1, tid: -1, part: 0, start: true },
    { name: 'minimal delta frame', b: [0x10, 0x01], len: 1, key: false, pid: -1, pidLen: 0, tl0: -1, tid: -1, part: 0, start: true },
    { name: 'not start of partition', b: [0x00, 0x00], len: 1, key: false, pid: -1, pidLen: 0, tl0: -1, tid: -1, part: 0, start: false },
    { name: 'partition 1', b: [0x11, 0x00], len: 1, key: false, pid: -1, pidLen: 0, tl0: -1, tid: -1, part: 1, start: true },
    { name: '7-bit picture id', b: [0x90, 0x80, 0x55, 0x00], len: 3, key: true, pid: 0x55, pidLen: 7, tl0: -1, tid: -1, part: 0, start: true },
    { name: '15-bit picture id', b: [0x90, 0x80, 0xab, 0xcd, 0x01], len: 4, key: false, pid: 0x2bcd, pidLen: 15, tl0: -1, tid: -1, part: 0, start: true },
    {
      name: 'I+L+T+K', b: [0x90, 0xf0, 0x81, 0x02, 0x33, 0xa5, 0x00], len: 6, key: true,
      pid: 0x102, pidLen: 15, tl0: 0x33, tid: 2, part: 0, start: true,
    },
  ];
  const d = new Vp8Descriptor();
  for (const c of cases) {
    assert.equal(d.parse(Buffer.from(c.b), 0, c.b.length), null, c.name);
    assert.equal(d.descriptorLength, c.len, c.name);
    assert.equal(d.isKeyframe, c.key, c.name);
    assert.equal(d.pictureId, c.pid, c.name);
    assert.equal(d.pictureIdLength, c.pidLen, c.name);
    assert.equal(d.tl0PicIdx, c.tl0, c.name);
    assert.equal(d.tid, c.tid, c.name);
    assert.equal(d.partitionId, c.part, c.name);
    assert.equal(d.startOfPartition, c.start, c.name);
  }
  // Last case: Y=1 (0xa5 = 10 1 00101), KEYIDX=5.
  assert.equal(d.layerSync, true);
  assert.equal(d.keyIdx, 5);
});

test('parses at an offset inside a larger buffer', () => {
  const d = new Vp8Descriptor();
  const b = Buffer.from([0xff, 0xff, 0x90, 0x80, 0x7f, 0x00, 0xff]);
  assert.equal(d.parse(b, 2, 4), null);
  assert.equal(d.pictureId, 0x7f);
  assert.equal(d.pictureIdOffset, 4);
  assert.equal(d.isKeyframe, true);
});

test('malformed descriptors', () => {
  const cases: Array<[string, number[], number?]> = [
    ['empty', []],
    ['X without extension byte', [0x80]],
    ['I without picture id', [0x80, 0x80]],
    ['15-bit picture id truncated', [0x80, 0x80, 0x81]],
    ['L without tl0', [0x80, 0x40]],
    ['T without tid byte', [0x80, 0x20]],
    ['descriptor only, no payload', [0x90, 0x80, 0x05]],
    ['length beyond buffer', [0x10, 0x00], 5],
  ];
  const d = new Vp8Descriptor();
  for (const [name, b, len] of cases) assert.equal(d.parse(Buffer.from(b), 0, len ?? b.length), 'rtp_malformed', name);
});

test('writePictureId / writeTl0PicIdx rewrite in place with wrap', () => {
  const d = new Vp8Descriptor();
  const cases = [
    { b: [0x90, 0xc0, 0x80, 0x01, 0x10, 0x00], value: 0x8001, want: 0x0001, tl0: 0x1ff, wantTl0: 0xff },
    { b: [0x90, 0xc0, 0x05, 0x10, 0x00], value: 0x85, want: 0x05, tl0: 7, wantTl0: 7 },
    { b: [0x90, 0xc0, 0xff, 0xff, 0x10, 0x00], value: 0x1234, want: 0x1234, tl0: 0, wantTl0: 0 },
  ];
  for (const c of cases) {
    const b = Buffer.from(c.b);
    assert.equal(d.parse(b, 0, b.length), null);
    const len = d.pictureIdLength;
    writePictureId(b, d.pictureIdOffset, len, c.value);
    writeTl0PicIdx(b, d.tl0PicIdxOffset, c.tl0);
    assert.equal(d.parse(b, 0, b.length), null);
    assert.equal(d.pictureIdLength, len);
    assert.equal(d.pictureId, c.want);
    assert.equal(d.tl0PicIdx, c.wantTl0);
  }
});

test('key frame size from the VP8 frame header (RFC 6386 §9.1), scaling bits ignored', () => {
  // Frame tag (key, show), start code, 1280 | scale 1 << 14, 720.
  const b = Buffer.from([0xee, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x45, 0xd0, 0x02, 0x00]);
  assert.equal(vp8KeyframeSize(b, 1, b.length), 1280 * 65536 + 720);
  assert.equal(vp8KeyframeSize(b, 1, b.length - 1), 1280 * 65536 + 720, 'ten bytes are enough');
  assert.equal(vp8KeyframeSize(b, 1, b.length - 2), -1, 'too short');
  const inter = Buffer.from(b);
  inter[1] |= 0x01;
  assert.equal(vp8KeyframeSize(inter, 1, inter.length), -1, 'P bit set: not a key frame');
  const bad = Buffer.from(b);
  bad[5] = 0x02;
  assert.equal(vp8KeyframeSize(bad, 1, bad.length), -1, 'no start code');
});
