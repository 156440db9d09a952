/**
 * Issue 15, acceptance 2: during each flood (transport-cc feedback, SDP offers, a 50 Mbit/s publisher,
 * replayed ClientHellos) a neighbour keeps its media and the flooder is rate-limited, then disconnected. The
 * server runs in this process, A and its neighbour B and each flooder in child processes
 * (test/testkit/hostile/flood-harness.ts).
 *
 * What is asserted is the mechanism: drops under their named reasons, the disconnect with its code and
 * reason, the /metrics series, and that the neighbour kept receiving. The acceptance figures (≥ 95 % of its
 * packet rate, no gap over 200 ms) are printed by every run and measured by bench/floods.ts (medians over
 * runs): with one of this machine's two cores busy (run-tests --load) the flooder's own process competes with
 * the server and the neighbour for the other, so no rate or gap bound holds there.
 *
 * The server's publisher ingress limit is lowered to 4 Mbit/s here (default 15): a flooder slowed by a busy
 * machine still sends far over it, so its disconnect does not depend on how fast this machine lets it send.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWatchedServer, scrapeMetrics, dropSeries, type ServerWatch } from '../testkit/hostile/watched-server.ts';
import { describeFlood, FloodHarness, type FloodResult } from '../testkit/hostile/flood-harness.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

const SPACE = 'floods';

function neighbourKept(r: FloodResult): void {
  process.stdout.write(`# ${describeFlood(r)}\n`);
  assert.ok(r.ratio > 0, 'the neighbour kept receiving');
}

describe('floods against the server: the neighbour keeps its media, the flooder is limited, then disconnected', () => {
  let server: ProximaServer;
  let watchSrv: ServerWatch;
  let h: FloodHarness;

  before(async () => {
    ({ server, watch: watchSrv } = await startWatchedServer({ limits: { ingress: { publisherBitsPerS: 4_000_000, publisherPacketsPerS: 1000 } } }));
    // Office map, open floor: A at 4, B at 6 along y = 16; each flooder within reach of both.
    h = await FloodHarness.start(server.url, SPACE, false);
  });

  after(async () => {
    await h?.stop();
    await server?.close();
    watchSrv?.dispose();
  });

  it('transport-cc feedback flood (4,000/s of 40-byte feedback claiming 65,535 statuses)', async () => {
    const r = await h.flood('twcc', 8, 16, ['rtcp_rate_limited']);
    neighbourKept(r);
    assert.ok(r.drops.rtcp_rate_limited! > 1000, 'the flood was rate-limited');
    assert.equal(r.report.closes.length, 1, 'then disconnected');
    assert.equal(r.report.closes[0]!.code, 4000);
    assert.match(r.report.closes[0]!.reason, /ingress/);
  });

  it('SDP offer flood (two sockets, 40 offers/s each of 64 KiB with ~3,900 a=rtcp-fb lines)', async () => {
    const limitedBefore = (await scrapeMetrics(server)).get('proxima_signaling_rate_limited_total{kind="offer"}') ?? 0;
    const r = await h.flood('sdp', 8, 17);
    neighbourKept(r);
    assert.ok(r.report.stats.rateLimited! > 20, 'rate_limited answers');
    assert.ok(r.report.stats.sdpRejected! > 0, 'the offers that got through were rejected at the rtcp-fb cap');
    assert.equal(r.report.stats.answered, 0);
    assert.deepEqual(r.report.closes.map((c) => c.code), [1008, 1008], 'both sockets closed for sustained abuse');
    assert.ok(((await scrapeMetrics(server)).get('proxima_signaling_rate_limited_total{kind="offer"}') ?? 0) > limitedBefore);
  });

  it('a publisher sending 50 Mbit/s next to the neighbour, who receives it too', async () => {
    const r = await h.flood('publish50', 8, 16, ['ingress_rate_limited', 'pacer_queue_full', 'pacer_expired']);
    neighbourKept(r);
    assert.ok(r.drops.ingress_rate_limited! > 1000, 'the excess was dropped at ingress');
    assert.equal(r.report.closes.length, 1, 'then disconnected');
    assert.equal(r.report.closes[0]!.code, 4000);
    assert.match(r.report.closes[0]!.reason, /ingress/);
  });

  it('replayed ClientHello (1,000/s of a subscriber’s own, from its validated address)', async () => {
    const r = await h.flood('hello', 8, 16, ['dtls_hello_rate_limited', 'dtls_handshake_limit']);
    neighbourKept(r);
    assert.ok(r.drops.dtls_hello_rate_limited! > 1000, 'the replays were dropped before the DTLS stack');
    assert.equal(r.report.closes.length, 1, 'then disconnected');
    assert.equal(r.report.closes[0]!.code, 4000);
    assert.match(r.report.closes[0]!.reason, /ClientHello/);
  });

  it('afterwards: /metrics names the drops and disconnects, and the server logged no error', async () => {
    const m = await scrapeMetrics(server);
    assert.ok(m.get(dropSeries('rtcp_rate_limited'))! > 0);
    assert.ok(m.get(dropSeries('ingress_rate_limited'))! > 0);
    assert.ok(m.get(dropSeries('dtls_hello_rate_limited'))! > 0);
    assert.ok(m.get('proxima_ingress_disconnects_total')! >= 2);
    assert.ok(m.get('proxima_signaling_closed_total{why="abuse"}')! >= 2);
    assert.deepEqual(watchSrv.errors(), [], 'no error was logged');
    assert.deepEqual(watchSrv.uncaught, []);
  });
});
