import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.ts';
import { seededRandom } from '../../src/util/prng.ts';
import { Impairment, ImpairmentConfigError } from './impairment.ts';
import type { ImpairmentPatch } from './impairment.ts';

interface Arrival {
  seq: number;
  sentAt: number;
  at: number;
  bytes: number;
}

/**
 * Push `n` packets (each carrying its index), `gapMs` apart on a FakeClock, then drain; returns arrivals
 * in delivery order.
 */
function run(config: ImpairmentPatch, n: number, opts: { gapMs?: number; size?: number; seed?: number } = {}) {
  const clock = new FakeClock();
  const imp = new Impairment(config, clock, seededRandom(opts.seed ?? 42));
  const gap = opts.gapMs ?? 1;
  const size = opts.size ?? 100;
  const arrivals: Arrival[] = [];
  for (let i = 0; i < n; i++) {
    const buf = Buffer.alloc(size);
    buf.writeUInt32BE(i, 0);
    buf.writeDoubleBE(clock.now(), 4);
    imp.push(buf, (b) => arrivals.push({ seq: b.readUInt32BE(0), sentAt: b.readDoubleBE(4), at: clock.now(), bytes: b.length }));
    clock.advance(gap);
  }
  clock.advance(60_000);
  assert.equal(imp.pending, 0);
  return { imp, arrivals, counters: imp.counters };
}

const N = 100_000;

