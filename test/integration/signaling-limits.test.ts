/**
 * Signaling limits (issue 15, config limits.signaling): per WebSocket and per IP address, by message kind,
 * a clear rate_limited error, a close after sustained abuse, and a join deadline for sockets that never join.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWatchedServer, scrapeMetrics, type ServerWatch } from '../testkit/hostile/watched-server.ts';
import { WsProbe } from '../testkit/hostile/ws-probe.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

const SPACE = 'signaling-limits';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Msg = Record<string, unknown>;

describe('signaling limits per socket and per address', () => {
  let server: ProximaServer;
  let watchSrv: ServerWatch;
  const probes: WsProbe[] = [];
  const probe = async () => {
    const p = await WsProbe.open(server.url);
    probes.push(p);
    return p;
  };

  before(async () => {
    // A short join deadline keeps the test short; per-IP offers at 2/s (burst: max(offersBurst 10, 2 s) = 10).
    ({ server, watch: watchSrv } = await startWatchedServer({ limits: { signaling: { joinDeadlineMs: 1500, perIpOffersPerS: 2 } } }));
  });

  after(async () => {
    for (const p of probes) p.terminate();
    await server?.close();
    watchSrv?.dispose();
  });

  it('a socket that neither joins nor resumes is closed at the join deadline (4008); a joined one stays', async () => {
    const idle = await probe();
    const t0 = Date.now(); // the deadline runs from the socket's opening
    const joined = await probe();
    assert.equal((await joined.request('join', { space: SPACE, name: 'J' })).type, 'joined');
    const pinger = await probe();
    // Talking without joining does not count: pings are answered, the deadline still applies.
    const ping = setInterval(() => pinger.send({ v: 1, id: 'p', type: 'ping' }), 200);
    const closed = await Promise.race([idle.closed, sleep(5000).then(() => null)]);
    clearInterval(ping);
    assert.ok(closed, 'the idle socket was closed');
    assert.equal(closed.code, 4008);
    assert.ok(Date.now() - t0 >= 1400, `not before the deadline (${Date.now() - t0} ms)`);
    assert.equal((await pinger.closed).code, 4008);
    await sleep(500);
    assert.equal(joined.isClosed, false, 'the joined socket is still open');
    assert.equal((await joined.request('ping')).type, 'pong');
    assert.ok((await scrapeMetrics(server)).get('proxima_signaling_closed_total{why="join_deadline"}')! >= 2);
  });

  it('offers from several sockets of one address share the address’s rate: rate_limited names the limit', async () => {
    const socks: WsProbe[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await probe();
      assert.equal((await p.request('join', { space: SPACE, name: `O${i}` })).type, 'joined');
      socks.push(p);
    }
    // 4 × 5 offers at once: each socket alone may send a burst of 10; together they get the address's 10.
    const replies = await Promise.all(socks.flatMap((p) => Array.from({ length: 5 }, () => p.request('publish', { sdp: 'v=0\r\nbogus' }))));
    const limited = replies.filter((m: Msg) => m.code === 'rate_limited');
    const parsed = replies.filter((m: Msg) => m.code === 'sdp_rejected');
    assert.equal(parsed.length, 10, 'the address’s burst was parsed (and rejected as SDP)');
    assert.equal(limited.length, 10);
    for (const m of limited) assert.match(String(m.message), /offers per second from this address/);
  });

  it('moves have their own limit per socket: a burst of 40, the rest rate_limited', async () => {
    const p = await probe();
    assert.equal((await p.request('join', { space: SPACE, name: 'M', x: 30, y: 16 })).type, 'joined');
    const replies = await Promise.all(Array.from({ length: 70 }, (_, i) => p.request('move', { x: 30 + (i % 2), y: 16 })));
    const limited = replies.filter((m: Msg) => m.code === 'rate_limited');
    assert.ok(limited.length >= 25 && limited.length <= 30, `${limited.length} of 70 moves rate_limited`);
    for (const m of limited) assert.match(String(m.message), /moves per second/);
    assert.equal((await p.request('ping')).type, 'pong', 'other messages still pass');
  });

  it('a client that keeps sending over the message rate (180/s) is rate-limited, then closed with 1008 after ~3 s of it', async () => {
    const p = await probe();
    assert.equal((await p.request('join', { space: SPACE, name: 'F' })).type, 'joined');
    const t0 = Date.now();
    let i = 0;
    const timer = setInterval(() => {
      for (let k = 0; k < 9 && !p.isClosed; k++) p.send({ v: 1, id: `f${i++}`, type: 'ping' });
    }, 50);
    const closed = await Promise.race([p.closed, sleep(7000).then(() => null)]);
    clearInterval(timer);
    assert.ok(closed, 'closed');
    assert.equal(closed.code, 1008);
    const after = Date.now() - t0;
    assert.ok(p.received.some((m: Msg) => m.code === 'rate_limited'), 'rate_limited first');
    // The burst of 100 lasts ~1 s at 130/s over the rate; refusals then go on for closeAfterLimitedMs (3 s).
    assert.ok(after >= 3000 && after < 7000, `closed after ${after} ms`);
    assert.deepEqual(watchSrv.errors(), []);
  });
});
