// What it costs a packet to reach a subscriber on another media worker (docs/workers.md) instead of one
// on the publisher's own worker. The publisher runs in a worker thread; its 1,100-byte VP8 packets go
// either to a Consumer in that same thread ("same worker") or through TrackRelay → ring → this thread's
// TrackRelay → relay-fed Producer → Consumer ("other worker"). CPU is the process's (all threads), per
// packet delivered; the difference is the crossing: the copy into the ring, the wake-up, and the far
// worker's producer bookkeeping (cache, receive stats, NACK tracking).
//   node --import tsx bench/worker-crossing.ts [--runs 5] [--packets 20000]
import { once } from 'node:events';
import { Consumer } from '../src/media/consumer.ts';
import { TrackRelay } from '../src/cascade/relay/track-relay.ts';
import type { TrackDesc } from '../src/cascade/relay/track-desc.ts';
import { WorkerRelayLink, linkWorkers } from '../src/transport/workers/worker-relay-link.ts';
import { Doorbell } from '../src/transport/workers/doorbell.ts';
import { workerStats } from '../src/metrics/registry.ts';
import { startWorker } from '../src/util/ts-worker.ts';
import { systemClock } from '../src/util/clock.ts';
import { createLogger } from '../src/util/logger.ts';
import { median } from './lib/stats.ts';
import { fmt, printTable } from './lib/table.ts';
import { writeResults } from './lib/results.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 5);
const PACKETS = arg('packets', 20000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Publisher pacing: bursts of 50 every millisecond (timers make that ≤ 50,000 packets a second: a loaded
 * worker, under what the far side reads), and 2,000 packets a second (bursts of 20 every 10 ms).
 */
const PACES = [
  { name: '≤50,000 pkt/s', burst: 50, everyMs: 1 },
  { name: '2,000 pkt/s', burst: 20, everyMs: 10 },
] as const;

interface Row {
  mode: 'same worker' | 'other worker';
  pace: string;
  cpuUsPerPacket: number[];
  pktPerWallS: number[];
  delivered: number[];
  ringDrops: number;
  wakeupsPerPacket: number[];
}

async function measure(mode: Row['mode'], pace: (typeof PACES)[number]): Promise<Row> {
  const log = createLogger('silent');
  const bell0 = new Doorbell().sab;
  const bell1 = new Doorbell().sab;
  const rings = linkWorkers(bell0, bell1, 2 << 20);
  const worker = startWorker(new URL('../test/testkit/worker-publisher.ts', import.meta.url), {
    workerData: { rings: rings.a, bell: bell0, localConsumer: mode === 'same worker' },
  });
  const ask = async <T>(m: object | null, reply: string): Promise<T> => {
    if (m !== null) worker.postMessage(m);
    for (;;) {
      const [r] = (await once(worker, 'message')) as [{ t: string } & T];
      if (r.t === reply) return r;
    }
  };
  const link = new WorkerRelayLink({ self: 'w1', bell: bell1, clock: systemClock, log });
  link.addPeer('w0', rings.b);
  const relay = new TrackRelay({ nodeId: 'w1', nodeNum: 2, endpoint: link, upstreamOf: (o) => o, clock: systemClock, log });
  link.setHandler(relay);
  link.start();
  let got = 0;
  const row: Row = { mode, pace: pace.name, cpuUsPerPacket: [], pktPerWallS: [], delivered: [], ringDrops: 0, wakeupsPerPacket: [] };
  try {
    const { desc } = await ask<{ desc: TrackDesc }>(null, 'desc');
    if (mode === 'other worker') {
      const producer = relay.relayedProducer(desc);
      let tseq = 0;
      const out = { connected: true, rttMs: -1, lossy: false, redWanted: false, nextTransportSeq: () => tseq++ & 0xffff, sendProbe: () => true, sendRtcp: () => true, sendRtp: () => (got++, true) };
      const c = new Consumer({ id: 'c', ssrc: 0xaaaa, rtxSsrc: 0xbbbb, payloadType: 96, rtxPayloadType: 97, ext: { transportCc: 3, absSendTime: 2, audioLevel: 0 } }, producer, out);
      producer.addSink(c);
      c.resume(systemClock.now());
      for (let k = 0; k < 200 && !(await ask<{ yes: boolean }>({ t: 'wanted' }, 'wanted')).yes; k++) await sleep(10);
    }
    const delivered = async () => (mode === 'same worker' ? (await ask<{ n: number }>({ t: 'localSent' }, 'localSent')).n : got);
    // Warm-up: the JIT of both threads.
    await ask({ t: 'send', n: 5000, burst: pace.burst, everyMs: pace.everyMs }, 'sent');
    await sleep(200);
    for (let r = 0; r < RUNS; r++) {
      const d0 = await delivered();
      const w0 = workerStats.wakeups;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await ask({ t: 'send', n: PACKETS, burst: pace.burst, everyMs: pace.everyMs }, 'sent');
      // What is still in the ring is read within a turn or two.
      for (let k = 0; k < 100 && (await delivered()) - d0 < PACKETS; k++) await sleep(2);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const n = (await delivered()) - d0;
      row.delivered.push(n);
      row.cpuUsPerPacket.push((cpu.user + cpu.system) / Math.max(1, n));
      row.pktPerWallS.push((n / wall) * 1000);
      row.wakeupsPerPacket.push((workerStats.wakeups - w0) / Math.max(1, n));
    }
    row.ringDrops = link.ringDropsFrom('w0');
  } finally {
    worker.postMessage({ t: 'close' });
    link.close();
    relay.close();
    await worker.terminate();
  }
  return row;
}

const rows: Row[] = [];
for (const pace of PACES) for (const mode of ['same worker', 'other worker'] as const) rows.push(await measure(mode, pace));

printTable(
  `worker-crossing: ${PACKETS} VP8 packets of 1,100 bytes a run, medians of ${RUNS} runs (process CPU, all threads)`,
  ['pace', 'subscriber on', 'CPU µs/pkt', 'pkt/wall-s', 'delivered', 'wake-ups/pkt', 'ring drops'],
  rows.map((r) => [r.pace, r.mode, fmt(median(r.cpuUsPerPacket), 2), fmt(median(r.pktPerWallS)), fmt(median(r.delivered)), fmt(median(r.wakeupsPerPacket), 3), r.ringDrops]),
);
for (const pace of PACES) {
  const same = rows.find((r) => r.pace === pace.name && r.mode === 'same worker')!;
  const other = rows.find((r) => r.pace === pace.name && r.mode === 'other worker')!;
  console.log(`${pace.name}: a crossing adds ${fmt(median(other.cpuUsPerPacket) - median(same.cpuUsPerPacket), 2)} CPU µs per packet`);
}
console.log(writeResults('worker-crossing', { runs: RUNS, packets: PACKETS, rows }));
