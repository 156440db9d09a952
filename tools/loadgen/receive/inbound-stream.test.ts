import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InboundStream } from './inbound-stream.ts';

const payload = Buffer.alloc(40, 1);
const audio = () => new InboundStream({ publisherId: 'p', kind: 'audio', ssrc: 1 }, () => null);
/** One 20 ms Opus packet of sequence number `seq` arriving at `at`. */
const feed = (s: InboundStream, seq: number, at: number) => s.onPacket(seq & 0xffff, seq * 960, false, payload, 0, payload.length, payload.length + 12, false, at);

describe('InboundStream arrival gaps', () => {
  it('reports the longest gap between new packets, not counting duplicates', () => {
    const s = audio();
    for (let i = 0; i < 50; i++) feed(s, i, i * 20);
    feed(s, 49, 1500); // a late duplicate is no arrival
    for (let i = 50; i < 60; i++) feed(s, i, 1800 + (i - 50) * 20); // 820 ms dropout before seq 50
    assert.equal(s.report(1980).maxArrivalGapMs, 820);
    assert.deepEqual(s.report(1980).longGaps, [[1800, 820]]);
  });

  it('counts a gap still going on at report time, and the one running into a new window', () => {
    const s = audio();
    for (let i = 0; i < 10; i++) feed(s, i, i * 20);
    assert.equal(s.report(180).maxArrivalGapMs, 20);
    assert.equal(s.report(700).maxArrivalGapMs, 520);
    assert.deepEqual(s.report(700).longGaps, [[700, 520]]);
    assert.deepEqual(s.report(720).longGaps, [[720, 540]], 'an ongoing gap is reported, not kept');
    s.startWindow();
    feed(s, 10, 800); // 620 ms since seq 9, which arrived before the window
    feed(s, 11, 820);
    assert.equal(s.report(840).maxArrivalGapMs, 620);
  });

  it('does not count the time a stream was off on purpose', () => {
    const s = audio();
    for (let i = 0; i < 10; i++) feed(s, i, i * 20);
    s.setActive(false);
    assert.equal(s.report(5000).maxArrivalGapMs, 20);
    s.setActive(true);
    feed(s, 10, 5000);
    feed(s, 11, 5020);
    assert.equal(s.report(5030).maxArrivalGapMs, 20);
  });
});
