import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachRtcp, parseRtcp } from './rtcp-compound.ts';
import { writeBye, writeRr, writeSdesCname, writeSr } from './rtcp-reports.ts';
import { writeFir, writeNack, writePli, writeRemb } from './rtcp-feedback.ts';
import type { ReportBlock, RtcpPacket } from './rtcp-types.ts';

function parseAll(b: Buffer): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  assert.equal(parseRtcp(b, b.length, out), null);
  return out;
}

const block = (ssrc: number, lost: number): ReportBlock => ({
  ssrc,
  fractionLost: 25,
  cumulativeLost: lost,
  highestSeq: 0x0001fffe,
  jitter: 1234,
  lsr: 0xdeadbeef,
  dlsr: 65536,
});

test('writer/parser round trips', () => {
  const cases: Array<{ name: string; buf: Buffer; want: RtcpPacket }> = [
    {
      name: 'SR no blocks',
      buf: writeSr({ ssrc: 1, ntpSec: 0xe0000000, ntpFrac: 0x80000000, rtpTimestamp: 0xffffffff, packetCount: 10, octetCount: 1000 }),
      want: { type: 'sr', ssrc: 1, ntpSec: 0xe0000000, ntpFrac: 0x80000000, rtpTimestamp: 0xffffffff, packetCount: 10, octetCount: 1000, reports: [] },
    },
    {
      name: 'SR with blocks, negative cumulative lost',
      buf: writeSr({ ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6, reports: [block(7, -3), block(8, 0x7fffff)] }),
      want: { type: 'sr', ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6, reports: [block(7, -3), block(8, 0x7fffff)] },
    },
    { name: 'RR', buf: writeRr(0xffffffff, [block(9, 100)]), want: { type: 'rr', ssrc: 0xffffffff, reports: [block(9, 100)] } },
    { name: 'RR empty', buf: writeRr(5, []), want: { type: 'rr', ssrc: 5, reports: [] } },
    ...['', 'a', 'ab', 'abc', 'abcd', 'x'.repeat(255)].map((c) => ({
      name: `SDES cname len ${c.length}`,
      buf: writeSdesCname(42, c),
      want: { type: 'sdes', chunks: [{ ssrc: 42, cname: c }] } as RtcpPacket,
    })),
    { name: 'BYE', buf: writeBye([1, 2]), want: { type: 'bye', ssrcs: [1, 2], reason: null } },
    { name: 'BYE reason', buf: writeBye([3], 'leaving'), want: { type: 'bye', ssrcs: [3], reason: 'leaving' } },
    { name: 'PLI', buf: writePli(1, 2), want: { type: 'pli', senderSsrc: 1, mediaSsrc: 2 } },
    { name: 'FIR', buf: writeFir(1, [{ ssrc: 2, seqNr: 255 }, { ssrc: 3, seqNr: 0 }]), want: { type: 'fir', senderSsrc: 1, entries: [{ ssrc: 2, seqNr: 255 }, { ssrc: 3, seqNr: 0 }] } },
    { name: 'REMB small', buf: writeRemb(1, 200_000, [5, 6]), want: { type: 'remb', senderSsrc: 1, bitrate: 200_000, ssrcs: [5, 6] } },
    { name: 'REMB exact power', buf: writeRemb(1, 2 ** 30, [5]), want: { type: 'remb', senderSsrc: 1, bitrate: 2 ** 30, ssrcs: [5] } },
    { name: 'REMB zero ssrcs', buf: writeRemb(9, 0, []), want: { type: 'remb', senderSsrc: 9, bitrate: 0, ssrcs: [] } },
  ];
  for (const c of cases) {
    assert.equal(c.buf.length % 4, 0, c.name);
    assert.deepEqual(parseAll(c.buf), [c.want], c.name);
  }
});

test('REMB rounds large bitrates down within mantissa precision', () => {
  const br = 123_456_789;
  const [p] = parseAll(writeRemb(1, br, [1]));
  assert.equal(p.type, 'remb');
  if (p.type === 'remb') {
    assert.ok(p.bitrate <= br && p.bitrate > br * (1 - 2 ** -17), String(p.bitrate));
  }
});

test('NACK packing into PID/BLP and expansion', () => {
  const cases: Array<{ seqs: number[]; pairs: number; want: number[] }> = [
    { seqs: [100], pairs: 1, want: [100] },
    { seqs: [100, 101, 116], pairs: 1, want: [100, 101, 116] },
    { seqs: [100, 117], pairs: 2, want: [100, 117] },
    { seqs: [65534, 65535, 0, 5], pairs: 1, want: [65534, 65535, 0, 5] },
    { seqs: [10, 10, 11], pairs: 1, want: [10, 11] },
    { seqs: Array.from({ length: 40 }, (_, i) => 1000 + i), pairs: 3, want: Array.from({ length: 40 }, (_, i) => 1000 + i) },
  ];
  for (const c of cases) {
    const b = writeNack(7, 8, c.seqs);
    assert.equal(b.length, 12 + 4 * c.pairs, c.seqs.join(','));
    assert.deepEqual(parseAll(b), [{ type: 'nack', senderSsrc: 7, mediaSsrc: 8, seqs: c.want }]);
  }
});

