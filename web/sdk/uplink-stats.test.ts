import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeUplink, UplinkSampler } from './uplink-stats.ts';

/** A publish connection's getStats() at time t: audio plus three simulcast layers, as Chromium reports them. */
function report(t: number, bytes: { audio: number; q: number; h: number; f: number }, o: { fActive?: boolean; reason?: string } = {}) {
  const layer = (rid: string, b: number, height: number, active = true) => ({
    type: 'outbound-rtp', id: `OT-${rid}`, timestamp: t, kind: 'video', mid: '1', rid, bytesSent: b, frameHeight: height, frameWidth: (height * 16) / 9, framesPerSecond: 30, active, qualityLimitationReason: o.reason ?? 'none',
  });
  return [
    { type: 'candidate-pair', id: 'CP', timestamp: t, nominated: true, availableOutgoingBitrate: 2_400_000 },
    { type: 'outbound-rtp', id: 'OT-a', timestamp: t, kind: 'audio', mid: '0', bytesSent: bytes.audio },
    layer('f', bytes.f, 720, o.fActive ?? true),
    layer('q', bytes.q, 180),
    layer('h', bytes.h, 360),
  ];
}

test('rates per layer and in all, layers lowest first, and the estimate in kbit/s', () => {
  const s = new UplinkSampler();
  const first = s.sample(report(1000, { audio: 0, q: 0, h: 0, f: 0 }));
  assert.equal(first.kbps, 0, 'no rate before a baseline');
  assert.deepEqual(first.layers.map((l) => l.rid), ['q', 'h', 'f']);
  const u = s.sample(report(2000, { audio: 4000, q: 12_500, h: 50_000, f: 150_000 }));
  assert.equal(u.audioKbps, 32);
  assert.deepEqual(u.layers.map((l) => [l.rid, l.kbps, l.sending]), [['q', 100, true], ['h', 400, true], ['f', 1200, true]]);
  assert.equal(u.kbps, 1732);
  assert.equal(u.availableKbps, 2400);
});

test('a layer turned off (dynacast) shows as inactive and not sending; the worst limitation reason wins', () => {
  const s = new UplinkSampler();
  s.sample(report(1000, { audio: 0, q: 0, h: 0, f: 90_000 }));
  const u = s.sample(report(2000, { audio: 4000, q: 12_500, h: 50_000, f: 90_000 }, { fActive: false, reason: 'cpu' }));
  const f = u.layers.find((l) => l.rid === 'f')!;
  assert.deepEqual([f.active, f.sending, f.kbps], [false, false, 0]);
  assert.equal(u.qualityLimitationReason, 'cpu');
  assert.equal(describeUplink(u, '1'), '532 kbps\nq h f✕\nlimited: cpu');
});

test('several callers: a sample within 500 ms keeps the older baseline, so rates stay over a real interval', () => {
  const s = new UplinkSampler();
  s.sample(report(1000, { audio: 0, q: 0, h: 0, f: 0 }));
  s.sample(report(1100, { audio: 500, q: 0, h: 0, f: 0 }));
  const u = s.sample(report(2000, { audio: 5000, q: 0, h: 0, f: 0 }));
  assert.equal(u.audioKbps, 40, 'from the 1000 ms baseline: 5000 bytes in 1 s');
  const again = s.sample(report(2000, { audio: 5000, q: 0, h: 0, f: 0 }));
  assert.equal(again.audioKbps, 40, 'the same cached report repeats the rate');
});

test('layers not sending yet (no height) still sort q, h, f', () => {
  const s = new UplinkSampler();
  const r = report(1000, { audio: 0, q: 0, h: 0, f: 0 }).map((x) => (x.type === 'outbound-rtp' && x.kind === 'video' && (x as { rid?: string }).rid !== 'q' ? { ...x, frameHeight: 0 } : x));
  assert.deepEqual(s.sample(r).layers.map((l) => l.rid), ['q', 'h', 'f']);
});
