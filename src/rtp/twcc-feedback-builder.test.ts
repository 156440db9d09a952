import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRtcp } from './rtcp-compound.ts';
import type { RtcpPacket, TwccPacket } from './rtcp-types.ts';
import { TwccFeedbackBuilder } from './twcc-feedback-builder.ts';
import { youngBytesAllocated } from './test-alloc.ts';

/** Parses feedback packets back into seq -> arrival ms (NaN for reported-lost). */
function decode(bufs: Buffer[]): { map: Map<number, number>; pkts: TwccPacket[] } {
  const map = new Map<number, number>();
  const pkts: TwccPacket[] = [];
  for (const b of bufs) {
    assert.ok(b.length <= 1200, `packet ${b.length} bytes`);
    const out: RtcpPacket[] = [];
    assert.equal(parseRtcp(b, b.length, out), null);
    const p = out[0] as TwccPacket;
    assert.equal(p.type, 'twcc');
    assert.equal(p.senderSsrc, 11);
    assert.equal(p.mediaSsrc, 22);
    pkts.push(p);
    for (let k = 0; k < p.statusCount; k++) {
      const seq = (p.baseSeq + k) & 0xffff;
      assert.ok(!map.has(seq), `seq ${seq} reported twice`);
      map.set(seq, p.arrivalUs[k] / 1000);
    }
  }
  return { map, pkts };
}

function check(map: Map<number, number>, expected: Map<number, number>, lost: number[]): void {
  for (const [seq, ms] of expected) {
    const got = map.get(seq);
    assert.ok(got !== undefined && Math.abs(got - ms) <= 0.125, `seq ${seq}: got ${got}, want ${ms}`);
  }
  for (const seq of lost) assert.ok(Number.isNaN(map.get(seq)), `seq ${seq} should be reported lost`);
}

test('scenarios round-trip through the parser', () => {
  type Rx = [seq: number, ms: number];
  const cases: Array<{ name: string; rx: Rx[]; lost: number[]; packets?: number }> = [
    { name: 'in order', rx: [[1, 1000], [2, 1005.3], [3, 1010.9]], lost: [], packets: 1 },
    { name: 'wrap 65535 -> 0', rx: [[65533, 50], [65534, 51], [65535, 52.25], [0, 53], [1, 54]], lost: [], packets: 1 },
    { name: 'losses across wrap', rx: [[65534, 50], [1, 60]], lost: [65535, 0], packets: 1 },
    { name: 'captured shape: 1 received, 100 lost, 1 received', rx: [[100, 10], [201, 30]], lost: Array.from({ length: 100 }, (_, i) => 101 + i), packets: 1 },
    { name: 'reordered', rx: [[10, 100], [12, 101], [11, 102], [13, 99]], lost: [], packets: 1 },
    { name: 'duplicate keeps first arrival', rx: [[5, 100], [5, 200], [6, 201]], lost: [] },
    { name: 'large delta (> 8.19 s) splits', rx: [[1, 0], [2, 9000], [3, 9001]], lost: [], packets: 2 },
    { name: 'large but representable delta (1 s) does not split', rx: [[1, 0], [2, 1000]], lost: [], packets: 1 },
    { name: 'negative large delta', rx: [[1, 500], [2, 100]], lost: [], packets: 1 },
  ];
  for (const c of cases) {
    const b = new TwccFeedbackBuilder();
    const expected = new Map<number, number>();
    for (const [seq, ms] of c.rx) {
      b.record(seq, ms);
      if (!expected.has(seq)) expected.set(seq, ms);
    }
    const bufs = b.build(11, 22);
    if (c.packets !== undefined) assert.equal(bufs.length, c.packets, c.name);
    const { map } = decode(bufs);
    check(map, expected, c.lost);
    assert.equal(map.size, expected.size + c.lost.length, c.name);
  }
});

test('fb pkt count increments across builds and wraps at 8 bits; nothing pending yields []', () => {
  const b = new TwccFeedbackBuilder();
  assert.deepEqual(b.build(11, 22), []);
  const counts: number[] = [];
  for (let i = 0; i < 260; i++) {
    b.record(i, i);
    const bufs = b.build(11, 22);
    assert.equal(bufs.length, 1);
    counts.push(decode(bufs).pkts[0].fbPktCount);
    assert.deepEqual(b.build(11, 22), []);
  }
  assert.deepEqual(counts.slice(0, 3), [0, 1, 2]);
  assert.deepEqual(counts.slice(254, 258), [254, 255, 0, 1]);
});

test('successive builds cover consecutive ranges; late packets are not reported twice', () => {
  const b = new TwccFeedbackBuilder();
  b.record(100, 1);
  b.record(102, 2);
  const first = decode(b.build(11, 22));
  assert.equal(first.pkts[0].baseSeq, 100);
  assert.equal(first.pkts[0].statusCount, 3);
  b.record(101, 3); // arrived after it was reported lost: ignored
  b.record(104, 4);
  const second = decode(b.build(11, 22));
  assert.equal(second.pkts[0].baseSeq, 103);
  assert.equal(second.pkts[0].statusCount, 2);
  check(second.map, new Map([[104, 4]]), [103]);
});

test('splits at ~1200 bytes with many received packets and many large deltas', () => {
  const b = new TwccFeedbackBuilder();
  const expected = new Map<number, number>();
  let t = 0;
  for (let i = 0; i < 3000; i++) {
    const seq = (60000 + i) & 0xffff; // crosses the wrap
    t += i % 3 === 0 ? 100 : 0.5; // every third delta is large (100 ms)
    b.record(seq, t);
    expected.set(seq, t);
  }
  const bufs = b.build(11, 22);
  assert.ok(bufs.length > 3, `${bufs.length} packets`);
  const { map, pkts } = decode(bufs);
  check(map, expected, []);
  assert.equal(map.size, 3000);
  // Consecutive packets continue where the previous ended.
  for (let i = 1; i < pkts.length; i++) {
    assert.equal(pkts[i].baseSeq, (pkts[i - 1].baseSeq + pkts[i - 1].statusCount) & 0xffff);
  }
});

test('ring overflow forgets the oldest unreported seqs', () => {
  const b = new TwccFeedbackBuilder({ capacity: 64 });
  for (let i = 0; i < 200; i++) b.record(i, i);
  const { map, pkts } = decode(b.build(11, 22));
  assert.equal(pkts[0].baseSeq, 200 - 64);
  assert.equal(map.size, 64);
  check(map, new Map([[199, 199], [136, 136]]), []);
});

test('record is allocation-free in steady state', () => {
  const b = new TwccFeedbackBuilder();
  for (let i = 0; i < 5000; i++) b.record(i, i);
  b.build(1, 2);
  let seq = 5000;
  const bytes = youngBytesAllocated(() => {
    for (let i = 0; i < 10_000; i++, seq++) {
      // Integer ms: a fractional double argument is boxed by the caller, not by record().
      b.record(seq & 0xffff, seq);
      if ((i & 7) === 0) b.record((seq - 3) & 0xffff, seq); // reordered / duplicate
    }
  });
  assert.ok(bytes < 64_000, `young generation grew ${bytes} bytes`);
});
