import { test } from 'node:test';
import assert from 'node:assert/strict';
import { h264SpsResolution, isH264Keyframe } from './h264.ts';

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

// SPS NAL units from ffmpeg's libx264 (baseline, and high with its chroma fields); 360 and 180 need cropping.
const SPS: Array<[string, string, number, number]> = [
  ['1280x720 baseline', '6742c01fd9005005bb0110000003001000000303c0f1832480', 1280, 720],
  ['640x360 baseline, cropped', '6742c01ed900a02ff970110000030001000003003c0f162e48', 640, 360],
  ['320x180 baseline, cropped', '6742c00dd901419f9f0110000003001000000303c0f142a480', 320, 180],
  ['640x360 high', '6764001eacd940a02ff970110000030001000003003c0f162d96', 640, 360],
];
for (const [name, hex, w, h] of SPS) {
  test(`H.264 SPS picture size: ${name}`, () => {
    const sps = Buffer.from(hex, 'hex');
    assert.equal(h264SpsResolution(sps, 0, sps.length), w * 0x10000 + h, 'a single NAL unit');
    // In a STAP-A after a leading byte, with a PPS after it, as Chrome packs a keyframe's start.
    const pps = Buffer.from('68ce3c80', 'hex');
    const stap = Buffer.concat([Buffer.from([0xee, 24, sps.length >> 8, sps.length & 0xff]), sps, Buffer.from([0, pps.length]), pps]);
    assert.equal(h264SpsResolution(stap, 1, stap.length - 1), w * 0x10000 + h, 'inside a STAP-A');
    assert.equal(h264SpsResolution(sps, 0, 6), -1, 'truncated: no size, no crash');
  });
}
test('H.264 SPS picture size: no SPS in the payload', () => {
  const idr = Buffer.from([0x65, 0x88, 0x84]);
  assert.equal(h264SpsResolution(idr, 0, idr.length), -1);
  assert.equal(h264SpsResolution(Buffer.from([24, 0, 9, 0x67]), 0, 4), -1, 'a STAP-A whose unit overruns it');
});
