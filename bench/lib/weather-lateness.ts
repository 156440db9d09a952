/**
 * What a weather proxy (tools/weather) adds beyond the delay it is set to: its delivery timer fires late
 * (libuv timers have 1 ms granularity and wait for the event loop). Two ways to see it:
 * - `calibrateProxy`: a WeatherProxy with delay X between two plain UDP sockets, nothing else running;
 *   one-way time minus X, against the same sockets without a proxy.
 * - `watchLateness`: on proxies already in use (a test cluster's relay links), each datagram's time in the
 *   proxy's `up` weather (push → delivery) minus the configured delay, without touching the proxy's code:
 *   the instance's `push` is wrapped and `onDeliver` set.
 */
import { createSocket, type Socket } from 'node:dgram';
import { WeatherProxy } from '../../tools/weather/udp-proxy.ts';
import { median, percentile } from './stats.ts';

export interface DelaySummary {
  n: number;
  median: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(xs: readonly number[]): DelaySummary {
  return { n: xs.length, median: median(xs), p95: percentile(xs, 95), p99: percentile(xs, 99), max: xs.length ? Math.max(...xs) : NaN };
}

const bind = (s: Socket) => new Promise<number>((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
const closeSocket = (s: Socket) => new Promise<void>((resolve) => s.close(() => resolve()));

/**
 * One-way times (ms) of `packets` 200-byte datagrams sent every `everyMs` from one socket to another,
 * through a WeatherProxy set to `delayMs` (or directly with `delayMs: null`), minus the configured delay.
 */
export async function calibrateProxy(delayMs: number | null, packets = 200, everyMs = 10): Promise<number[]> {
  const rx = createSocket('udp4');
  const tx = createSocket('udp4');
  const rxPort = await bind(rx);
  await bind(tx);
  let proxy: WeatherProxy | null = null;
  let port = rxPort;
  if (delayMs !== null) {
    proxy = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: rxPort }, up: { delayMs } });
    await proxy.start();
    port = proxy.port;
  }
  const out: number[] = [];
  rx.on('message', (m) => out.push(performance.now() - m.readDoubleBE(0) - (delayMs ?? 0)));
  const buf = Buffer.alloc(200);
  for (let i = 0; i < packets; i++) {
    buf.writeDoubleBE(performance.now(), 0);
    tx.send(buf, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await new Promise((r) => setTimeout(r, (delayMs ?? 0) + 100));
  await proxy?.close();
  await Promise.all([closeSocket(rx), closeSocket(tx)]);
  return out;
}

export interface LatenessWatch {
  /** Start (or restart) collecting: samples before this are dropped. */
  start(): void;
  /** Per watched link, the lateness samples (ms) since start(). */
  samples(): Map<string, number[]>;
}

/** Watch the `up` direction of each proxy (keyed by a link name) for lateness beyond its configured delay. */
export function watchLateness(proxies: ReadonlyMap<string, WeatherProxy>): LatenessWatch {
  const pushedAt = new WeakMap<Buffer, number>();
  const out = new Map<string, number[]>();
  let on = false;
  for (const [name, p] of proxies) {
    const list: number[] = [];
    out.set(name, list);
    const up = p.up;
    const push = up.push.bind(up);
    up.push = (datagram, deliver) => {
      if (on) pushedAt.set(datagram, performance.now());
      push(datagram, deliver);
    };
    up.onDeliver = (datagram, atMs) => {
      const t = pushedAt.get(datagram);
      if (t === undefined) return;
      pushedAt.delete(datagram);
      // atMs is the proxy clock's now() at delivery (systemClock: performance.now()).
      if (on) list.push(atMs - t - up.config.delayMs);
    };
  }
  return {
    start() {
      on = true;
      for (const l of out.values()) l.length = 0;
    },
    samples: () => out,
  };
}
