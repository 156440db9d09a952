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
  ['garbage header', () => `!!!.${good().split('.')[1]}.x`, /not base64url|header is not JSON|HS256/],
  ['claims missing space', () => forge({ alg: 'HS256' }, { name: 'A', exp: NOW + 60 }), /claims are invalid: space/],
  ['claims not an object', () => forge({ alg: 'HS256' }, [1, 2]), /claims are invalid/],
];
for (const [name, make, re] of bad) {
  test(`rejects a token: ${name}`, () => {
    assert.throws(() => verifyToken(make(), SECRET, NOW), (e: unknown) => e instanceof TokenError && re.test((e as Error).message));
  });
}

const RING = { current: { id: 'k2', secret: 'the-new-secret-that-is-long-enough-0123456' }, previous: [{ id: 'k1', secret: SECRET }], audience: 'proxima' };
const grants = { space: 'office', name: 'Ada', publish: true, exp: NOW + 60 };

test('one spelling per token: padding, standard base64 and stray bits in the signature are refused', () => {
  const t = signToken(grants, RING, NOW);
  assert.equal(verifyToken(t, RING, NOW).name, 'Ada');
  const [h, b, s] = t.split('.') as [string, string, string];
  const last = 'AEIMQUYcgkosw048'.includes(s.at(-1)!) ? s.slice(0, -1) + String.fromCharCode(s.charCodeAt(s.length - 1) + 1) : s;
  for (const [name, bad] of [
    ['= appended to the signature', `${h}.${b}.${s}=`],
    ['standard base64 characters', `${h}.${b}.${s.replace(/-/g, '+').replace(/_/g, '/')}x+`],
    ['unused low bits set in the last character', `${h}.${b}.${last}`],
    ['padding in the claims', `${h}.${b}=.${s}`],
  ] as const) {
    if (bad === t) continue;
    assert.throws(() => verifyToken(bad, RING, NOW), TokenError, name);
  }
});

test('key rotation: tokens name their key (kid); the previous key still verifies, an unknown one does not', () => {
  const t = signToken(grants, RING, NOW);
  assert.equal(JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid, 'k2');
  const old = signToken(grants, { current: { id: 'k1', secret: SECRET }, previous: [], audience: 'proxima' }, NOW);
  assert.equal(verifyToken(old, RING, NOW).name, 'Ada', 'signed before the rotation');
  const stranger = signToken(grants, { current: { id: 'k9', secret: SECRET }, previous: [], audience: 'proxima' }, NOW);
  assert.throws(() => verifyToken(stranger, RING, NOW), /key this server does not have/);
  // A token without kid (an application that knows only the secret) is checked with the current key.
  assert.equal(verifyToken(signToken(grants, RING.current.secret, NOW), RING, NOW).name, 'Ada');
  assert.throws(() => verifyToken(signToken(grants, SECRET, NOW), RING, NOW), /signature is invalid/);
});

test('audience and not-before: another audience is refused, none is accepted; nbf in the future is refused beyond 30 s of skew', () => {
  assert.equal(verifyToken(signToken(grants, RING, NOW), RING, NOW).aud, 'proxima', 'minted with the audience');
  assert.throws(() => verifyToken(signToken({ ...grants, aud: 'another-deployment' }, RING, NOW), RING, NOW), /another audience/);
  assert.equal(verifyToken(signToken(grants, RING.current.secret, NOW), RING, NOW).aud, undefined);
  assert.equal(verifyToken(signToken({ ...grants, nbf: NOW + 20 }, RING, NOW), RING, NOW).name, 'Ada', 'within the skew');
  assert.throws(() => verifyToken(signToken({ ...grants, nbf: NOW + 120 }, RING, NOW), RING, NOW), /not valid yet/);
});

test('grants default to the least: no spotlight, no moderator', () => {
  const g = verifyToken(signToken({ space: 'office', name: 'Ada', exp: NOW + 60 }, RING, NOW), RING, NOW);
  assert.deepEqual([g.publish, g.spotlight, g.moderator], [true, false, false]);
});
