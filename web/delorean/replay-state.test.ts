import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, emptyState, linkPairs, linksOf, reduceEvents, type ReplayEvent } from './replay-state.ts';
import { ReplayIndex, upperBound } from './replay-index.ts';
import { aud, ev, join, tracks, vid } from './fixtures.ts';

const links = (ts: number, listener: string, ...l: Array<[string, number]>) => ev(ts, listener, 'links', { links: l.map(([speaker, gain]) => ({ speaker, gain, priority: 500 })) });

const story: ReplayEvent[] = [
  ev(900, null, 'node', { state: 'up' }, 'n1', '*'),
  join(1000, 'a', 'Ada', 20, 21),
  join(1100, 'b', 'Bob', 22, 21),
  tracks(1150, 'b', 'ba', 'bv'),
  links(1200, 'a', ['b', 1]),
  links(1200, 'b', ['a', 1]),
  ev(1300, 'a', 'move', { x: 21, y: 21 }),
  ev(1400, 'b', 'mode', { mode: 'quiet' }),
  ev(1500, 'a', 'allocation', { estimateBps: 900_000, wantedBps: 600_000, totalBps: 532_000, tracks: [aud('ba'), vid('bv', [2, 2], 500_000, 'optimal')] }),
  ev(1600, 'a', 'speaking', { on: true }),
  ev(2000, 'b', 'leave', { reason: 'socket closed' }),
  ev(2000, 'b', 'transport', { which: 'publish', state: 'closed', reason: 'participant left' }),
  links(2100, 'a'),
];

describe('replay state', () => {
  it('follows joins, moves, modes and leaves', () => {
    const s = reduceEvents(story, 1450);
    assert.deepEqual(
      Object.values(s.people).map((p) => [p.id, p.name, p.x, p.y, p.mode]),
      [
        ['a', 'Ada', 21, 21, 'normal'],
        ['b', 'Bob', 22, 21, 'quiet'],
      ],
    );
    assert.equal(s.t, 1450);
    assert.equal(s.tracks.bv?.publisher, 'b');
    const after = reduceEvents(story, 2000);
    assert.deepEqual(Object.keys(after.people), ['a']);
    assert.equal(after.tracks.bv, undefined, 'a leaver\'s tracks are gone');
    assert.equal(after.names.b, 'Bob', 'the name stays known');
    assert.equal(after.people.a!.speaking, true);
  });

  it('never changes the state it is given', () => {
    const before = reduceEvents(story, 1450);
    const copy = JSON.stringify(before);
    for (const e of story.slice(8)) applyEvent(before, e);
    assert.equal(JSON.stringify(before), copy);
  });

  it('lists links between people present, once per pair for drawing', () => {
    const s = reduceEvents(story, 1450);
    assert.deepEqual(linksOf(s).map((l) => [l.listener, l.speaker, l.gain]), [
      ['a', 'b', 1],
      ['b', 'a', 1],
    ]);
    assert.deepEqual(linkPairs(s), [{ a: 'a', b: 'b', ab: 1, ba: 1 }]);
    // Bob left: the link set a still had until its next links event is not drawn to nobody.
    assert.deepEqual(linksOf(reduceEvents(story, 2050)), []);
  });

  it('keeps the latest allocation per listener', () => {
    const s = reduceEvents(story, 1999);
    assert.equal(s.allocation.a?.ts, 1500);
    assert.equal(s.allocation.a?.estimateBps, 900_000);
    assert.equal(reduceEvents(story, 2000).allocation.a?.ts, 1500, 'the speaker leaving does not erase the listener\'s allocation');
  });

  it('a node that starts again has nobody on it', () => {
    const events = [join(10, 'a', 'Ada', 1, 1, 'n1'), join(11, 'c', 'Cy', 2, 2, 'n2'), ev(20, null, 'node', { state: 'up' }, 'n1', '*')];
    assert.deepEqual(Object.keys(reduceEvents(events, 30).people), ['c']);
  });

  it('shows someone first seen moving (they joined before the range) under their id', () => {
    const s = reduceEvents([ev(5, 'z', 'move', { x: 3, y: 4 })], 10);
    assert.deepEqual([s.people.z?.name, s.people.z?.x, s.people.z?.y], ['z', 3, 4]);
  });

  it('subscriptions add and remove what a listener receives', () => {
    const s = reduceEvents(
      [
        ev(1, 'a', 'subscription', { op: 'add', publisher: 'b', trackId: 'bv', kind: 'video' }),
        ev(2, 'a', 'layer', { trackId: 'bv', layer: [1, 2], switches: 1 }),
        ev(3, 'a', 'subscription', { op: 'add', publisher: 'b', trackId: 'ba', kind: 'audio' }),
      ],
      5,
    );
    assert.deepEqual(s.receives.a, ['bv', 'ba']);
    assert.deepEqual(s.forwarded.a, { bv: [1, 2] });
    const later = applyEvent(s, ev(6, 'a', 'subscription', { op: 'remove', publisher: 'b', trackId: 'bv', kind: 'video' }));
    assert.deepEqual(later.receives.a, ['ba']);
    assert.deepEqual(later.forwarded.a, {});
  });
});

describe('replay index', () => {
  // Many events: seeks cross checkpoints.
  const many: ReplayEvent[] = [join(0, 'w', 'Walker', 0, 0)];
  for (let i = 1; i <= 2000; i++) many.push(ev(i * 10, 'w', 'move', { x: i % 40, y: Math.floor(i / 40) }));

  it('gives the same state as reducing from the start, at any time', () => {
    const index = new ReplayIndex(emptyState(), many);
    for (const t of [0, 5, 10, 2555, 7770, 19_990, 20_000, 25_000]) {
      const a = index.at(t);
      const b = reduceEvents(many, t);
      assert.deepEqual(a.people, b.people, `at ${t}`);
      assert.equal(a.t, t);
    }
  });

  it('starts from the state the range began with', () => {
    const initial = reduceEvents([join(-50, 'q', 'Quinn', 5, 5)], -1);
    const index = new ReplayIndex(initial, many.slice(1));
    assert.deepEqual(Object.keys(index.at(15).people).sort(), ['q', 'w']);
  });

  it('upperBound finds the first event after t', () => {
    assert.equal(upperBound(many, -1), 0);
    assert.equal(upperBound(many, 0), 1);
    assert.equal(upperBound(many, 15), 2);
    assert.equal(upperBound(many, 1e9), many.length);
  });
});
