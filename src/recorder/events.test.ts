import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEvent } from './events.ts';

const base = { v: 1, ts: 1_700_000_000_000, node: 'n1', space: 's', participant: 'p1' };

describe('recorder events', () => {
  it('accepts each kind with its data and refuses the wrong data for a kind', () => {
    assert.equal(parseEvent({ ...base, kind: 'move', data: { x: 1, y: 2 } }).kind, 'move');
    const a = parseEvent({ ...base, kind: 'allocation', data: { estimateBps: 300_000, wantedBps: 2e6, totalBps: 250_000, tracks: [{ trackId: 't1', kind: 'video', layer: null, bps: 0, reason: 'budget' }] } });
    assert.equal(a.kind === 'allocation' && a.data.tracks[0]!.reason, 'budget');
    assert.throws(() => parseEvent({ ...base, kind: 'move', data: { x: 'one', y: 2 } }), /x/);
    assert.throws(() => parseEvent({ ...base, kind: 'layer', data: { trackId: 't', layer: [0, 300], switches: 1 } }));
  });

  it('refuses an unknown version, kind or envelope', () => {
    assert.throws(() => parseEvent({ ...base, v: 2, kind: 'move', data: { x: 1, y: 2 } }));
    assert.throws(() => parseEvent({ ...base, kind: 'teleport', data: {} }));
    assert.throws(() => parseEvent({ ...base, space: '', kind: 'move', data: { x: 1, y: 2 } }));
    assert.throws(() => parseEvent({ ...base, ts: -5, kind: 'move', data: { x: 1, y: 2 } }));
    assert.throws(() => parseEvent(null));
  });
});
