import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { turnCredentials } from './turn-credentials.ts';

test('TURN REST credentials: expiry:user username, HMAC-SHA1 password a TURN server can recompute', () => {
  const cfg = { secret: 'a shared secret of some length', urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:443?transport=tcp'], ttlS: 600 };
  const c = turnCredentials(cfg, 'p0123:odd', 1_700_000_000_000);
  assert.equal(c.username, '1700000600:p0123_odd');
  assert.equal(c.credential, createHmac('sha1', cfg.secret).update(c.username).digest('base64'));
  assert.deepEqual(c.urls, cfg.urls);
  // Another user or another time gets another password.
  assert.notEqual(turnCredentials(cfg, 'p2', 1_700_000_000_000).credential, c.credential);
  assert.notEqual(turnCredentials(cfg, 'p0123:odd', 1_700_000_001_000).credential, c.credential);
});
