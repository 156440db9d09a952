import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublisherLayers, type LayerSample } from './publisher-layers.ts';

/** The part of RTCRtpSender PublisherLayers uses, recording what it is asked to apply. */
function fakeSender() {
  const encodings = [
    { rid: 'q', active: true, maxBitrate: 150_000 },
    { rid: 'h', active: true, maxBitrate: 500_000 },
    { rid: 'f', active: true, maxBitrate: 1_500_000 },
  ];
  const applied: boolean[][] = [];
  const sender = {
    getParameters: () => ({ encodings: encodings.map((e) => ({ ...e })) }),
    setParameters: async (p: { encodings: Array<{ active: boolean }> }) => {
      p.encodings.forEach((e, i) => (encodings[i].active = e.active));
      applied.push(p.encodings.map((e) => e.active));
    },
  };
  return { sender: sender as unknown as RTCRtpSender, applied, encodings };
}

const sample = (reason: string, nowMs: number): LayerSample => ({
  byRid: new Map(['q', 'h', 'f'].map((rid) => [rid, { qualityLimitationReason: reason }])),
  availableOutgoingBitrate: 3_000_000,
  nowMs,
});
const settle = () => new Promise((r) => setTimeout(r, 0));

test('dynacast wishes are applied, the lowest layer never turned off, and nothing is re-applied when nothing changed', async () => {
  const { sender, applied, encodings } = fakeSender();
  const l = new PublisherLayers('t1', sender);
  l.setWanted([
    { rid: 'q', active: false },
    { rid: 'h', active: true },
    { rid: 'f', active: false },
    { rid: 'x', active: false },
  ]);
  await settle();
  assert.deepEqual(
    encodings.map((e) => e.active),
    [true, true, false],
    'q stays on whatever the wish',
  );
  l.setWanted([{ rid: 'f', active: false }]);
  await settle();
  assert.equal(applied.length, 1, 'an unchanged wish is not re-applied');
  l.setWanted([{ rid: 'f', active: true }]);
  await settle();
  assert.deepEqual(
    encodings.map((e) => e.active),
    [true, true, true],
  );
});

test('a CPU-limited encoder holds back its top layer after two samples, and tries it again after 20 s', async () => {
  const { sender, encodings } = fakeSender();
  const l = new PublisherLayers('t1', sender);
  l.sample(sample('cpu', 0));
  await settle();
  assert.equal(encodings[2].active, true, 'one limited sample is not enough');
  l.sample(sample('cpu', 2000));
  await settle();
  assert.equal(encodings[2].active, false);
  assert.equal(l.active()[2].heldFor, 'cpu');
  l.sample(sample('none', 10_000));
  await settle();
  assert.equal(encodings[2].active, false, 'held for a while');
  l.sample(sample('none', 22_500));
  await settle();
  assert.equal(encodings[2].active, true, 'tried again');
  // A wish of the server still wins over a restored hold.
  l.setWanted([{ rid: 'f', active: false }]);
  await settle();
  assert.equal(encodings[2].active, false);
});
