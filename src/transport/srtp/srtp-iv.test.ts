import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeCmIv, writeGcmRtcpIv, writeGcmRtpIv } from './srtp-iv.ts';

const big = (b: Buffer): bigint => BigInt('0x' + b.toString('hex'));
const buf = (n: bigint, len: number): string => n.toString(16).padStart(len * 2, '0');
const SALT14 = Buffer.from('0ec675ad498afeebb6960b3aabe6', 'hex');
const SALT12 = Buffer.from('517569642070726f2071756f', 'hex');

// [ssrc, 48-bit index]: extremes of both fields, including index bits 32..47 (ROC >= 65536).
const CASES: Array<[number, number]> = [
  [0, 0],
  [0xffffffff, 0],
  [0x12345678, 0xffff],
  [0x12345678, 2 ** 32 + 5],
  [0xdeadbeef, 2 ** 47 + 0x1234_5678],
  [0xffffffff, 2 ** 48 - 1],
];

test('AES-CM IV = (k_s<<16) ^ (SSRC<<64) ^ (i<<16), RFC 3711 §4.1.1, whole 48-bit index range', () => {
  const out = Buffer.alloc(16, 0xff); // stale scratch contents must not leak in
  for (const [ssrc, index] of CASES) {
    writeCmIv(out, SALT14, ssrc, index);
    const want = (big(SALT14) << 16n) ^ (BigInt(ssrc) << 64n) ^ (BigInt(index) << 16n);
    assert.equal(out.toString('hex'), buf(want, 16), `${ssrc}/${index}`);
  }
});

test('GCM SRTP IV = (0^16 || SSRC || ROC || SEQ) ^ salt, RFC 7714 §8.1', () => {
  const out = Buffer.alloc(12, 0xff);
  for (const [ssrc, index] of CASES) {
    const roc = Math.floor(index / 65536);
    writeGcmRtpIv(out, SALT12, ssrc, roc, index % 65536);
    const want = big(SALT12) ^ (BigInt(ssrc) << 48n) ^ (BigInt(roc) << 16n) ^ BigInt(index % 65536);
    assert.equal(out.toString('hex'), buf(want, 12), `${ssrc}/${index}`);
  }
});

test('GCM SRTCP IV = (0^16 || SSRC || 0^16 || 0 || index31) ^ salt, RFC 7714 §9.1; the E bit is excluded', () => {
  const out = Buffer.alloc(12, 0xff);
  for (const [ssrc, index] of [[0, 0], [0xffffffff, 0x7fffffff], [0x4d617273, 0x5d4], [1, 0x80000001]] as const) {
    writeGcmRtcpIv(out, SALT12, ssrc, index);
    const want = big(SALT12) ^ (BigInt(ssrc) << 48n) ^ BigInt(index & 0x7fffffff);
    assert.equal(out.toString('hex'), buf(want, 12), `${ssrc}/${index}`);
  }
});
