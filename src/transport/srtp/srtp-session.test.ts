import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import type { SrtpProfileName } from './srtp-profile.ts';
import { srtpKeyLengths, srtpProfileFromDtlsId, srtpTagLength } from './srtp-profile.ts';
import { SrtpSession } from './srtp-session.ts';
import { deriveSrtpSessionKeys } from './srtp-kdf.ts';

/** Plaintext length of a default rtp(): 12-octet header + 1200-octet payload. */
const FULL = 1212;
const PROFILES: SrtpProfileName[] = ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'];

function pair(p: SrtpProfileName, opts?: { replayWindow?: number; maxSsrcs?: number }): [SrtpSession, SrtpSession] {
  const { keyLength, saltLength } = srtpKeyLengths(p);
  const k = Buffer.alloc(keyLength, 0x42);
  const s = Buffer.alloc(saltLength, 0x17);
  return [new SrtpSession(p, k, s, opts), new SrtpSession(p, k, s, opts)];
}

/** RTP packet: V=2, optional CSRCs and a one-byte-header extension, payload filled with a pattern. */
function rtp(seq: number, ssrc = 0x11223344, payload = 1200, csrcs = 0, extWords = 0): Buffer {
  const hl = 12 + 4 * csrcs + (extWords > 0 ? 4 + 4 * extWords : 0);
  const b = Buffer.alloc(hl + payload);
  b[0] = 0x80 | (extWords > 0 ? 0x10 : 0) | csrcs;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 3000) >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  for (let i = 0; i < csrcs; i++) b.writeUInt32BE(0xc0000000 + i, 12 + 4 * i);
  if (extWords > 0) {
    const at = 12 + 4 * csrcs;
    b.writeUInt16BE(0xbede, at);
    b.writeUInt16BE(extWords, at + 2);
    b.fill(0x5a, at + 4, hl);
  }
  for (let i = hl; i < b.length; i++) b[i] = (i * 7 + seq) & 0xff;
  return b;
}

