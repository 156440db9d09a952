import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpscRing } from './spsc-ring.ts';
import { Doorbell } from './doorbell.ts';
import { startWorker } from '../../util/ts-worker.ts';
import { youngBytesAllocated } from '../../rtp/test-alloc.ts';

function payload(n: number, fill: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (fill + i) & 0xff;
  return b;
}

test('records come out in order with their tag, words and bytes, across many wrap-arounds', () => {
  const ring = new SpscRing(1024);
  let expectRead = 0;
  let written = 0;
  const check = (tag: number, a: number, b: number, buf: Buffer, off: number, len: number) => {
    const i = expectRead++;
    assert.equal(tag, i % 3);
    assert.equal(a, (i * 7919) >>> 0);
    assert.equal(b, 0xffff_fff0 - i, 'a word above 2^31 comes back unsigned');
    assert.equal(len, 1 + ((i * 37) % 300), 'exact length, not the padded one');
    assert.ok(buf.subarray(off, off + len).equals(payload(len, i)), `payload of record ${i}`);
  };
  // Lengths that do not divide the capacity: records land at every offset and wrap often.
  for (let round = 0; round < 400; round++) {
    for (let k = 0; k < 2; k++) {
      const i = written;
      const len = 1 + ((i * 37) % 300);
      assert.ok(ring.write(i % 3, (i * 7919) >>> 0, 0xffff_fff0 - i, payload(len, i), 0, len), `record ${i} fits`);
      written++;
    }
    ring.drain(check);
  }
  assert.equal(expectRead, 800);
  assert.equal(ring.drops, 0);
  assert.ok(ring.isEmpty());
});

test('a sub-range of a larger buffer is what crosses', () => {
  const ring = new SpscRing(256);
  const big = payload(100, 0);
  ring.write(1, 2, 3, big, 10, 20);
  let got: Buffer | null = null;
  ring.drain((_t, _a, _b, buf, off, len) => (got = Buffer.from(buf.subarray(off, off + len))));
  assert.ok(got !== null && (got as Buffer).equals(big.subarray(10, 30)));
});

test('a full ring refuses the record and counts it; the reader loses nothing already written', () => {
  const ring = new SpscRing(256);
  const p = payload(48, 1); // 64 bytes a record: four fill the ring
  let ok = 0;
  for (let i = 0; i < 6; i++) if (ring.write(0, i, 0, p, 0, p.length)) ok++;
  assert.equal(ok, 4);
  assert.equal(ring.drops, 2);
  const seen: number[] = [];
  ring.drain((_t, a) => void seen.push(a));
  assert.deepEqual(seen, [0, 1, 2, 3]);
  // Space is back once read; a record too large for any ring is refused and counted too.
  assert.ok(ring.write(0, 9, 0, p, 0, p.length));
  assert.equal(ring.write(0, 9, 0, payload(200, 0), 0, 200), false);
  assert.equal(ring.drops, 3);
});

test('a record that does not fit before the end wraps whole to the start (never split)', () => {
  const ring = new SpscRing(256);
  const p = payload(80, 3); // 96 bytes a record
  assert.ok(ring.write(0, 0, 0, p, 0, 80));
  assert.ok(ring.write(0, 1, 0, p, 0, 80));
  ring.drain(() => {});
  // 192 written, 64 left before the end: the next goes to offset 0 (the 64 bytes are padding).
  assert.ok(ring.write(0, 2, 0, p, 0, 80));
  assert.equal(ring.used, 64 + 96);
  let n = 0;
  ring.drain((_t, a, _b, buf, off, len) => {
    n++;
    assert.equal(a, 2);
    assert.equal(off, 16, 'the record starts at the beginning of the data');
    assert.ok(buf.subarray(off, off + len).equals(p));
  });
  assert.equal(n, 1);
});

test('writing and draining allocate nothing per record', () => {
  const ring = new SpscRing(1 << 16);
  const p = payload(1200, 5);
  let sum = 0;
  const onRecord = (_t: number, a: number, _b: number, _buf: Buffer, _o: number, len: number) => {
    sum += a + len;
  };
  const bytes = youngBytesAllocated(() => {
    for (let i = 0; i < 1000; i++) {
      ring.write(1, i, 0, p, 0, p.length);
      if ((i & 15) === 15) ring.drain(onRecord);
    }
    ring.drain(onRecord);
  });
  assert.ok(sum > 0);
  // A fixed ~2 KB per measured run is the harness; one object per record would be ≥ 16 KB.
  assert.ok(bytes < 4000, `${bytes} bytes allocated for 1,000 records`);
});

test('another thread writes, this one reads: order and contents hold, the doorbell wakes the reader', async () => {
  const ring = new SpscRing(1 << 12); // small: the writer outruns the reader and wraps constantly
  const bell = new Doorbell();
  const total = 20_000;
  const worker = startWorker(new URL('./spsc-ring.test-writer.ts', import.meta.url), {
    workerData: { ring: ring.sab, bell: bell.sab, total },
  });
  const exited = new Promise<number>((r) => worker.once('exit', r));
  let next = 0;
  let bad = 0;
  const onRecord = (tag: number, a: number, _b: number, buf: Buffer, off: number, len: number) => {
    if (tag !== 7 || len !== 1 + (a % 200) || buf[off] !== (a & 0xff) || buf[off + len - 1] !== ((a + len - 1) & 0xff)) bad++;
    if (a !== next) bad++;
    next = a + 1;
  };
  let writerDone = false;
  void exited.then(() => (writerDone = true));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    ring.drain(onRecord);
    if (next >= total || (writerDone && ring.isEmpty())) break;
    const seq = bell.prepareSleep();
    if (!ring.isEmpty()) {
      bell.cancelSleep();
      continue;
    }
    await bell.wait(seq, 50);
  }
  await exited;
  ring.drain(onRecord);
  assert.equal(bad, 0, 'every record in order and intact');
  // The writer retries a refused record, so all arrive; how often it found the ring full is reported.
  assert.equal(next, total);
});
