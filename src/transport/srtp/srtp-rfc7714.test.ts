import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrtpContext } from './srtp-context.ts';
import type { SrtpSessionKeys } from './srtp-kdf.ts';
import { writeGcmRtcpIv, writeGcmRtpIv } from './srtp-iv.ts';

// RFC 7714 §16/§17 give session keys directly (no KDF): key 00..0f, salt "Quid pro quo".
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const KEY = hex('000102030405060708090a0b0c0d0e0f');
const SALT = hex('517569642070726f2071756f');
const keys: SrtpSessionKeys = { rtpKey: KEY, rtpSalt: SALT, rtpAuthKey: Buffer.alloc(0), rtcpKey: KEY, rtcpSalt: SALT, rtcpAuthKey: Buffer.alloc(0) };

const RTP = hex('8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573');
const SRTP = hex(
  '8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833' +
    '899d7f27 beb16a91 52cf765e e4390cce',
);
const RTCP = hex('81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef');
const SRTCP = hex(
  '81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b' +
    'c84aa458 96cf4d2f c5abf872 45d9eade 800005d4',
);
// §17.3: authenticated only (E = 0), tag over the whole packet || index.
const SRTCP_AUTH_ONLY = Buffer.concat([RTCP, hex('841dd968 3dd78ec9 2ae58790 125f62b3 000005d4')]);

test('RFC 7714 §16.1 and §17.1 IVs', () => {
  const iv = Buffer.alloc(12);
  writeGcmRtpIv(iv, SALT, 0x5501a0b2, 0, 0xf17b);
  assert.equal(iv.toString('hex'), '51753c6580c2726f20718414');
  writeGcmRtcpIv(iv, SALT, 0x4d617273, 0x800005d4); // the E bit must not reach the IV
  assert.equal(iv.toString('hex'), '517524055203726f207170bb');
});

test('RFC 7714 §16.1.1 SRTP encryption', () => {
  const out = new SrtpContext('AEAD_AES_128_GCM', keys).protectRtp(Buffer.from(RTP), RTP.length);
  assert.deepEqual(out, SRTP);
});

test('RFC 7714 §16.1.2 SRTP verification and decryption, in place', () => {
  const buf = Buffer.from(SRTP);
  const n = new SrtpContext('AEAD_AES_128_GCM', keys).unprotectRtp(buf, buf.length);
  assert.equal(n, RTP.length);
  assert.deepEqual(buf.subarray(0, RTP.length), RTP);
});

test('RFC 7714 §17.1.1 SRTCP encryption at index 0x5d4', () => {
  const ctx = new SrtpContext('AEAD_AES_128_GCM', keys);
  for (let i = 0; i < 0x5d4; i++) ctx.protectRtcp(Buffer.from(RTCP), RTCP.length); // walk the index to 0x5d4
  assert.deepEqual(ctx.protectRtcp(Buffer.from(RTCP), RTCP.length), SRTCP);
});

test('RFC 7714 §17.1.2 SRTCP decryption, and §17.3 authenticated-only SRTCP', () => {
  for (const [name, wire] of [['17.1', SRTCP], ['17.3', SRTCP_AUTH_ONLY]] as const) {
    const buf = Buffer.from(wire);
    const n = new SrtpContext('AEAD_AES_128_GCM', keys).unprotectRtcp(buf, buf.length);
    assert.equal(n, RTCP.length, name);
    assert.deepEqual(buf.subarray(0, RTCP.length), RTCP, name);
  }
});

test('RFC 7714 vectors with any single bit flipped fail authentication and leave the buffer intact', () => {
  for (const [wire, rtcp] of [[SRTP, false], [SRTCP, true], [SRTCP_AUTH_ONLY, true]] as const) {
    // header, payload, tag and (for RTCP) the E||index word
    for (const at of [1, 9, 14, wire.length - 8, wire.length - 1]) {
      const buf = Buffer.from(wire);
      buf[at] ^= 0x01;
      const before = Buffer.from(buf);
      const ctx = new SrtpContext('AEAD_AES_128_GCM', keys);
      const r = rtcp ? ctx.unprotectRtcp(buf, buf.length) : ctx.unprotectRtp(buf, buf.length);
      assert.equal(r, rtcp ? 'srtcp_auth_failed' : 'srtp_auth_failed', `offset ${at}`);
      assert.deepEqual(buf, before);
    }
  }
});