function rtcp(ssrc = 0x4d617273, words = 6): Buffer {
  const b = Buffer.alloc(8 + 4 * words, 0xab);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(1 + words, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

/** Protect and assert success. */
function prot(tx: SrtpSession, pkt: Buffer): Buffer {
  const out = tx.protectRtp(pkt, pkt.length);
  assert.ok(Buffer.isBuffer(out), `protect failed: ${String(out)}`);
  return out;
}

/** Unprotect a copy (so the caller keeps the wire bytes for replays). */
function unprot(rx: SrtpSession, wire: Buffer): number | string {
  return rx.unprotectRtp(Buffer.from(wire), wire.length);
}

test('profile helpers', () => {
  const ids: Array<[number, SrtpProfileName | null]> = [[7, 'AEAD_AES_128_GCM'], [1, 'AES_CM_128_HMAC_SHA1_80'], [2, null], [8, null], [0, null], [-1, null]];
  for (const [id, want] of ids) assert.equal(srtpProfileFromDtlsId(id), want, `id ${id}`);
  assert.deepEqual(srtpKeyLengths('AEAD_AES_128_GCM'), { keyLength: 16, saltLength: 12 });
  assert.deepEqual(srtpKeyLengths('AES_CM_128_HMAC_SHA1_80'), { keyLength: 16, saltLength: 14 });
  assert.equal(srtpTagLength('AEAD_AES_128_GCM'), 16);
  assert.equal(srtpTagLength('AES_CM_128_HMAC_SHA1_80'), 10);
});

for (const p of PROFILES) {
  const tag = srtpTagLength(p);

  test(`${p}: round trip of header shapes; header kept in clear, payload encrypted`, () => {
    const [tx, rx] = pair(p);
    const shapes: Array<[string, Buffer, number]> = [
      ['plain', rtp(1), 12],
      ['3 CSRCs', rtp(2, undefined, 300, 3), 24],
      ['extension', rtp(3, undefined, 300, 0, 2), 24],
      ['CSRCs + extension', rtp(4, undefined, 300, 15, 5), 12 + 60 + 24],
      ['empty payload', rtp(5, undefined, 0, 1, 1), 24],
      ['1-octet payload', rtp(6, undefined, 1), 12],
    ];
    for (const [name, pkt, hl] of shapes) {
      const wire = prot(tx, pkt);
      assert.equal(wire.length, pkt.length + tag, name);
      assert.deepEqual(wire.subarray(0, hl), pkt.subarray(0, hl), `${name}: header in clear`);
      if (pkt.length > hl + 4) assert.notDeepEqual(wire.subarray(hl, pkt.length), pkt.subarray(hl), `${name}: payload encrypted`);
      const buf = Buffer.concat([wire, Buffer.alloc(20, 0xee)]); // length, not buf.length, bounds the packet
      assert.equal(rx.unprotectRtp(buf, wire.length), pkt.length, name);
      assert.deepEqual(buf.subarray(0, pkt.length), pkt, name);
    }
  });

  test(`${p}: ROC rollover over 70000 sequential packets, and a receiver that missed the wrap`, () => {
    const [tx, rx] = pair(p);
    const late = pair(p)[1];
    for (let i = 0; i < 70000; i++) {
      const pkt = rtp(i, 0xabc, 16);
      const wire = prot(tx, pkt);
      assert.equal(unprot(rx, wire), pkt.length, `seq index ${i}`);
      // `late` sees 65000..65535 then nothing until index 65536 + 2000 (ROC 1 inferred).
      if ((i >= 65000 && i <= 65535) || i >= 65536 + 2000) assert.equal(unprot(late, wire), pkt.length, `late ${i}`);
    }
  });

  test(`${p}: reordering inside the window is accepted, replays and too-old packets are not`, () => {
    const [tx, rx] = pair(p, { replayWindow: 128 });
    const wires = Array.from({ length: 400 }, (_, i) => prot(tx, rtp(65400 + i))); // crosses the wrap
    // Deliver each block of 50 backwards.
    for (let b = 0; b < 400; b += 50) for (let i = b + 49; i >= b; i--) assert.equal(unprot(rx, wires[i]), FULL, `#${i}`);
    for (const i of [399, 398, 350, 300]) assert.equal(unprot(rx, wires[i]), 'srtp_replayed', `replay #${i}`);
    for (const i of [271, 200, 0]) assert.equal(unprot(rx, wires[i]), 'srtp_too_old', `old #${i}`);
    // 272 is exactly the oldest slot of the 128 window below top 399: seen, so a replay.
    assert.equal(unprot(rx, wires[272]), 'srtp_replayed');
  });

  test(`${p}: a never-seen packet just inside the window is accepted after a jump`, () => {
    const [tx, rx] = pair(p, { replayWindow: 64 });
    const wires = Array.from({ length: 200 }, (_, i) => prot(tx, rtp(i)));
    assert.equal(unprot(rx, wires[0]), FULL);
    assert.equal(unprot(rx, wires[150]), FULL);
    assert.equal(unprot(rx, wires[87]), FULL); // delta 63
    assert.equal(unprot(rx, wires[86]), 'srtp_too_old'); // delta 64
  });

  test(`${p}: tampered header, payload or tag is rejected and leaves buffer and state unchanged`, () => {
    const [tx, rx] = pair(p);
    const w0 = prot(tx, rtp(65530, 0x99, 100, 1, 1));
    assert.equal(unprot(rx, w0), 100 + 12 + 4 + 8);
    const w1 = prot(tx, rtp(65531, 0x99, 100, 1, 1));
    // Forged seq jump across the wrap: must not advance ROC (the genuine next packet still works).
    const jump = Buffer.from(w1);
    jump.writeUInt16BE(5, 2);
    const spots: Array<[string, number]> = [['marker/PT', 1], ['CSRC', 13], ['extension', 20], ['payload', 40], ['tag first', w1.length - tag], ['tag last', w1.length - 1]];
    const forged: Array<[string, Buffer]> = [['seq jump', jump]];
    for (const [name, at] of spots) {
      const f = Buffer.from(w1);
      f[at] ^= 0x80;
      forged.push([name, f]);
    }
    for (const [name, f] of forged) {
      const before = Buffer.from(f);
      assert.equal(rx.unprotectRtp(f, f.length), 'srtp_auth_failed', name);
      assert.deepEqual(f, before, `${name}: buffer untouched`);
    }
    assert.equal(unprot(rx, w1), 100 + 24, 'genuine packet still accepted after forgeries');
    assert.equal(unprot(rx, prot(tx, rtp(65532, 0x99))), FULL);
    // A forged packet on a fresh SSRC must not create state.
    const alien = Buffer.from(prot(pair(p)[0], rtp(1, 0x77777777)));
    alien[alien.length - 1] ^= 1;
    const before = rx.ssrcCounts.rtp;
    assert.equal(unprot(rx, alien), 'srtp_auth_failed');
    assert.equal(rx.ssrcCounts.rtp, before);
  });

  test(`${p}: wrong keys fail authentication`, () => {
    const [tx] = pair(p);
    const { keyLength, saltLength } = srtpKeyLengths(p);
    const cases: Array<[string, SrtpSession]> = [
      ['key', new SrtpSession(p, Buffer.alloc(keyLength, 0x43), Buffer.alloc(saltLength, 0x17))],
      ['salt', new SrtpSession(p, Buffer.alloc(keyLength, 0x42), Buffer.alloc(saltLength, 0x18))],
    ];
    const wire = prot(tx, rtp(9));
    for (const [name, rx] of cases) assert.equal(unprot(rx, wire), 'srtp_auth_failed', name);
  });

  test(`${p}: malformed packets are named, never thrown`, () => {
    const [tx, rx] = pair(p);
    const good = prot(tx, rtp(1, 1, 40));
    const v1 = Buffer.from(good);
    v1[0] = 0x40;
    const cases: Array<[string, Buffer, number]> = [
      ['empty', Buffer.alloc(0), 0],
      ['11 octets', good.subarray(0, 11), 11],
      ['header but no tag room', good.subarray(0, 12 + tag - 1), 12 + tag - 1],
      ['length beyond buffer', good, good.length + 1],
      ['version 1', v1, v1.length],
      ['CSRC count overruns', Buffer.concat([Buffer.from([0x8f]), good.subarray(1, 40)]), 40],
      ['extension overruns', Buffer.concat([Buffer.from([0x90]), good.subarray(1, 12), Buffer.from([0xbe, 0xde, 0xff, 0xff]), Buffer.alloc(30)]), 46],
    ];
    for (const [name, b, len] of cases) {
      assert.equal(rx.unprotectRtp(Buffer.from(b), len), 'srtp_malformed', `unprotect ${name}`);
      if (name !== 'header but no tag room') assert.equal(tx.protectRtp(Buffer.from(b), len), 'srtp_malformed', `protect ${name}`);
    }
    assert.equal(rx.unprotectRtcp(Buffer.alloc(8 + 4 + tag - 1, 0x80), 8 + 4 + tag - 1), 'srtcp_malformed');
    assert.equal(tx.protectRtcp(Buffer.alloc(7, 0x80), 7), 'srtp_malformed');
    assert.equal(tx.protectRtcp(Buffer.alloc(8, 0x40), 8), 'srtp_malformed');
  });

  test(`${p}: SRTCP index increments with E set; replays, too-old and tampering are rejected`, () => {
    const [tx, rx] = pair(p, { replayWindow: 64 });
    const plain = rtcp();
    const wires: Buffer[] = [];
    for (let i = 0; i < 100; i++) {
      const w = tx.protectRtcp(plain, plain.length);
      assert.ok(Buffer.isBuffer(w));
      assert.equal(w.length, plain.length + 4 + tag);
      const word = w.readUInt32BE(p === 'AEAD_AES_128_GCM' ? w.length - 4 : plain.length);
      assert.equal(word, (0x80000000 + i) >>> 0, `index ${i}`);
      assert.notDeepEqual(w.subarray(8, plain.length), plain.subarray(8), 'body encrypted');
      wires.push(w);
    }
    const un = (w: Buffer): number | string => rx.unprotectRtcp(Buffer.from(w), w.length);
    for (const i of [0, 2, 1, 50, 40, 99]) assert.equal(un(wires[i]), plain.length, `#${i}`);
    assert.equal(un(wires[50]), 'srtcp_replayed');
    assert.equal(un(wires[35]), 'srtcp_too_old', 'older than the window (delta 64)');
    assert.equal(un(wires[36]), plain.length, 'delta 63 still inside');
    for (const at of [1, 10, plain.length + 2, wires[60].length - 1]) {
      const f = Buffer.from(wires[60]);
      f[at] ^= 4;
      assert.equal(rx.unprotectRtcp(f, f.length), 'srtcp_auth_failed', `tamper @${at}`);
    }
    assert.equal(un(wires[60]), plain.length, 'genuine packet accepted after forgeries');
    const buf = Buffer.from(wires[61]);
    assert.equal(rx.unprotectRtcp(buf, buf.length), plain.length);
    assert.deepEqual(buf.subarray(0, plain.length), plain, 'decrypted in place');
    // Another SSRC has its own window: its index 0 is not a replay.
    const other = rtcp(0x1234);
    assert.equal(un(pair(p, { replayWindow: 64 })[0].protectRtcp(other, other.length) as Buffer), other.length);
  });

  test(`${p}: receive SSRC state is bounded; the least recently used SSRC is evicted`, () => {
    const [tx, rx] = pair(p, { maxSsrcs: 4 });
    const first = new Map<number, Buffer>();
    for (const ssrc of [1, 2, 3, 4]) {
      const w = prot(tx, rtp(10, ssrc));
      first.set(ssrc, w);
      assert.equal(unprot(rx, w), FULL);
    }
    for (const ssrc of [2, 3, 4]) assert.equal(unprot(rx, prot(tx, rtp(11, ssrc))), FULL); // 1 is now LRU
    assert.equal(unprot(rx, prot(tx, rtp(10, 5))), FULL);
    assert.equal(rx.ssrcCounts.rtp, 4);
    assert.equal(unprot(rx, first.get(2)!), 'srtp_replayed', 'SSRC 2 kept its window');
    // SSRC 1 was evicted, so its state restarts (documented cost of the bound).
    assert.equal(unprot(rx, first.get(1)!), FULL);
    assert.equal(rx.ssrcCounts.rtp, 4);
  });
}

test('AES-CM packet matches an independent RFC 3711 construction at ROC 1 (IV §4.1.1, tag over ROC §4.2)', () => {
  const mk = Buffer.alloc(16, 0x42);
  const ms = Buffer.alloc(14, 0x17);
  const tx = new SrtpSession('AES_CM_128_HMAC_SHA1_80', mk, ms);
  prot(tx, rtp(65535, 0xcafebabe, 16));
  const pkt = rtp(3, 0xcafebabe, 64, 2, 1);
  const wire = prot(tx, pkt); // index 65536 + 3
  const k = deriveSrtpSessionKeys('AES_CM_128_HMAC_SHA1_80', mk, ms);
  const ivN = (BigInt('0x' + k.rtpSalt.toString('hex')) << 16n) ^ (0xcafebaben << 64n) ^ ((65536n + 3n) << 16n);
  const iv = Buffer.from(ivN.toString(16).padStart(32, '0'), 'hex');
  const hl = 12 + 8 + 8;
  const ct = createCipheriv('aes-128-ctr', k.rtpKey, iv).update(pkt.subarray(hl));
  const mac = createHmac('sha1', k.rtpAuthKey).update(pkt.subarray(0, hl)).update(ct).update(Buffer.from([0, 0, 0, 1])).digest();
  assert.deepEqual(wire, Buffer.concat([pkt.subarray(0, hl), ct, mac.subarray(0, 10)]));
});

test('AES-CM without a window (a packet longer than any window; SRTCP both ways) matches an independent RFC 3711 construction', () => {
  const mk = Buffer.alloc(16, 0x42);
  const ms = Buffer.alloc(14, 0x17);
  const k = deriveSrtpSessionKeys('AES_CM_128_HMAC_SHA1_80', mk, ms);
  const ivOf = (salt: Buffer, ssrc: bigint, index: bigint) => Buffer.from(((BigInt('0x' + salt.toString('hex')) << 16n) ^ (ssrc << 64n) ^ (index << 16n)).toString(16).padStart(32, '0'), 'hex');
  const tx = new SrtpSession('AES_CM_128_HMAC_SHA1_80', mk, ms);
  const big = rtp(9, 0xcafebabe, 2000); // past MAX_STRIDE: its keystream is made for it alone (more than 24 blocks + a partial one)
  const ct = createCipheriv('aes-128-ctr', k.rtpKey, ivOf(k.rtpSalt, 0xcafebaben, 9n)).update(big.subarray(12));
  const mac = createHmac('sha1', k.rtpAuthKey).update(big.subarray(0, 12)).update(ct).update(Buffer.alloc(4)).digest();
  assert.deepEqual(prot(tx, big), Buffer.concat([big.subarray(0, 12), ct, mac.subarray(0, 10)]));

  // SRTCP (RFC 3711 §3.4, §4.1.1 with the SRTCP index and the RTCP keys): what we send, and what we accept.
  for (const words of [1, 6, 33, 6100]) { // 6100 words: longer than the shared counter scratch (24,064 octets)
    const plain = rtcp(0x4d617273, words);
    const wire = tx.protectRtcp(Buffer.from(plain), plain.length);
    assert.ok(Buffer.isBuffer(wire));
    const eIndex = wire.readUInt32BE(plain.length);
    assert.ok(eIndex & 0x80000000, 'E set');
    const index = BigInt(eIndex & 0x7fffffff);
    const rct = createCipheriv('aes-128-ctr', k.rtcpKey, ivOf(k.rtcpSalt, 0x4d617273n, index)).update(plain.subarray(8));
    const body = Buffer.concat([plain.subarray(0, 8), rct, wire.subarray(plain.length, plain.length + 4)]);
    const tag = createHmac('sha1', k.rtcpAuthKey).update(body).digest().subarray(0, 10);
    assert.deepEqual(wire, Buffer.concat([body, tag]), `${words} words`);
  }
  const plain = rtcp(0x01020304, 5);
  const idx = Buffer.from([0x80, 0, 0, 42]);
  const rct = createCipheriv('aes-128-ctr', k.rtcpKey, ivOf(k.rtcpSalt, 0x01020304n, 42n)).update(plain.subarray(8));
  const body = Buffer.concat([plain.subarray(0, 8), rct, idx]);
  const theirs = Buffer.concat([body, createHmac('sha1', k.rtcpAuthKey).update(body).digest().subarray(0, 10)]);
  const rx = new SrtpSession('AES_CM_128_HMAC_SHA1_80', mk, ms);
  assert.equal(rx.unprotectRtcp(theirs, theirs.length), plain.length);
  assert.deepEqual(theirs.subarray(0, plain.length), plain);
});

test('GCM packet matches an independent RFC 7714 construction at ROC 1 (IV §8.1, AAD = header §8.2)', () => {
  const mk = Buffer.alloc(16, 0x42);
  const ms = Buffer.alloc(12, 0x17);
  const tx = new SrtpSession('AEAD_AES_128_GCM', mk, ms);
  prot(tx, rtp(65535, 0xcafebabe, 16));
  const pkt = rtp(3, 0xcafebabe, 64, 2, 1);
  const wire = prot(tx, pkt);
  const k = deriveSrtpSessionKeys('AEAD_AES_128_GCM', mk, ms);
  const iv = Buffer.from(k.rtpSalt);
  const mix = Buffer.from('0000cafebabe000000010003', 'hex');
  for (let i = 0; i < 12; i++) iv[i] ^= mix[i];
  const hl = 28;
  const c = createCipheriv('aes-128-gcm', k.rtpKey, iv);
  c.setAAD(pkt.subarray(0, hl));
  const ct = c.update(pkt.subarray(hl));
  c.final();
  assert.deepEqual(wire, Buffer.concat([pkt.subarray(0, hl), ct, c.getAuthTag()]));
});

test('AES-CM accepts authenticated-only SRTCP (E = 0) without decrypting it, RFC 3711 §3.4', () => {
  const mk = Buffer.alloc(16, 0x42);
  const ms = Buffer.alloc(14, 0x17);
  const k = deriveSrtpSessionKeys('AES_CM_128_HMAC_SHA1_80', mk, ms);
  const plain = rtcp();
  const withIndex = Buffer.concat([plain, Buffer.from([0, 0, 0, 7])]); // E = 0, index 7
  const tag = createHmac('sha1', k.rtcpAuthKey).update(withIndex).digest().subarray(0, 10);
  const rx = new SrtpSession('AES_CM_128_HMAC_SHA1_80', mk, ms);
  const wire = Buffer.concat([withIndex, tag]);
  assert.equal(rx.unprotectRtcp(Buffer.from(wire), wire.length), plain.length);
  assert.equal(rx.unprotectRtcp(Buffer.from(wire), wire.length), 'srtcp_replayed');
  const flipped = Buffer.from(wire);
  flipped[plain.length] |= 0x80; // claim E = 1: the tag covers the E bit, so this must fail
  assert.equal(new SrtpSession('AES_CM_128_HMAC_SHA1_80', mk, ms).unprotectRtcp(flipped, flipped.length), 'srtcp_auth_failed');
});
