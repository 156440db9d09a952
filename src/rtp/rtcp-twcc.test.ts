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

/** A 40-byte feedback claiming `statusCount` statuses: 10 run-length chunks of `sym`, each covering 8191. */
function claim(statusCount: number, sym: number, tail: Buffer = Buffer.alloc(0)): Buffer {
  const fci = Buffer.alloc(20 + 20 + tail.length);
  fci[0] = 0x8f; // V=2, FMT=15
  fci[1] = 205;
  fci.writeUInt16BE((fci.length >> 2) - 1, 2);
  fci.writeUInt32BE(1, 4);
  fci.writeUInt32BE(2, 8);
  fci.writeUInt16BE(0, 12);
  fci.writeUInt16BE(statusCount, 14);
  for (let c = 0; c < 10; c++) fci.writeUInt16BE((sym << 13) | 0x1fff, 20 + 2 * c);
  tail.copy(fci, 40);
  return fci;
}

test('a huge claimed status count costs what its bytes encode, not what it claims', () => {
  // 65,535 "not received" statuses fit in 10 run-length chunks: valid, and nothing per status is stored.
  const p = parseOne(claim(0xffff, 0));
  assert.equal(p.statusCount, 0xffff);
  assert.equal(p.recvOffset.length, 0, 'no packet received: no per-status arrays');
  assert.equal(p.recvArrivalUs.length, 0);
  // 65,535 "received" statuses would need 65,535 delta bytes: 40 bytes cannot say that.
  const lying = claim(0xffff, 1, Buffer.alloc(4));
  assert.equal(parseRtcp(lying, lying.length, []), 'rtcp_malformed');
  // Received packets are bounded by the delta bytes present.
  const fb = writeTwccFeedback(hdr, 500, Array(500).fill(1), Array(500).fill(2));
  const q = parseOne(fb);
  assert.equal(q.recvOffset.length, 500);
  assert.ok(q.recvOffset.length <= fb.length - 20);
  assert.deepEqual([q.recvOffset[0], q.recvOffset[499]], [0, 499]);
});

test('parse time of the 40-byte 65,535-status claim does not grow with the claim', () => {
  const small = claim(14, 0);
  const big = claim(0xffff, 0);
  const time = (b: Buffer) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) parseRtcp(b, b.length, []);
    return Number(process.hrtime.bigint() - t0) / 2000;
  };
  time(small);
  time(big);
  const ns = Math.min(time(big), time(big), time(big));
  // Before: ~406 µs each (two 65,535-entry arrays filled); a bound two orders of magnitude above the cost now.
  assert.ok(ns < 50_000, `${(ns / 1000).toFixed(1)} µs per parse`);
});
