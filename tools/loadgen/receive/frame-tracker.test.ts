import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameTracker } from './frame-tracker.ts';
import { seededRandom } from '../../../src/util/prng.ts';

/** A 30 fps stream of `frames` frames of `per` packets each; keyframe every `gop` frames. */
function stream(frames: number, per = 3, gop = 60) {
  const pkts: { seq: number; ts: number; marker: boolean; start: boolean; key: boolean; at: number }[] = [];
  let seq = 65530; // crosses the wrap
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < per; i++) {
      pkts.push({ seq: seq & 0xffff, ts: (f * 3000) >>> 0, marker: i === per - 1, start: i === 0, key: f % gop === 0, at: f * (1000 / 30) + i });
      seq++;
    }
  }
  return pkts;
}

describe('FrameTracker', () => {
  it('decodes every frame of a clean stream, with no freeze', () => {
    const t = new FrameTracker();
    for (const p of stream(90)) t.onPacket(p.seq, p.ts, p.marker, p.start, p.key, p.at);
    const st = t.snapshot(90 * (1000 / 30));
    assert.equal(st.framesDecoded, 90);
    assert.equal(st.keyframesDecoded, 2);
    assert.equal(st.freezes, 0);
    assert.ok(st.maxGapMs < 40);
    assert.equal(st.firstFrameMs, 2);
  });

  it('reassembles frames whose packets arrive reordered', () => {
    const t = new FrameTracker();
    const pkts = stream(60);
    const rnd = seededRandom(9);
    // Swap neighbours within each frame.
    for (let i = 0; i + 1 < pkts.length; i += 2) if (rnd() < 0.5) [pkts[i], pkts[i + 1]] = [pkts[i + 1]!, pkts[i]!];
    for (const p of pkts) t.onPacket(p.seq, p.ts, p.marker, p.start, p.key, p.at);
    assert.equal(t.stats.framesDecoded, 60);
  });

  it('freezes on a lost packet until the next key frame, and counts the freeze', () => {
    const t = new FrameTracker();
    const pkts = stream(120);
    const lost = 10 * 3 + 1; // a packet of frame 10; frames 10..59 cannot decode, 60 is a key frame
    pkts.forEach((p, i) => i !== lost && t.onPacket(p.seq, p.ts, p.marker, p.start, p.key, p.at));
    const st = t.snapshot(120 * (1000 / 30));
    assert.equal(st.framesDecoded, 10 + 60);
    assert.equal(st.freezes, 1);
    assert.ok(Math.abs(st.maxGapMs - 51 * (1000 / 30)) < 5, `gap ${st.maxGapMs}`);
    assert.ok(st.framesSkipped >= 49);
  });

  it('recovers without a freeze when the lost packet is repaired in time', () => {
    const t = new FrameTracker();
    const pkts = stream(30);
    const lost = pkts.splice(10 * 3 + 1, 1)[0]!;
    let repaired = false;
    for (const p of pkts) {
      t.onPacket(p.seq, p.ts, p.marker, p.start, p.key, p.at);
      if (!repaired && p.at > lost.at + 60) {
        t.onPacket(lost.seq, lost.ts, lost.marker, lost.start, lost.key, p.at); // RTX ~60 ms later
        repaired = true;
      }
    }
    assert.equal(t.stats.framesDecoded, 30);
    assert.equal(t.stats.freezes, 0);
    assert.ok(t.stats.maxGapMs > 60 && t.stats.maxGapMs < 120);
  });

  it('says it is stalled when frames wait on a broken chain', () => {
    const t = new FrameTracker();
    const pkts = stream(30);
    pkts.forEach((p, i) => i !== 4 && t.onPacket(p.seq, p.ts, p.marker, p.start, p.key, p.at));
    assert.equal(t.stalled(1000, 300), true);
    const clean = new FrameTracker();
    for (const p of stream(30)) clean.onPacket(p.seq, p.ts, p.marker, p.start, p.key, p.at);
    assert.equal(clean.stalled(1000, 300), false);
  });

  it('a stream that stops counts as frozen at finish', () => {
    const t = new FrameTracker();
    for (const p of stream(10)) t.onPacket(p.seq, p.ts, p.marker, p.start, p.key, p.at);
    const st = t.snapshot(10 * 33 + 1000);
    assert.equal(st.freezes, 1);
  });
});
