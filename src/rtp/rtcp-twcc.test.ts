import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRtcp } from './rtcp-compound.ts';
import { writeTwccFeedback } from './rtcp-twcc.ts';
import type { RtcpPacket, TwccPacket } from './rtcp-types.ts';

function parseOne(b: Buffer): TwccPacket {
  const out: RtcpPacket[] = [];
  assert.equal(parseRtcp(b, b.length, out), null);
  assert.equal(out.length, 1);
  assert.equal(out[0].type, 'twcc');
  return out[0] as TwccPacket;
}

const hdr = { senderSsrc: 1, mediaSsrc: 2, baseSeq: 65530, referenceTime: 100, fbPktCount: 7 };

test('round trip: symbols, arrival times and chunk choices', () => {
  const cases: Array<{ name: string; recv: number[]; deltas: number[] }> = [
    { name: 'single received', recv: [1], deltas: [3] },
    { name: 'all received small (run-length)', recv: Array(30).fill(1), deltas: Array(30).fill(4) },
    { name: 'alternating (1-bit vectors)', recv: Array.from({ length: 29 }, (_, i) => i % 2), deltas: Array(29).fill(255) },
    { name: 'mixed with large and negative (2-bit vectors)', recv: [1, 0, 1, 1, 0, 1, 1, 1], deltas: [0, 0, 256, -4, 0, 32767, -32768, 1] },
    { name: '1 received, 100 lost, 1 received', recv: [1, ...Array(100).fill(0), 1], deltas: [10, ...Array(100).fill(0), 600] },
    { name: 'long loss run > 8191', recv: [1, ...Array(9000).fill(0), 1], deltas: [0, ...Array(9000).fill(0), 1] },
  ];
  for (const c of cases) {
    const b = writeTwccFeedback(hdr, c.recv.length, c.recv, c.deltas);
    assert.equal(b.length % 4, 0, c.name);
    const p = parseOne(b);
    assert.equal(p.baseSeq, 65530);
    assert.equal(p.statusCount, c.recv.length);
    assert.equal(p.referenceTime, 100);
    assert.equal(p.fbPktCount, 7);
    let t = 100 * 64000;
    for (let k = 0; k < c.recv.length; k++) {
      if (c.recv[k]) {
        t += c.deltas[k] * 250;
        assert.equal(p.arrivalUs[k], t, `${c.name} #${k}`);
        assert.equal(p.symbols[k], c.deltas[k] >= 0 && c.deltas[k] <= 255 ? 1 : 2);
      } else {
        assert.ok(Number.isNaN(p.arrivalUs[k]), `${c.name} #${k}`);
        assert.equal(p.symbols[k], 0);
      }
    }
  }
});

test('compact encoding: 30 small deltas use one run-length chunk', () => {
  const b = writeTwccFeedback(hdr, 30, Array(30).fill(1), Array(30).fill(1));
  // 20 header + 2 chunk + 30 deltas = 52.
  assert.equal(b.length, 52);
});

test('negative reference time is sign-extended', () => {
  const p = parseOne(writeTwccFeedback({ ...hdr, referenceTime: -2 }, 1, [1], [0]));
  assert.equal(p.referenceTime, -2);
  assert.equal(p.arrivalUs[0], -128000);
});

test('writer rejects deltas beyond 16 bits', () => {
  assert.throws(() => writeTwccFeedback(hdr, 1, [1], [40000]), RangeError);
});

test('malformed TWCC feedback', () => {
  const good = writeTwccFeedback(hdr, 3, [1, 1, 0], [1, 300, 0]); // 2-bit vector chunk, deltas 1 + 2 bytes
  const cut = (n: number) => {
    // Shrink the declared length so the FCI is truncated at n bytes.
    const c = Buffer.from(good.subarray(0, n));
    c[0] &= ~0x20;
    c.writeUInt16BE(n / 4 - 1, 2);
    return c;
  };
  const sym3 = writeTwccFeedback(hdr, 1, [1], [0]);
  sym3.writeUInt16BE(0x6001, 20); // run-length chunk with reserved symbol 3
  const cases: Array<[string, Buffer]> = [
    ['FCI shorter than fixed fields', cut(16)],
    ['chunks missing', Buffer.concat([cut(20)])],
    ['deltas truncated', cut(24)],
    ['reserved symbol', sym3],
  ];
  for (const [name, b] of cases) assert.equal(parseRtcp(b, b.length, []), 'rtcp_malformed', name);
  assert.ok(parseOne(good).arrivalUs[1] > 0);
});
