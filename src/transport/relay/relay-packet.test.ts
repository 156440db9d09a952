import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  RELAY_HEADER_LENGTH,
  RELAY_OVERHEAD,
  RELAY_RTCP,
  RELAY_RTP,
  RelayHeaderView,
  nodeNumOf,
  openRelay,
  sealRelay,
  writeRelayHeader,
} from './relay-packet.ts';

function seal(key: Buffer, type: 1 | 2 | 3 | 4 | 5, senderNum: number, counter: number, originNum: number, streamId: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(RELAY_OVERHEAD + payload.length);
  writeRelayHeader(out, type, senderNum, counter, originNum, streamId);
  const n = sealRelay(out, out.subarray(0, RELAY_HEADER_LENGTH), out.subarray(4, 16), key, payload, 0, payload.length);
  assert.equal(n, out.length);
  return out;
}

const scratch = () => ({ nonce: Buffer.alloc(12), aad: Buffer.alloc(RELAY_HEADER_LENGTH) });

test('nodeNumOf is FNV-1a 32 (published vectors)', () => {
  assert.equal(nodeNumOf(''), 0x811c9dc5);
  assert.equal(nodeNumOf('a'), 0xe40c292c);
  assert.equal(nodeNumOf('foobar'), 0xbf9cf968);
  assert.notEqual(nodeNumOf('sfu-eu-1'), nodeNumOf('sfu-eu-2'));
});

test('header: written fields read back, big-endian, counter past 2^32', () => {
  const buf = Buffer.alloc(RELAY_OVERHEAD);
  const counter = 2 ** 40 + 12345;
  writeRelayHeader(buf, RELAY_RTCP, 0xdeadbeef, counter, 0x01020304, 0xfffffffe);
  assert.deepEqual([...buf.subarray(0, 4)], [1, 2, 0, 0]);
  assert.equal(buf.readUInt32BE(4), 0xdeadbeef);
  assert.equal(buf.readUInt32BE(8), 2 ** 8); // high word of the u64
  assert.equal(buf.readUInt32BE(12), 12345);
  const h = new RelayHeaderView();
  assert.equal(h.parse(buf, buf.length), null);
  assert.equal(h.version, 1);
  assert.equal(h.type, RELAY_RTCP);
  assert.equal(h.senderNum, 0xdeadbeef);
  assert.equal(h.counter, counter);
  assert.equal(h.originNum, 0x01020304);
  assert.equal(h.streamId, 0xfffffffe);
  assert.equal(h.payloadLength, 0);
});

test('header: truncated, bad version, counter 0 and past 2^53 are rejected before decryption', () => {
  const h = new RelayHeaderView();
  const buf = Buffer.alloc(RELAY_OVERHEAD);
  writeRelayHeader(buf, RELAY_RTP, 1, 1, 2, 3);
  assert.equal(h.parse(buf, RELAY_OVERHEAD - 1), 'relay_truncated');
  assert.equal(h.parse(buf.subarray(0, 10), 10), 'relay_truncated');
  const v2 = Buffer.from(buf);
  v2[0] = 2;
  assert.equal(h.parse(v2, v2.length), 'relay_bad_version');
  const zero = Buffer.from(buf);
  zero.fill(0, 8, 16);
  assert.equal(h.parse(zero, zero.length), 'relay_bad_counter');
  const huge = Buffer.from(buf);
  huge.writeUInt32BE(0x00200000, 8); // 2^53
  assert.equal(h.parse(huge, huge.length), 'relay_bad_counter');
  huge.writeUInt32BE(0x001fffff, 8);
  huge.writeUInt32BE(0xffffffff, 12);
  assert.equal(h.parse(huge, huge.length), null);
  assert.equal(h.counter, Number.MAX_SAFE_INTEGER);
});

test('seal/open round trip: payload back in place, ciphertext differs from plaintext', () => {
  const key = randomBytes(16);
  const payload = randomBytes(1200);
  const d = seal(key, RELAY_RTP, 77, 5, 88, 99, payload);
  assert.equal(d.length, payload.length + 40);
  assert.notDeepEqual(d.subarray(24, 24 + payload.length), payload);
  const { nonce, aad } = scratch();
  assert.equal(openRelay(d, d.length, key, nonce, aad), true);
  assert.deepEqual(d.subarray(24, d.length - 16), payload);
  // Nonce = senderNum || counter.
  assert.deepEqual([...nonce], [0, 0, 0, 77, 0, 0, 0, 0, 0, 0, 0, 5]);
  // Empty payload (CONTROL with nothing in it) still authenticates.
  const e = seal(key, 5, 77, 6, 0, 0, Buffer.alloc(0));
  assert.equal(e.length, 40);
  assert.equal(openRelay(e, e.length, key, nonce, aad), true);
});

test('open fails on any flipped bit: header (AAD), ciphertext, tag; and with another key', () => {
  const key = randomBytes(16);
  const payload = randomBytes(100);
  const good = seal(key, RELAY_RTP, 1, 1, 2, 3, payload);
  const { nonce, aad } = scratch();
  for (const at of [1, 2, 5, 9, 15, 17, 23, 24, 60, good.length - 17, good.length - 16, good.length - 1]) {
    const d = Buffer.from(good);
    d[at] ^= 0x01;
    const before = Buffer.from(d);
    assert.equal(openRelay(d, d.length, key, nonce, aad), false, `flip at ${at}`);
    assert.deepEqual(d, before, 'a failed open leaves the datagram untouched');
  }
  const d = Buffer.from(good);
  assert.equal(openRelay(d, d.length, randomBytes(16), nonce, aad), false);
  assert.equal(openRelay(Buffer.from(good), good.length, key, nonce, aad), true);
});
