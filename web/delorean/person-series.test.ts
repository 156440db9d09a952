import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, emptyState, reduceEvents, type ReplayEvent } from './replay-state.ts';
import { allocationAt, personTimeline, valueAt } from './person-series.ts';
import { whyAt } from './why.ts';
import { describeEvent } from './describe.ts';
import { fmtBps, fmtLayer, fmtSpan, parseTime } from './format.ts';
import { aud, ev, join, second, tracks, vid } from './fixtures.ts';

/** A listening A with two neighbours; its downlink is capped from t=10 s to t=20 s. */
const events: ReplayEvent[] = [
  join(0, 'a', 'Ada', 20, 21),
  join(100, 'b', 'Bob', 21, 21),
  tracks(150, 'b', 'ba', 'bv'),
  join(200, 'c', 'Cy', 22, 21),
  tracks(250, 'c', 'ca', 'cv'),
  ev(1000, 'a', 'allocation', { estimateBps: 2_000_000, wantedBps: 1_100_000, totalBps: 1_100_000, tracks: [aud('ba'), aud('ca'), vid('bv', [2, 2], 500_000, 'optimal'), vid('cv', [2, 2], 500_000, 'optimal')] }),
  second(2000, 'a', 2_000_000, { ba: 30_000, bv: 480_000, ca: 30_000, cv: 470_000 }),
  second(3000, 'a', 2_100_000, { ba: 31_000, bv: 490_000, ca: 29_000, cv: 480_000 }),
  ev(11_000, 'a', 'allocation', { estimateBps: 400_000, wantedBps: 1_100_000, totalBps: 214_000, tracks: [aud('ba'), aud('ca'), vid('bv', [0, 2], 150_000, 'budget'), vid('cv', null, 0, 'budget')] }),
  ev(11_300, 'a', 'layer', { trackId: 'cv', layer: null, switches: 3 }),
  second(12_000, 'a', 280_000, { ba: 30_000, bv: 150_000, ca: 30_000 }, { lossPct: 8, rttMs: 450, score: 2 }),
  ev(13_000, 'a', 'report', { freezesPer10s: 3, limitation: 'none', capsLevel: 0, capsCause: null }),
  second(13_000, 'a', 260_000, { ba: 30_000, bv: 140_000, ca: 30_000 }, { rttMs: null }),
  ev(21_000, 'a', 'allocation', { estimateBps: 1_500_000, wantedBps: 1_100_000, totalBps: 1_100_000, tracks: [aud('ba'), aud('ca'), vid('bv', [2, 2], 500_000, 'optimal'), vid('cv', [2, 2], 500_000, 'optimal')] }),
  ev(25_000, 'c', 'leave', { reason: 'socket closed' }),
  ev(26_000, 'a', 'leave', { reason: 'socket closed' }),
];

describe('a person\'s timeline', () => {
  const tl = personTimeline(emptyState(), events, 'a', 0, 30_000);

  it('has the estimate, and the allocation in force at any moment', () => {
    assert.deepEqual(tl.estimate.map(([, v]) => v), [2_000_000, 2_100_000, 280_000, 260_000]);
    assert.equal(valueAt(tl.estimate, 12_500), 280_000);
    assert.equal(valueAt(tl.estimate, 500), undefined);
    assert.equal(allocationAt(tl, 15_000)?.ts, 11_000);
    assert.equal(allocationAt(tl, 500), undefined);
  });

  it('lists paused and lowered videos with the reason', () => {
    assert.deepEqual(tl.paused, [[11_000, 'cv', 'budget']]);
    assert.deepEqual(tl.lowered, [[11_000, 'bv', [0, 2], 'budget']]);
    assert.deepEqual(tl.layers, [[11_300, 'cv', null]]);
  });

  it('sums what was received per publisher, and holds each video in spans', () => {
    const bob = tl.received.find((p) => p.publisher === 'b')!;
    const cy = tl.received.find((p) => p.publisher === 'c')!;
    assert.equal(bob.name, 'Bob');
    assert.deepEqual(bob.bps, [[2000, 510_000], [3000, 521_000], [12_000, 180_000], [13_000, 170_000]]);
    assert.deepEqual(cy.bps.map(([, v]) => v), [500_000, 509_000, 30_000, 30_000]);
    assert.deepEqual(
      cy.videos[0]!.spans.map((s) => [s.from, s.to, s.hold]),
      [
        [1000, 11_000, 'optimal'],
        [11_000, 21_000, 'paused'],
        [21_000, 26_000, 'optimal'],
      ],
      'the last span ends when A leaves',
    );
    assert.deepEqual(bob.videos[0]!.spans.map((s) => s.hold), ['optimal', 'lowered', 'optimal']);
  });

  it('quality figures the server could not measure are gaps, not -1', () => {
    assert.deepEqual(tl.rttMs.map(([, v]) => v), [3, 3, 450, null]);
    assert.deepEqual(tl.lossPct.map(([, v]) => v), [0, 0, 8, 0]);
    assert.deepEqual(tl.score.map(([, v]) => v), [5, 5, 2, 5]);
    assert.deepEqual(tl.freezes, [[13_000, 3], [26_000, null]]);
    assert.deepEqual(tl.allocated.map(([, v]) => v), [1_100_000, 214_000, 1_100_000, null], 'a step ends with the session');
  });

  it('knows when they were there and lists their own events in words', () => {
    assert.deepEqual(tl.present, [[0, 26_000]]);
    const texts = tl.events.map((e) => `${e.ts} ${e.lane} ${e.text}`);
    assert.ok(texts.includes('0 presence joined as Ada at (20, 21), normal'), texts.join('\n'));
    assert.ok(texts.includes('11000 allocation allocation 214 kbit/s of 400 kbit/s (wants 1.10 Mbit/s): 1 paused, 1 lowered for bandwidth'), texts.join('\n'));
    assert.ok(texts.includes("11300 media forwarding paused of Cy's video"), texts.join('\n'));
    assert.ok(!tl.events.some((e) => e.kind === 'second'), 'seconds are drawn, not listed');
  });

  it('starts from the allocation in force when the range began', () => {
    const initial = reduceEvents(events, 15_000);
    const later = personTimeline(initial, events.filter((e) => e.ts > 15_000), 'a', 15_000, 30_000);
    assert.equal(allocationAt(later, 16_000)?.ts, 11_000);
    assert.deepEqual(later.paused, [[11_000, 'cv', 'budget']]);
    assert.equal(later.received.find((p) => p.publisher === 'c')!.videos[0]!.spans[0]!.from, 11_000);
  });
});

