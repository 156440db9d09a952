import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, frame } from './frame-reader.ts';
import { seededRandom } from '../../util/prng.ts';

test('frames come out whole whatever the chunk boundaries (random cuts, one-byte cuts, empty frames)', () => {
  const rnd = seededRandom(7);
  const frames: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const n = i % 50 === 0 ? 0 : Math.floor(rnd() * 1400) + 1;
    const b = Buffer.allocUnsafe(n);
    for (let j = 0; j < n; j++) b[j] = Math.floor(rnd() * 256);
    frames.push(b);
  }
  frames.push(Buffer.alloc(0xffff, 7));
  const stream = Buffer.concat(frames.map(frame));
  const nonEmpty = frames.filter((f) => f.length > 0);
  for (const cut of ['random', 'bytes', 'whole'] as const) {
    const r = new FrameReader();
    const got: Buffer[] = [];
    let off = 0;
    while (off < stream.length) {
      const n = cut === 'whole' ? stream.length : cut === 'bytes' ? 1 : Math.floor(rnd() * 3000) + 1;
      r.push(stream.subarray(off, off + n), (f) => got.push(f));
      off += n;
    }
    assert.equal(got.length, nonEmpty.length, cut);
    for (let i = 0; i < got.length; i++) assert.ok(got[i].equals(nonEmpty[i]), `${cut}: frame ${i}`);
  }
});

test('a frame handed out is the receiver’s own (later chunks do not overwrite it)', () => {
  const r = new FrameReader();
  const got: Buffer[] = [];
  const s = Buffer.concat([frame(Buffer.from('hello')), frame(Buffer.from('world'))]);
  r.push(s.subarray(0, 4), (f) => got.push(f));
  r.push(s.subarray(4), (f) => got.push(f));
  s.fill(0);
  assert.deepEqual(got.map(String), ['hello', 'world']);
});
