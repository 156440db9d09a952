import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReceiveStats } from './receive-stats.ts';

const VIDEO = 90000;

test('no loss: counts, extended highest seq across the wrap, zero loss', () => {
  for (const start of [0, 65000, 65535, 65436]) {
    const s = new ReceiveStats(0xabc, VIDEO);
    for (let i = 0; i < 200; i++) s.onPacket((start + i) & 0xffff, i * 3000, i * 33.3333, 1200);
    const b = s.makeReportBlock(10_000)!;
    const last = start + 199;
    assert.equal(b.highestSeq, last >= 65536 ? 0x10000 + (last & 0xffff) : last, `start ${start}`);
    assert.equal(b.cumulativeLost, 0);
    assert.equal(b.fractionLost, 0);
    assert.equal(b.ssrc, 0xabc);
    assert.equal(s.packets, 200);
    assert.equal(s.bytes, 240_000);
  }
});

test('fraction lost is per interval, cumulative lost accumulates', () => {
  const s = new ReceiveStats(1, VIDEO);
  // Interval 1: 100 expected (0..99), 10 lost.
  for (let i = 0; i < 100; i++) if (i % 10 !== 5) s.onPacket(i, 0, i);
  let b = s.makeReportBlock(100)!;
  assert.equal(b.cumulativeLost, 10);
  assert.equal(b.fractionLost, Math.floor((10 * 256) / 100));
  // Interval 2: 100..199, none lost.
  for (let i = 100; i < 200; i++) s.onPacket(i, 0, i);
  b = s.makeReportBlock(200)!;
  assert.equal(b.cumulativeLost, 10);
  assert.equal(b.fractionLost, 0);
  // Interval 3: 200..299 expected, odd ones lost except 299: 49 of 100.
  for (let i = 200; i < 300; i++) if (i % 2 === 0 || i === 299) s.onPacket(i, 0, i);
  b = s.makeReportBlock(300)!;
  assert.equal(b.cumulativeLost, 59);
  assert.equal(b.fractionLost, Math.floor((49 * 256) / 100));
  assert.equal(s.hasNewPackets, false);
});

test('duplicates make loss negative and fraction 0; late packets recover loss', () => {
  const s = new ReceiveStats(1, VIDEO);
  for (let i = 0; i < 10; i++) s.onPacket(i, 0, i);
  s.onPacket(5, 0, 11);
  s.onPacket(6, 0, 12);
  const b = s.makeReportBlock(20)!;
  assert.equal(b.cumulativeLost, -2);
  assert.equal(b.fractionLost, 0);
  const t = new ReceiveStats(1, VIDEO);
  t.onPacket(65534, 0, 0);
  t.onPacket(1, 0, 1); // 65535, 0 missing
  assert.equal(t.cumulativeLost, 2);
  t.onPacket(65535, 0, 2);
  t.onPacket(0, 0, 3);
  assert.equal(t.cumulativeLost, 0);
  assert.equal(t.extendedHighestSeq, 0x10001);
});

test('RFC 3550 A.1: a large jump is ignored once, then accepted as a restart', () => {
  const s = new ReceiveStats(1, VIDEO);
  for (let i = 0; i < 10; i++) s.onPacket(i, 0, i);
  assert.equal(s.onPacket(20000, 0, 11), false);
  assert.equal(s.extendedHighestSeq, 9);
  // A misordered packet within MAX_MISORDER is fine.
  assert.equal(s.onPacket(3, 0, 12), true);
  assert.equal(s.onPacket(30000, 0, 13), false);
  assert.equal(s.onPacket(30001, 0, 14), true);
  assert.equal(s.extendedHighestSeq, 30001);
  assert.equal(s.cumulativeLost, 0);
  // Jump of < MAX_DROPOUT is a gap, not a restart.
  assert.equal(s.onPacket(30001 + 2999, 0, 15), true);
  assert.equal(s.cumulativeLost, 2998);
});

test('jitter: zero for constant transit (also across the timestamp wrap), converges to |D| otherwise', () => {
  const s = new ReceiveStats(1, VIDEO);
  const ts0 = 0xffff_ffff - 3000 * 50;
  for (let i = 0; i < 100; i++) s.onPacket(i, (ts0 + 3000 * i) % 0x1_0000_0000, 1000 + (i * 100) / 3);
  assert.equal(s.makeReportBlock(5000)!.jitter, 0);
  // Transit alternates 0 / 10 ms → |D| = 900 ticks every packet; J → 900 (within 1 after many packets).
  const j = new ReceiveStats(2, VIDEO);
  for (let i = 0; i < 400; i++) j.onPacket(i, (ts0 + 3000 * i) % 0x1_0000_0000, i * (100 / 3) + (i % 2) * 10);
  const jitter = j.makeReportBlock(20_000)!.jitter;
  assert.ok(jitter >= 898 && jitter <= 900, `jitter ${jitter}`);
  // Audio clock rate scales the units.
  const a = new ReceiveStats(3, 48000);
  for (let i = 0; i < 400; i++) a.onPacket(i, 960 * i, i * 20 + (i % 2) * 10);
  const ja = a.makeReportBlock(20_000)!.jitter;
  assert.ok(ja >= 478 && ja <= 480, `audio jitter ${ja}`);
});

test('LSR is the middle 32 bits of the SR NTP time, DLSR in 1/65536 s', () => {
  const s = new ReceiveStats(1, VIDEO);
  s.onPacket(1, 0, 0);
  let b = s.makeReportBlock(0)!;
  assert.equal(b.lsr, 0);
  assert.equal(b.dlsr, 0);
  s.onSenderReport(0x12345678, 0x9abcdef0, 1000);
  const cases: [now: number, dlsr: number][] = [
    [1000, 0],
    [1500, 32768],
    [2000, 65536],
    [1001, 66],
  ];
  for (const [now, dlsr] of cases) {
    b = s.makeReportBlock(now)!;
    assert.equal(b.lsr, 0x56789abc);
    assert.equal(b.dlsr, dlsr, `now ${now}`);
  }
  s.onSenderReport(0xffffffff, 0xffffffff, 3000);
  assert.equal(s.makeReportBlock(3000)!.lsr, 0xffffffff);
});

test('no block before the first packet', () => {
  assert.equal(new ReceiveStats(1, VIDEO).makeReportBlock(0), null);
});
