import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONNECT_RADIUS,
  DISCONNECT_RADIUS,
  MIN_GAIN,
  PRIORITY_BROADCAST,
  PRIORITY_MAX,
  PRIORITY_SPEAKING,
  decideLink,
  distance,
  gainAt,
  isHeldDrop,
  priorityFor,
  type LinkReason,
  type LinkState,
  type Mode,
  type PersonView,
} from './rules.ts';

const P = (id: string, x: number, y: number, o: Partial<PersonView> = {}): PersonView => ({ id, x, y, mode: 'normal', spotlit: false, privateArea: null, onStage: false, ...o });

test('distance is Euclidean in tiles', () => {
  assert.equal(distance({ x: 0, y: 0 }, { x: 3, y: 4 }), 5);
  assert.equal(distance({ x: 2, y: 2 }, { x: 2, y: 2 }), 0);
  assert.equal(distance({ x: 0, y: 0 }, { x: 1, y: 1 }), Math.SQRT2);
});

test('gain: 1 up to 2 tiles, linear to MIN_GAIN at 5, MIN_GAIN beyond', () => {
  const table: [d: number, gain: number][] = [
    [0, 1],
    [1, 1],
    [2, 1],
    [2.0001, 1 - (0.0001 / 3) * (1 - MIN_GAIN)],
    [3.5, (1 + MIN_GAIN) / 2],
    [4, 1 - (2 / 3) * (1 - MIN_GAIN)],
    [5, MIN_GAIN],
    [5.5, MIN_GAIN],
    [6, MIN_GAIN],
  ];
  for (const [d, want] of table) assert.ok(Math.abs(gainAt(d) - want) < 1e-9, `gain at ${d}: ${gainAt(d)} ≠ ${want}`);
  // Monotone non-increasing across the whole range.
  for (let d = 0; d < 7; d += 0.01) assert.ok(gainAt(d + 0.01) <= gainAt(d) + 1e-12, `gain rises at ${d}`);
});

test('distance rule with hysteresis: connect ≤ 5, keep ≤ 6 only when connected, drop beyond', () => {
  const table: [d: number, connected: boolean, state: LinkState, reason: LinkReason][] = [
    [0, false, 'connect', 'near'],
    [2, false, 'connect', 'near'],
    [5, false, 'connect', 'near'],
    [5, true, 'connect', 'near'],
    [5.0001, false, 'drop', 'far'],
    [5.0001, true, 'keep', 'hysteresis'],
    [6, true, 'keep', 'hysteresis'],
    [6, false, 'drop', 'far'],
    [6.0001, true, 'drop', 'far'],
    [40, true, 'drop', 'far'],
  ];
  for (const [d, connected, state, reason] of table) {
    const r = decideLink(P('a', 0, 0), P('b', d, 0), connected);
    assert.equal(r.state, state, `d=${d} connected=${connected}`);
    assert.equal(r.reason, reason, `d=${d} connected=${connected}`);
    if (state === 'drop') assert.deepEqual([r.gain, r.priority], [0, 0]);
    else assert.ok(r.gain >= MIN_GAIN && r.gain <= 1 && r.priority > 0);
  }
  // Diagonal positions use the same metric: (3,4) is exactly 5, (4,4) ≈ 5.66 is in the band, (5,4) ≈ 6.4 is out.
  assert.equal(decideLink(P('a', 0, 0), P('b', 3, 4), false).state, 'connect');
  assert.equal(decideLink(P('a', 0, 0), P('b', 4, 4), false).state, 'drop');
  assert.equal(decideLink(P('a', 0, 0), P('b', 4, 4), true).state, 'keep');
  assert.equal(decideLink(P('a', 0, 0), P('b', 5, 4), true).state, 'drop');
});

test('sweep: the distance rule agrees with its constants everywhere', () => {
  for (let d = 0; d <= 8; d += 0.05) {
    for (const connected of [false, true]) {
      const r = decideLink(P('a', 10, 10), P('b', 10 + d, 10), connected);
      const want = d <= CONNECT_RADIUS ? 'connect' : connected && d <= DISCONNECT_RADIUS ? 'keep' : 'drop';
      assert.equal(r.state, want, `d=${d} connected=${connected}`);
      if (r.state !== 'drop') assert.ok(Math.abs(r.gain - gainAt(d)) < 1e-12);
    }
  }
});

test('quiet: either side quiet links only the 8 tiles around, diagonals included, with no hysteresis band', () => {
  const table: [lMode: Mode, sMode: Mode, dx: number, dy: number, connected: boolean, state: LinkState][] = [
    ['quiet', 'normal', 0, 0, false, 'connect'],
    ['quiet', 'normal', 1, 0, false, 'connect'],
    ['quiet', 'normal', 0, -1, false, 'connect'],
    ['quiet', 'normal', 1, 1, false, 'connect'], // the diagonal neighbour: "right next to you"
    ['normal', 'quiet', -1, 1, false, 'connect'],
    ['normal', 'quiet', 1, -1, true, 'connect'],
    ['quiet', 'normal', 1.0001, 0, false, 'drop'],
    ['quiet', 'normal', 2, 0, true, 'drop'],
    ['normal', 'quiet', 2, 1, false, 'drop'], // a knight's move away is not next to you
    ['normal', 'quiet', 3, 0, true, 'drop'],
    ['quiet', 'quiet', 1, 1, false, 'connect'],
    ['quiet', 'quiet', 0, 2, false, 'drop'],
  ];
  for (const [lm, sm, dx, dy, connected, state] of table) {
    const r = decideLink(P('a', 5, 5, { mode: lm }), P('b', 5 + dx, 5 + dy, { mode: sm }), connected);
    assert.equal(r.state, state, `${lm}←${sm} at (${dx},${dy})`);
    assert.equal(r.reason, state === 'drop' ? 'quiet-far' : 'quiet-near');
    if (state === 'connect') assert.equal(r.gain, 1, 'full volume next to you');
  }
  assert.ok(isHeldDrop('quiet-far'), 'a quiet distance drop is held like any distance drop');
});

