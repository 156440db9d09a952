import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildBindingError,
  buildBindingRequest,
  buildBindingSuccess,
  encodeStunMessage,
  parseStun,
  verifyFingerprint,
  verifyMessageIntegrity,
  type StunMessage,
} from './stun-message.ts';

/** RFC 5769 vectors, one 32-bit word per string as laid out in the RFC. */
const hex = (words: string): Buffer => Buffer.from(words.replace(/\s+/g, ''), 'hex');
const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';
const TX_ID = 'b7e7a701bc34d686fa87dfae';

// RFC 5769 §2.1 Sample Request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MI, FINGERPRINT).
const SAMPLE_REQUEST = hex(`
  00010058 2112a442 b7e7a701 bc34d686 fa87dfae
  80220010 5354554e 20746573 7420636c 69656e74
  00240004 6e0001ff
  80290008 932ff9b1 51263b36
  00060009 6576746a 3a683676 59202020
  00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  80280004 e57a3bcf`);
// RFC 5769 §2.2 Sample IPv4 Response (SOFTWARE, XOR-MAPPED-ADDRESS, MI, FINGERPRINT).
const SAMPLE_V4_RESPONSE = hex(`
  0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200008 0001a147 e112a643
  00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  80280004 c07d4c96`);
// RFC 5769 §2.3 Sample IPv6 Response.
const SAMPLE_V6_RESPONSE = hex(`
  01010048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  80280004 c8fb0b4c`);

function parsed(buf: Buffer): StunMessage {
  const m = parseStun(buf);
  assert.ok(typeof m !== 'string', `parse failed: ${String(m)}`);
  return m;
}

test('RFC 5769 vectors parse and verify', () => {
  const cases: Array<[string, Buffer, Partial<StunMessage>]> = [
    [
      '§2.1 request',
      SAMPLE_REQUEST,
      { method: 1, cls: 'request', username: 'evtj:h6vY', priority: 0x6e0001ff, iceControlled: 0x932ff9b151263b36n, iceControlling: null, useCandidate: false, xorMappedAddress: null, integrityOffset: 76, fingerprintOffset: 100 },
    ],
    [
      '§2.2 IPv4 response',
      SAMPLE_V4_RESPONSE,
      { method: 1, cls: 'success', username: null, priority: null, xorMappedAddress: { address: '192.0.2.1', port: 32853, family: 4 }, integrityOffset: 48, fingerprintOffset: 72 },
    ],
    [
      '§2.3 IPv6 response',
      SAMPLE_V6_RESPONSE,
      { method: 1, cls: 'success', xorMappedAddress: { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853, family: 6 }, integrityOffset: 60, fingerprintOffset: 84 },
    ],
  ];
  for (const [name, buf, want] of cases) {
    const m = parsed(buf);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(m[k as keyof StunMessage], v, `${name}: ${k}`);
    assert.equal(m.transactionId.toString('hex'), TX_ID, name);
    assert.equal(m.length, buf.length, name);
    assert.deepEqual(m.unknownRequired, [], name);
    assert.equal(verifyMessageIntegrity(buf, m, PASSWORD), true, `${name}: integrity`);
    assert.equal(verifyMessageIntegrity(buf, m, Buffer.from(PASSWORD)), true, `${name}: integrity (Buffer key)`);
    assert.equal(verifyMessageIntegrity(buf, m, PASSWORD + 'x'), false, `${name}: wrong password`);
    assert.equal(verifyFingerprint(buf, m), true, `${name}: fingerprint`);
  }
});

test('one flipped bit breaks integrity and fingerprint where it should', () => {
  const cases: Array<[string, number, boolean, boolean]> = [
    // [what, byte offset, integrity still ok, fingerprint still ok]
    ['transaction id', 10, false, false],
    ['priority value', 45, false, false],
    ['integrity value', 95, false, false],
    ['fingerprint value', 105, true, false],
  ];
  for (const [name, at, mi, fp] of cases) {
    const b = Buffer.from(SAMPLE_REQUEST);
    assert.ok(at < b.length, name);
    b[at] ^= 0x01;
    const m = parsed(b);
    assert.equal(verifyMessageIntegrity(b, m, PASSWORD), mi, `${name}: integrity`);
    assert.equal(verifyFingerprint(b, m), fp, `${name}: fingerprint`);
  }
});

