import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import { NackGenerator } from './nack-generator.ts';
import { seededRandom as prng } from '../util/prng.ts';


function collect(n: NackGenerator, clock: FakeClock, rtt: number): number[] {
  const out: number[] = [];
  const count = n.collect(clock.now(), rtt, out);
  assert.equal(count, out.length);
  return out;
}

test('a loss is requested after the reorder delay, retried every RTT, and cleared on recovery', () => {
  const clock = new FakeClock();
  const n = new NackGenerator();
  for (const s of [1, 2, 4]) n.onPacket(s, clock.now());
  assert.equal(n.missingCount, 1);
  // rtt 40 → first delay max(10, 40/4) = 10 ms, retry every 40 ms.
  assert.deepEqual(collect(n, clock, 40), []);
  clock.advance(9);
  assert.deepEqual(collect(n, clock, 40), []);
  clock.advance(1);
  assert.deepEqual(collect(n, clock, 40), [3]);
  clock.advance(39);
  assert.deepEqual(collect(n, clock, 40), []);
  clock.advance(1);
  assert.deepEqual(collect(n, clock, 40), [3]);
  n.onPacket(3, clock.now());
  assert.equal(n.missingCount, 0);
  assert.equal(n.recovered, 1);
  clock.advance(100);
  assert.deepEqual(collect(n, clock, 40), []);
});

test('first-request delay follows clamp(rtt/4, 10, 50); unknown RTT uses the default', () => {
  const cases: [rtt: number, delay: number][] = [
    [0, 25],
    [20, 10],
    [100, 25],
    [200, 50],
    [1000, 50],
  ];
  for (const [rtt, delay] of cases) {
    const clock = new FakeClock();
    const n = new NackGenerator();
    n.onPacket(10, 0);
    n.onPacket(12, 0);
    clock.advance(delay - 1);
    assert.deepEqual(collect(n, clock, rtt), [], `rtt ${rtt} too early`);
    clock.advance(1);
    assert.deepEqual(collect(n, clock, rtt), [11], `rtt ${rtt} on time`);
  }
});

test('reordering shorter than the delay produces no NACK', () => {
  const clock = new FakeClock();
  const n = new NackGenerator();
  n.onPacket(100, 0);
  n.onPacket(102, 0);
  n.onPacket(101, 3);
  n.onPacket(101, 4); // duplicate
  clock.advance(100);
  assert.deepEqual(collect(n, clock, 50), []);
  assert.equal(n.missingCount, 0);
});

test('gives up after maxRetries requests', () => {
  const clock = new FakeClock();
  const n = new NackGenerator({ maxRetries: 10 });
  n.onPacket(1, 0);
  n.onPacket(3, 0);
  let sent = 0;
  for (let t = 0; t < 900; t++) {
    sent += collect(n, clock, 50).length;
    clock.advance(1);
  }
  assert.equal(sent, 10);
  assert.equal(n.missingCount, 0);
  assert.equal(n.gaveUp, 1);
  assert.equal(n.needsKeyframe, false);
});

test('gives up on losses older than maxAgeMs even with retries left', () => {
  const clock = new FakeClock();
  const n = new NackGenerator();
  n.onPacket(1, 0);
  n.onPacket(3, 0);
  const times: number[] = [];
  for (let t = 0; t <= 1100; t++) {
    if (collect(n, clock, 300).length > 0) times.push(t);
    clock.advance(1);
  }
  // delay 50, then every 300 ms: 50, 350, 650, 950; at 1001 the loss is dropped.
  assert.deepEqual(times, [50, 350, 650, 950]);
  assert.equal(n.missingCount, 0);
});

test('losses straddling 65535→0 are reported with their 16-bit numbers, for every start near the wrap', () => {
  for (let start = 65500; start < 65536 + 40; start++) {
    const clock = new FakeClock();
    const n = new NackGenerator();
    const lost = new Set([3, 4, 20, 35, 36, 37].map((o) => (start + o) & 0xffff));
    for (let i = 0; i < 50; i++) {
      const s = (start + i) & 0xffff;
      if (!lost.has(s)) n.onPacket(s, clock.now());
    }
    clock.advance(30);
    const got = collect(n, clock, 100);
    assert.deepEqual(got, [3, 4, 20, 35, 36, 37].map((o) => (start + o) & 0xffff), `start ${start}`);
  }
});

