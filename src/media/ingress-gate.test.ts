import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropCount } from '../metrics/drop-reasons.ts';
import { limitStats } from '../metrics/registry.ts';
import { IngressGate } from './ingress-gate.ts';

test('a publisher at 50 Mbit/s keeps ~15 Mbit/s, the rest is dropped as ingress_rate_limited, and it is disconnected once', async () => {
  const floods: string[] = [];
  const gate = new IngressGate({ bitsPerS: 15_000_000, packetsPerS: 3000, windowMs: 500, closeAfterMs: 3000 }, 'ingress_rate_limited', (why) => floods.push(why));
  const before = dropCount('ingress_rate_limited');
  const disconnects = limitStats.ingressDisconnects;
  // 50 Mbit/s of 1200-byte packets (~5,200/s) for 4 s, as 1 ms batches.
  let admittedBytes = 0;
  let flaggedAt = -1;
  for (let t = 0.5; t < 4000; t += 1) {
    for (let k = 0; k < 5; k++) if (gate.admit(1200, t)) admittedBytes += 1200;
    if (flaggedAt < 0 && gate.refused > 0 && floods.length === 0) {
      await Promise.resolve(); // the callback runs outside the packet's call stack
      if (floods.length > 0) flaggedAt = t;
    }
  }
  const mbps = (admittedBytes * 8) / 4 / 1e6;
  assert.ok(mbps > 14 && mbps < 17.5, `${mbps.toFixed(1)} Mbit/s admitted (15 + the 500 ms window over 4 s)`);
  assert.equal(dropCount('ingress_rate_limited') - before, gate.refused);
  assert.equal(floods.length, 1, 'told once');
  assert.ok(flaggedAt >= 3000 && flaggedAt < 3600, `after ${flaggedAt} ms over the limit`);
  assert.match(floods[0]!, /15000 kbit\/s/);
  assert.equal(limitStats.ingressDisconnects - disconnects, 1);
});

test('a real camera + screen share stays far under the defaults: nothing is dropped', () => {
  const gate = new IngressGate({ bitsPerS: 15_000_000, packetsPerS: 3000, windowMs: 500, closeAfterMs: 3000 }, 'ingress_rate_limited', () => assert.fail('flood'));
  // 3 simulcast layers (1.5 + 0.5 + 0.15 Mbit/s) + screen 2.5 Mbit/s + audio, with a 120 KB keyframe of the
  // top layer and one of the screen every second, for 10 s.
  let refused = 0;
  for (let ms = 0; ms < 10_000; ms += 10) {
    const t = ms + 0.25;
    const burst = ms % 1000 === 0 ? 200 : 0; // 2 × 120 KB in one 10 ms
    const bytes = ((1.5e6 + 0.5e6 + 0.15e6 + 2.5e6) / 8) * 0.01 + burst * 1200;
    for (let b = 0; b < bytes; b += 1200) if (!gate.admit(1200, t)) refused++;
    if (!gate.admit(100, t)) refused++; // audio
  }
  assert.equal(refused, 0);
});