test('verifiers are false when the attribute is absent', () => {
  const b = encodeStunMessage(1, 'request', Buffer.alloc(12), [], { fingerprint: false });
  const m = parsed(b);
  assert.equal(m.integrityOffset, -1);
  assert.equal(m.fingerprintOffset, -1);
  assert.equal(verifyMessageIntegrity(b, m, PASSWORD), false);
  assert.equal(verifyFingerprint(b, m), false);
});

/** Sample request with `mutate` applied (header length left as is unless the mutation changes it). */
function mutated(mutate: (b: Buffer) => Buffer): Buffer {
  return mutate(Buffer.from(SAMPLE_REQUEST));
}
/** A message with one attribute and a correct header length. */
function withAttr(type: number, value: Buffer, declaredLen = value.length): Buffer {
  const padded = Buffer.alloc((value.length + 3) & ~3);
  value.copy(padded);
  const b = Buffer.concat([Buffer.alloc(20), Buffer.alloc(4), padded]);
  b.writeUInt16BE(0x0001, 0);
  b.writeUInt16BE(4 + padded.length, 2);
  b.writeUInt32BE(0x2112a442, 4);
  b.writeUInt16BE(type, 20);
  b.writeUInt16BE(declaredLen, 22);
  return b;
}

test('malformed messages are rejected with stun_malformed', () => {
  const cases: Array<[string, Buffer, number?]> = [
    ['empty', Buffer.alloc(0)],
    ['19 bytes', SAMPLE_REQUEST.subarray(0, 19)],
    ['top bits set (RTP-like first byte)', mutated((b) => ((b[0] = 0x80), b))],
    ['bad magic cookie', mutated((b) => ((b[4] = 0x22), b))],
    ['length not a multiple of 4', mutated((b) => (b.writeUInt16BE(0x57, 2), b))],
    ['length 6 matching a 26-byte datagram', hex('00010006 2112a442 000000000000000000000000 00250000 0000')],
    ['length beyond datagram', mutated((b) => (b.writeUInt16BE(0x5c, 2), b))],
    ['trailing bytes after message', Buffer.concat([SAMPLE_REQUEST, Buffer.alloc(4)])],
    ['truncated datagram', SAMPLE_REQUEST.subarray(0, 100)],
    ['length argument larger than buffer', SAMPLE_REQUEST, SAMPLE_REQUEST.length + 4],
    ['length argument negative', SAMPLE_REQUEST, -1],
    ['length argument fractional', SAMPLE_REQUEST, 20.5],
    ['attribute overruns message', withAttr(0x0006, Buffer.alloc(4), 8)],
    ['attribute padding overruns message', withAttr(0x0006, Buffer.alloc(4), 5)],
    ['attribute after FINGERPRINT', Buffer.concat([encodeStunMessage(1, 'request', Buffer.alloc(12), []), Buffer.alloc(4)])],
    ['PRIORITY of 3 bytes', withAttr(0x0024, Buffer.alloc(3))],
    ['ICE-CONTROLLING of 4 bytes', withAttr(0x802a, Buffer.alloc(4))],
    ['ICE-CONTROLLED of 12 bytes', withAttr(0x8029, Buffer.alloc(12))],
    ['USE-CANDIDATE with a value', withAttr(0x0025, Buffer.alloc(4))],
    ['MESSAGE-INTEGRITY of 16 bytes', withAttr(0x0008, Buffer.alloc(16))],
    ['FINGERPRINT of 8 bytes', withAttr(0x8028, Buffer.alloc(8))],
    ['USERNAME of 516 bytes', withAttr(0x0006, Buffer.alloc(516, 0x61))],
    ['XOR-MAPPED-ADDRESS family 3', withAttr(0x0020, Buffer.from('0003a147e112a643', 'hex'))],
    ['XOR-MAPPED-ADDRESS IPv4 with 16 address bytes', withAttr(0x0020, Buffer.concat([Buffer.from('0001a147', 'hex'), Buffer.alloc(16)]))],
    ['ERROR-CODE of 3 bytes', withAttr(0x0009, Buffer.alloc(3))],
    ['ERROR-CODE class 2', withAttr(0x0009, Buffer.from('00000200', 'hex'))],
    ['ERROR-CODE number 100', withAttr(0x0009, Buffer.from('00000464', 'hex'))],
  ];
  for (const [name, buf, len] of cases) {
    const fixed = name === 'attribute after FINGERPRINT' ? fixLength(buf) : buf;
    assert.equal(parseStun(fixed, len), 'stun_malformed', name);
  }
});

