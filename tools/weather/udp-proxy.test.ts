import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { systemClock } from '../../src/util/clock.ts';
import { Timeline, parseTimeline } from './timeline.ts';
import { WeatherProxy } from './udp-proxy.ts';
import type { WeatherProxyOptions } from './udp-proxy.ts';

function bind(sock: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve(sock.address().port));
  });
}

/** Resolve when `done()` holds; real UDP needs real time, so poll briefly (fails after `ms`). */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('WeatherProxy (real UDP on loopback)', () => {
  const sockets: Socket[] = [];
  after(() => {
    for (const s of sockets) s.close();
  });

  test('5% loss and 20 ms delay each way: counts add up and replies reach the client that asked', async (t) => {
    // Echo server: replies to each datagram with the same bytes, and records source ports.
    const echo = createSocket('udp4');
    sockets.push(echo);
    const echoSources = new Set<number>();
    let echoed = 0;
    echo.on('message', (msg, rinfo) => {
      echoed++;
      echoSources.add(rinfo.port);
      echo.send(msg, rinfo.port, rinfo.address);
    });
    const echoPort = await bind(echo);

    const proxy = new WeatherProxy({
      listenPort: 0,
      target: { address: '127.0.0.1', port: echoPort },
      up: { delayMs: 20, loss: 0.05 },
      down: { delayMs: 20 },
      seed: 11,
    });
    t.after(() => proxy.close());
    await proxy.start();
    assert.ok(proxy.port > 0);

    const PER_CLIENT = 200;
    const clients = ['A', 'B'].map((name) => {
      const sock = createSocket('udp4');
      sockets.push(sock);
      const replies: Array<{ tag: string; rtt: number }> = [];
      sock.on('message', (msg) => {
        const tag = msg.toString('utf8', 0, 1);
        const sentAt = msg.readDoubleBE(1);
        replies.push({ tag, rtt: performance.now() - sentAt });
      });
      return { name, sock, replies };
    });
    for (const c of clients) await bind(c.sock);

    // Sent in batches, each waited out to its last reply: the test's own sockets (default kernel buffers,
    // about 256 small datagrams) must never see a burst they could overflow, even on a loaded machine.
    const total = PER_CLIENT * clients.length;
    const BATCH = 20;
    const replies = () => clients.reduce((s, c) => s + c.replies.length, 0);
    for (let i = 0; i < PER_CLIENT; i++) {
      for (const c of clients) {
        const msg = Buffer.alloc(16);
        msg.write(c.name, 0, 'utf8');
        msg.writeDoubleBE(performance.now(), 1);
        msg.writeUInt32BE(i, 9);
        c.sock.send(msg, proxy.port, '127.0.0.1');
      }
      if ((i + 1) % BATCH === 0 || i + 1 === PER_CLIENT) {
        const sent = (i + 1) * clients.length;
        await until(
          () => {
            const st = proxy.stats();
            return (
              st.up.received === sent &&
              proxy.up.pending === 0 &&
              proxy.down.pending === 0 &&
              echoed === st.up.delivered &&
              st.down.received === echoed &&
              replies() === st.down.delivered
            );
          },
          5000,
          `the round trips of the first ${sent} datagrams`,
        );
      }
    }

    const st = proxy.stats();
    assert.equal(st.clients, 2);
    assert.equal(st.up.received, total);
    assert.equal(st.up.delivered + st.up.lost_random, total);
    // 5% of 400 = 20 expected; with the fixed seed the count is fixed, this bound only guards the model.
    assert.ok(st.up.lost_random >= 8 && st.up.lost_random <= 35, `lost ${st.up.lost_random}`);
    assert.equal(st.down.received, st.up.delivered, 'the echo answered everything that reached it');
    assert.equal(st.down.lost_random, 0);
    assert.equal(st.down.delivered, st.down.received);
    assert.equal(st.foreign, 0);

    // The target saw one source port per client, none of them a client's own port.
    assert.equal(echoSources.size, 2);
    for (const c of clients) assert.ok(!echoSources.has(c.sock.address().port));

    // Each client got only its own replies; both got most of theirs; each took ≥ 40 ms (20 ms each way).
    for (const c of clients) {
      assert.ok(c.replies.length > PER_CLIENT * 0.8, `${c.name} got ${c.replies.length}`);
      assert.ok(c.replies.every((r) => r.tag === c.name), `${c.name} received another client's reply`);
      assert.ok(Math.min(...c.replies.map((r) => r.rtt)) >= 39, `${c.name} rtt too short`);
    }

    await proxy.close();
    await proxy.close(); // idempotent
    // After close nothing is forwarded.
    const before = echoed;
    clients[0].sock.send(Buffer.from('A-late'), proxy.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(echoed, before);
  });

  test('a client’s own link: its loss and delay touch only it, and losses are reported with the datagram', async (t) => {
    const echo = createSocket('udp4');
    sockets.push(echo);
    const sourceOf = new Map<string, number>();
    echo.on('message', (msg, rinfo) => {
      sourceOf.set(msg.toString('utf8', 0, 1), rinfo.port);
      echo.send(msg, rinfo.port, rinfo.address);
    });
    const echoPort = await bind(echo);
    const proxy = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: echoPort }, seed: 5 });
    t.after(() => proxy.close());
    await proxy.start();
    assert.equal(proxy.linkOf(1), null, 'no such client');
    const got = { A: [] as number[], B: [] as number[] };
    const socks = { A: createSocket('udp4'), B: createSocket('udp4') };
    for (const [name, s] of Object.entries(socks)) {
      sockets.push(s);
      s.on('message', (m) => got[name as 'A' | 'B'].push(performance.now() - m.readDoubleBE(1)));
      await bind(s);
    }
    const ping = (name: 'A' | 'B') => {
      const m = Buffer.alloc(9);
      m.write(name, 0, 'utf8');
      m.writeDoubleBE(performance.now(), 1);
      socks[name].send(m, proxy.port, '127.0.0.1');
    };
    ping('A');
    ping('B');
    await until(() => got.A.length === 1 && got.B.length === 1, 2000, 'the first round trips');
    // B's own link: 30 ms down, half of what comes back lost.
    const link = proxy.linkOf(sourceOf.get('B')!);
    assert.ok(link);
    assert.equal(link.client.port, socks.B.address().port);
    link.down.setConfig({ delayMs: 30, loss: 0.5 });
    const lost: string[] = [];
    link.down.onLoss = (d, reason) => lost.push(`${d.toString('utf8', 0, 1)}:${reason}`);
    for (let i = 0; i < 40; i++) {
      ping('A');
      ping('B');
      await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => got.A.length === 41 && got.B.length + lost.length === 41, 3000, 'every reply delivered or reported lost');
    assert.ok(lost.length >= 8 && lost.length <= 32, `B lost about half (${lost.length})`);
    assert.ok(lost.every((x) => x === 'B:lost_random'));
    assert.ok(Math.min(...got.B.slice(1)) >= 29, 'B’s replies take its link’s 30 ms');
    assert.ok(Math.max(...got.A.slice(1)) < 25, 'A is untouched');
    assert.equal(proxy.stats().down.lost_random, 0, 'the shared weather is clear');
  });

  test('start() fails cleanly on a port in use', async () => {
    const holder = createSocket('udp4');
    sockets.push(holder);
    const port = await bind(holder);
    const proxy = new WeatherProxy({ listenPort: port, target: { address: '127.0.0.1', port: 9 } });
    await assert.rejects(proxy.start(), /EADDRINUSE/);
    await proxy.close();
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Send `n` datagrams at `pps` (catching up after a late timer, so the offered rate holds on average); each
 * carries its index and send time. Returns the time taken (ms).
 */
async function paced(sock: Socket, port: number, n: number, pps: number, size: number): Promise<number> {
  const t0 = performance.now();
  let i = 0;
  while (i < n) {
    const due = Math.min(n, Math.floor(((performance.now() - t0) * pps) / 1000) + 1);
    for (; i < due; i++) {
      const msg = Buffer.alloc(size);
      msg.writeUInt32BE(i, 0);
      msg.writeDoubleBE(performance.now(), 4);
      sock.send(msg, port, '127.0.0.1');
    }
    if (i < n) await sleep(1);
  }
  return performance.now() - t0;
}

interface Arrival {
  seq: number;
  sentAt: number;
  at: number;
  bytes: number;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/**
 * A sender → proxy → sink path on loopback; when `echo`, the sink stamps its send time at byte 12 and
 * returns each datagram, so the down direction is measured too.
 */
async function rig(t: { after: (fn: () => unknown) => void }, opts: Omit<WeatherProxyOptions, 'listenPort' | 'target'>, echo = false) {
  const sink = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  const client = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  const atSink: Arrival[] = [];
  const atClient: Arrival[] = [];
  sink.on('message', (msg, rinfo) => {
    atSink.push({ seq: msg.readUInt32BE(0), sentAt: msg.readDoubleBE(4), at: performance.now(), bytes: msg.length });
    if (echo) {
      msg.writeDoubleBE(performance.now(), 12);
      sink.send(msg, rinfo.port, rinfo.address);
    }
  });
  client.on('message', (msg) => atClient.push({ seq: msg.readUInt32BE(0), sentAt: msg.readDoubleBE(12), at: performance.now(), bytes: msg.length }));
  const sinkPort = await bind(sink);
  await bind(client);
  const proxy = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: sinkPort }, ...opts });
  await proxy.start();
  t.after(async () => {
    await proxy.close();
    sink.close();
    client.close();
  });
  /** Wait until the proxy has read all `sent` datagrams, nothing is in flight and every delivered one was read. */
  const drained = (sent: number) =>
    until(
      () => proxy.up.counters.received === sent && proxy.up.pending === 0 && proxy.down.pending === 0 && atSink.length === proxy.up.counters.delivered && atClient.length === proxy.down.counters.delivered,
      5000,
      'the proxy to drain',
    );
  return { proxy, client, atSink, atClient, drained };
}

