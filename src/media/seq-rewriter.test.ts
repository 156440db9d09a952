import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeqRewriter } from './seq-rewriter.ts';
import { seededRandom as prng } from '../util/prng.ts';

const VIDEO = 90000;
const A = 0x1111;
const B = 0x2222;


/** rewrite() and return [outSeq, outTs] or null on drop. */
function rw(r: SeqRewriter, ssrc: number, seq: number, ts: number, now: number, key = false): [number, number] | null {
  return r.rewrite(ssrc, seq, ts, VIDEO, now, key) ? [r.outSeq, r.outTs] : null;
}

test('first packet must be a switch point; output starts at the initial values', () => {
  const r = new SeqRewriter(1000, 5000);
  assert.equal(rw(r, A, 10, 777, 0), null);
  assert.deepEqual(rw(r, A, 11, 777, 0, true), [1000, 5000]);
  assert.deepEqual(rw(r, A, 12, 777 + 3000, 33), [1001, 8000]);
  assert.equal(r.currentSsrc, A);
});

test('output seq and ts wrap at 65535→0 and 2^32 while the source does not', () => {
  const r = new SeqRewriter(65533, 0xffff_fd00);
  for (let i = 0; i < 6; i++) {
    const got = rw(r, A, 100 + i, 1000 + 3000 * i, i * 33, i === 0);
    assert.deepEqual(got, [(65533 + i) & 0xffff, (0xffff_fd00 + 3000 * i) >>> 0], `packet ${i}`);
  }
});

test('sweep: source and output start near the wrap, reordered and retransmitted packets keep their slot', () => {
  const rnd = prng(3);
  for (let startOut = 65500; startOut < 65536; startOut += 5) {
    for (let startSrc = 65400; startSrc < 65800; startSrc += 37) {
      const r = new SeqRewriter(startOut, 0);
      const n = 400;
      // Packet 0 (the keyframe) first, the rest displaced by up to 4 positions.
      const order = Array.from({ length: n }, (_, i) => i);
      for (let i = 1; i < n - 1; i++) {
        const j = Math.min(n - 1, i + Math.floor(rnd() * 4));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const i of order) {
        const seq = (startSrc + i) & 0xffff;
        const want = (startOut + i) & 0xffff;
        assert.ok(r.rewrite(A, seq, i * 10, VIDEO, i, i === 0), `out ${startOut} src ${startSrc} i ${i}`);
        assert.equal(r.outSeq, want);
        // A retransmission of any recent packet maps identically.
        const back = Math.max(0, i - Math.floor(rnd() * 50));
        assert.ok(r.rewrite(A, (startSrc + back) & 0xffff, back * 10, VIDEO, i, false));
        assert.equal(r.outSeq, (startOut + back) & 0xffff);
        assert.equal(r.outTs, back * 10);
      }
    }
  }
});

test('switch: contiguous seq, ts advanced by elapsed wall time, old source and pre-switch packets dropped', () => {
  const r = new SeqRewriter(65530, 0xffff_ff00);
  for (let i = 0; i < 10; i++) assert.ok(rw(r, A, 500 + i, 90_000 + 3000 * Math.floor(i / 2), i * 10, i === 0));
  // Last output: seq 65530+9 → 3, ts 0xffffff00 + 12000 (mod 2^32), sent at t=90.
  const lastTs = (0xffff_ff00 + 12000) >>> 0;
  // B's non-keyframe packets do not switch.
  assert.equal(rw(r, B, 40000, 7, 95), null);
  // B's keyframe at t=140: 50 ms after the last output → +4500 ticks.
  assert.deepEqual(rw(r, B, 40001, 7, 140, true), [4, (lastTs + 4500) >>> 0]);
  assert.deepEqual(rw(r, B, 40002, 7, 141), [5, (lastTs + 4500) >>> 0]);
  assert.deepEqual(rw(r, B, 40003, 3007, 150), [6, (lastTs + 7500) >>> 0]);
  // Late packets of the old source are dropped.
  assert.equal(rw(r, A, 510, 0, 151), null);
  // B packet from before the switch point.
  assert.equal(rw(r, B, 40000, 7, 152), null);
  // Retransmission of B's switch packet keeps its slot.
  assert.deepEqual(rw(r, B, 40001, 7, 153), [4, (lastTs + 4500) >>> 0]);
  assert.equal(r.currentSsrc, B);
});

test('switch with no elapsed time still advances the timestamp by at least one tick', () => {
  const r = new SeqRewriter(0, 100);
  assert.ok(rw(r, A, 1, 50, 0, true));
  assert.deepEqual(rw(r, B, 9, 123456, 0, true), [1, 101]);
});

