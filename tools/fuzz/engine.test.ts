import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, mutate, type InputKind, type MutationContext } from './engine.ts';
import { targetSeed } from './runner.ts';

const ctx = (seed: number, kind: InputKind, maxLen = 256, corpus: Buffer[] = []): MutationContext => ({ rng: new Rng(seed), corpus, maxLen, kind, headerBytes: 1 });

test('rng: a saved state resumes the same stream', () => {
  const a = new Rng(42);
  for (let i = 0; i < 100; i++) a.u32();
  const b = new Rng(a.state());
  for (let i = 0; i < 100; i++) assert.equal(a.u32(), b.u32());
  assert.notDeepEqual(new Rng(1).state(), new Rng(2).state());
});

test('mutate: the same seed gives the same inputs, never longer than maxLen', () => {
  const base = Buffer.from('\x03v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=rtcp-fb:96 nack\r\n');
  const other = Buffer.from('\x01m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n');
  for (const kind of ['bytes', 'text', 'json'] as const) {
    const c1 = ctx(7, kind, 300, [base, other]);
    const c2 = ctx(7, kind, 300, [base, other]);
    for (let i = 0; i < 2000; i++) {
      const x = mutate(base, c1);
      assert.deepEqual(x, mutate(base, c2));
      assert.ok(x.length <= 300, `${kind}: ${x.length} bytes`);
    }
  }
});

test('mutate: the input is never changed in place', () => {
  const base = Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9, 9, 9, 9]);
  const copy = Buffer.from(base);
  const c = ctx(3, 'bytes', 1500, [base]);
  for (let i = 0; i < 5000; i++) mutate(base, c);
  assert.deepEqual(base, copy);
});

test('mutate json: deep nesting does not throw', () => {
  const c = ctx(11, 'json', 200_000, []);
  const base = Buffer.from(JSON.stringify({ v: 1, id: 1, type: 'move', x: 1, y: 2 }));
  for (let i = 0; i < 3000; i++) mutate(base, c);
});

test('targetSeed: one stream per target and seed', () => {
  assert.equal(targetSeed(1, 'stun'), targetSeed(1, 'stun'));
  assert.notEqual(targetSeed(1, 'stun'), targetSeed(1, 'rtcp'));
  assert.notEqual(targetSeed(1, 'stun'), targetSeed(2, 'stun'));
});
