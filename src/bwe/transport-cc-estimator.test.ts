import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRtcp } from '../rtp/rtcp-compound.ts';
import type { RtcpPacket, TwccPacket } from '../rtp/rtcp-types.ts';
import { TwccFeedbackBuilder } from '../rtp/twcc-feedback-builder.ts';
import { youngBytesAllocated } from '../rtp/test-alloc.ts';
import { TransportCcEstimator } from './transport-cc-estimator.ts';
import { BweSim, firstTime, mean, settleTime, type Sample } from './test-link.ts';

/** Builds feedback for (seq, arrival ms) pairs with the real builder and parses it back. */
function feedback(b: TwccFeedbackBuilder, rx: Array<[number, number]>): TwccPacket[] {
  for (const [seq, at] of rx) b.record(seq, at);
  const out: RtcpPacket[] = [];
  for (const buf of b.build(1, 2)) assert.equal(parseRtcp(buf, buf.length, out), null);
  return out.filter((p): p is TwccPacket => p.type === 'twcc');
}

const kbps = (x: number) => `${Math.round(x / 1000)} kbps`;

describe('TransportCcEstimator units', () => {
  test('an uncongested path: the received rate is measured and the estimate grows', () => {
    const est = new TransportCcEstimator({ initialBps: 500_000, probing: false });
    const b = new TwccFeedbackBuilder();
    // 1000-byte packets every 10 ms (800 kbps), 30 ms one way, feedback every 100 ms.
    let seq = 65_500; // crosses the 16-bit wrap
    for (let t = 0; t < 5000; t += 100) {
      const rx: Array<[number, number]> = [];
      for (let k = 0; k < 10; k++, seq++) {
        est.onPacketSent(seq & 0xffff, 1000, t + k * 10);
        rx.push([seq & 0xffff, 777_000 + t + k * 10 + 30]);
      }
      for (const fb of feedback(b, rx)) est.onTransportFeedback(fb, t + 130);
    }
    assert.ok(Math.abs(est.ackedBitrate() - 800_000) < 20_000, kbps(est.ackedBitrate()));
    const st = est.stats();
    assert.equal(st.signal, 'normal');
    assert.equal(st.state, 'increase');
    assert.ok(est.estimate(5130) > 600_000, kbps(est.estimate(5130)));
    assert.ok(est.estimate(5130) <= 1.5 * 800_000 + 10_000);
    assert.equal(est.unknownSeqs, 0);
    assert.equal(est.packetsLost, 0);
  });

  test('a queue building up is overuse: the estimate drops below the received rate', () => {
    const est = new TransportCcEstimator({ initialBps: 2_000_000, probing: false });
    const b = new TwccFeedbackBuilder();
    // 1000-byte packets sent every 5 ms (1.6 Mbps) into a 1 Mbps bottleneck: one leaves every 8 ms.
    const arrival = (seq: number) => 50 + seq * 8;
    for (let seq = 0; seq < 400; seq++) {
      est.onPacketSent(seq, 1000, seq * 5);
      if (seq % 20 === 19) {
        const rx: Array<[number, number]> = [];
        for (let s = seq - 19; s <= seq; s++) rx.push([s, arrival(s)]);
        for (const fb of feedback(b, rx)) est.onTransportFeedback(fb, arrival(seq) + 20);
      }
    }
    assert.ok(Math.abs(est.ackedBitrate() - 1_000_000) < 20_000, kbps(est.ackedBitrate()));
    assert.equal(est.stats().signal, 'overuse');
    assert.ok(est.estimate(3300) <= 0.85 * 1_000_000 * 1.02, kbps(est.estimate(3300)));
  });

  test('a release burst (a stalled process lets 150 ms of packets go at once) holds instead of cutting', () => {
    const est = new TransportCcEstimator({ initialBps: 900_000, probing: false });
    const b = new TwccFeedbackBuilder();
    // 1000-byte packets every 10 ms (800 kbps), 30 ms one way, feedback every 50 ms; from 3000 to 3150 ms
    // nothing is delivered, then everything sent meanwhile arrives within 2 ms.
    let seq = 0;
    const arrival = (sent: number) => (sent >= 3000 && sent < 3150 ? 3180 + (sent - 3000) / 75 : sent + 30);
    const pending: Array<[number, number]> = [];
    let before = 0;
    for (let t = 0; t < 6000; t += 10, seq++) {
      est.onPacketSent(seq, 1000, t);
      pending.push([seq, arrival(t)]);
      if (t === 2990) before = est.estimate(t);
      if (t % 50 === 40) {
        const due = pending.filter(([, at]) => at <= t + 10);
        if (due.length === 0) continue;
        for (const d of due) pending.splice(pending.indexOf(d), 1);
        for (const fb of feedback(b, due)) est.onTransportFeedback(fb, t + 20);
      }
    }
    assert.ok(est.stallReleases >= 1, 'the release burst is recognised');
    assert.equal(est.capacityDrops, 0);
    assert.ok(est.estimate(6000) >= 0.95 * before, `${kbps(est.estimate(6000))} after, ${kbps(before)} before`);
  });

  test('duplicate and unknown feedback is ignored; losses counted once', () => {
    const est = new TransportCcEstimator({ probing: false });
    for (let s = 0; s < 100; s++) est.onPacketSent(s, 1200, s * 5);
    const b = new TwccFeedbackBuilder();
    const rx: Array<[number, number]> = [];
    for (let s = 0; s < 100; s++) if (s % 10 !== 3) rx.push([s, 1000 + s * 5]);
    const fbs = feedback(b, rx);
    for (const fb of fbs) est.onTransportFeedback(fb, 600);
    const acked = est.ackedBitrate();
    assert.equal(est.packetsLost, 10);
    for (const fb of fbs) est.onTransportFeedback(fb, 610);
    assert.equal(est.packetsLost, 10);
    assert.equal(est.ackedBitrate(), acked);
    // Seqs we never sent.
    const other = new TwccFeedbackBuilder();
    for (const fb of feedback(other, [[30_000, 5], [30_001, 6]])) est.onTransportFeedback(fb, 620);
    assert.equal(est.unknownSeqs, 2);
  });

  test('packets the receiver drops unseen are not path loss', () => {
    // 10 media packets every 100 ms, all received, and 4 RTX/padding packets the receiver throws away:
    // 29 % "lost" unless they are flagged.
    const run = (flag: boolean) => {
      const est = new TransportCcEstimator({ initialBps: 500_000, probing: false });
      const b = new TwccFeedbackBuilder();
      let seq = 0;
      for (let t = 0; t < 3000; t += 100) {
        const rx: Array<[number, number]> = [];
        for (let k = 0; k < 14; k++, seq++) {
          const discarded = k % 3 === 1 && k < 12;
          est.onPacketSent(seq, 1000, t + k * 7, false, flag && discarded);
          if (!discarded) rx.push([seq, 5000 + t + k * 7 + 30]);
        }
        for (const fb of feedback(b, rx)) est.onTransportFeedback(fb, t + 130);
      }
      return est;
    };
    const plain = run(false);
    assert.ok(plain.lossFraction > 0.25, `unflagged: ${plain.lossFraction}`);
    const flagged = run(true);
    assert.equal(flagged.lossFraction, 0);
    assert.ok(flagged.estimate(3130) >= 500_000, kbps(flagged.estimate(3130)));
    assert.equal(flagged.packetsLost, plain.packetsLost, 'still reported lost, only not counted as the path\'s');
  });

  test('the 24-bit feedback reference time wraps without a jump in arrival times', () => {
    const est = new TransportCcEstimator({ initialBps: 500_000, probing: false });
    const b = new TwccFeedbackBuilder();
    const wrapMs = 0x1000000 * 64; // reference time wraps (unsigned 24-bit, 64 ms units)
    let seq = 0;
    for (let t = 0; t < 4000; t += 100) {
      const rx: Array<[number, number]> = [];
      for (let k = 0; k < 10; k++, seq++) {
        est.onPacketSent(seq, 1000, t + k * 10);
        rx.push([seq, wrapMs - 2000 + t + k * 10]);
      }
      for (const fb of feedback(b, rx)) est.onTransportFeedback(fb, t + 120);
    }
    assert.ok(Math.abs(est.ackedBitrate() - 800_000) < 20_000, kbps(est.ackedBitrate()));
    assert.notEqual(est.stats().signal, 'overuse');
  });

  test('no feedback while sending: the estimate halves every 3 s', () => {
    const est = new TransportCcEstimator({ initialBps: 1_600_000, probing: false });
    const b = new TwccFeedbackBuilder();
    est.onPacketSent(0, 1000, 0);
    for (const fb of feedback(b, [[0, 10]])) est.onTransportFeedback(fb, 50);
    for (let s = 1; s < 200; s++) est.onPacketSent(s, 1000, s * 50);
    assert.equal(est.estimate(3000), 1_600_000);
    assert.equal(est.estimate(3050), 800_000);
    assert.equal(est.estimate(5000), 800_000);
    assert.equal(est.estimate(6050), 400_000);
  });

  test('REMB, when a receiver sends it too, caps the estimate', () => {
    const est = new TransportCcEstimator({ initialBps: 1_000_000 });
    est.onRemb(400_000, 0);
    assert.equal(est.estimate(0), 400_000);
    assert.equal(est.stats().estimateBps, 400_000);
  });

  test('onPacketSent does not allocate', () => {
    const est = new TransportCcEstimator();
    est.planProbe(0, 10_000_000); // a cluster is running: probe packets are attributed too
    let seq = 0;
    const bytes = youngBytesAllocated(() => {
      for (let i = 0; i < 10_000; i++, seq++) est.onPacketSent(seq & 0xffff, 1200, seq, (i & 7) === 0, (i & 3) === 0);
    });
    assert.ok(bytes < 16_000, `young generation grew ${bytes} bytes`);
  });
});

