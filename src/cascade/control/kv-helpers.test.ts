import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeKey, isCasConflict, unescapeKey } from './kv-helpers.ts';

const KV_KEY_TOKEN = /^[-/_=A-Za-z0-9]+$/; // what NATS KV accepts in a key, minus the '.' separator

test('escaped keys are valid KV key tokens, readable for plain ids, and round-trip', () => {
  for (const id of ['pa1b2c3', 'audio-0f3a', 'video-{x}+y/z#1.2', 'a=b', '=3d', 'ünï', 'x.y.z', '>', '*']) {
    const k = escapeKey(id);
    assert.match(k, KV_KEY_TOKEN, id);
    assert.ok(!k.includes('.'), `${id} → ${k} keeps one token`);
    assert.equal(unescapeKey(k), id);
  }
  assert.equal(escapeKey('pa1b2c3'), 'pa1b2c3');
  // '=' is escaped too, so an id that looks like an escape cannot collide with the id it would decode to.
  assert.notEqual(escapeKey('a=3d'), escapeKey('a='));
  assert.equal(unescapeKey(escapeKey('a=3d')), 'a=3d');
  assert.equal(escapeKey('='), '=3d');
});

test('keys we did not make do not unescape', () => {
  for (const k of ['', 'a.b', 'a=', 'a=zz', 'a=4', '=41', 'a b']) assert.equal(unescapeKey(k), null, k); // '=41' is 'A', which we write plainly
});

test('CAS conflicts are told apart from other errors', () => {
  assert.ok(isCasConflict({ code: 10071, message: 'wrong last sequence: 4' }));
  assert.ok(isCasConflict(new Error('wrong last sequence: 1')));
  assert.ok(!isCasConflict(new Error('TIMEOUT')));
  assert.ok(!isCasConflict(null));
  assert.ok(!isCasConflict('wrong last sequence'));
});
