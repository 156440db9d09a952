import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aesCmKeystream, deriveSessionKey, deriveSrtpSessionKeys, SRTP_LABEL } from './srtp-kdf.ts';
import { writeCmIv } from './srtp-iv.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('RFC 3711 B.2: AES-CM keystream from the SRTP IV (first and last blocks of the segment)', () => {
  const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
  const iv = Buffer.alloc(16);
  // Salt F0..FD with SSRC 0 and index 0 must give the RFC's offset F0F1..FCFD0000.
  writeCmIv(iv, hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0);
  assert.equal(iv.toString('hex'), 'f0f1f2f3f4f5f6f7f8f9fafbfcfd0000');
  const ks = aesCmKeystream(key, iv, 1044512);
  assert.deepEqual(ks.subarray(0, 48), hex('E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0'));
  assert.deepEqual(
    ks.subarray(ks.length - 48),
    hex('EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44'),
  );
});

test('RFC 3711 B.3: key derivation (cipher key, salt, 94-octet auth key)', () => {
  const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
  const cases: Array<[number, number, string]> = [
    [SRTP_LABEL.rtpEncryption, 16, 'C61E7A93744F39EE10734AFE3FF7A087'],
    [SRTP_LABEL.rtpSalt, 14, '30CBBC08863D8C85D49DB34A9AE1'],
    [
      SRTP_LABEL.rtpAuth,
      94,
      'CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE E049646C43D9327AD175578EF7227098' +
        '6371C10C9A369AC2F94A8C5FBCDDDC25 6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2',
    ],
  ];
  for (const [label, len, want] of cases) assert.deepEqual(deriveSessionKey(mk, ms, label, len), hex(want), `label ${label}`);
  const keys = deriveSrtpSessionKeys('AES_CM_128_HMAC_SHA1_80', mk, ms);
  assert.deepEqual(keys.rtpKey, hex('C61E7A93744F39EE10734AFE3FF7A087'));
  assert.deepEqual(keys.rtpSalt, hex('30CBBC08863D8C85D49DB34A9AE1'));
  assert.deepEqual(keys.rtpAuthKey, hex('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4'));
  // RTCP labels 3..5 must give different keys from RTP's (RFC 3711 §4.3.2).
  assert.notDeepEqual(keys.rtcpKey, keys.rtpKey);
  assert.notDeepEqual(keys.rtcpSalt, keys.rtpSalt);
  assert.notDeepEqual(keys.rtcpAuthKey, keys.rtpAuthKey);
  assert.deepEqual(keys.rtcpKey, deriveSessionKey(mk, ms, 3, 16));
});

test('GCM profile derives 16/12-octet keys and no auth key; wrong master lengths are refused', () => {
  const keys = deriveSrtpSessionKeys('AEAD_AES_128_GCM', Buffer.alloc(16, 1), Buffer.alloc(12, 2));
  assert.equal(keys.rtpKey.length, 16);
  assert.equal(keys.rtpSalt.length, 12);
  assert.equal(keys.rtpAuthKey.length, 0);
  // A 12-octet salt is zero-padded to 14 before the label XOR (libsrtp-compatible).
  assert.deepEqual(keys.rtpSalt, deriveSessionKey(Buffer.alloc(16, 1), Buffer.concat([Buffer.alloc(12, 2), Buffer.alloc(2)]), 2, 12));
  const bad: Array<[Parameters<typeof deriveSrtpSessionKeys>[0], number, number]> = [
    ['AEAD_AES_128_GCM', 16, 14],
    ['AEAD_AES_128_GCM', 32, 12],
    ['AES_CM_128_HMAC_SHA1_80', 16, 12],
    ['AES_CM_128_HMAC_SHA1_80', 15, 14],
  ];
  for (const [p, k, s] of bad) assert.throws(() => deriveSrtpSessionKeys(p, Buffer.alloc(k), Buffer.alloc(s)), RangeError, `${p} ${k}/${s}`);
});