test('random loss and reordering across the wrap: every loss NACKed, nothing received is NACKed, all recovered', () => {
  const rnd = prng(5);
  const rtt = 30;
  for (const start of [65000, 65500, 65535, 0]) {
    const clock = new FakeClock();
    const n = new NackGenerator();
    const total = 3000;
    // Arrival time per packet: 1 packet/ms, each delayed 0..4 ms (reordering); 5% lost.
    const arrivals: { at: number; seq: number }[] = [];
    const lost = new Set<number>();
    for (let i = 0; i < total; i++) {
      const seq = (start + i) & 0xffff;
      if (i > 0 && i < total - 1 && rnd() < 0.05) lost.add(seq);
      else arrivals.push({ at: i + Math.floor(rnd() * 5), seq });
    }
    arrivals.sort((a, b) => a.at - b.at);
    const received = new Set<number>();
    const nacked = new Set<number>();
    const retrans: { at: number; seq: number }[] = [];
    let k = 0;
    for (let t = 0; t < total + 500; t++) {
      while (k < arrivals.length && arrivals[k].at === t) {
        n.onPacket(arrivals[k].seq, t);
        received.add(arrivals[k++].seq);
      }
      for (const r of retrans) {
        if (r.at === t && !received.has(r.seq)) {
          n.onPacket(r.seq, t);
          received.add(r.seq);
        }
      }
      if (t % 5 === 0) {
        for (const s of collect(n, clock, rtt)) {
          assert.ok(!received.has(s), `NACK for received ${s} at ${t}`);
          nacked.add(s);
          retrans.push({ at: t + rtt, seq: s });
        }
      }
      clock.advance(1);
    }
    for (const s of lost) assert.ok(nacked.has(s), `lost ${s} never NACKed`);
    assert.equal(n.missingCount, 0);
    // Recovered counts reordered arrivals too; nothing may have been given up.
    assert.ok(n.recovered >= lost.size);
    assert.equal(n.gaveUp, 0);
    assert.equal(n.needsKeyframe, false);
  }
});

test('huge gap resets the list and asks for a keyframe; moderate overflow evicts the oldest', () => {
  const n = new NackGenerator({ maxMissing: 500, hugeGap: 1000 });
  n.onPacket(65000, 0);
  n.onPacket(65000 + 10, 0);
  assert.equal(n.missingCount, 9);
  n.onPacket((65010 + 1002) & 0xffff, 1); // 1001 missing
  assert.equal(n.missingCount, 0);
  assert.equal(n.clearKeyframeRequest(), true);
  assert.equal(n.needsKeyframe, false);
  // Next packet continues from the new highest without a spurious gap.
  n.onPacket((65010 + 1003) & 0xffff, 2);
  assert.equal(n.missingCount, 0);

  const m = new NackGenerator({ maxMissing: 500, hugeGap: 1000 });
  m.onPacket(0, 0);
  m.onPacket(401, 0); // 400 missing
  assert.equal(m.needsKeyframe, false);
  m.onPacket(602, 0); // 200 more → 100 oldest evicted
  assert.equal(m.missingCount, 500);
  assert.equal(m.needsKeyframe, true);
  const clock = new FakeClock();
  clock.advance(100);
  const out = collect(m, clock, 50);
  assert.equal(out.length, 500);
  assert.equal(out[0], 101);
  assert.equal(out[499], 601);
});

test('recovered entries inside the list free capacity when they reach the head', () => {
  const n = new NackGenerator({ maxMissing: 4 });
  n.onPacket(0, 0);
  n.onPacket(5, 0); // 1..4 missing
  n.onPacket(1, 0);
  n.onPacket(2, 0);
  n.onPacket(4, 0);
  assert.equal(n.missingCount, 1);
  n.onPacket(8, 0); // 6, 7 missing: fits without evicting 3
  assert.equal(n.needsKeyframe, false);
  assert.equal(n.missingCount, 3);
  const clock = new FakeClock();
  clock.advance(60);
  assert.deepEqual(collect(n, clock, 100), [3, 6, 7]);
});
