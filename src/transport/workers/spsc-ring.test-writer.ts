// The writer thread of spsc-ring.test.ts: numbered records of varying length, retried while the ring is full.
import { workerData } from 'node:worker_threads';
import { SpscRing } from './spsc-ring.ts';
import { Doorbell } from './doorbell.ts';

const { ring: sab, bell: bellSab, total } = workerData as { ring: SharedArrayBuffer; bell: SharedArrayBuffer; total: number };
const ring = new SpscRing(sab);
const bell = new Doorbell(bellSab);
const buf = Buffer.alloc(256);
const spin = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0; i < total; i++) {
  const len = 1 + (i % 200);
  for (let k = 0; k < len; k++) buf[k] = (i + k) & 0xff;
  while (!ring.write(7, i, 0, buf, 0, len)) {
    bell.ring();
    Atomics.wait(spin, 0, 0, 1); // the reader is behind: give it a millisecond
  }
  bell.ring();
}
