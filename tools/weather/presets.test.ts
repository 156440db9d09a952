import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.ts';
import { seededRandom } from '../../src/util/prng.ts';
import { Impairment } from './impairment.ts';
import type { ImpairmentConfig } from './impairment.ts';
import { PRESETS, PRESET_NAMES } from './presets.ts';
import { Timeline, TimelineError, parseTimeline, presetTimeline } from './timeline.ts';

/** Plays a preset on a FakeClock against a recording target; returns the down weather at time t (ms). */
function play(name: (typeof PRESET_NAMES)[number]) {
  const clock = new FakeClock();
  const seen: Array<{ t: number; cfg: ImpairmentConfig }> = [];
  const rec = { setConfig: (cfg: unknown) => seen.push({ t: clock.now(), cfg: cfg as ImpairmentConfig }) };
  const upSeen: number[] = [];
  const tl = new Timeline(presetTimeline(name), clock, { up: { setConfig: () => upSeen.push(clock.now()) }, down: rec });
  tl.start();
  const at = (ms: number): ImpairmentConfig => {
    if (clock.now() < ms) clock.advance(ms - clock.now());
    return seen[seen.length - 1].cfg;
  };
  return { clock, seen, upSeen, tl, at };
}

/**
 * Pushes one 100-byte packet every `gapMs` for `ms` through an Impairment driven by the preset (from
 * `startMs` on); returns the arrivals in delivery order.
 */
function traffic(name: (typeof PRESET_NAMES)[number], ms: number, opts: { gapMs?: number; startMs?: number } = {}) {
  const clock = new FakeClock();
  const down = new Impairment({}, clock, seededRandom(3));
  const up = new Impairment({}, clock, seededRandom(4));
  const tl = new Timeline(presetTimeline(name, (opts.startMs ?? 0) / 1000), clock, { up, down });
  tl.start();
  const gap = opts.gapMs ?? 20;
  const got: Array<{ i: number; sentAt: number; at: number }> = [];
  let sent = 0;
  for (let t = 0; t < ms; t += gap) {
    const i = sent++;
    const sentAt = clock.now();
    down.push(Buffer.alloc(100), () => got.push({ i, sentAt, at: clock.now() }));
    clock.advance(gap);
  }
  clock.advance(5_000);
  return { got, sent, down };
}