describe('why', () => {
  it('shows the allocation inputs at a moment, whose each track is, and what was forwarded', () => {
    const w = whyAt(reduceEvents(events, 12_500), 'a');
    assert.equal(w.estimateBps, 400_000);
    assert.equal(w.wantedBps, 1_100_000);
    assert.equal(w.allocatedAt, 11_000);
    assert.equal(w.sampledEstimateBps, 280_000);
    assert.deepEqual(
      w.tracks.map((t) => [t.name, t.kind, fmtLayer(t.layer), t.reason, t.hold, t.forwarded === undefined ? '–' : fmtLayer(t.forwarded)]),
      [
        ['Bob', 'audio', 'S0 T0', 'audio', 'audio', '–'],
        ['Cy', 'audio', 'S0 T0', 'audio', 'audio', '–'],
        ['Bob', 'video', 'S0 T2', 'budget', 'lowered', '–'],
        ['Cy', 'video', 'paused', 'budget', 'paused', 'paused'],
      ],
    );
    assert.equal(w.tracks.find((t) => t.trackId === 'bv')!.sentBps, 150_000);
    assert.equal(w.tracks.find((t) => t.trackId === 'cv')!.meaning, 'paused: no bandwidth left');
  });

  it('tells a publisher\'s mute from a device limit', () => {
    const s = reduceEvents([...events.slice(0, 5), ev(500, 'a', 'allocation', { estimateBps: 1e6, wantedBps: 0, totalBps: 0, tracks: [vid('bv', null, 0, 'muted')] })], 600);
    assert.equal(whyAt(s, 'a').tracks[0]!.meaning, 'beyond what this device takes (receive limits)');
    const muted = applyEvent(s, ev(700, 'b', 'tracks', { tracks: [{ trackId: 'bv', kind: 'video', source: 'camera', muted: true }] }));
    assert.equal(whyAt(muted, 'a').tracks[0]!.meaning, 'the publisher muted it');
  });

  it('is empty before any allocation', () => {
    const w = whyAt(reduceEvents(events, 500), 'a');
    assert.equal(w.allocatedAt, null);
    assert.deepEqual(w.tracks, []);
  });
});

describe('formats', () => {
  it('writes rates, layers, spans and reads times', () => {
    assert.equal(fmtBps(250_400), '250 kbit/s');
    assert.equal(fmtBps(1_234_567), '1.23 Mbit/s');
    assert.equal(fmtBps(null), '–');
    assert.equal(fmtLayer(null), 'paused');
    assert.equal(fmtLayer([2, 1]), 'S2 T1');
    assert.equal(fmtSpan(12_500), '13 s');
    assert.equal(fmtSpan(245_000), '4 min 05 s');
    assert.equal(parseTime('1796696470862'), 1796696470862);
    assert.equal(parseTime('2026-12-08T02:21:10.862Z'), Date.parse('2026-12-08T02:21:10.862Z'));
    assert.equal(parseTime('soon'), null);
    assert.equal(parseTime(null), null);
  });

  it('describes a node event by its node', () => {
    assert.equal(describeEvent(ev(1, null, 'node', { state: 'down' }, 'fra-1', '*'), { name: (x) => x, owner: () => undefined }), 'node fra-1 down');
  });
});
