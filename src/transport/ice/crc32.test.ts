import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from './crc32.ts';

test('crc32 matches the CRC-32/ISO-HDLC reference values', () => {
  const cases: Array<[string, number]> = [
    ['', 0x00000000],
    ['123456789', 0xcbf43926], // the catalogue "check" value
    ['a', 0xe8b7be43],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ];
  for (const [input, want] of cases) assert.equal(crc32(Buffer.from(input)), want, JSON.stringify(input));
});

test('crc32 honours the [start, end) range', () => {
  const b = Buffer.from('xx123456789yy');
  assert.equal(crc32(b, 2, 11), 0xcbf43926);
  assert.notEqual(crc32(b), 0xcbf43926);
});
