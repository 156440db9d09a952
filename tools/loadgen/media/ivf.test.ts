import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseIvf, readIvfFile } from './ivf.ts';

const FIXTURE = new URL('./fixtures/clip-160x90.ivf', import.meta.url);
const fixture = readFileSync(FIXTURE);

test('parses the committed fixture', async () => {
  const ivf = await readIvfFile(FIXTURE.pathname);
  assert.equal(ivf.width, 160);
  assert.equal(ivf.height, 90);
  assert.equal(ivf.timebaseNum, 1);
  assert.equal(ivf.timebaseDen, 30);
  assert.equal(ivf.frames.length, 30);
  assert.deepEqual(
    ivf.frames.map((f) => f.pts),
    Array.from({ length: 30 }, (_, i) => i),
  );
  assert.equal(ivf.frames[0].data.length, 3921);
  // Frames tile the file exactly: header + (12 + size) per frame.
  assert.equal(32 + ivf.frames.reduce((n, f) => n + 12 + f.data.length, 0), fixture.length);
  const keys = ivf.frames.flatMap((f, i) => ((f.data[0] & 1) === 0 ? [i] : []));
  assert.deepEqual(keys, [0, 15]);
  // VP8 key frame start code (RFC 6386 §9.1) right after the 3-byte frame tag.
  assert.deepEqual([...ivf.frames[0].data.subarray(3, 6)], [0x9d, 0x01, 0x2a]);
});

test('accepts a file with no frames', () => {
  assert.equal(parseIvf(fixture.subarray(0, 32)).frames.length, 0);
});

test('rejects malformed input with a clear error', () => {
  const patched = (at: number, bytes: string) => {
    const b = Buffer.from(fixture);
    b.write(bytes, at, 'latin1');
    return b;
  };
  assert.throws(() => parseIvf(Buffer.alloc(10)), /too short for an IVF header/);
  assert.throws(() => parseIvf(patched(0, 'RIFF')), /bad magic/);
  assert.throws(() => parseIvf(patched(8, 'VP90')), /fourcc is 'VP90', expected 'VP80'/);
  const v = Buffer.from(fixture);
  v.writeUInt16LE(1, 4);
  assert.throws(() => parseIvf(v), /unsupported IVF version 1/);
  assert.throws(() => parseIvf(fixture.subarray(0, fixture.length - 1)), /truncated frame 29/);
  assert.throws(() => parseIvf(fixture.subarray(0, 32 + 5)), /truncated frame header/);
  const z = Buffer.from(fixture);
  z.writeUInt32LE(0, 16);
  assert.throws(() => parseIvf(z), /zero timebase/);
  assert.throws(() => parseIvf(patched(0, 'RIFF'), 'x.ivf'), /^Error: x\.ivf: bad magic/);
});