function fixLength(b: Buffer): Buffer {
  b.writeUInt16BE(b.length - 20, 2);
  return b;
}

test('parser edge cases that are valid', () => {
  // `length` lets the caller pass a larger receive buffer.
  const big = Buffer.concat([SAMPLE_REQUEST, Buffer.alloc(64, 0xff)]);
  assert.equal(parsed2(big, SAMPLE_REQUEST.length).username, 'evtj:h6vY');
  // Attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are ignored (RFC 8489 §14.5).
  const afterMi = encodeStunMessage(1, 'request', Buffer.alloc(12), [], { integrityKey: 'k', fingerprint: false });
  const ext = fixLength(Buffer.concat([afterMi, Buffer.from('0024000400000007', 'hex')]));
  assert.equal(parsed(ext).priority, null);
  // Unknown comprehension-required attributes are reported once each; optional ones are not.
  const unk = encodeStunMessage(1, 'request', Buffer.alloc(12), [
    [0x7001, Buffer.alloc(1)],
    [0xc057, Buffer.alloc(4)],
    [0x7001, Buffer.alloc(0)],
    [0x0003, Buffer.alloc(4)],
  ]);
  assert.deepEqual(parsed(unk).unknownRequired, [0x7001, 0x0003]);
  // The first of duplicate attributes wins (RFC 8489 §14).
  const dup = encodeStunMessage(1, 'request', Buffer.alloc(12), [
    [0x0024, Buffer.from('00000001', 'hex')],
    [0x0024, Buffer.from('00000002', 'hex')],
  ]);
  assert.equal(parsed(dup).priority, 1);
});

function parsed2(buf: Buffer, len: number): StunMessage {
  const m = parseStun(buf, len);
  assert.ok(typeof m !== 'string');
  return m;
}

test('random bytes never throw', () => {
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.alloc(20 + (rnd() % 64));
    for (let j = 0; j < b.length; j++) b[j] = rnd();
    // Make most of them get past the header checks so the attribute walk is exercised.
    if (i % 4 !== 0) {
      b[0] &= 0x3f;
      b.writeUInt32BE(0x2112a442, 4);
      b.writeUInt16BE((b.length - 20) & ~3, 2);
    }
    const m = parseStun(b);
    if (typeof m !== 'string') {
      verifyFingerprint(b, m);
      verifyMessageIntegrity(b, m, 'pw');
    }
  }
});

test('buildBindingSuccess: XOR-MAPPED-ADDRESS bytes equal RFC 5769 and the message round-trips', () => {
  const tx = Buffer.from(TX_ID, 'hex');
  const cases: Array<[4 | 6, string, Buffer]> = [
    [4, '192.0.2.1', SAMPLE_V4_RESPONSE.subarray(36, 48)],
    [6, '2001:db8:1234:5678:11:2233:4455:6677', SAMPLE_V6_RESPONSE.subarray(36, 60)],
  ];
  for (const [family, address, rfcAttr] of cases) {
    const b = buildBindingSuccess(tx, { address, port: 32853, family }, PASSWORD);
    assert.ok(b.includes(rfcAttr), `v${family}: attribute bytes`);
    const m = parsed(b);
    assert.equal(m.cls, 'success');
    assert.equal(m.method, 1);
    assert.deepEqual(m.transactionId, tx);
    assert.deepEqual(m.xorMappedAddress, { address, port: 32853, family });
    assert.equal(verifyMessageIntegrity(b, m, PASSWORD), true);
    assert.equal(verifyFingerprint(b, m), true);
    assert.equal(m.fingerprintOffset, b.length - 8, 'FINGERPRINT last');
  }
  // An IPv4-mapped source from a dual-stack socket is answered as IPv4.
  const mapped = parsed(buildBindingSuccess(tx, { address: '::ffff:192.0.2.1', port: 9, family: 6 }, PASSWORD));
  assert.deepEqual(mapped.xorMappedAddress, { address: '192.0.2.1', port: 9, family: 4 });
  assert.throws(() => buildBindingSuccess(tx, { address: 'nope', port: 1, family: 4 }, PASSWORD), RangeError);
  assert.throws(() => buildBindingSuccess(tx, { address: '1.2.3.4', port: 70000, family: 4 }, PASSWORD), RangeError);
});

