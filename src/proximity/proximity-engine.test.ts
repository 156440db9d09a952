import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import { parseSpaceMap } from './map.ts';
import { ProximityEngine, type LinkChange } from './proximity-engine.ts';
import { DROP_HOLD_MS, MIN_GAIN, PRIORITY_SPEAKING, gainAt } from './rules.ts';

// A room (private, door at (3,5)), a stage strip at (20..24, 1), open floor elsewhere.
const ROWS = [
  '##############################',
  '#......#............sssss....#',
  '#......#.....................#',
  '#......#.....................#',
  '#......#.....................#',
  '###.####.....................#',
  '#............................#',
  '#............................#',
  '#............................#',
  '#............................#',
  '#............................#',
  '##############################',
];
const map = parseSpaceMap({
  name: 'test',
  width: 30,
  height: 12,
  tiles: ROWS,
  areas: [
    { id: 'room', name: 'Room', kind: 'private', rects: [{ x: 1, y: 1, w: 6, h: 4 }] },
    { id: 'stage', name: 'Stage', kind: 'stage', rects: [{ x: 20, y: 1, w: 5, h: 1 }] },
  ],
  spawn: { x: 10, y: 8 },
});

const setup = () => {
  const clock = new FakeClock();
  return { clock, e: new ProximityEngine(map, clock) };
};
/** Changes as sorted strings, for readable comparisons. */
const fmt = (cs: LinkChange[]) => cs.map((c) => `${c.kind} ${c.listener}<-${c.speaker}`).sort();
const linked = (e: ProximityEngine, l: string, s: string) => e.linksOf(l).has(s);

test('connect at 5, both directions, with the gain of the distance', () => {
  const { e } = setup();
  assert.deepEqual(e.join({ id: 'a', x: 10, y: 8 }), []);
  assert.deepEqual(fmt(e.join({ id: 'b', x: 16, y: 8 })), [], 'd = 6: too far to connect');
  assert.deepEqual(fmt(e.move('b', 15, 8)), ['add a<-b', 'add b<-a']);
  assert.equal(e.linksOf('a').get('b')!.gain, MIN_GAIN);
  const up = e.move('b', 13, 8);
  assert.deepEqual(fmt(up), ['update a<-b', 'update b<-a']);
  assert.ok(Math.abs(up[0]!.gain - gainAt(3)) < 1e-9);
  // Within 2 tiles the gain is 1; moving from 2 to 1 changes only priority.
  e.move('b', 12, 8);
  assert.equal(e.linksOf('a').get('b')!.gain, 1);
  const closer = e.move('b', 11, 8);
  assert.ok(closer.every((c) => c.kind === 'update' && c.gain === 1));
  assert.ok(e.linksOf('a').get('b')!.priority > 500);
});

test('hysteresis: 5 → 6 keeps the link; beyond 6 it drops only after the hold, on tick', () => {
  const { clock, e } = setup();
  e.join({ id: 'a', x: 10, y: 8 });
  e.join({ id: 'b', x: 15, y: 8 });
  assert.ok(linked(e, 'a', 'b'));
  const band = e.move('b', 16, 8);
  assert.deepEqual(fmt(band), ['update a<-b', 'update b<-a'], 'd = 6: kept; priority falls, gain stays at the floor');
  assert.ok(band.every((c) => c.gain === MIN_GAIN));
  assert.deepEqual(e.move('b', 17, 8), [], 'd = 7: held, nothing reported yet');
  assert.ok(e.isHeld('a', 'b') && e.isHeld('b', 'a'));
  assert.equal(e.nextHoldDeadline(), DROP_HOLD_MS);
  clock.advance(DROP_HOLD_MS - 1);
  assert.deepEqual(e.tick(), []);
  assert.ok(linked(e, 'a', 'b'));
  clock.advance(1);
  assert.deepEqual(fmt(e.tick()), ['remove a<-b', 'remove b<-a']);
  assert.equal(e.nextHoldDeadline(), null);
  // Back to 6: not connected any more, so the band does not reconnect.
  assert.deepEqual(e.move('b', 16, 8), []);
  assert.deepEqual(fmt(e.move('b', 15, 8)), ['add a<-b', 'add b<-a']);
});

test('coming back within 6 cancels the hold; leaving again restarts it', () => {
  const { clock, e } = setup();
  e.join({ id: 'a', x: 10, y: 8 });
  e.join({ id: 'b', x: 14, y: 8 });
  e.move('b', 18, 8);
  clock.advance(1000);
  assert.deepEqual(fmt(e.move('b', 16, 8)), ['update a<-b', 'update b<-a'], 'kept in the band: the link never went away');
  assert.ok(!e.isHeld('a', 'b'));
  clock.advance(1000);
  e.move('b', 17, 8);
  clock.advance(1000);
  assert.deepEqual(e.tick(), [], 'the hold restarted at t=2000, ends at 3500');
  clock.advance(500);
  assert.deepEqual(fmt(e.tick()), ['remove a<-b', 'remove b<-a']);
});

