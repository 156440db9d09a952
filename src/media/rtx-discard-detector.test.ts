import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REPAIR_GRACE_MS, RtxDiscardDetector, UNHEEDED_MIN_PACKETS, UNHEEDED_WINDOW_MS } from './rtx-discard-detector.ts';
import { seededRandom } from '../util/prng.ts';

describe('RtxDiscardDetector', () => {
  it('a receiver that NACKs every repaired packet again is detected after UNHEEDED_MIN_PACKETS of them, once', () => {
    const d = new RtxDiscardDetector();
    let told = 0;
    d.onDetected = () => told++;
    // 2 % of ~60 packets/s: a repair about every 800 ms, NACKed again 50 ms later.
    let t = 0;
    for (let i = 0; i < UNHEEDED_MIN_PACKETS - 1; i++) {
      d.onRepairSent(t);
      d.onUnheededRepair(t + 50);
      t += 800;
    }
    assert.equal(d.discarding, false, 'one short');
    d.onRepairSent(t);
    d.onUnheededRepair(t + 50);
    assert.equal(d.discarding, true);
    d.onRepairSent(t + 800);
    d.onUnheededRepair(t + 850);
    assert.equal(told, 1);
  });

  it('a working receiver whose repairs are sometimes lost (20 % random) is not, over ten minutes', () => {
    const d = new RtxDiscardDetector();
    const rnd = seededRandom(7);
    for (let t = 0; t < 600_000; t += 100) {
      // ~6 repairs a second (10 % loss of 60 packets/s), each lost with 20 %.
      if (rnd() < 0.6) {
        d.onRepairSent(t);
        if (rnd() < 0.2) d.onUnheededRepair(t + 60);
      }
    }
    assert.equal(d.discarding, false, `${d.unheeded} of ${d.repairs}`);
  });

  it('unheeded repairs spread thinner than the window never add up', () => {
    const d = new RtxDiscardDetector();
    for (let i = 0; i < 50; i++) {
      const t = i * UNHEEDED_WINDOW_MS * 2.5;
      d.onRepairSent(t);
      d.onUnheededRepair(t + 50);
    }
    assert.equal(d.discarding, false);
    assert.equal(d.unheeded, 50);
  });

  it('waits an RTT and a margin before a NACK counts against a repair', () => {
    const d = new RtxDiscardDetector();
    assert.equal(d.judgeMs(30), 30 + REPAIR_GRACE_MS);
    assert.equal(d.judgeMs(-1), 100 + REPAIR_GRACE_MS, 'RTT not measured yet: assume 100 ms');
  });
});
