import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketCache, type CachedPacket } from './packet-cache.ts';

/** A packet whose bytes encode its seq and length, so a wrong slot is detectable. */
function packet(seq: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (seq * 31 + i) & 0xff;
  if (length >= 2) b.writeUInt16BE(seq, 0);
  return b;
}

function assertHolds(c: PacketCache, seq: number, length: number): void {
  const got = c.get(seq);
  assert.ok(got, `seq ${seq} should be cached`);
  assert.equal(got.length, length);
  assert.deepEqual(got.buf.subarray(0, got.length), packet(seq, length));
}

test('put/get round trip copies the bytes (later changes to the source do not leak in)', () => {
  const c = new PacketCache(8);
  const p = packet(42, 100);
  assert.equal(c.put(42, p, 100), true);
  p.fill(0);
  assertHolds(c, 42, 100);
  assert.equal(c.get(43), null);
  assert.equal(c.get(42 + 8), null);
});

test('only the exact seq hits: slot reuse, and seqs 65536 apart', () => {
  const c = new PacketCache(16);
  for (let s = 0; s < 70000; s++) c.put(s & 0xffff, packet(s & 0xffff, 20), 20);
  // Highest ext 69999 → seq 4463. The last 16 are present, earlier ones (and their aliases) not.
  for (let back = 0; back < 16; back++) assertHolds(c, (69999 - back) & 0xffff, 20);
  for (let back = 16; back < 100; back++) assert.equal(c.get((69999 - back) & 0xffff), null, `back ${back}`);
  // 65536 behind the newest has the same 16-bit seq as the newest; must return the newest.
  assertHolds(c, 4463, 20);
});

test('sweep across the wrap with reordering: late packets fill their own slot, never a newer one', () => {
  for (let start = 65000; start < 65536; start += 17) {
    const c = new PacketCache(64);
    const n = 300;
    for (let i = 0; i < n; i += 2) {
      // Pairs arrive swapped: i+1 before i.
      const a = (start + i + 1) & 0xffff;
      const b = (start + i) & 0xffff;
      assert.equal(c.put(a, packet(a, 50 + (i % 7)), 50 + (i % 7)), true);
      assert.equal(c.put(b, packet(b, 40), 40), true);
    }
    for (let i = n - 64; i < n; i++) {
      const s = (start + i) & 0xffff;
      assertHolds(c, s, i % 2 === 0 ? 40 : 50 + ((i - 1) % 7));
    }
    // A very late packet whose slot already holds a newer one is refused.
    const stale = (start + n - 64 - 1) & 0xffff;
    assert.equal(c.put(stale, packet(stale, 10), 10), false);
    assert.equal(c.get(stale), null);
    assertHolds(c, (start + n - 1) & 0xffff, 50 + ((n - 2) % 7));
  }
});

test('too large packets are refused; full-size ones fit', () => {
  const c = new PacketCache(4, 1500);
  assert.equal(c.put(1, Buffer.alloc(1501), 1501), false);
  assert.equal(c.get(1), null);
  assert.equal(c.put(1, packet(1, 1500), 1500), true);
  assertHolds(c, 1, 1500);
  assert.equal(c.put(2, Buffer.alloc(10), 11), false, 'length beyond the buffer');
  assert.equal(c.put(2, Buffer.alloc(10), 6, 5), false, 'offset + length beyond the buffer');
});

test('put from an offset copies exactly that range', () => {
  const c = new PacketCache(4);
  const frame = Buffer.concat([Buffer.from([0xee, 0xee, 0xee]), packet(9, 40), Buffer.from([0xdd])]);
  assert.equal(c.put(9, frame, 40, 3), true);
  assertHolds(c, 9, 40);
});

test('caller-provided out object, reuse of the internal view, clear()', () => {
  const c = new PacketCache(4);
  c.put(7, packet(7, 30), 30);
  c.put(8, packet(8, 31), 31);
  const out: CachedPacket = { buf: Buffer.alloc(0), length: 0 };
  assert.equal(c.get(7, out), out);
  assert.equal(out.length, 30);
  const v1 = c.get(7);
  const v2 = c.get(8);
  assert.equal(v1, v2, 'internal result object is reused');
  assert.equal(v2!.length, 31);
  c.clear();
  assert.equal(c.get(7), null);
  assert.equal(c.get(8), null);
});

test('slot count must be a power of two', () => {
  for (const bad of [0, 3, 500, 65536]) assert.throws(() => new PacketCache(bad), RangeError, String(bad));
  for (const good of [1, 2, 512, 1024]) assert.equal(new PacketCache(good, 16).slotCount, good);
});