describe('weather presets', () => {
  test('every preset is a valid timeline, ends clear, and needs no reordering', () => {
    for (const name of PRESET_NAMES) {
      const script = presetTimeline(name);
      assert.ok(script.steps.length >= 2, name);
      assert.equal(script.steps[script.steps.length - 1].at, PRESETS[name].clearAtS, name);
      const p = play(name);
      const end = p.at(PRESETS[name].clearAtS * 1000 + 1);
      assert.deepEqual([end.delayMs, end.jitterMs, end.loss], [0, 0, 0], `${name} ends clear`);
      assert.equal(end.reorder, false);
      assert.equal(p.tl.stepsApplied, script.steps.length);
      assert.deepEqual(p.upSeen, p.seen.map((s) => s.t), `${name}: up changes with down`);
    }
  });

  test('delay-spike: +300 ms for exactly 2 s', () => {
    const p = play('delay-spike');
    assert.equal(p.at(0).delayMs, 300);
    assert.equal(p.at(1999).delayMs, 300);
    assert.equal(p.at(2000).delayMs, 0);
  });

  test('delay-spike: packets keep their order; those sent as it ends leave in a bunch behind the last delayed one', () => {
    const { got, sent } = traffic('delay-spike', 4000, { startMs: 1000 });
    assert.equal(got.length, sent);
    assert.deepEqual(got.map((g) => g.i), [...Array(sent).keys()], 'in order');
    const delay = (sentAt: number) => got.find((g) => g.sentAt === sentAt)!.at - sentAt;
    assert.equal(delay(980), 0);
    assert.equal(delay(1000), 300);
    assert.equal(delay(2980), 300);
    // The spike ends at 3000: the last delayed packet leaves at 3280, what was sent after waits for it.
    assert.equal(delay(3000), 280);
    assert.equal(delay(3260), 20);
    assert.equal(delay(3300), 0);
    const bunch = got.filter((g) => g.at === 3280 && g.sentAt < 3280).length;
    assert.equal(bunch, 15, 'the 2980 packet and the 14 sent during its wait');
  });

  test('blackout: everything sent in that second is lost, nothing else', () => {
    const { got, sent, down } = traffic('blackout', 3000, { startMs: 1000 });
    assert.equal(down.counters.lost_random, 50);
    assert.equal(got.length, sent - 50);
    assert.ok(got.every((g) => g.sentAt < 1000 || g.sentAt >= 2000));
    assert.ok(got.every((g) => g.at === g.sentAt), 'no delay around it');
    const p = play('blackout');
    assert.equal(p.at(999).loss, 1);
    assert.equal(p.at(1000).loss, 0);
  });

  test('delay-ramp: 20 → 250 ms over 10 s in 500 ms steps, back over 10 s, then clear', () => {
    const p = play('delay-ramp');
    const delays = Array.from({ length: 41 }, (_, k) => p.at(k * 500 + 1).delayMs);
    assert.equal(delays[0], 20);
    assert.equal(delays[20], 250);
    assert.equal(delays[40], 20);
    for (let k = 1; k <= 20; k++) assert.ok(Math.abs(delays[k] - delays[k - 1] - 11.5) < 1e-9, `step ${k} up by 11.5 ms`);
    for (let k = 21; k <= 40; k++) assert.ok(Math.abs(delays[k - 1] - delays[k] - 11.5) < 1e-9, `step ${k} down by 11.5 ms`);
    assert.equal(p.at(20_499).delayMs, 20);
    assert.equal(p.at(20_500).delayMs, 0);
    assert.equal(PRESETS['delay-ramp'].clearAtS, 20.5);
  });

  test('delay-ramp: as the delay falls, nothing overtakes and the one-way delay never jumps up', () => {
    const { got, sent } = traffic('delay-ramp', 22_000);
    assert.equal(got.length, sent);
    assert.deepEqual(got.map((g) => g.i), [...Array(sent).keys()]);
    const peak = Math.max(...got.map((g) => g.at - g.sentAt));
    assert.equal(peak, 250);
  });

  test('wifi-jitter: five 50 ms bursts 3 s apart, packets held 0–200 ms in a burst, in order', () => {
    const p = play('wifi-jitter');
    for (let k = 0; k < 5; k++) {
      const inBurst = p.at(k * 3000 + 25);
      assert.deepEqual([inBurst.delayMs, inBurst.jitterMs], [100, 100], `burst ${k + 1}`);
      const after = p.at(k * 3000 + 51);
      assert.deepEqual([after.delayMs, after.jitterMs], [0, 0], `after burst ${k + 1}`);
    }
    assert.equal(PRESETS['wifi-jitter'].clearAtS, 12.05);

    const { got, sent } = traffic('wifi-jitter', 15_000, { gapMs: 5 });
    assert.equal(got.length, sent);
    assert.deepEqual(got.map((g) => g.i), [...Array(sent).keys()]);
    const held = got.filter((g) => g.at > g.sentAt);
    for (const g of held) {
      const into = g.sentAt % 3000;
      assert.ok(g.sentAt < 12_300 && into < 250, `held only in and just after a burst (sent at ${g.sentAt})`);
      assert.ok(g.at - g.sentAt <= 200);
    }
    assert.ok(Math.max(...held.map((g) => g.at - g.sentAt)) > 100, 'heavy: some packet held over 100 ms');
  });
});

describe('preset steps in timeline files', () => {
  test('expand in place, shifted to their time, between ordinary steps', () => {
    const s = parseTimeline({ steps: [{ at: 0, down: { delayMs: 10 } }, { at: 5, preset: 'blackout' }, { at: 6, preset: 'delay-spike' }, { at: 20, clear: true }] });
    assert.deepEqual(
      s.steps.map((x) => [x.at, x.both ?? x.down ?? (x.clear ? 'clear' : null)]),
      [
        [0, { delayMs: 10 }],
        [5, { loss: 1 }],
        [6, { loss: 0 }],
        [6, { delayMs: 300 }],
        [8, { delayMs: 0 }],
        [20, 'clear'],
      ],
    );
    assert.ok(s.steps.every((x) => !('preset' in x)));
  });

  test('an unknown preset, a preset step with weather, a step inside a preset: errors naming the step', () => {
    const err = (raw: unknown) => {
      try {
        parseTimeline(raw);
      } catch (e) {
        assert.ok(e instanceof TimelineError);
        return e.message;
      }
      return assert.fail('expected a TimelineError');
    };
    assert.match(err({ steps: [{ at: 0, preset: 'hail' }] }), /step 0 \(at 0s\): preset/);
    assert.match(err({ steps: [{ at: 0, preset: 'blackout', down: { loss: 0.1 } }] }), /step 0 \(at 0s\): preset: a preset step takes only "at"/);
    assert.match(err({ steps: [{ at: 0, preset: 'delay-spike' }, { at: 1, clear: true }] }), /step 1 \(at 1s\): starts inside step 0's preset delay-spike \(0s to 2s\)/);
  });
});
