import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { HmacSha1 } from './hmac-sha1.ts';
import { seededRandom } from '../../util/prng.ts';

test('RFC 2202 §3 vectors: a 20-octet key, and a key longer than the block', () => {
  assert.equal(new HmacSha1(Buffer.alloc(20, 0x0b)).mac(Buffer.from('Hi There'), 0, 8).toString('hex'), 'b617318655057264e28bc0b6fb378c8ef146be00');
  const long = Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First');
  assert.equal(new HmacSha1(Buffer.alloc(80, 0xaa)).mac(long, 0, long.length).toString('hex'), 'aa4ae5e15272d00e95705637ce8a3b55ed402112');
});

test('equals createHmac over ranges, lengths past the scratch buffer, and a 32-bit trailer; calls do not disturb each other', () => {
  const rand = seededRandom(7);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  for (const keyLen of [0, 1, 20, 64, 65]) {
    const key = bytes(keyLen);
    const h = new HmacSha1(key);
    for (const n of [0, 1, 55, 56, 64, 1200, 1500, 1600, 9000, 100]) {
      const data = bytes(n + 7);
      const want = createHmac('sha1', key).update(data.subarray(3, 3 + n)).digest();
      assert.deepEqual(h.mac(data, 3, 3 + n), want, `key ${keyLen}, ${n} octets`);
      const roc = Math.floor(rand() * 2 ** 32);
      const word = Buffer.alloc(4);
      word.writeUInt32BE(roc);
      assert.deepEqual(h.mac(data, 3, 3 + n, roc), createHmac('sha1', key).update(data.subarray(3, 3 + n)).update(word).digest(), `key ${keyLen}, ${n} octets + ROC`);
    }
  }
});
