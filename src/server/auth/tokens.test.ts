import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signToken, verifyToken, TokenError } from './tokens.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const NOW = 1_800_000_000;
const good = () => signToken({ space: 'office', name: 'Ada', publish: true, spotlight: false, exp: NOW + 60 }, SECRET, NOW);

test('a signed token verifies and carries its grants', () => {
  const g = verifyToken(good(), SECRET, NOW);
  assert.equal(g.space, 'office');
  assert.equal(g.name, 'Ada');
  assert.equal(g.publish, true);
  assert.equal(g.spotlight, false);
});

function forge(header: object, claims: object, secret = SECRET): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const b = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${h}.${b}.${createHmac('sha256', secret).update(`${h}.${b}`).digest('base64url')}`;
}

const bad: Array<[string, () => string, RegExp]> = [
  ['wrong secret', () => signToken({ space: 'office', name: 'A', publish: true, spotlight: false, exp: NOW + 60 }, 'another-secret-another-secret-another', NOW), /signature is invalid/],
  ['expired', () => signToken({ space: 'office', name: 'A', publish: true, spotlight: false, exp: NOW - 1 }, SECRET, NOW - 100), /expired/],
  ['alg none', () => { const [h, b] = good().split('.'); void h; return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${b}.`; }, /HS256/],
  ['tampered claims', () => { const [h, , s] = good().split('.'); return `${h}.${Buffer.from(JSON.stringify({ space: 'office', name: 'A', publish: true, spotlight: true, exp: NOW + 60 })).toString('base64url')}.${s}`; }, /signature is invalid/],
  ['not a JWT', () => 'hello', /not a JWT/],
  ['garbage header', () => `!!!.${good().split('.')[1]}.x`, /header is not JSON|HS256/],
  ['claims missing space', () => forge({ alg: 'HS256' }, { name: 'A', exp: NOW + 60 }), /claims are invalid: space/],
  ['claims not an object', () => forge({ alg: 'HS256' }, [1, 2]), /claims are invalid/],
];
for (const [name, make, re] of bad) {
  test(`rejects a token: ${name}`, () => {
    assert.throws(() => verifyToken(make(), SECRET, NOW), (e: unknown) => e instanceof TokenError && re.test((e as Error).message));
  });
}
