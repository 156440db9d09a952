import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import { ConfigSchema } from '../config/config.ts';
import { kindOf, SignalingGuard } from './signaling-limits.ts';

const defaults = ConfigSchema.parse({}).limits.signaling;

test('message kinds: publish and restartIce are offers (a subscriberAnswer is paced by our offers), move is a move', () => {
  assert.deepEqual(['publish', 'subscriberAnswer', 'restartIce', 'move', 'ping', 'join'].map(kindOf), ['offer', 'message', 'offer', 'move', 'message', 'message']);
});

test('per connection: each kind has its own bucket; a refusal names the limit', () => {
  const clock = new FakeClock();
  const g = new SignalingGuard(defaults, clock);
  const c = g.connection('10.0.0.1');
  let offers = 0;
  for (let i = 0; i < 50; i++) if (c.admit('offer').ok) offers++;
  assert.equal(offers, defaults.offersBurst, 'the offer burst, then refused');
  const r = c.admit('offer');
  assert.ok(!r.ok && /SDP offers per second/.test(r.what) && !r.close);
  assert.ok(c.admit('move').ok, 'moves are unaffected');
  assert.ok(c.admit('message').ok, 'plain messages are unaffected');
});

test('per IP: connections from one address share its rate; another address is unaffected', () => {
  const clock = new FakeClock();
  const g = new SignalingGuard({ ...defaults, perIpOffersPerS: 4 }, clock);
  const conns = Array.from({ length: 5 }, () => g.connection('10.0.0.2'));
  let offers = 0;
  // Each connection alone may send a burst of 10; together they get the address's burst (2 s of 4/s = 10).
  for (const c of conns) for (let i = 0; i < 10; i++) if (c.admit('offer').ok) offers++;
  assert.equal(offers, 10);
  const last = conns[4]!.admit('offer');
  assert.ok(!last.ok && /from this address/.test(last.what));
  assert.ok(g.connection('10.0.0.3').admit('offer').ok);
  for (const c of conns) c.release();
  assert.equal(g.trackedIps, 1, 'the address state went with its last connection (10.0.0.3 remains)');
});

test('refusals sustained for closeAfterLimitedMs close the connection; a single burst does not', () => {
  const clock = new FakeClock();
  const g = new SignalingGuard(defaults, clock);
  const c = g.connection('10.0.0.4');
  let close = false;
  for (let i = 0; i < 1000; i++) {
    const r = c.admit('message');
    if (!r.ok) close ||= r.close;
  }
  assert.equal(close, false, 'one burst of 1000 at once');
  const t0 = clock.now();
  while (!close && clock.now() - t0 < 10_000) {
    clock.advance(10);
    for (let i = 0; i < 5; i++) {
      const r = c.admit('message');
      if (!r.ok) close ||= r.close;
    }
  }
  assert.ok(close, 'closed');
  const after = clock.now() - t0;
  assert.ok(after >= defaults.closeAfterLimitedMs && after <= defaults.closeAfterLimitedMs + 100, `after ${after} ms`);
});
