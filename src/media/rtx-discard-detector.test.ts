import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FEEDBACK_WINDOW_MS, CONGESTED_MEMORY_MS, CONGESTED_QUEUE_MS, REPAIR_GRACE_MS, RTX_MIN_PACKETS, RtxDiscardDetector, UNHEEDED_MIN_PACKETS, UNHEEDED_WINDOW_MS } from './rtx-discard-detector.ts';
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

  it('repairs asked for again while the link runs full (a deep queue) do not count; once it drains they do', () => {
    const d = new RtxDiscardDetector();
    let t = 0;
    // The link is congested: every repair lost at the full buffer's tail or held past the receiver's patience.
    for (let i = 0; i < 3 * UNHEEDED_MIN_PACKETS; i++, t += 200) {
      d.judgeFeedback(t, 0, 0, 0, 0, CONGESTED_QUEUE_MS + 100);
      d.onRepairSent(t);
      d.onUnheededRepair(t + 150);
    }
    assert.equal(d.discarding, false, 'a congested link is not a discarding receiver');
    // The queue drained long enough ago: a receiver that still re-NACKs every repair is one.
    t += CONGESTED_MEMORY_MS;
    for (let i = 0; i < UNHEEDED_MIN_PACKETS; i++, t += 200) {
      d.judgeFeedback(t, 0, 0, 0, 0, 5);
      d.onRepairSent(t);
      d.onUnheededRepair(t + 150);
    }
    assert.equal(d.discarding, true);
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

  describe('transport-wide feedback: RTX lost, media not', () => {
    /** Runs windows of (rtx sent, rtx lost, media sent, media lost) through judgeFeedback. */
    function run(windows: Array<[number, number, number, number]>): RtxDiscardDetector {
      const d = new RtxDiscardDetector();
      let rs = 0, rl = 0, ms = 0, ml = 0;
      d.judgeFeedback(0, 0, 0, 0, 0); // opens the first window
      windows.forEach(([a, b, c, e], i) => {
        rs += a;
        rl += b;
        ms += c;
        ml += e;
        d.judgeFeedback((i + 1) * FEEDBACK_WINDOW_MS, rs, rl, ms, ml);
      });
      return d;
    }

    it('a probe cluster of RTX padding lost while the media arrive decides in one window', () => {
      const d = run([[24, 23, 120, 2]]);
      assert.equal(d.discarding, true);
      assert.equal(d.byFeedback, true);
    });

    it('a congested or lossy path (RTX lost like media), or too few RTX packets, does not', () => {
      assert.equal(run([[40, 30, 120, 40], [40, 40, 100, 60]]).discarding, false, 'everything lost: the path');
      assert.equal(run([[40, 3, 120, 6], [60, 5, 120, 7]]).discarding, false, '5 % loss of everything');
      assert.equal(run([[RTX_MIN_PACKETS - 1, RTX_MIN_PACKETS - 1, 120, 2]]).discarding, false, 'too few to tell');
    });

    it('a window in which the path showed a queue decides nothing (probe padding lost at the tail of a full link)', () => {
      const d = new RtxDiscardDetector();
      d.judgeFeedback(0, 0, 0, 0, 0);
      d.judgeFeedback(500, 10, 10, 40, 0, CONGESTED_QUEUE_MS + 50); // the link runs full at some point
      d.judgeFeedback(FEEDBACK_WINDOW_MS, 24, 23, 120, 2, 5);
      assert.equal(d.discarding, false, 'probes lost to a full link');
      d.judgeFeedback(2 * FEEDBACK_WINDOW_MS, 48, 46, 240, 4, 5);
      assert.equal(d.discarding, true, 'the same evidence on a clear path decides');
    });

    it('windows with few RTX packets (a paused video: probe clusters only) add up until there are enough', () => {
      const d = run([[10, 10, 100, 1], [10, 10, 100, 2]]);
      assert.equal(d.discarding, true);
      assert.equal(run(Array.from({ length: 12 }, () => [2, 2, 100, 1] as [number, number, number, number])).discarding, false, 'a trickle older than FEEDBACK_MAX_WINDOW_MS does not');
    });
  });
});