test('switch back and forth keeps output contiguous', () => {
  const r = new SeqRewriter(65000, 0);
  let expected = 65000;
  let now = 0;
  const seqs = new Map<number, number>([
    [A, 65530],
    [B, 10],
  ]);
  for (let round = 0; round < 20; round++) {
    const ssrc = round % 2 === 0 ? A : B;
    for (let i = 0; i < 7; i++) {
      const seq = seqs.get(ssrc)!;
      seqs.set(ssrc, (seq + 1) & 0xffff);
      assert.ok(r.rewrite(ssrc, seq, now * 90, VIDEO, now, i === 0), `round ${round} i ${i}`);
      assert.equal(r.outSeq, expected & 0xffff);
      expected++;
      now += 5;
    }
  }
});

test('skip shifts later packets down; skipped ones stay dropped; reordering keeps holes for missing packets', () => {
  const r = new SeqRewriter(65534, 0);
  assert.deepEqual(rw(r, A, 65535, 0, 0, true)?.[0], 65534);
  assert.equal(r.skip(A, 0), true); // padding-only
  assert.equal(r.skip(A, 1), true);
  assert.deepEqual(rw(r, A, 2, 0, 1)?.[0], 65535);
  // 3 not yet arrived; 4 forwarded leaves a hole for it.
  assert.deepEqual(rw(r, A, 4, 0, 2)?.[0], 1);
  assert.deepEqual(rw(r, A, 3, 0, 3)?.[0], 0);
  // Skipped packets are not forwarded if they come again (retransmission).
  assert.equal(rw(r, A, 0, 0, 4), null);
  assert.equal(rw(r, A, 1, 0, 4), null);
  // Skipping something older than the newest forwarded cannot renumber.
  assert.equal(r.skip(A, 3), false);
  // 5 missing, skip 6, forward 7: 5 keeps its slot, 7 takes 6's.
  assert.equal(r.skip(A, 6), true);
  assert.deepEqual(rw(r, A, 7, 0, 5)?.[0], 3);
  assert.deepEqual(rw(r, A, 5, 0, 6)?.[0], 2);
  // Retransmission of the keyframe packet still maps.
  assert.deepEqual(rw(r, A, 65535, 0, 7)?.[0], 65534);
  // skip for a different source is ignored.
  assert.equal(r.skip(B, 8), false);
});

test('sweep: random skips around the wrap give gap-free output and stable retransmission mapping', () => {
  const rnd = prng(4);
  for (let startSrc = 65300; startSrc < 65536 + 100; startSrc += 13) {
    const r = new SeqRewriter(startSrc * 7, 0);
    const outOf = new Map<number, number>();
    let next = (startSrc * 7) & 0xffff;
    let runs = 0;
    let prevSkipped = false;
    for (let i = 0; i < 300; i++) {
      const seq = (startSrc + i) & 0xffff;
      // At most 30 skip runs so every packet stays inside the rewriter's history.
      const skip = i > 0 && runs < 30 && rnd() < 0.2;
      if (skip) {
        if (!prevSkipped) runs++;
        assert.equal(r.skip(A, seq), true);
        outOf.set(seq, -1);
      } else {
        assert.ok(r.rewrite(A, seq, 0, VIDEO, i, i === 0));
        assert.equal(r.outSeq, next, `src ${startSrc} i ${i}`);
        outOf.set(seq, next);
        next = (next + 1) & 0xffff;
      }
      prevSkipped = skip;
    }
    for (const [seq, out] of outOf) {
      const ok = r.rewrite(A, seq, 0, VIDEO, 1000, false);
      if (out < 0) assert.equal(ok, false, `skipped ${seq} replayed`);
      else {
        assert.ok(ok, `replay ${seq}`);
        assert.equal(r.outSeq, out);
      }
    }
  }
});

test('retransmissions older than the retained skip history are dropped, recent ones still map', () => {
  const r = new SeqRewriter(0, 0);
  assert.ok(rw(r, A, 0, 0, 0, true));
  let seq = 1;
  // 80 skip runs: more than the 64 change points kept.
  for (let k = 0; k < 80; k++) {
    assert.ok(r.skip(A, seq++));
    assert.ok(rw(r, A, seq++, 0, 0));
  }
  // Output k+1 came from source 2k+2.
  assert.equal(rw(r, A, 0, 0, 0), null);
  assert.equal(rw(r, A, 2, 0, 0), null);
  assert.deepEqual(rw(r, A, 80, 0, 0)?.[0], 40);
  assert.deepEqual(rw(r, A, 60, 0, 0)?.[0], 30);
});

test('detach: the same SSRC restarting its sequence space continues the output', () => {
  const r = new SeqRewriter(65535, 0);
  assert.deepEqual(rw(r, A, 30000, 9000, 0, true), [65535, 0]);
  assert.deepEqual(rw(r, A, 30001, 12000, 33), [0, 3000]);
  r.detach();
  assert.equal(r.currentSsrc, -1);
  assert.equal(rw(r, A, 30002, 15000, 40), null, 'non-key packets wait for a switch point');
  // Jumped back 20000: without detach this would be "older than the switch point".
  assert.deepEqual(rw(r, A, 10000, 500, 100, true), [1, 3000 + 6030]);
  assert.deepEqual(rw(r, A, 10001, 500, 101), [2, 9030]);
});
