import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HELD_BACK_GRACE_MS, NO_BROWSER_VIEW, nextBrowserView } from './browser-view.ts';

describe('nextBrowserView', () => {
  it('turns freezes into a rate per 10 s and keeps what a report leaves out', () => {
    const v = nextBrowserView(NO_BROWSER_VIEW, { receive: { intervalMs: 2000, freezes: 1 } }, 10_000, -Infinity);
    assert.deepEqual(v, { freezesPer10s: 5, limitation: 'none' });
    // Only the encoder's limitation: the freezes stand; no receive part at all is not an error.
    assert.deepEqual(nextBrowserView(v, { publish: { qualityLimitationReason: 'cpu' } }, 12_000, 11_000), { freezesPer10s: 5, limitation: 'cpu' });
    assert.deepEqual(nextBrowserView(v, {}, 12_000, 11_000), v);
    // A receive part without freezes (an older browser) leaves them too.
    assert.deepEqual(nextBrowserView(v, { receive: { intervalMs: 2000 } }, 12_000, -Infinity), v);
  });

  it('does not count freezes from a time the server held videos back, up to the grace after it', () => {
    const r = { receive: { intervalMs: 2000, freezes: 2 } };
    assert.equal(nextBrowserView(NO_BROWSER_VIEW, r, 10_000, 9_000).freezesPer10s, 0);
    assert.equal(nextBrowserView(NO_BROWSER_VIEW, r, 10_000, 10_000 - 2000 - HELD_BACK_GRACE_MS + 1).freezesPer10s, 0);
    assert.equal(nextBrowserView(NO_BROWSER_VIEW, r, 10_000, 10_000 - 2000 - HELD_BACK_GRACE_MS).freezesPer10s, 10);
  });
});
