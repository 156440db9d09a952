import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import {
  SenderReportClock,
  compactNtpFromWallMs,
  ntpFromWallMs,
  ntpMiddle32,
  rttMsFromReportBlock,
} from './sender-report-clock.ts';

test('wall clock → NTP timestamp', () => {
  const cases: [wallMs: number, msw: number, lsw: number][] = [
    [0, 2208988800, 0],
    [1500, 2208988801, 0x80000000],
    [250, 2208988800, 0x40000000],
    [1704067200000, 3913056000, 0], // 2024-01-01T00:00:00Z
    [2085978496000, 0, 0], // NTP era 1 starts in 2036
    [2085978495999.5, 0xffffffff, Math.round(0.9995 * 2 ** 32)],
  ];
  for (const [ms, msw, lsw] of cases) {
    const t = ntpFromWallMs(ms);
    assert.equal(t.msw, msw, `msw ${ms}`);
    assert.ok(Math.abs(t.lsw - lsw) <= 0x200, `lsw ${ms}: ${t.lsw.toString(16)}`);
  }
});

test('compact NTP agrees with the middle 32 bits of the full timestamp', () => {
  for (let ms = 1_700_000_000_000; ms < 1_700_000_000_000 + 200_000; ms += 997.3) {
    const t = ntpFromWallMs(ms);
    const d = (compactNtpFromWallMs(ms) - ntpMiddle32(t.msw, t.lsw)) | 0;
    assert.ok(Math.abs(d) <= 1, `at ${ms}`);
  }
  assert.equal(ntpMiddle32(0x12345678, 0x9abcdef0), 0x56789abc);
});

test('RTT from LSR/DLSR, including across the 16-bit-seconds wrap of the compact form', () => {
  // 2208988800 + s ≡ 0 (mod 65536) when the Unix second is 65536k - 2208988800 mod 65536.
  const wrapSecond = 65536 * 30000 - 2208988800; // 1757103200: a compact-NTP wrap
  for (const base of [1_700_000_000_000, wrapSecond * 1000 - 150, wrapSecond * 1000 - 1]) {
    for (const [hold, rtt] of [
      [0, 1],
      [200, 100],
      [3000, 250],
      [5, 999],
    ]) {
      const t = ntpFromWallMs(base);
      const lsr = ntpMiddle32(t.msw, t.lsw);
      const dlsr = Math.round((hold * 65536) / 1000);
      const got = rttMsFromReportBlock(lsr, dlsr, base + hold + rtt);
      assert.ok(got !== null && Math.abs(got - rtt) < 0.1, `base ${base} hold ${hold}: ${got}`);
    }
  }
  assert.equal(rttMsFromReportBlock(0, 0, 1_700_000_000_000), null);
  const t = ntpFromWallMs(1_700_000_000_000);
  // DLSR larger than the elapsed time → negative → rejected.
  assert.equal(rttMsFromReportBlock(ntpMiddle32(t.msw, t.lsw), 65536, 1_700_000_000_500), null);
});

test('SR RTP timestamp = last sent timestamp extrapolated to now; counts', () => {
  const clock = new FakeClock();
  const c = new SenderReportClock(90000);
  assert.equal(c.makeReport(clock.now(), clock.wallNow()), null);
  c.onPacketSent(1000, 1100, clock.now());
  c.onPacketSent(1000, 900, clock.now());
  clock.advance(100);
  let r = c.makeReport(clock.now(), clock.wallNow())!;
  assert.equal(r.rtpTs, 1000 + 9000);
  assert.equal(r.packetCount, 2);
  assert.equal(r.octetCount, 2000);
  const ntp = ntpFromWallMs(clock.wallNow());
  assert.deepEqual([r.ntpMsw, r.ntpLsw], [ntp.msw, ntp.lsw]);
  // A retransmission of an older timestamp must not move the reference.
  c.onPacketSent(500, 100, clock.now());
  r = c.makeReport(clock.now(), clock.wallNow())!;
  assert.equal(r.rtpTs, 10000);
  assert.equal(r.packetCount, 3);
});

test('SR RTP timestamp across the 32-bit wrap', () => {
  const cases: [lastTs: number, elapsedMs: number, rate: number, want: number][] = [
    [0xffff_fff0, 1, 90000, 74],
    [0xffff_ffff, 0, 90000, 0xffff_ffff],
    [0xffff_0000, 2000, 48000, 96000 - 0x10000],
    [5, 20, 48000, 965],
  ];
  for (const [lastTs, elapsed, rate, want] of cases) {
    const c = new SenderReportClock(rate);
    c.onPacketSent(lastTs, 10, 1000);
    assert.equal(c.rtpTimestampAt(1000 + elapsed), want, `${lastTs} +${elapsed}ms`);
  }
  // Newer timestamp after the wrap moves the reference.
  const c = new SenderReportClock(90000);
  c.onPacketSent(0xffff_fff0, 10, 0);
  c.onPacketSent(0x10, 10, 1);
  assert.equal(c.rtpTimestampAt(1), 0x10);
});