test('private area: isolated from someone just outside the door; connected across the room; leaving cuts at once', () => {
  const { e } = setup();
  e.join({ id: 'in1', x: 3, y: 4 });
  e.join({ id: 'in2', x: 6, y: 1 }); // ≈ 4.2 away, but would be connected at any distance
  assert.ok(linked(e, 'in1', 'in2') && linked(e, 'in2', 'in1'));
  assert.equal(e.linksOf('in1').get('in2')!.gain, 1);
  e.join({ id: 'door', x: 3, y: 5 }); // in the doorway: 1 tile from in1, outside the room
  assert.equal(e.linksOf('door').size, 0);
  assert.ok(!linked(e, 'in1', 'door'));
  e.join({ id: 'out', x: 3, y: 7 }); // near the door: hears the doorway person only
  assert.deepEqual([...e.linksOf('out').keys()], ['door']);
  // The doorway person steps in: connected to both inside, dropped (not held) from outside.
  assert.deepEqual(fmt(e.move('door', 3, 4)), ['add door<-in1', 'add door<-in2', 'add in1<-door', 'add in2<-door', 'remove door<-out', 'remove out<-door']);
  // ...and out again: cut at once.
  assert.deepEqual(fmt(e.move('door', 3, 5)), ['add door<-out', 'add out<-door', 'remove door<-in1', 'remove door<-in2', 'remove in1<-door', 'remove in2<-door']);
  // A far corner of a bigger distance inside the same room still connects at gain 1.
  e.move('in2', 1, 1);
  e.move('in1', 6, 4);
  assert.equal(e.linksOf('in1').get('in2')!.gain, 1);
});

test('spotlight: everyone hears the spotlit person; they hear only who is near; private and silent listeners excluded', () => {
  const { clock, e } = setup();
  e.join({ id: 'star', x: 28, y: 10 });
  e.join({ id: 'near', x: 27, y: 10 });
  e.join({ id: 'far', x: 2, y: 8 });
  e.join({ id: 'room', x: 2, y: 2 });
  e.join({ id: 'ghost', x: 15, y: 8, mode: 'ghost' });
  e.join({ id: 'dnd', x: 16, y: 8, mode: 'dnd' });
  const on = e.setSpotlight('star', true);
  assert.deepEqual(fmt(on), ['add far<-star', 'update near<-star'], 'near already heard the star (now at broadcast priority)');
  assert.equal(e.linksOf('far').get('star')!.gain, 1);
  assert.ok(!linked(e, 'star', 'far'), 'the spotlit person does not hear far listeners');
  assert.ok(linked(e, 'star', 'near'));
  assert.ok(!linked(e, 'room', 'star') && !linked(e, 'ghost', 'star') && !linked(e, 'dnd', 'star'));
  // Several spotlights coexist.
  e.setSpotlight('far', true);
  assert.ok(linked(e, 'far', 'star') && linked(e, 'star', 'far') && linked(e, 'near', 'far'));
  // Spotlight off: far listeners fade out after the hold.
  assert.deepEqual(fmt(e.setSpotlight('star', false)), ['update near<-star'], 'near keeps hearing, at its distance gain');
  clock.advance(DROP_HOLD_MS);
  assert.deepEqual(fmt(e.tick()), ['remove far<-star']);
  assert.ok(linked(e, 'star', 'far'), 'the other spotlight still reaches the star');
});

test('stage tiles broadcast while one stands on them', () => {
  const { clock, e } = setup();
  e.join({ id: 'speaker', x: 22, y: 2 });
  e.join({ id: 'a', x: 2, y: 10 });
  e.join({ id: 'b', x: 12, y: 9 });
  e.join({ id: 'room', x: 4, y: 2 });
  assert.deepEqual(fmt(e.move('speaker', 22, 1)), ['add a<-speaker', 'add b<-speaker']);
  assert.equal(e.person('speaker')!.onStage, true);
  assert.deepEqual(fmt(e.move('speaker', 23, 1)), [], 'walking along the stage changes nothing');
  e.move('speaker', 23, 2);
  clock.advance(DROP_HOLD_MS);
  assert.deepEqual(fmt(e.tick()), ['remove a<-speaker', 'remove b<-speaker']);
  // Joining on the stage broadcasts at once.
  assert.deepEqual(fmt(e.join({ id: 'late', x: 20, y: 1 })), ['add a<-late', 'add b<-late', 'add late<-speaker', 'add speaker<-late']);
});

