/**
 * Five nodes whose relay links have RTTs shaped like real regions (made by weather proxies, half the RTT
 * each way): once the nodes have measured each other, the path every node takes every other node's
 * tracks on is the shortest over the matrix, detours through a third node included; a real track follows
 * it, crossing each link of its path once.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, rttOf, chosenPath, type TestCluster } from '../testkit/cluster.ts';
import { waitFor } from '../testkit/browser.ts';
import { FIVE_REGIONS, FIVE_REGION_RTT } from '../testkit/regions.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { pumpMedia, packetsReceived } from '../testkit/media-pump.ts';
import { pathTo, shortestPaths, DEFAULT_HOP_COST_MS } from '../../src/cascade/routes/index.ts';

const NODES = FIVE_REGIONS;
const RTT = FIVE_REGION_RTT;

function configured(): Map<string, Map<string, number>> {
  const m = new Map<string, Map<string, number>>();
  for (const a of NODES) m.set(a, new Map(NODES.filter((b) => b !== a).map((b) => [b, rttOf(RTT, a, b)!])));
  return m;
}

/** The path a track of `origin` takes to `to`, as the nodes chose it: each node's upstream, hop by hop. */
describe('routes over a five-region RTT matrix', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(
      NODES.map((id) => ({ id, region: id })),
      { rtt: RTT },
    );
  });
  after(async () => {
    await cluster?.close();
  });

  it('the configured matrix has no near-ties (a failure below is a routing bug, not measurement noise)', () => {
    const m = configured();
    for (const o of NODES) {
      const paths = shortestPaths(m, o);
      for (const to of NODES) {
        if (to === o) continue;
        // The best path beats every other path by far more than the proxies' timer noise (a few ms a link
        // on a loaded machine).
        const best = paths.get(to)!.cost;
        const direct = rttOf(RTT, o, to)! / 2;
        for (const via of NODES) {
          if (via === o || via === to) continue;
          const detour = rttOf(RTT, o, via)! / 2 + rttOf(RTT, via, to)! / 2 + DEFAULT_HOP_COST_MS;
          for (const c of [direct, detour]) if (c !== best) assert.ok(Math.abs(c - best) >= 20, `${o}→${to}: ${c} vs best ${best}`);
        }
      }
    }
  });

  it('every node measures every link within a few ms of the matrix', async () => {
    await waitFor(
      'RTT rows from every node',
      () => NODES.every((a) => NODES.every((b) => a === b || cluster.node(a).cluster!.rtt.matrix().get(a)?.has(b))),
      15_000,
    );
    for (const a of NODES) {
      for (const b of NODES) {
        if (a === b) continue;
        const measured = cluster.node(a).cluster!.endpoint.rttMs(b);
        const want = rttOf(RTT, a, b)!;
        assert.ok(measured >= want - 1 && measured <= want + 25, `${a}→${b}: measured ${measured.toFixed(1)} ms, configured ${want}`);
      }
    }
  });

  it('for every pair the path the cluster chose is the shortest over the matrix, detours included', async () => {
    const m = configured();
    const expected = (o: string, to: string) => pathTo(shortestPaths(m, o), to);
    // Routes converge once every node has routed on the full matrix.
    await waitFor(
      'routes equal to the shortest paths',
      () => NODES.every((o) => NODES.every((to) => o === to || JSON.stringify(chosenPath(cluster, o, to)) === JSON.stringify(expected(o, to)))),
      15_000,
    ).catch((e: Error) => {
      const wrong = NODES.flatMap((o) => NODES.filter((to) => to !== o && JSON.stringify(chosenPath(cluster, o, to)) !== JSON.stringify(expected(o, to))).map((to) => `${o}→${to}: chose ${chosenPath(cluster, o, to)?.join('→')}, shortest ${expected(o, to)?.join('→')}`));
      throw new Error(`${e.message}\n${wrong.join('\n')}`);
    });
    assert.deepEqual(chosenPath(cluster, 'eu-west', 'ap-northeast'), ['eu-west', 'ap-south', 'ap-northeast'], 'detour through ap-south');
    assert.deepEqual(chosenPath(cluster, 'eu-west', 'us-west'), ['eu-west', 'us-east', 'us-west'], 'detour through us-east');
    assert.deepEqual(chosenPath(cluster, 'ap-south', 'us-west'), ['ap-south', 'ap-northeast', 'us-west'], 'detour through ap-northeast');
    assert.deepEqual(chosenPath(cluster, 'us-east', 'us-west'), ['us-east', 'us-west'], 'direct');
  });

  it('a track from eu-west to ap-northeast goes through ap-south, once per link, nothing on the direct link', async () => {
    const space = 'routes';
    const a = await NodeClient.join(cluster.node('eu-west').url, space, 'A', { x: 4, y: 16 });
    const stop = pumpMedia((await a.publish()).peer);
    const b = await NodeClient.join(cluster.node('ap-northeast').url, space, 'B', { x: 6, y: 16 });
    try {
      const peer = await b.subscriberReady(15_000);
      await waitFor('A’s media at B', () => peer.received.size === 2 && packetsReceived(peer) > 100, 15_000);
      const sentOn = (from: string, to: string) => cluster.node(from).cluster!.endpoint.stats().peers.find((p) => p.id === to)!.streamsSent.reduce((s, x) => s + x.rtpPackets, 0);
      const t0 = { direct: sentOn('eu-west', 'ap-northeast'), first: sentOn('eu-west', 'ap-south'), second: sentOn('ap-south', 'ap-northeast') };
      await new Promise((r) => setTimeout(r, 2000));
      const direct = sentOn('eu-west', 'ap-northeast') - t0.direct;
      const first = sentOn('eu-west', 'ap-south') - t0.first;
      const second = sentOn('ap-south', 'ap-northeast') - t0.second;
      assert.equal(direct, 0, 'nothing on the slow direct link');
      assert.ok(first > 100, `eu-west→ap-south carried ${first}`);
      assert.ok(Math.abs(first - second) <= Math.max(10, first * 0.05), `the same packets cross both hops once: ${first} then ${second}`);
    } finally {
      stop();
      a.close();
      b.close();
    }
  });
});

describe('node choice for newcomers', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster([{ id: 'fra', region: 'eu-west' }, { id: 'iad', region: 'us-east' }, { id: 'ams', region: 'eu-west' }]);
    await waitFor('three nodes', () => cluster.node('fra').cluster!.registry.nodes().size === 3, 10_000);
  });
  after(async () => {
    await cluster?.close();
  });

  it('GET /api/cluster?region= lists that region first, from any node, readable cross-origin', async () => {
    const r = await fetch(`${cluster.node('iad').url}/api/cluster?region=eu-west`);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    const body = (await r.json()) as { node: string; nodes: Array<{ id: string; region: string; signalingUrl: string; self: boolean }> };
    assert.equal(body.node, 'iad');
    assert.deepEqual(body.nodes.slice(0, 2).map((n) => n.region), ['eu-west', 'eu-west']);
    assert.equal(body.nodes[2]!.id, 'iad');
    assert.equal(body.nodes.find((n) => n.id === 'fra')!.signalingUrl, cluster.node('fra').url);
    // A draining node is not offered.
    cluster.node('fra').cluster!.setDraining(true);
    const list = async () => ((await (await fetch(`${cluster.node('iad').url}/api/cluster?region=eu-west`)).json()) as { nodes: Array<{ id: string }> }).nodes.map((n) => n.id);
    await waitFor('fra no longer offered', async () => !(await list()).includes('fra'), 5000);
    assert.deepEqual(await list(), ['ams', 'iad'], 'the other eu-west node first, the draining one not at all');
  });
});
