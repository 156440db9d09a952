// The media workers of one node (docs/workers.md): one UDP port each, placement by measured busy time,
// a forced placement for tests, a dead worker reported alone, counters summed into the process's view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { WorkerPool } from '../../src/server/workers/worker-pool.ts';
import { dropCount, dropCounts } from '../../src/metrics/drop-reasons.ts';
import { createLogger } from '../../src/util/logger.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pool(extra: { forcePlacement?: number[] } = {}) {
  return WorkerPool.start({
    workers: 2,
    bindIp: '127.0.0.1',
    port: 0,
    announcedIp: '127.0.0.1',
    publishDtlsRole: 'client',
    logLevel: 'silent',
    log: createLogger('silent'),
    statsEveryMs: 50,
    loadWindowMs: 100,
    ...extra,
  });
}

test('each worker has its own UDP port; new transports go to the least busy worker, or where a test forces them', async () => {
  const p = await pool({ forcePlacement: [0, 0] });
  try {
    assert.equal(p.size, 2);
    const [a, b] = p.ports;
    assert.ok(a! > 0 && b! > 0 && a !== b, `ports ${p.ports}`);
    assert.equal(p.place(), 0);
    assert.equal(p.place(), 0, 'forced, whatever the load');
    // Worker 0 works for 400 ms: measured busy, the next transports go to worker 1.
    await sleep(120);
    p.loads();
    await p.busy(0, 400);
    await sleep(120);
    const loads = p.loads();
    assert.ok(loads[0]! > loads[1]!, `loads ${loads.map((l) => l.toFixed(2))}`);
    assert.equal(p.place(), 1);
    // Then 1 works while 0 idles: placement follows the measurement, not the count placed.
    await sleep(120);
    p.loads();
    await p.busy(1, 400);
    await sleep(120);
    assert.equal(p.place(), 0);
  } finally {
    await p.close();
  }
});

test("a worker's drops reach the process's counters", async () => {
  const p = await pool();
  try {
    const before = dropCounts().find(([r]) => r === 'unknown_remote_address')![1];
    const local = dropCount('unknown_remote_address');
    const s = createSocket('udp4');
    // From an address no transport of worker 1 validated: dropped by its mux.
    for (let i = 0; i < 5; i++) s.send(Buffer.from([70, 1, 2, 3]), p.ports[1]!, '127.0.0.1');
    let seen = 0;
    for (let k = 0; k < 40 && seen < 5; k++) {
      await sleep(50);
      seen = dropCounts().find(([r]) => r === 'unknown_remote_address')![1] - before;
    }
    s.close();
    assert.equal(seen, 5, 'summed from the worker');
    assert.equal(dropCount('unknown_remote_address'), local, 'not dropped on the main thread');
  } finally {
    await p.close();
  }
});

test('a worker that dies is reported alone; placement avoids it; the other keeps running', async () => {
  const p = await pool();
  try {
    const died = new Promise<number>((r) => (p.onWorkerDied = (i) => r(i)));
    p.crash(1);
    assert.equal(await died, 1);
    assert.equal(p.isAlive(1), false);
    assert.equal(p.isAlive(0), true);
    for (let i = 0; i < 3; i++) assert.equal(p.place(), 0);
    await p.busy(0, 1); // worker 0 still answers
  } finally {
    await p.close();
  }
});