/** Queue of a router in front of a `kbps` link: 250 ms of it, at least 20 kB. */
const queueFor = (kbpsCap: number) => Math.max(20_000, (kbpsCap * 1000 * 0.25) / 8);

function describeRun(ss: Sample[], cap: number): string {
  const est = ss.map((s) => s.estimate / cap);
  return `est/cap mean ${mean(est).toFixed(3)} [${Math.min(...est).toFixed(2)}, ${Math.max(...est).toFixed(2)}], delivered/cap ${mean(ss.map((s) => s.delivered / cap)).toFixed(2)}, queue+jitter mean ${mean(ss.map((s) => s.oneWayMs - 20)).toFixed(0)} ms`;
}

describe('TransportCcEstimator against a simulated bottleneck (FakeClock, real TWCC wire format)', () => {
  for (const capKbps of [300, 1000, 2500]) {
    test(`${capKbps} kbps bottleneck: converges within ±25 % in a few seconds and stays there`, (t) => {
      const cap = capKbps * 1000;
      const sim = new BweSim({ link: { rateKbps: capKbps, queueBytes: queueFor(capKbps), delayMs: 20 }, wantedBps: 4_000_000 });
      sim.run(20_000);
      const settle = settleTime(sim.samples, 0, 20_000, 0.75 * cap, 1.25 * cap);
      const steady = sim.between(10_000, 20_000);
      t.diagnostic(`${capKbps} kbps: settled in ${settle} s; last 10 s ${describeRun(steady, cap)}; ${sim.clusters} probe clusters`);
      assert.ok(settle <= 3, `settled after ${settle} s`);
      const m = mean(steady.map((s) => s.estimate)) / cap;
      assert.ok(m >= 0.85 && m <= 1.05, `steady-state mean estimate ${m.toFixed(3)} × cap`);
      assert.ok(mean(steady.map((s) => s.delivered)) >= 0.85 * cap, 'the link is used');
      assert.ok(mean(steady.map((s) => s.oneWayMs - 20)) < 150, 'no standing queue');
    });
  }

  test('cap lowered 2.5 Mbps → 300 kbps: the estimate follows within 2 s; lifted again: back up within 8 s', (t) => {
    const lift = 31_300; // off the 3 s periodic-probe grid
    const run = (probing: boolean) => {
      const sim = new BweSim({
        link: { rateKbps: 2500, queueBytes: queueFor(2500), delayMs: 20 },
        wantedBps: 4_000_000,
        estimator: probing ? {} : { probing: false },
      });
      sim.run(15_000);
      sim.setLink({ rateKbps: 300 });
      sim.run(lift - 15_000);
      sim.setLink({ rateKbps: 2500 });
      sim.run(15_000);
      return sim;
    };
    const sim = run(true);
    const react = firstTime(sim.samples, 15_000, lift, (s) => s.estimate <= 1.25 * 300_000);
    const settleLow = settleTime(sim.samples, 15_000, lift, 0.75 * 300_000, 1.25 * 300_000);
    const recover = firstTime(sim.samples, lift, lift + 15_000, (s) => s.estimate >= 0.75 * 2_500_000);
    const settleHigh = settleTime(sim.samples, lift, lift + 15_000, 0.75 * 2_500_000, 1.25 * 2_500_000);
    const noProbe = run(false);
    const recoverNoProbe = firstTime(noProbe.samples, lift, lift + 15_000, (s) => s.estimate >= 0.75 * 2_500_000);
    const lowAfterNoProbe = noProbe.between(lift + 14_000, lift + 15_000).at(-1)!.estimate;
    t.diagnostic(
      `reaction ${react} s, settled at 300k after ${settleLow} s (${describeRun(sim.between(20_000, lift), 300_000)}); ` +
        `recovery to 75 % of 2.5M ${recover.toFixed(2)} s, settled ${settleHigh.toFixed(2)} s; ` +
        `without probing: ${recoverNoProbe} s (estimate ${kbps(lowAfterNoProbe)} 15 s after the lift)`,
    );
    assert.ok(react <= 2, `reaction ${react} s`);
    assert.ok(settleLow <= 3, `settled at 300k after ${settleLow} s`);
    assert.ok(recover <= 8, `recovery ${recover} s`);
    assert.ok(settleHigh <= 10, `settled at 2.5M after ${settleHigh} s`);
    assert.ok(recoverNoProbe > recover + 5, 'probing is what makes the ramp-up fast');
  });

  test('5 % random loss, no cap: no collapse, and no growth beyond what is sent when little is wanted', (t) => {
    const low = new BweSim({ link: { loss: 0.05, delayMs: 20 }, wantedBps: 600_000, estimator: { initialBps: 300_000 } });
    low.run(30_000);
    const ls = low.between(5000, 30_000);
    const maxSent = Math.max(...ls.map((s) => s.sent));
    const lmin = Math.min(...ls.map((s) => s.estimate));
    const lmax = Math.max(...ls.map((s) => s.estimate));
    const high = new BweSim({ link: { loss: 0.05, delayMs: 20 }, wantedBps: 4_000_000 });
    high.run(30_000);
    const hs = high.between(5000, 30_000);
    const hmin = Math.min(...hs.map((s) => s.estimate));
    const hmax = Math.max(...hs.map((s) => s.estimate));
    const hsent = Math.max(...hs.map((s) => s.sent));
    t.diagnostic(
      `wanted 600k (start 300k): estimate ${kbps(lmin)}–${kbps(lmax)}, max sent ${kbps(maxSent)}; ` +
        `wanted 4M: estimate ${kbps(hmin)}–${kbps(hmax)}, max sent ${kbps(hsent)}, loss window mean ${mean(hs.map((s) => s.loss)).toFixed(3)}`,
    );
    assert.ok(lmin >= 500_000, 'random loss below 10 % does not push the estimate under what is wanted');
    assert.ok(lmax <= 1.6 * maxSent, 'bounded by 1.5 × the received rate');
    assert.ok(hmin >= 1_000_000, 'never below the start');
    assert.ok(hmax <= 1.6 * hsent);
    assert.ok(mean(hs.map((s) => s.sent)) >= 0.9 * 4_000_000, 'the wanted rate is sent');
  });

  test('±20 ms jitter without congestion: no false-overuse collapse', (t) => {
    const sim = new BweSim({ link: { jitterMs: 20, jitter: 'uniform', delayMs: 40 }, wantedBps: 1_500_000 });
    sim.run(30_000);
    const ss = sim.between(5000, 30_000);
    const ratio = Math.min(...ss.map((s) => s.estimate / s.sent));
    const minEst = Math.min(...ss.map((s) => s.estimate));
    const decreases = ss.filter((s) => s.state === 'decrease').length;
    t.diagnostic(`min estimate/sent ${ratio.toFixed(2)}, min estimate ${kbps(minEst)}, mean sent ${kbps(mean(ss.map((s) => s.sent)))}, samples in decrease ${decreases}`);
    assert.ok(ratio >= 0.8, `estimate fell to ${ratio.toFixed(2)} × the sending rate`);
    assert.ok(minEst >= 0.7 * 1_500_000);
    assert.ok(mean(ss.map((s) => s.sent)) >= 0.95 * 1_500_000, 'the wanted rate is sent');
  });

  test('5 % loss and heavy jitter (normal, σ 50 ms, never reordered) on an open path: the estimate keeps most of what is wanted', (t) => {
    // Jitter this heavy trips the detector now and then (a busy receiver adds the same), and each false
    // over-use costs 15 %. What matters is how fast it comes back: the additive step follows the estimate's
    // own packets (not the audio-heavy measured average), probes evaluated during the release-burst holds
    // that such jitter keeps making still count, clusters span ten times the measured jitter, and a
    // decrease starts from the highest received rate of the last second, not a window that jitter held
    // back. Before these, the median sat at 0.58–0.87 Mbps and the lowest at 0.45–0.69; before the last
    // alone, the lowest at 0.98–1.31.
    for (const seed of [1, 2, 3]) {
      const sim = new BweSim({ link: { loss: 0.05, delayMs: 20, jitterMs: 50, jitter: 'normal' }, wantedBps: 2_600_000, seed });
      sim.run(45_000);
      const est = sim.between(5000, 45_000).map((x) => x.estimate).sort((a, b) => a - b);
      const median = est[Math.floor(est.length / 2)];
      t.diagnostic(`seed ${seed}: min ${kbps(est[0])}, median ${kbps(median)}`);
      assert.ok(median >= 1_500_000, `seed ${seed}: median estimate ${kbps(median)}`);
      assert.ok(est[0] >= 1_400_000, `seed ${seed}: lowest estimate ${kbps(est[0])}`);
    }
  });

  test('300 kbit/s with a 250 ms buffer under ±40 ms jitter, after an open path: the buffer does not overflow for long', (t) => {
    // Jitter makes single deep queue readings and pauses in arrivals; a decrease must still start from what
    // the full link delivers now, and a queue that overflows is no new base delay. Decreasing from the last
    // second's peak even under a queue that stayed deep held one seed at 1.27 × the cap with 14 % loss.
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const sim = new BweSim({ link: { delayMs: 20, jitterMs: 40, jitter: 'uniform' }, wantedBps: 2_800_000, seed });
      sim.run(8000);
      sim.setLink({ rateKbps: 300, queueBytes: (300_000 * 0.25) / 8 });
      sim.run(20_000);
      const capped = sim.between(10_000, 28_000);
      const loss = mean(capped.map((x) => x.loss));
      const est = mean(capped.map((x) => x.estimate)) / 300_000;
      t.diagnostic(`seed ${seed}: loss ${(loss * 100).toFixed(1)} %, estimate/cap ${est.toFixed(2)}, rebases ${sim.est.rebases}`);
      assert.ok(loss < 0.01, `seed ${seed}: ${(loss * 100).toFixed(1)} % lost under the cap`);
      assert.ok(est <= 1, `seed ${seed}: estimate ${est.toFixed(2)} × the cap`);
    }
  });

  // Spikes real networks have: the estimate may dip while the weather lasts, but once it clears it is not
  // below half its pre-spike value for more than 3 s (issue: "not today, internet weather").
  // The lowest share of the pre-spike estimate allowed while it lasts: a delay step or ramp is the path's
  // delay, not a queue of ours (no compounding cuts); a blackout's losses are no rate signal at all.
  const spikes: Array<[string, number, (sim: BweSim) => void]> = [
    ['+300 ms delay for 2 s', 0.4, (sim) => (sim.setLink({ delayMs: 320 }), sim.run(2000), sim.setLink({ delayMs: 20 }))],
    ['a 1 s blackout (100 % loss)', 0.8, (sim) => (sim.setLink({ loss: 1 }), sim.run(1000), sim.setLink({ loss: 0 }))],
    [
      'delay ramping 20 → 250 ms over 10 s and back',
      0.15,
      (sim) => {
        for (let k = 1; k <= 20; k++) (sim.setLink({ delayMs: 20 + k * 11.5 }), sim.run(500));
        for (let k = 19; k >= 0; k--) (sim.setLink({ delayMs: 20 + k * 11.5 }), sim.run(500));
      },
    ],
  ];
  for (const [name, minShare, spike] of spikes) {
    test(`${name}: the estimate is back above half its pre-spike value within 3 s of the weather clearing`, (t) => {
      const sim = new BweSim({ link: { rateKbps: 2500, queueBytes: queueFor(2500), delayMs: 20 }, wantedBps: 1_500_000 });
      sim.run(10_000);
      const pre = mean(sim.between(8000, 10_000).map((x) => x.estimate));
      spike(sim);
      const cleared = sim.clock.now();
      sim.run(8000);
      const after = sim.between(cleared, cleared + 8000);
      const lowUntil = after.filter((x) => x.estimate < 0.5 * pre).at(-1)?.t ?? cleared;
      const min = Math.min(...sim.between(10_000, cleared + 8000).map((x) => x.estimate));
      const backAt = firstTime(sim.samples, cleared, cleared + 8000, (x) => x.estimate >= 0.9 * pre);
      t.diagnostic(`pre ${kbps(pre)}, lowest ${kbps(min)} (${((100 * min) / pre).toFixed(0)} %), under half until ${((lowUntil - cleared) / 1000).toFixed(1)} s after, ≥ 90 % again ${backAt} s after`);
      assert.ok(lowUntil - cleared <= 3000, `under half its pre-spike value ${lowUntil - cleared} ms after the weather cleared`);
      assert.ok(min >= minShare * pre, `fell to ${((100 * min) / pre).toFixed(0)} % of its pre-spike value (floor ${minShare * 100} %)`);
    });
  }

  test('the receiver clock near the 24-bit reference-time wrap and a seq wrap: still converges', (t) => {
    const sim = new BweSim({
      link: { rateKbps: 1000, queueBytes: queueFor(1000), delayMs: 20 },
      wantedBps: 4_000_000,
      receiverClockOffsetMs: 0x1000000 * 64 - 3000,
      firstSeq: 65_400,
    });
    sim.run(10_000);
    const settle = settleTime(sim.samples, 0, 10_000, 750_000, 1_250_000);
    t.diagnostic(`settled in ${settle} s`);
    assert.ok(settle <= 3);
  });
});

