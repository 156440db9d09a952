import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isH264Keyframe } from './h264.ts';

const cases: Array<[string, number[], boolean]> = [
  ['IDR single NAL', [0x65, 0x88], true],
  ['SPS single NAL', [0x67, 0x42], true],
  ['non-IDR slice', [0x41, 0x9a], false],
  ['STAP-A with SPS', [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68], true],
  ['STAP-A without key NAL', [0x78, 0x00, 0x02, 0x41, 0x42], false],
  ['STAP-A size overrun', [0x78, 0x00, 0x09, 0x67], false],
  ['FU-A start of IDR', [0x7c, 0x85, 0x00], true],
  ['FU-A middle of IDR', [0x7c, 0x05, 0x00], false],
  ['FU-A start of non-IDR', [0x7c, 0x81], false],
  ['FU-A truncated', [0x7c], false],
  ['empty', [], false],
];
for (const [name, bytes, want] of cases) {
  test(`H.264 keyframe: ${name}`, () => {
    const b = Buffer.from([0xaa, ...bytes]);
    assert.equal(isH264Keyframe(b, 1, bytes.length), want);
  });
}
