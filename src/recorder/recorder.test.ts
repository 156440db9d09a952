import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Recorder } from './recorder.ts';
import { FakeClock } from '../util/clock.ts';
import { createLogger } from '../util/logger.ts';
import { recorderStats } from '../metrics/registry.ts';
import type { RecorderEvent } from './events.ts';

function setup(maxBuffered?: number) {
  const clock = new FakeClock();
  const batches: RecorderEvent[][] = [];
  let accept = true;
  const sink = { append: (e: RecorderEvent[]) => (accept ? (batches.push(e), true) : false) };
  const r = new Recorder({ node: 'n1', clock, log: createLogger('silent'), sink, flushMs: 250, ...(maxBuffered ? { maxBuffered } : {}) });
  return { clock, r, batches, all: () => batches.flat(), refuse: () => (accept = false) };
}

describe('Recorder', () => {
  it('stamps version, node and wall time, and hands batches to the sink on its interval', () => {
    const { clock, r, batches, all } = setup();
    r.record({ space: 's', participant: 'p1', kind: 'mode', data: { mode: 'quiet' } });
    assert.equal(batches.length, 0, 'nothing before the interval');
    clock.advance(250);
    assert.equal(batches.length, 1);
    assert.deepEqual(all()[0], { v: 1, ts: 1_700_000_000_000, node: 'n1', space: 's', participant: 'p1', kind: 'mode', data: { mode: 'quiet' } });
    clock.advance(250);
    assert.equal(batches.length, 1, 'an empty buffer is not sent');
  });

  it('keeps at most one move per person per 250 ms, the last position, and records a pending move before that person’s next event', () => {
    const { clock, r, all } = setup();
    const before = recorderStats.movesCoalesced;
    r.move('s', 'p1', 1, 1); // recorded at once
    clock.advance(50);
    r.move('s', 'p1', 2, 1);
    clock.advance(50);
    r.move('s', 'p1', 3, 1); // folds the previous one
    r.move('s', 'p2', 9, 9); // another person is independent
    clock.advance(20);
    r.record({ space: 's', participant: 'p1', kind: 'speaking', data: { on: true } });
    clock.advance(180);
    const kinds = all().map((e) => `${e.participant}:${e.kind}:${e.kind === 'move' ? `${e.data.x},${e.data.y}@${e.ts - 1_700_000_000_000}` : ''}`);
    assert.deepEqual(kinds, ['p1:move:1,1@0', 'p2:move:9,9@100', 'p1:move:3,1@100', 'p1:speaking:']);
    assert.equal(recorderStats.movesCoalesced - before, 1);
  });

  it('a walk of 8 steps a second is kept at 4 moves a second, ending at the last tile', () => {
    const { clock, r, all } = setup();
    for (let i = 0; i < 16; i++) {
      r.move('s', 'p', i, 0);
      clock.advance(125);
    }
    r.forget('p');
    clock.advance(250);
    const moves = all().filter((e) => e.kind === 'move');
    assert.ok(moves.length >= 8 && moves.length <= 9, `${moves.length} moves for 2 s of walking`);
    assert.deepEqual(moves.at(-1)!.data, { x: 15, y: 0 });
    for (let i = 1; i < moves.length; i++) assert.ok(moves[i]!.ts - moves[i - 1]!.ts >= 125, 'spaced');
  });

  it('counts what it loses when the buffer is full or the sink is gone, and keeps going', () => {
    const { clock, r, all, refuse } = setup(3);
    const lost = recorderStats.lost;
    for (let i = 0; i < 5; i++) r.record({ space: 's', participant: null, kind: 'node', data: { state: 'up' } });
    assert.equal(recorderStats.lost - lost, 2);
    clock.advance(250);
    assert.equal(all().length, 3);
    refuse();
    r.record({ space: 's', participant: null, kind: 'node', data: { state: 'down' } });
    clock.advance(250);
    assert.equal(recorderStats.lost - lost, 3);
  });

  it('does nothing without a sink', () => {
    const clock = new FakeClock();
    const r = new Recorder({ node: 'n', clock, log: createLogger('silent'), sink: null });
    const before = recorderStats.recorded;
    r.record({ space: 's', participant: null, kind: 'node', data: { state: 'up' } });
    r.move('s', 'p', 1, 1);
    r.flush();
    assert.equal(recorderStats.recorded, before);
  });
});
