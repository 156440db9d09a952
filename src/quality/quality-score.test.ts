import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { levelOf, scoreDownlink, scoreUplink, type DownlinkInputs, type UplinkInputs } from './quality-score.ts';

const cleanDown: DownlinkInputs = { connected: true, tracks: 4, packetsSent: 300, lossFraction: 0, rttMs: 20, queueMs: 5, budgetShortfall: 0, silentPublisherShare: 0, freezesPer10s: 0, serverLagMs: 2 };
const cleanUp: UplinkInputs = { connected: true, tracks: 2, packetsReceived: 200, lossFraction: 0, jitterMs: 3, rttMs: 20, limitation: 'none', serverLagMs: 2 };

describe('quality score', () => {
  it('a clean path is excellent with no cause; nothing to judge is null', () => {
    assert.deepEqual(scoreDownlink(cleanDown), { score: 5, level: 'excellent', cause: null });
    assert.deepEqual(scoreUplink(cleanUp), { score: 5, level: 'excellent', cause: null });
    assert.equal(scoreDownlink({ ...cleanDown, tracks: 0 }), null);
    assert.equal(scoreUplink({ ...cleanUp, tracks: 0 }), null);
  });

  it('nothing flowing is lost, blamed on the side that is silent', () => {
    assert.deepEqual(scoreDownlink({ ...cleanDown, connected: false }), { score: 1, level: 'lost', cause: 'your_downlink' });
    assert.deepEqual(scoreDownlink({ ...cleanDown, packetsSent: 0 }), { score: 1, level: 'lost', cause: 'your_downlink' });
    assert.deepEqual(scoreDownlink({ ...cleanDown, packetsSent: 0, silentPublisherShare: 1 }), { score: 1, level: 'lost', cause: 'their_uplink' });
    assert.deepEqual(scoreUplink({ ...cleanUp, packetsReceived: 0 }), { score: 1, level: 'lost', cause: 'your_uplink' });
  });

  it('a 300 kbit/s downlink against ~1.5 Mbit/s wanted is poor and names this person\'s downlink', () => {
    const q = scoreDownlink({ ...cleanDown, budgetShortfall: 0.8, queueMs: 120, lossFraction: 0.01 })!;
    assert.equal(q.level, 'poor');
    assert.equal(q.cause, 'your_downlink');
  });

  it('a publisher sending nothing is their uplink; a late server loop is the server', () => {
    assert.equal(scoreDownlink({ ...cleanDown, silentPublisherShare: 0.75 })!.cause, 'their_uplink');
    assert.equal(scoreDownlink({ ...cleanDown, serverLagMs: 400 })!.cause, 'server');
    assert.equal(scoreUplink({ ...cleanUp, serverLagMs: 400 })!.cause, 'server');
  });

  it('freezes are blamed on the side that already shows trouble, else on the path', () => {
    assert.equal(scoreDownlink({ ...cleanDown, freezesPer10s: 2 })!.cause, 'your_downlink');
    assert.equal(scoreDownlink({ ...cleanDown, freezesPer10s: 2, silentPublisherShare: 0.25 })!.cause, 'their_uplink');
  });

  it('an encoder held back by the CPU is the device, by bandwidth the uplink', () => {
    assert.equal(scoreUplink({ ...cleanUp, limitation: 'cpu' })!.cause, 'your_device');
    assert.equal(scoreUplink({ ...cleanUp, limitation: 'bandwidth' })!.cause, 'your_uplink');
    assert.equal(scoreUplink({ ...cleanUp, lossFraction: 0.08 })!.level, 'poor');
  });

  it('sweep: the score never rises as any one input worsens, and stays within 1..5', () => {
    const worsen: Array<[keyof DownlinkInputs, number[]]> = [
      ['lossFraction', [0, 0.005, 0.01, 0.03, 0.05, 0.1, 0.2, 0.5]],
      ['rttMs', [-1, 0, 100, 200, 300, 500, 800, 2000]],
      ['queueMs', [0, 50, 100, 200, 400, 1000]],
      ['budgetShortfall', [0, 0.1, 0.3, 0.5, 0.8, 1]],
      ['silentPublisherShare', [0, 0.25, 0.5, 1]],
      ['freezesPer10s', [0, 1, 2, 5, 20]],
      ['serverLagMs', [0, 50, 100, 300, 1000]],
    ];
    for (const base of [cleanDown, { ...cleanDown, lossFraction: 0.02, queueMs: 100 }, { ...cleanDown, budgetShortfall: 0.5 }]) {
      for (const [key, values] of worsen) {
        let last = Infinity;
        for (const v of values) {
          const q = scoreDownlink({ ...base, [key]: v })!;
          assert.ok(q.score >= 1 && q.score <= 5, `${key}=${v}: ${q.score}`);
          assert.ok(q.score <= last, `${key}=${v}: ${q.score} after ${last}`);
          assert.equal(q.level, levelOf(q.score));
          last = q.score;
        }
      }
    }
  });
});