describe('WeatherProxy measured on the real clock', () => {
  test('40 ms up / 25 ms down with 10% loss each way over 3 s: measured delay and loss match', async (t) => {
    const { proxy, client, atSink, atClient, drained } = await rig(t, { up: { delayMs: 40, loss: 0.1 }, down: { delayMs: 25, loss: 0.1 }, seed: 21 }, true);
    const N = 1200; // 400 datagrams a second for 3 s
    await paced(client, proxy.port, N, 400, 64);
    await drained(N);
    const st = proxy.stats();

    // The sockets lost nothing on their own: what the weather passed is what arrived.
    assert.equal(st.up.received, N);
    assert.equal(atSink.length, st.up.delivered);
    assert.equal(st.down.received, atSink.length);
    assert.equal(atClient.length, st.down.delivered);

    // Loss measured at the receivers. Binomial sd at n ≈ 1200, p = 0.1 is 0.9 points: ±3 points is > 3 sd.
    const upLoss = 1 - atSink.length / N;
    const downLoss = 1 - atClient.length / atSink.length;
    const med = (xs: Arrival[]) => quantile(xs.map((a) => a.at - a.sentAt), 0.5).toFixed(2);
    t.diagnostic(`loss up ${(upLoss * 100).toFixed(1)}% down ${(downLoss * 100).toFixed(1)}%; median delay up ${med(atSink)} ms down ${med(atClient)} ms`);
    assert.ok(Math.abs(upLoss - 0.1) < 0.03, `up loss ${upLoss}`);
    assert.ok(Math.abs(downLoss - 0.1) < 0.03, `down loss ${downLoss}`);
    // The directions draw from different random streams: with loss only, each push takes one draw, so the
    // same stream would drop the same push positions (the k-th datagram up, the k-th echoed down).
    const upSeqs = new Set(atSink.map((a) => a.seq));
    const downSeqs = new Set(atClient.map((a) => a.seq));
    const upPattern = Array.from({ length: atSink.length }, (_, k) => upSeqs.has(k));
    const downPattern = atSink.map((a) => downSeqs.has(a.seq));
    assert.notDeepEqual(downPattern, upPattern, 'down drops are not a copy of up drops');

    // One-way delays: never early; the median is the configured delay plus event-loop latency.
    for (const [name, arrivals, want] of [
      ['up', atSink, 40],
      ['down', atClient, 25],
    ] as const) {
      const d = arrivals.map((a) => a.at - a.sentAt);
      const med = quantile(d, 0.5);
      assert.ok(Math.min(...d) >= want - 0.01, `${name} min delay ${Math.min(...d)} < ${want}`);
      assert.ok(med <= want + 5, `${name} median delay ${med} (want ${want} + ≤ 5 ms)`);
      assert.ok(quantile(d, 0.95) <= want + 35, `${name} p95 delay ${quantile(d, 0.95)}`); // timers on 2 busy cores: the median is the precise check
    }
  });

  test('300 kbit/s cap with 1 Mbit/s offered for 3 s: measured throughput matches, overflow counted, delay bounded by the queue', async (t) => {
    const queueBytes = 30_000; // 800 ms at 300 kbit/s
    const { proxy, client, atSink, drained } = await rig(t, { up: { rateKbps: 300, queueBytes } });
    const N = 375; // 1000-byte datagrams, 125 a second = 1 Mbit/s, for 3 s
    const took = await paced(client, proxy.port, N, 125, 1000);
    const offered = (N * 1000 * 8) / took;
    assert.ok(offered > 900, `offered ${offered} kbit/s`);
    await drained(N);
    const st = proxy.stats();
    assert.equal(atSink.length, st.up.delivered);
    assert.equal(st.up.delivered + st.up.queue_overflow, N);

    // The link is busy from the first arrival to the last: bytes after the first over that span.
    const first = atSink[0];
    const last = atSink[atSink.length - 1];
    const kbps = ((atSink.length - 1) * 1000 * 8) / (last.at - first.at);
    const d = atSink.map((a) => a.at - a.sentAt);
    t.diagnostic(`offered ${offered.toFixed(0)} kbit/s, delivered ${kbps.toFixed(1)} kbit/s, overflow ${st.up.queue_overflow}/${N}, max delay ${Math.max(...d).toFixed(1)} ms`);
    assert.ok(Math.abs(kbps - 300) < 300 * 0.05, `throughput ${kbps} kbit/s`);
    // What the link carried while offered, plus the full queue it drained after, got through; the rest
    // overflowed (within 8 datagrams, about 200 ms of link time).
    const expectedOverflow = N - ((took * 300) / 8 + queueBytes) / 1000;
    assert.ok(Math.abs(st.up.queue_overflow - expectedOverflow) <= 8, `overflow ${st.up.queue_overflow}, expected about ${expectedOverflow.toFixed(0)}`);
    // A full 30 KB queue at 300 kbit/s is 800 ms of delay, never more (plus event-loop latency).
    assert.ok(Math.max(...d) <= 800 + 50, `max delay ${Math.max(...d)}`);
    assert.ok(Math.max(...d) >= 700, `the queue filled: max delay ${Math.max(...d)}`);
  });

  test('a scripted timeline switches the weather on time', async (t) => {
    const { proxy, client, atSink, drained } = await rig(t, {});
    const script = parseTimeline({
      steps: [
        { at: 0, up: { delayMs: 10 } },
        { at: 1, up: { delayMs: 150 } },
        { at: 2, up: { loss: 1 } },
        { at: 2.5, clear: true },
      ],
    });
    const applied: number[] = [];
    const tl = new Timeline(script, systemClock, proxy, () => applied.push(performance.now()));
    const t0 = performance.now();
    tl.start();
    t.after(() => tl.stop());
    const N = 600;
    await paced(client, proxy.port, N, 200, 32); // every 5 ms for 3 s
    await drained(N);
    assert.equal(applied.length, 4);

    // Probes by send time since start; slow = the 150 ms weather (a threshold far from both delays, so a
    // stalled event loop does not pass for a step).
    const rel = atSink.map((a) => ({ sent: a.sentAt - t0, slow: a.at - a.sentAt >= 80 }));
    const TOL = 30; // ms: timer lateness, probe spacing (5 ms), event-loop turns between send and receive
    // The blackout is the widest gap in the send times of what arrived.
    let gap = 1;
    for (let i = 2; i < rel.length; i++) if (rel[i].sent - rel[i - 1].sent > rel[gap].sent - rel[gap - 1].sent) gap = i;
    const gapFrom = rel[gap - 1].sent;
    const gapTo = rel[gap].sent;
    // 10 → 150 ms at 1 s: the first probe of the slow run before the blackout.
    let slowFrom = gap - 1;
    while (slowFrom > 0 && rel[slowFrom - 1].slow) slowFrom--;
    const slowAt = rel[slowFrom].sent;
    t.diagnostic(`switches at ${slowAt.toFixed(1)}, ${gapFrom.toFixed(1)}–${gapTo.toFixed(1)} ms (scripted 1000, 2000–2500)`);
    assert.ok(Math.abs(slowAt - 1000) <= TOL, `150 ms delay from ${slowAt.toFixed(1)} ms`);
    assert.ok(Math.abs(gapFrom - 2000) <= TOL, `blackout from ${gapFrom.toFixed(1)} ms`);
    assert.ok(Math.abs(gapTo - 2500) <= TOL, `blackout until ${gapTo.toFixed(1)} ms`);
    // Fast before 1 s and after the blackout (clear weather), but for a stray stalled probe or two.
    const strays = rel.filter((r, i) => r.slow && (i < slowFrom || i >= gap)).length;
    assert.ok(strays <= 2, `${strays} slow probes outside 1–2 s`);
    // Nothing was lost outside the blackout: 500 ms of 5 ms probes went missing, give or take the edges.
    assert.equal(proxy.stats().up.lost_random, N - atSink.length);
    const lost = N - atSink.length;
    assert.ok(Math.abs(lost - 100) <= (2 * TOL) / 5, `${lost} probes lost in the blackout`);
  });

  test('same seed → the same datagrams dropped over real sockets; another seed → others', async (t) => {
    const N = 500;
    const delivered = async (seed: number): Promise<number[]> => {
      const { proxy, client, atSink, drained } = await rig(t, { up: { loss: 0.2 }, seed });
      for (let i = 0; i < N; i++) {
        const msg = Buffer.alloc(16);
        msg.writeUInt32BE(i, 0);
        client.send(msg, proxy.port, '127.0.0.1');
        if ((i + 1) % 50 === 0) await drained(i + 1); // bursts of 50: well within the socket buffers
      }
      assert.equal(proxy.stats().up.received, N);
      return atSink.map((a) => a.seq);
    };
    const a = await delivered(5);
    assert.ok(a.length > N * 0.7 && a.length < N * 0.9, `${a.length} of ${N} delivered`);
    assert.deepEqual(await delivered(5), a);
    assert.notDeepEqual(await delivered(6), a);
  });
});