test('ghost and DND: no link in either direction, whatever else holds', () => {
  for (const silent of ['ghost', 'dnd'] as const) {
    const others: Partial<PersonView>[] = [{}, { spotlit: true }, { onStage: true }, { privateArea: 'room' }, { mode: 'quiet' }];
    for (const o of others) {
      const s = P('s', 0, 0, { mode: silent, privateArea: o.privateArea ?? null });
      const n = P('n', 1, 0, o);
      for (const connected of [false, true]) {
        assert.deepEqual(decideLink(s, n, connected), { state: 'drop', gain: 0, priority: 0, reason: 'mode' }, `${silent} hears ${JSON.stringify(o)}`);
        assert.deepEqual(decideLink(n, s, connected), { state: 'drop', gain: 0, priority: 0, reason: 'mode' }, `${JSON.stringify(o)} hears ${silent}`);
      }
    }
  }
  assert.equal(isHeldDrop('mode'), false);
});

test('private areas: same area connects at gain 1 at any distance; a split never connects', () => {
  const table: [lArea: string | null, sArea: string | null, d: number, state: LinkState, reason: LinkReason][] = [
    ['room', 'room', 1, 'connect', 'private-same'],
    ['room', 'room', 30, 'connect', 'private-same'],
    ['room', null, 1, 'drop', 'private-split'], // the listener just outside the door hears nothing...
    [null, 'room', 1, 'drop', 'private-split'], // ...and is heard by nobody inside
    ['room', 'booth', 1, 'drop', 'private-split'],
  ];
  for (const [la, sa, d, state, reason] of table) {
    for (const connected of [false, true]) {
      const r = decideLink(P('a', 0, 0, { privateArea: la }), P('b', d, 0, { privateArea: sa }), connected);
      assert.equal(r.state, state, `${la}←${sa} d=${d}`);
      assert.equal(r.reason, reason);
      if (state === 'connect') assert.equal(r.gain, 1);
    }
  }
  assert.equal(isHeldDrop('private-split'), false, 'leaving a private area cuts at once');
  // Privacy outranks quiet and broadcast: a spotlit person inside a room is heard only inside it.
  assert.equal(decideLink(P('a', 0, 0, { privateArea: 'room', mode: 'quiet' }), P('b', 9, 0, { privateArea: 'room' }), false).state, 'connect');
  assert.equal(decideLink(P('a', 0, 0), P('b', 9, 0, { privateArea: 'room', spotlit: true }), false).reason, 'private-split');
  assert.equal(decideLink(P('a', 0, 0, { privateArea: 'room' }), P('b', 90, 0, { onStage: true }), false).reason, 'private-split');
});

test('broadcast: a spotlit or on-stage speaker reaches every listener at gain 1; the way back follows normal rules', () => {
  for (const o of [{ spotlit: true }, { onStage: true }, { spotlit: true, onStage: true }]) {
    const star = P('star', 0, 0, o);
    for (const d of [1, 5, 6, 50, 500]) {
      const fan = P('fan', d, 0);
      const heard = decideLink(fan, star, false);
      assert.deepEqual([heard.state, heard.gain, heard.reason], ['connect', 1, 'broadcast'], `fan at ${d}`);
      assert.equal(heard.priority, PRIORITY_BROADCAST);
      const back = decideLink(star, fan, false);
      assert.equal(back.state, d <= CONNECT_RADIUS ? 'connect' : 'drop', `star hears fan at ${d}`);
      // Quiet listeners still get announcements.
      assert.equal(decideLink(P('q', d, 0, { mode: 'quiet' }), star, false).state, 'connect');
    }
  }
  // Two broadcasters hear each other across the space.
  assert.equal(decideLink(P('a', 0, 0, { spotlit: true }), P('b', 200, 0, { onStage: true }), false).state, 'connect');
  assert.equal(decideLink(P('b', 200, 0, { onStage: true }), P('a', 0, 0, { spotlit: true }), false).state, 'connect');
});

test('priority: in [0, 1000], higher when closer, broadcasting or speaking', () => {
  const near = (d: number, speaking = false) => decideLink(P('a', 0, 0), P('b', d, 0, { speaking }), true).priority;
  assert.ok(near(0) > near(1) && near(1) > near(3) && near(3) > near(5) && near(5) > near(6));
  assert.ok(near(4, true) > near(4));
  assert.equal(near(4, true) - near(4), PRIORITY_SPEAKING);
  const star = decideLink(P('a', 0, 0), P('b', 40, 0, { spotlit: true }), false).priority;
  const starSpeaking = decideLink(P('a', 0, 0), P('b', 40, 0, { spotlit: true, speaking: true }), false).priority;
  assert.ok(star > near(1), 'a broadcast outranks a silent neighbour');
  assert.equal(starSpeaking, PRIORITY_MAX);
  for (let d = 0; d < 40; d += 0.5) for (const b of [false, true]) for (const s of [false, true]) {
    const p = priorityFor(d, b, s);
    assert.ok(p >= 0 && p <= PRIORITY_MAX, `priority ${p} out of range`);
  }
});

test('self is never linked', () => {
  const a = P('a', 3, 3, { spotlit: true, privateArea: 'room' });
  assert.equal(decideLink(a, a, true).reason, 'self');
  assert.equal(decideLink(a, a, true).state, 'drop');
});