test('mode changes while connected: ghost drops both directions at once, normal reconnects; quiet narrows to 1', () => {
  const { e } = setup();
  e.join({ id: 'a', x: 10, y: 8 });
  e.join({ id: 'b', x: 12, y: 8 });
  for (const silent of ['ghost', 'dnd'] as const) {
    assert.deepEqual(fmt(e.setMode('a', silent)), ['remove a<-b', 'remove b<-a'], silent);
    assert.deepEqual(e.move('b', 11, 8), [], `nothing links to ${silent}`);
    assert.deepEqual(fmt(e.setMode('a', 'normal')), ['add a<-b', 'add b<-a']);
    e.move('b', 12, 8);
  }
  assert.deepEqual(fmt(e.setMode('b', 'quiet')), [], 'quiet at 2: held like a distance drop');
  assert.ok(e.isHeld('a', 'b'));
  assert.deepEqual(fmt(e.move('b', 11, 8)), ['update a<-b', 'update b<-a'], 'at 1: hold cancelled, priority up');
  assert.ok(!e.isHeld('a', 'b'));
  assert.deepEqual(e.setMode('b', 'quiet'), [], 'no-op');
  // A ghost who becomes normal on the stage broadcasts again.
  e.join({ id: 'g', x: 21, y: 1, mode: 'ghost' });
  assert.equal(e.linksOf('a').has('g'), false);
  assert.deepEqual(fmt(e.setMode('g', 'normal')), ['add a<-g', 'add b<-g']);
});

test('speaking raises priority of what others receive from the speaker only', () => {
  const { e } = setup();
  e.join({ id: 'a', x: 10, y: 8 });
  e.join({ id: 'b', x: 13, y: 8 });
  const before = e.linksOf('a').get('b')!.priority;
  const cs = e.setSpeaking('b', true);
  assert.deepEqual(fmt(cs), ['update a<-b']);
  assert.equal(cs[0]!.priority, before + PRIORITY_SPEAKING);
  assert.deepEqual(e.setSpeaking('b', true), []);
  assert.deepEqual(fmt(e.setSpeaking('b', false)), ['update a<-b']);
});

test('leave removes both directions and pending holds', () => {
  const { clock, e } = setup();
  e.join({ id: 'a', x: 10, y: 8 });
  e.join({ id: 'b', x: 12, y: 8 });
  e.join({ id: 'c', x: 14, y: 8 });
  e.move('c', 19, 8); // held drop of a<->c pending... c is 7 from b? b at 12: 7 → held too
  assert.ok(e.isHeld('a', 'c'));
  assert.deepEqual(fmt(e.leave('a')), ['remove a<-b', 'remove a<-c', 'remove b<-a', 'remove c<-a']);
  assert.deepEqual(e.leave('a'), []);
  assert.equal(e.linksOf('a').size, 0);
  clock.advance(DROP_HOLD_MS);
  assert.deepEqual(fmt(e.tick()), ['remove b<-c', 'remove c<-b']);
  assert.equal(e.size, 2);
});

test('bad input: duplicate ids, unknown ids, non-walkable tiles', () => {
  const { e } = setup();
  e.join({ id: 'a', x: 10, y: 8 });
  assert.throws(() => e.join({ id: 'a', x: 11, y: 8 }), /already/);
  assert.throws(() => e.move('zz', 11, 8), /no person/);
  assert.throws(() => e.move('a', 0, 0), RangeError);
  assert.throws(() => e.move('a', 10.5, 8), RangeError);
  assert.throws(() => e.join({ id: 'b', x: 7, y: 2 }), RangeError);
  assert.deepEqual(e.person('a'), e.person('a'));
  assert.equal(e.person('a')!.x, 10, 'a failed move leaves the person where they were');
});

test('listenersOf: who receives a speaker, following joins, moves and leaves', () => {
  const { e } = setup();
  e.join({ id: 's', x: 10, y: 8 });
  e.join({ id: 'near', x: 12, y: 8 });
  e.join({ id: 'far', x: 25, y: 8 });
  e.join({ id: 'inside', x: 3, y: 3 });
  assert.deepEqual([...e.listenersOf('s')].sort(), ['near']);
  e.move('far', 24, 8);
  e.move('far', 14, 8);
  assert.deepEqual([...e.listenersOf('s')].sort(), ['far', 'near']);
  e.leave('near');
  assert.deepEqual([...e.listenersOf('s')], ['far']);
  assert.deepEqual([...e.listenersOf('nobody')], []);
});
