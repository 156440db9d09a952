import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deriveLinkKeys, generateRelayKeyPair, relayKeyPairFromRaw, relayPublicKeyFromB64, x25519SharedSecret } from './relay-keys.ts';
import { RELAY_HEADER_LENGTH, RELAY_OVERHEAD, RELAY_RTP, openRelay, sealRelay, writeRelayHeader } from './relay-packet.ts';

test('X25519: RFC 7748 §6.1 test vector through our raw import/export', () => {
  const alice = relayKeyPairFromRaw(Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'));
  const bob = relayKeyPairFromRaw(Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex'));
  assert.equal(Buffer.from(alice.publicKeyB64, 'base64').toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.equal(Buffer.from(bob.publicKeyB64, 'base64').toString('hex'), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  assert.equal(x25519SharedSecret(alice.privateKey, bob.publicKeyB64).toString('hex'), k);
  assert.equal(x25519SharedSecret(bob.privateKey, alice.publicKeyB64).toString('hex'), k);
});

test('public key: base64 of 32 raw bytes; anything else is refused', () => {
  const kp = generateRelayKeyPair();
  assert.equal(Buffer.from(kp.publicKeyB64, 'base64').length, 32);
  relayPublicKeyFromB64(kp.publicKeyB64);
  assert.throws(() => relayPublicKeyFromB64(randomBytes(31).toString('base64')), RangeError);
  assert.throws(() => relayPublicKeyFromB64(randomBytes(33).toString('base64')), RangeError);
  assert.throws(() => relayPublicKeyFromB64('!' + kp.publicKeyB64), RangeError);
  // A small-order point (all zeros) gives an all-zero secret: refused (RFC 7748 §6.1).
  assert.throws(() => x25519SharedSecret(kp.privateKey, Buffer.alloc(32).toString('base64')));
});

test('link keys: A’s send key is B’s receive key and back; the two directions differ', () => {
  const a = generateRelayKeyPair();
  const b = generateRelayKeyPair();
  const secret = 'cluster-secret-1';
  const ka = deriveLinkKeys({ myPrivateKey: a.privateKey, peerPublicKeyB64: b.publicKeyB64, myId: 'node-a', peerId: 'node-b', clusterSecret: secret });
  const kb = deriveLinkKeys({ myPrivateKey: b.privateKey, peerPublicKeyB64: a.publicKeyB64, myId: 'node-b', peerId: 'node-a', clusterSecret: secret });
  assert.equal(ka.sendKey.length, 16);
  assert.equal(ka.recvKey.length, 16);
  assert.deepEqual(ka.sendKey, kb.recvKey);
  assert.deepEqual(ka.recvKey, kb.sendKey);
  assert.notDeepEqual(ka.sendKey, ka.recvKey);
  // Another peer (another key pair) gets other keys.
  const c = generateRelayKeyPair();
  const kc = deriveLinkKeys({ myPrivateKey: a.privateKey, peerPublicKeyB64: c.publicKeyB64, myId: 'node-a', peerId: 'node-b', clusterSecret: secret });
  assert.notDeepEqual(kc.sendKey, ka.sendKey);
  // The ids are part of the derivation: the same key pairs under other names give other keys.
  const kr = deriveLinkKeys({ myPrivateKey: a.privateKey, peerPublicKeyB64: b.publicKeyB64, myId: 'node-x', peerId: 'node-b', clusterSecret: secret });
  assert.notDeepEqual(kr.sendKey, ka.sendKey);
  assert.throws(() => deriveLinkKeys({ myPrivateKey: a.privateKey, peerPublicKeyB64: b.publicKeyB64, myId: 'n', peerId: 'n' }), RangeError);
});

test('a wrong cluster secret (or none against one) fails authentication', () => {
  const a = generateRelayKeyPair();
  const b = generateRelayKeyPair();
  const derive = (secretA: string | undefined, secretB: string | undefined) => ({
    a: deriveLinkKeys({ myPrivateKey: a.privateKey, peerPublicKeyB64: b.publicKeyB64, myId: 'a', peerId: 'b', clusterSecret: secretA }),
    b: deriveLinkKeys({ myPrivateKey: b.privateKey, peerPublicKeyB64: a.publicKeyB64, myId: 'b', peerId: 'a', clusterSecret: secretB }),
  });
  const roundTrip = (sendKey: Buffer, recvKey: Buffer) => {
    const payload = randomBytes(64);
    const out = Buffer.alloc(RELAY_OVERHEAD + payload.length);
    writeRelayHeader(out, RELAY_RTP, 1, 1, 0, 0);
    sealRelay(out, out.subarray(0, RELAY_HEADER_LENGTH), out.subarray(4, 16), sendKey, payload, 0, payload.length);
    return openRelay(out, out.length, recvKey, Buffer.alloc(12), Buffer.alloc(RELAY_HEADER_LENGTH));
  };
  const same = derive('s3cret', 's3cret');
  assert.equal(roundTrip(same.a.sendKey, same.b.recvKey), true);
  const other = derive('s3cret', 'other');
  assert.equal(roundTrip(other.a.sendKey, other.b.recvKey), false);
  const none = derive(undefined, 's3cret');
  assert.equal(roundTrip(none.a.sendKey, none.b.recvKey), false);
  const bothNone = derive(undefined, undefined);
  assert.equal(roundTrip(bothNone.a.sendKey, bothNone.b.recvKey), true);
});