test('compound packet: SR + SDES + REMB in order, forEachRtcp visits all', () => {
  const b = Buffer.concat([
    writeSr({ ssrc: 1, ntpSec: 1, ntpFrac: 1, rtpTimestamp: 1, packetCount: 1, octetCount: 1 }),
    writeSdesCname(1, 'cn'),
    writeRemb(1, 1000, [2]),
  ]);
  const types: string[] = [];
  assert.equal(forEachRtcp(b, b.length, (p) => types.push(p.type)), null);
  assert.deepEqual(types, ['sr', 'sdes', 'remb']);
});

test('unknown types are reported, not rejected', () => {
  // APP packet (PT 204) and an RTPFB with FMT 3 (TMMBR).
  const app = Buffer.from([0x80, 204, 0, 2, 0, 0, 0, 1, 0x61, 0x62, 0x63, 0x64]);
  const tmmbr = Buffer.from([0x83, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
  const afb = Buffer.from([0x8f, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0x58, 0x58, 0x58, 0x58]);
  assert.deepEqual(parseAll(Buffer.concat([app, tmmbr, afb])), [
    { type: 'unknown', packetType: 204, count: 0 },
    { type: 'unknown', packetType: 205, count: 3 },
    { type: 'unknown', packetType: 206, count: 15 },
  ]);
});

test('RTCP padding (P bit) is honoured', () => {
  const b = Buffer.concat([writeBye([9]), Buffer.from([0, 0, 0, 4])]);
  b[0] |= 0x20;
  b.writeUInt16BE(2, 2);
  assert.deepEqual(parseAll(b), [{ type: 'bye', ssrcs: [9], reason: null }]);
});

test('malformed RTCP yields rtcp_malformed and no callbacks', () => {
  const pli = writePli(1, 2);
  const mut = (b: Buffer, f: (x: Buffer) => void) => {
    const c = Buffer.from(b);
    f(c);
    return c;
  };
  const cases: Array<[string, Buffer, number?]> = [
    ['empty', Buffer.alloc(0)],
    ['3 bytes', Buffer.from([0x80, 200, 0])],
    ['bad version', mut(pli, (x) => (x[0] = 0x41))],
    ['length beyond buffer', mut(pli, (x) => x.writeUInt16BE(10, 2))],
    ['length arg beyond buffer', pli, 100],
    ['trailing garbage after valid packet', Buffer.concat([pli, Buffer.from([0x80, 201])])],
    ['second packet bad version', Buffer.concat([pli, mut(pli, (x) => (x[0] = 0x01))])],
    // Length field says 24 bytes: one word short of the sender info.
    ['SR truncated', mut(writeSr({ ssrc: 1, ntpSec: 1, ntpFrac: 1, rtpTimestamp: 1, packetCount: 1, octetCount: 1 }).subarray(0, 24), (x) => x.writeUInt16BE(5, 2))],
    ['SR claims a report block it lacks', mut(writeSr({ ssrc: 1, ntpSec: 1, ntpFrac: 1, rtpTimestamp: 1, packetCount: 1, octetCount: 1 }), (x) => (x[0] = 0x81))],
    ['RR claims 2 blocks', mut(writeRr(1, [block(1, 1)]), (x) => (x[0] = 0x82))],
    ['PLI too short', Buffer.from([0x81, 206, 0, 1, 0, 0, 0, 1])],
    ['NACK no FCI', mut(pli, (x) => (x[1] = 205))],
    ['FIR half entry', Buffer.concat([mut(writePli(1, 0), (x) => { x[0] = 0x84; x.writeUInt16BE(3, 2); }), Buffer.alloc(4)])],
    ['REMB ssrc count overrun', mut(writeRemb(1, 1000, [1]), (x) => (x[16] = 3))],
    ['SDES item overrun', mut(writeSdesCname(1, 'abc'), (x) => (x[9] = 50))],
    ['SDES missing chunk', mut(writeSdesCname(1, 'abc'), (x) => (x[0] = 0x82))],
    ['BYE reason overrun', mut(writeBye([1], 'ab'), (x) => (x[8] = 20))],
    ['padding zero', mut(writeBye([1, 2]), (x) => { x[0] |= 0x20; x[11] = 0; })],
    ['padding eats header', mut(writeBye([1, 2]), (x) => { x[0] |= 0x20; x[11] = 13; })],
  ];
  for (const [name, b, len] of cases) {
    const out: RtcpPacket[] = [];
    assert.equal(parseRtcp(b, len ?? b.length, out), 'rtcp_malformed', name);
    assert.equal(out.length, 0, name);
    let called = 0;
    assert.equal(forEachRtcp(b, len ?? b.length, () => called++), 'rtcp_malformed', name);
    assert.equal(called, 0, name);
  }
});
