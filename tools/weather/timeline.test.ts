import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.ts';
import { seededRandom } from '../../src/util/prng.ts';
import { Impairment } from './impairment.ts';
import type { ImpairmentConfig, ImpairmentPatch } from './impairment.ts';
import { Timeline, TimelineError, parseTimeline, parseTimelineText } from './timeline.ts';

const example = {
  seed: 1,
  steps: [
    { at: 0, up: { delayMs: 20 }, down: { delayMs: 30, jitterMs: 5 } },
    { at: 10, down: { rateKbps: 300 } },
    { at: 20, down: { loss: 0.05, jitterMs: 80 } },
    { at: 30, clear: true },
  ],
};

function errorOf(raw: unknown): string {
  try {
    parseTimeline(raw);
  } catch (e) {
    assert.ok(e instanceof TimelineError);
    return e.message;
  }
  return assert.fail('expected a TimelineError');
}

class Recorder {
  readonly configs: Array<{ t: number; cfg: ImpairmentPatch }> = [];
  constructor(private readonly clock: FakeClock) {}
  setConfig(cfg: ImpairmentPatch): void {
    this.configs.push({ t: this.clock.now(), cfg });
  }
  last(): ImpairmentConfig {
    return this.configs[this.configs.length - 1].cfg as ImpairmentConfig;
  }
}

describe('timeline parsing', () => {
  test('accepts the documented example', () => {
    const s = parseTimeline(example);
    assert.equal(s.seed, 1);
    assert.equal(s.steps.length, 4);
    assert.equal(s.steps[1].down?.rateKbps, 300);
  });

  test('a bad field names the step, its time and the field', () => {
    const msg = errorOf({ steps: [{ at: 0 }, { at: 5, down: { loss: 1.5 } }] });
    assert.match(msg, /step 1 \(at 5s\): down\.loss/);
  });

  test('unknown fields (typos) are rejected', () => {
    assert.match(errorOf({ steps: [{ at: 0, up: { delay: 5 } }] }), /step 0 \(at 0s\): up.*delay/);
    assert.match(errorOf({ steps: [{ at: 0, sideways: {} }] }), /step 0.*sideways/);
  });

  test('every problem is listed', () => {
    const msg = errorOf({ steps: [{ at: -1 }, { at: 2, up: { jitter: 'pareto' } }] });
    assert.match(msg, /step 0: at|step 0 \(at -1s\): at/);
    assert.match(msg, /step 1 \(at 2s\): up\.jitter/);
  });

  test('steps out of time order, empty steps, bad JSON', () => {
    assert.match(errorOf({ steps: [{ at: 10 }, { at: 5 }] }), /step 1 \(at 5s\): steps must be in time order/);
    assert.match(errorOf({ steps: [] }), /steps: a timeline needs at least one step/);
    assert.match(errorOf({}), /steps/);
    assert.throws(() => parseTimelineText('{"steps": ['), /not valid JSON/);
  });

  test('gilbertElliott needs all four fields; null turns it off', () => {
    assert.match(errorOf({ steps: [{ at: 0, up: { gilbertElliott: { pGoodToBad: 0.1 } } }] }), /step 0 \(at 0s\): up\.gilbertElliott\.pBadToGood/);
    assert.equal(parseTimeline({ steps: [{ at: 0, up: { gilbertElliott: null } }] }).steps[0].up?.gilbertElliott, null);
  });
});

describe('Timeline', () => {
  test('applies steps at their times on the clock, merging onto the current weather', () => {
    const clock = new FakeClock();
    const up = new Recorder(clock);
    const down = new Recorder(clock);
    const seen: number[] = [];
    const tl = new Timeline(parseTimeline(example), clock, { up, down }, (i) => seen.push(i));
    tl.start();
    assert.deepEqual(seen, [0]);
    assert.equal(up.last().delayMs, 20);
    assert.equal(down.last().delayMs, 30);

    clock.advance(9_999);
    assert.deepEqual(seen, [0]);
    clock.advance(1);
    assert.deepEqual(seen, [0, 1]);
    assert.equal(down.last().rateKbps, 300);
    assert.equal(down.last().delayMs, 30, 'earlier fields stay');
    assert.equal(down.last().jitterMs, 5);
    assert.equal(up.configs.length, 1, 'a step that does not name up leaves it alone');

    clock.advance(10_000);
    assert.deepEqual(seen, [0, 1, 2]);
    assert.deepEqual(
      { loss: down.last().loss, jitterMs: down.last().jitterMs, rateKbps: down.last().rateKbps },
      { loss: 0.05, jitterMs: 80, rateKbps: 300 },
    );
    assert.equal(down.configs[2].t, 20_000);

    clock.advance(10_000);
    assert.deepEqual(seen, [0, 1, 2, 3]);
    for (const r of [up, down]) {
      const c = r.last();
      assert.deepEqual([c.delayMs, c.jitterMs, c.loss, c.rateKbps], [0, 0, 0, 0]);
    }
    assert.equal(tl.stepsApplied, 4);
  });

  test('stop cancels the steps not yet applied', () => {
    const clock = new FakeClock();
    const up = new Recorder(clock);
    const down = new Recorder(clock);
    const tl = new Timeline(parseTimeline(example), clock, { up, down });
    tl.start();
    clock.advance(15_000);
    tl.stop();
    clock.advance(60_000);
    assert.equal(tl.stepsApplied, 2);
  });

  test('drives real impairments: packets sent after a step see the new weather', () => {
    const clock = new FakeClock();
    const up = new Impairment({}, clock, seededRandom(1));
    const down = new Impairment({}, clock, seededRandom(2));
    const tl = new Timeline(
      parseTimeline({ steps: [{ at: 0, both: { delayMs: 10 } }, { at: 1, down: { loss: 1 } }, { at: 2, clear: true }] }),
      clock,
      { up, down },
    );
    tl.start();
    const arrivals: number[] = [];
    const send = (imp: Impairment) => {
      const sent = clock.now();
      imp.push(Buffer.alloc(1), () => arrivals.push(clock.now() - sent));
    };
    send(up);
    send(down);
    clock.advance(1000);
    assert.deepEqual(arrivals, [10, 10]);
    send(up);
    send(down);
    clock.advance(1000);
    assert.deepEqual(arrivals, [10, 10, 10]);
    assert.equal(down.counters.lost_random, 1);
    send(down);
    clock.advance(1);
    assert.deepEqual(arrivals, [10, 10, 10, 0]);
  });
});