describe('Impairment', () => {
  test('clear weather delivers everything, in order, on the next timer turn (never inside push)', () => {
    const clock = new FakeClock();
    const imp = new Impairment({}, clock, seededRandom(1));
    const got: number[] = [];
    for (let i = 0; i < 5; i++) imp.push(Buffer.from([i]), (b) => got.push(b[0]));
    assert.deepEqual(got, []);
    clock.advance(0);
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    assert.equal(imp.counters.delivered, 5);
    assert.equal(imp.counters.deliveredBytes, 5);
  });

  test('fixed delay is exact', () => {
    const { arrivals } = run({ delayMs: 37 }, 1000);
    assert.equal(arrivals.length, 1000);
    for (const a of arrivals) assert.equal(a.at - a.sentAt, 37);
  });

  test('random loss over 100k packets is within 0.5 points of the configured rate', () => {
    const { counters } = run({ loss: 0.1 }, N);
    const rate = counters.lost_random / N;
    assert.ok(Math.abs(rate - 0.1) < 0.005, `loss ${rate}`);
    assert.equal(counters.delivered + counters.lost_random, N);
    assert.equal(counters.lost_burst, 0);
  });

  test('Gilbert–Elliott burst lengths average 1/pBadToGood and overall loss matches the stationary share', () => {
    const ge = { pGoodToBad: 0.01, pBadToGood: 0.25, lossInGood: 0, lossInBad: 1 };
    const { arrivals, counters } = run({ gilbertElliott: ge }, N);
    const received = new Uint8Array(N);
    for (const a of arrivals) received[a.seq] = 1;
    const bursts: number[] = [];
    let run_ = 0;
    for (let i = 0; i < N; i++) {
      if (!received[i]) run_++;
      else if (run_ > 0) {
        bursts.push(run_);
        run_ = 0;
      }
    }
    const mean = bursts.reduce((s, x) => s + x, 0) / bursts.length;
    assert.ok(Math.abs(mean - 4) < 0.25, `mean burst ${mean}`);
    const stationary = ge.pGoodToBad / (ge.pGoodToBad + ge.pBadToGood);
    assert.ok(Math.abs(counters.lost_burst / N - stationary) < 0.006, `burst loss ${counters.lost_burst / N}`);
    assert.equal(counters.lost_random, 0);
    assert.ok(bursts.some((b) => b >= 10), 'long bursts happen');
  });

  test('rate cap: throughput equals the rate under 2x overload, overflow is counted, latency is bounded by the queue', () => {
    // 1250-byte packets = 10 kbit = 10 ms at 1000 kbit/s; offered every 5 ms (2000 kbit/s).
    const n = 20_000;
    const { arrivals, counters } = run({ rateKbps: 1000, queueBytes: 12_500 }, n, { gapMs: 5, size: 1250 });
    assert.equal(counters.delivered + counters.queue_overflow, n);
    assert.ok(Math.abs(counters.queue_overflow / n - 0.5) < 0.01, `overflow ${counters.queue_overflow}`);
    const first = arrivals[0];
    const last = arrivals[arrivals.length - 1];
    const kbps = ((arrivals.length - 1) * 1250 * 8) / (last.at - first.at);
    assert.ok(Math.abs(kbps - 1000) < 5, `throughput ${kbps} kbit/s`);
    const maxLatency = Math.max(...arrivals.map((a) => a.at - a.sentAt));
    assert.ok(maxLatency <= 100 + 1e-9, `queue of 10 packets bounds latency to 100 ms, got ${maxLatency}`);
    assert.ok(maxLatency >= 90, `the queue did fill, got ${maxLatency}`);
  });

  test('rate cap under the rate: no overflow, latency is exactly the serialization time', () => {
    const { arrivals, counters } = run({ rateKbps: 1000, queueBytes: 2000, delayMs: 5 }, 1000, { gapMs: 20, size: 1250 });
    assert.equal(counters.queue_overflow, 0);
    for (const a of arrivals) assert.equal(a.at - a.sentAt, 15);
  });

  test('jitter with reorder=false never reorders and never delivers before the base delay', () => {
    const { arrivals } = run({ delayMs: 50, jitterMs: 30, reorder: false }, N);
    assert.equal(arrivals.length, N);
    let outOfOrder = 0;
    for (let i = 1; i < N; i++) if (arrivals[i].seq < arrivals[i - 1].seq) outOfOrder++;
    assert.equal(outOfOrder, 0);
    const lat = arrivals.map((a) => a.at - a.sentAt);
    assert.ok(Math.min(...lat) >= 20);
    assert.ok(Math.max(...lat) - Math.min(...lat) > 20, 'jitter is applied');
  });

  test('jitter with reorder=true reorders, with uniform spread around the delay', () => {
    const { arrivals } = run({ delayMs: 50, jitterMs: 30, reorder: true }, N);
    let outOfOrder = 0;
    for (let i = 1; i < N; i++) if (arrivals[i].seq < arrivals[i - 1].seq) outOfOrder++;
    assert.ok(outOfOrder > N / 10, `reordered ${outOfOrder}`);
    const lat = arrivals.map((a) => a.at - a.sentAt);
    const mean = lat.reduce((s, x) => s + x, 0) / N;
    assert.ok(Math.abs(mean - 50) < 0.5, `mean ${mean}`);
    assert.ok(Math.min(...lat) >= 20 && Math.max(...lat) <= 80);
    // Uniform on [-30, 30]: sd = 30/sqrt(3).
    const sd = Math.sqrt(lat.reduce((s, x) => s + (x - mean) ** 2, 0) / N);
    assert.ok(Math.abs(sd - 30 / Math.sqrt(3)) < 0.5, `sd ${sd}`);
  });

  test('normal jitter has the configured standard deviation', () => {
    const { arrivals } = run({ delayMs: 100, jitterMs: 10, jitter: 'normal', reorder: true }, N);
    const lat = arrivals.map((a) => a.at - a.sentAt);
    const mean = lat.reduce((s, x) => s + x, 0) / N;
    const sd = Math.sqrt(lat.reduce((s, x) => s + (x - mean) ** 2, 0) / N);
    assert.ok(Math.abs(mean - 100) < 0.3, `mean ${mean}`);
    assert.ok(Math.abs(sd - 10) < 0.3, `sd ${sd}`);
  });

  test('duplication rate matches and copies are distinct buffers', () => {
    const clock = new FakeClock();
    const imp = new Impairment({ duplicate: 0.05 }, clock, seededRandom(7));
    const seen = new Map<number, Buffer[]>();
    for (let i = 0; i < N; i++) {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(i, 0);
      imp.push(b, (x) => {
        const k = x.readUInt32BE(0);
        seen.set(k, [...(seen.get(k) ?? []), x]);
      });
      clock.advance(1);
    }
    clock.advance(10);
    const c = imp.counters;
    assert.ok(Math.abs(c.duplicated / N - 0.05) < 0.003, `dup ${c.duplicated / N}`);
    assert.equal(c.delivered, N + c.duplicated);
    const twice = [...seen.values()].filter((v) => v.length === 2);
    assert.equal(twice.length, c.duplicated);
    assert.notEqual(twice[0][0], twice[0][1]);
    assert.deepEqual(twice[0][0], twice[0][1]);
  });

  test('same seed → same run; different seed → different run', () => {
    const cfg: ImpairmentPatch = { loss: 0.05, delayMs: 20, jitterMs: 15, reorder: true, duplicate: 0.02 };
    const key = (r: ReturnType<typeof run>) => r.arrivals.map((a) => `${a.seq}@${a.at}`).join(',');
    assert.equal(key(run(cfg, 5000, { seed: 3 })), key(run(cfg, 5000, { seed: 3 })));
    assert.notEqual(key(run(cfg, 5000, { seed: 3 })), key(run(cfg, 5000, { seed: 4 })));
  });

  test('same seed → the same drop sequence (random, burst and overflow); another seed → another', () => {
    // Every packet's fate, in push order. Sizes and gaps come from their own fixed source, so only the
    // impairment's seed differs between runs.
    const fates = (seed: number): string[] => {
      const clock = new FakeClock();
      const cfg: ImpairmentPatch = {
        loss: 0.05,
        gilbertElliott: { pGoodToBad: 0.02, pBadToGood: 0.3, lossInGood: 0, lossInBad: 0.8 },
        rateKbps: 500,
        queueBytes: 6000,
        delayMs: 30,
        jitterMs: 10,
      };
      const imp = new Impairment(cfg, clock, seededRandom(seed));
      const traffic = seededRandom(99);
      const out: string[] = [];
      for (let i = 0; i < 20_000; i++) {
        const before = { ...imp.counters };
        imp.push(Buffer.alloc(200 + Math.floor(traffic() * 1000)), () => {
          out[i] = `@${clock.now().toFixed(3)}`;
        });
        const c = imp.counters;
        if (c.lost_random > before.lost_random) out[i] = 'random';
        else if (c.lost_burst > before.lost_burst) out[i] = 'burst';
        else if (c.queue_overflow > before.queue_overflow) out[i] = 'overflow';
        clock.advance(traffic() * 20);
      }
      clock.advance(60_000);
      return out;
    };
    const a = fates(3);
    for (const kind of ['random', 'burst', 'overflow']) assert.ok(a.filter((f) => f === kind).length > 100, `${kind} drops happen`);
    assert.ok(a.filter((f) => f.startsWith('@')).length > 10_000, 'most packets are delivered');
    assert.deepEqual(fates(3), a);
    const b = fates(4);
    const differ = a.filter((f, i) => (f.startsWith('@') ? 'kept' : f) !== (b[i].startsWith('@') ? 'kept' : b[i])).length;
    assert.ok(differ > 1000, `another seed drops other packets (${differ} fates differ)`);
  });

  test('setConfig applies at once; packets in flight keep their times', () => {
    const clock = new FakeClock();
    const imp = new Impairment({ delayMs: 100 }, clock, seededRandom(1));
    const got: Array<[string, number]> = [];
    imp.push(Buffer.from('a'), (b) => got.push([b.toString(), clock.now()]));
    clock.advance(10);
    imp.setConfig({ delayMs: 10 });
    imp.push(Buffer.from('b'), (b) => got.push([b.toString(), clock.now()]));
    clock.advance(200);
    // b (reorder false): no earlier than a, which keeps its 100 ms.
    assert.deepEqual(got, [
      ['a', 100],
      ['b', 100],
    ]);
    imp.setConfig({ delayMs: 10, reorder: true, loss: 1 });
    imp.push(Buffer.from('c'), () => assert.fail('lost'));
    clock.advance(50);
    assert.equal(imp.counters.lost_random, 1);
  });

  test('close drops everything in flight', () => {
    const clock = new FakeClock();
    const imp = new Impairment({ delayMs: 10 }, clock, seededRandom(1));
    imp.push(Buffer.from('x'), () => assert.fail('delivered after close'));
    imp.close();
    imp.push(Buffer.from('y'), () => assert.fail('accepted after close'));
    clock.advance(100);
    assert.equal(imp.counters.delivered, 0);
  });

  test('bad configs are rejected naming the field', () => {
    const clock = new FakeClock();
    assert.throws(() => new Impairment({ loss: 1.5 }, clock, Math.random), (e: unknown) => e instanceof ImpairmentConfigError && /loss/.test(e.message));
    assert.throws(
      () => new Impairment({ gilbertElliott: { pGoodToBad: 0.1, pBadToGood: -1, lossInGood: 0, lossInBad: 1 } }, clock, Math.random),
      /gilbertElliott\.pBadToGood/,
    );
    assert.throws(() => new Impairment({ delayMs: -5 }, clock, Math.random), /delayMs/);
  });
});
