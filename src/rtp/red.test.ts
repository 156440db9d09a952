import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedEncoder, parseRed } from './red.ts';

const payload = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('RFC 2198 RED encoder', () => {
  it('carries the previous payloads oldest first, with their timestamp offsets, then the primary', () => {
    const red = new RedEncoder();
    const out = Buffer.alloc(1500);
    const n1 = red.write(out, 0, payload(60, 1), 0, 60, 960, 111, 2);
    assert.deepEqual(parseRed(out.subarray(0, n1))!.map((b) => [b.pt, b.tsOffset, b.data.length, b.data[0]]), [[111, 0, 60, 1]], 'the first packet: primary only');
    red.write(out, 0, payload(70, 2), 0, 70, 1920, 111, 2);
    const n3 = red.write(out, 100, payload(80, 3), 0, 80, 2880, 111, 2);
    const blocks = parseRed(out.subarray(100, 100 + n3))!;
    assert.deepEqual(blocks.map((b) => [b.pt, b.tsOffset, b.data.length, b.data[0]]), [
      [111, 1920, 60, 1],
      [111, 960, 70, 2],
      [111, 0, 80, 3],
    ]);
    assert.equal(n3, 4 + 4 + 1 + 60 + 70 + 80);
  });

  it('distance 1 carries one block; remember() keeps history while RED is off', () => {
    const red = new RedEncoder();
    const out = Buffer.alloc(1500);
    red.remember(payload(50, 7), 0, 50, 100);
    const n = red.write(out, 0, payload(40, 8), 0, 40, 1060, 63 & 0x7f, 1);
    assert.deepEqual(parseRed(out.subarray(0, n))!.map((b) => [b.tsOffset, b.data.length]), [
      [960, 50],
      [0, 40],
    ]);
  });

  it('leaves out blocks too old (14-bit offset) or too long (10-bit length), and nothing after a reset', () => {
    const red = new RedEncoder();
    const out = Buffer.alloc(3000);
    red.remember(payload(1100, 1), 0, 1100, 0);
    red.remember(payload(30, 2), 0, 30, 100);
    let n = red.write(out, 0, payload(20, 3), 0, 20, 100 + 0x4000, 111, 2);
    assert.deepEqual(parseRed(out.subarray(0, n))!.map((b) => b.data.length), [20], 'too long and too old both left out');
    red.reset();
    n = red.write(out, 0, payload(20, 4), 0, 20, 200_000, 111, 2);
    assert.equal(parseRed(out.subarray(0, n))!.length, 1);
    // Timestamps wrap at 2^32.
    const w = new RedEncoder();
    w.remember(payload(10, 5), 0, 10, 0xffffff00);
    n = w.write(out, 0, payload(10, 6), 0, 10, 0x000002c0, 111, 1);
    assert.deepEqual(parseRed(out.subarray(0, n))!.map((b) => b.tsOffset), [0x3c0, 0]);
  });

  it('refuses truncated payloads when parsing', () => {
    assert.equal(parseRed(Buffer.from([0x80 | 111, 0, 4])), null);
    assert.equal(parseRed(Buffer.from([0x80 | 111, 0, 4, 50, 111])), null);
    assert.equal(parseRed(Buffer.alloc(0)), null);
  });
});
