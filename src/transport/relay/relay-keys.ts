import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/**
 * Relay link keys. Each node has an X25519 key pair (RFC 7748) and publishes the raw 32-byte public key
 * (base64) in the node registry. Two nodes agree on a shared secret by ECDH and expand it with HKDF-SHA256
 * (RFC 5869) into one AES-128-GCM key per direction:
 *
 *   shared  = X25519(myPrivate, peerPublic)
 *   salt    = the cluster secret, or RELAY_DEFAULT_SALT when the cluster has none
 *   key A→B = HKDF-SHA256(shared, salt, info = "proxima relay v1 A>B", 16 bytes)
 *
 * A node's send key towards B is B's receive key from it, and the two directions never share a key, so the
 * nonce (senderNum || counter) is unique per key as long as each sender's counter only moves forward.
 *
 * Never persist a key pair: a restarted process must generate a fresh one. The counters start again at 1
 * on restart, and with the old key pair that would reuse GCM nonces under the same key.
 */
export interface RelayKeyPair {
  privateKey: KeyObject;
  /** Raw 32-byte X25519 public key, base64 (standard alphabet, padded). */
  publicKeyB64: string;
}

export interface LinkKeys {
  /** Encrypts what this node sends to the peer (16 bytes). */
  sendKey: Buffer;
  /** Decrypts what the peer sends to this node (16 bytes). */
  recvKey: Buffer;
}

export interface DeriveLinkKeysInput {
  myPrivateKey: KeyObject;
  peerPublicKeyB64: string;
  myId: string;
  peerId: string;
  /** Shared by every node of the cluster (configuration, not the control plane). */
  clusterSecret?: string | Uint8Array;
}

/** HKDF salt when no cluster secret is configured. Anyone holding a registered public key can then talk. */
export const RELAY_DEFAULT_SALT = 'proxima relay v1 no cluster secret';
export const RELAY_KEY_LENGTH = 16;

/** DER SubjectPublicKeyInfo prefix of an X25519 key (RFC 8410 §4): the raw key follows. */
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
/** DER PKCS#8 prefix of an X25519 private key (RFC 8410 §7): the raw 32-byte scalar follows. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export function generateRelayKeyPair(): RelayKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey, publicKeyB64: rawPublicKey(publicKey).toString('base64') };
}

/** A key pair from a raw 32-byte private scalar (RFC 7748 test vectors; tooling). */
export function relayKeyPairFromRaw(rawPrivate: Uint8Array): RelayKeyPair {
  if (rawPrivate.length !== 32) throw new RangeError('an X25519 private key is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, rawPrivate]), format: 'der', type: 'pkcs8' });
  return { privateKey, publicKeyB64: rawPublicKey(createPublicKey(privateKey)).toString('base64') };
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

/** Parse a registry public key (canonical padded base64 of exactly 32 raw bytes). Throws on anything else. */
export function relayPublicKeyFromB64(b64: string): KeyObject {
  const raw = Buffer.from(b64, 'base64');
  // Node's base64 decoder skips junk; asking for the canonical encoding back rejects it.
  if (raw.length !== 32 || raw.toString('base64') !== b64) {
    throw new RangeError('relay public key must be base64 of 32 raw X25519 bytes');
  }
  return createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/**
 * X25519(myPrivate, peerPublic). Throws when the result is all zeros (RFC 7748 §6.1: the peer sent a
 * small-order point, so the "secret" would be known to anyone).
 */
export function x25519SharedSecret(myPrivateKey: KeyObject, peerPublicKeyB64: string): Buffer {
  const shared = diffieHellman({ privateKey: myPrivateKey, publicKey: relayPublicKeyFromB64(peerPublicKeyB64) });
  let acc = 0;
  for (let i = 0; i < shared.length; i++) acc |= shared[i];
  if (acc === 0) throw new RangeError('X25519 shared secret is all zeros (small-order public key)');
  return shared;
}

export function relayKeyInfo(from: string, to: string): string {
  return `proxima relay v1 ${from}>${to}`;
}

export function deriveLinkKeys(input: DeriveLinkKeysInput): LinkKeys {
  const { myPrivateKey, peerPublicKeyB64, myId, peerId, clusterSecret } = input;
  if (myId === peerId) throw new RangeError('a relay link needs two different node ids');
  if (clusterSecret !== undefined && clusterSecret.length === 0) throw new RangeError('clusterSecret must not be empty');
  const shared = x25519SharedSecret(myPrivateKey, peerPublicKeyB64);
  const salt = clusterSecret === undefined ? RELAY_DEFAULT_SALT : clusterSecret;
  const expand = (from: string, to: string) =>
    Buffer.from(hkdfSync('sha256', shared, salt, relayKeyInfo(from, to), RELAY_KEY_LENGTH));
  const keys = { sendKey: expand(myId, peerId), recvKey: expand(peerId, myId) };
  shared.fill(0);
  return keys;
}