test('buildBindingError round-trips code, integrity and UNKNOWN-ATTRIBUTES', () => {
  const tx = Buffer.from(TX_ID, 'hex');
  const cases: Array<[number, string, string | undefined]> = [
    [400, 'Bad Request', undefined],
    [401, 'Unauthorized', PASSWORD],
    [487, 'Role Conflict', PASSWORD],
    [420, 'Unknown Attribute', PASSWORD],
  ];
  for (const [code, reason, pwd] of cases) {
    const b = buildBindingError(tx, code, reason, pwd, code === 420 ? [0x7001, 0x0003] : []);
    const m = parsed(b);
    assert.equal(m.cls, 'error');
    assert.equal(m.errorCode, code);
    assert.equal(m.integrityOffset >= 0, pwd !== undefined, `${code}: integrity present`);
    if (pwd) assert.equal(verifyMessageIntegrity(b, m, pwd), true);
    assert.equal(verifyFingerprint(b, m), true);
    assert.equal(b.includes(Buffer.from(reason)), true);
    if (code === 420) assert.ok(b.includes(Buffer.from('000a000470010003', 'hex')), 'UNKNOWN-ATTRIBUTES');
  }
  assert.throws(() => buildBindingError(tx, 200, 'no'), RangeError);
  assert.throws(() => buildBindingError(tx, 700, 'no'), RangeError);
  const long = parsed(buildBindingError(tx, 500, 'x'.repeat(300)));
  assert.equal(long.length, 20 + 4 + 4 + 128 + 8, 'reason truncated to 127 chars');
});

test('buildBindingRequest round-trips ICE attributes', () => {
  const cases: Array<[boolean, boolean]> = [
    [true, true],
    [true, false],
    [false, false],
  ];
  for (const [controlling, useCandidate] of cases) {
    const tx = Buffer.alloc(12, 7);
    const b = buildBindingRequest({
      username: 'abcd:efgh',
      password: 'p'.repeat(22),
      priority: 0x7e0000ff,
      controlling,
      tieBreaker: 0xfedcba9876543210n,
      useCandidate,
      transactionId: tx,
    });
    const m = parsed(b);
    const name = `controlling=${controlling} useCandidate=${useCandidate}`;
    assert.equal(m.cls, 'request', name);
    assert.deepEqual(m.transactionId, tx, name);
    assert.equal(m.username, 'abcd:efgh', name);
    assert.equal(m.priority, 0x7e0000ff, name);
    assert.equal(m.iceControlling, controlling ? 0xfedcba9876543210n : null, name);
    assert.equal(m.iceControlled, controlling ? null : 0xfedcba9876543210n, name);
    assert.equal(m.useCandidate, useCandidate, name);
    assert.equal(verifyMessageIntegrity(b, m, 'p'.repeat(22)), true, name);
    assert.equal(verifyFingerprint(b, m), true, name);
  }
  const a = parsed(buildBindingRequest({ username: 'a:b', password: 'x', priority: 1, controlling: true, tieBreaker: 1n, useCandidate: false }));
  const b = parsed(buildBindingRequest({ username: 'a:b', password: 'x', priority: 1, controlling: true, tieBreaker: 1n, useCandidate: false }));
  assert.notDeepEqual(a.transactionId, b.transactionId, 'random transaction ids');
});
