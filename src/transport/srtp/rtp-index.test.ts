import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateRtpIndex, rtpHeaderLength } from './rtp-index.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('rtpHeaderLength: CSRCs, extensions and malformed headers', () => {
  const cases: Array<[string, string, number]> = [
    ['plain', '80000001 00000000 11111111 aabb', 12],
    ['2 CSRCs', '82000001 00000000 11111111 22222222 33333333 aa', 20],
    ['one-byte ext, 1 word', '90000001 00000000 11111111 bede0001 10ff0000 aa', 20],
    ['CSRC + ext', '91000001 00000000 11111111 22222222 bede0002 00000000 00000000', 28],
    ['header only', '80000001 00000000 11111111', 12],
    ['too short', '80000001 00000000 111111', -1],
    ['version 1', '40000001 00000000 11111111 aa', -1],
    ['version 0', '00000001 00000000 11111111 aa', -1],
    ['CSRC overrun', '83000001 00000000 11111111 22222222', -1],
    ['ext header cut', '90000001 00000000 11111111 bede', -1],
    ['ext body overrun', '90000001 00000000 11111111 bede0004 00000000', -1],
  ];
  for (const [name, h, want] of cases) {
    const b = hex(h);
    assert.equal(rtpHeaderLength(b, b.length), want, name);
  }
  // `length` bounds the parse even if the Buffer is larger (pooled receive buffers).
  const big = Buffer.concat([hex('90000001 00000000 11111111 bede0001 10ff0000'), Buffer.alloc(100)]);
  assert.equal(rtpHeaderLength(big, 18), -1);
});

test('estimateRtpIndex follows RFC 3711 Appendix A', () => {
  // [highest index so far, seq, expected index]
  const cases: Array<[number, number, number]> = [
    [0, 1, 1],
    [100, 99, 99],
    [100, 32868, 32868], // exactly +32768: still ROC
    [100, 32869, -65536 + 32869], // would be ROC-1 (< 0 at ROC 0: caller drops as too old)
    [65535, 0, 65536], // wrap forward
    [65535, 65534, 65534],
    [65536 + 5, 65530, 65530], // late packet from before the wrap: ROC-1
    [65536 * 3 + 40000, 7000, 65536 * 4 + 7000], // s_l >= 32768, seq far below: ROC+1
    [65536 * 3 + 40000, 7232, 65536 * 3 + 7232], // s_l - 32768 == seq: stays ROC
    [65536 * 7 + 10, 40000, 65536 * 6 + 40000],
  ];
  for (const [hi, seq, want] of cases) assert.equal(estimateRtpIndex(hi, seq), want, `${hi}/${seq}`);
});