describe('TransportCcEstimator against hostile feedback', () => {
  /** Feedback whose statuses all say "not received", claiming `count` from `base` (10 run-length chunks). */
  function claim(base: number, count: number): TwccPacket {
    const b = Buffer.alloc(40);
    b[0] = 0x8f;
    b[1] = 205;
    b.writeUInt16BE(9, 2);
    b.writeUInt16BE(base & 0xffff, 12);
    b.writeUInt16BE(count, 14);
    for (let c = 0; c < 10; c++) b.writeUInt16BE(0x1fff, 20 + 2 * c);
    const out: RtcpPacket[] = [];
    assert.equal(parseRtcp(b, b.length, out), null);
    return out[0] as TwccPacket;
  }

  test('statuses for packets never sent cost nothing per status; those sent are looked at once per credit', () => {
    const est = new TransportCcEstimator({ probing: false });
    for (let s = 0; s < 100; s++) est.onPacketSent(s, 1000, s);
    // 65,535 statuses from seq 0: 100 name packets we sent, the rest are counted unknown in one step.
    est.onTransportFeedback(claim(0, 0xffff), 200);
    assert.equal(est.packetsLost, 100);
    assert.equal(est.unknownSeqs, 0xffff - 100);
    // A flood of the same claim, far more feedback than packets: lookups stop when the credits do.
    let lookups = 0;
    for (let i = 0; i < 10_000; i++) {
      const before = est.unknownSeqs + est.statusesOverBudget;
      est.onTransportFeedback(claim(0, 0xffff), 300 + i);
      lookups += 0xffff - (est.unknownSeqs + est.statusesOverBudget - before);
    }
    assert.ok(lookups <= 1024 + 4 * 100, `${lookups} statuses looked up for 10,000 feedbacks after 100 packets`);
    assert.ok(est.statusesOverBudget > 0);
    assert.equal(est.packetsLost, 100, 'each packet reported lost once');
  });

  test('a claim reaching past the highest seq sent, or behind the history, looks at the history window only', () => {
    const est = new TransportCcEstimator({ probing: false, history: { capacity: 1024 } });
    for (let s = 0; s < 5000; s++) est.onPacketSent(s & 0xffff, 1000, s / 10);
    est.onTransportFeedback(claim(1000, 0xffff), 600);
    // Seqs 3976–4999 are in the ring; everything else of the claim is unknown.
    assert.equal(est.packetsLost, 1024);
    assert.equal(est.unknownSeqs, 0xffff - 1024);
  });
});
