/**
 * A town hall across five nodes in five regions (RTTs from weather proxies): a spotlit speaker on eu-west,
 * an audience of ten spread over all five nodes in pairs that stand together. Every listener gets the
 * speaker; the speaker's stream enters every node exactly once, from its parent in the shortest-path tree
 * (us-west through us-east, ap-northeast through ap-south: the direct links are slower); the speaker hears nobody; neighbours in
 * the audience still hear each other, across nodes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../testkit/cluster.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { pumpMedia } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import { FIVE_REGIONS, FIVE_REGION_RTT } from '../testkit/regions.ts';
import type { NodePeer } from '../../tools/client/node-peer.ts';
import { dropCounts } from '../../src/metrics/drop-reasons.ts';

const NODES = FIVE_REGIONS;
const RTT = FIVE_REGION_RTT;
const SPACE = 'townhall';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Packets `peer` received from `publisherId`'s tracks (by the subscribe offer's msid stream). */
function packetsFrom(c: NodeClient, publisherId: string, kind?: 'audio' | 'video'): number {
  const peer = c.subscriber as NodePeer | null;
  if (!peer) return 0;
  let n = 0;
  for (const t of c.subscribeTracks) {
    if (t.streamId !== publisherId || (kind && t.kind !== kind) || t.ssrc === undefined) continue;
    n += peer.received.get(t.ssrc)?.packets ?? 0;
  }
  return n;
}

describe('town hall across five nodes', () => {
  let cluster: TestCluster;
  const clients: NodeClient[] = [];
  const stops: Array<() => void> = [];
  before(async () => {
    cluster = await startCluster(
      NODES.map((id) => ({ id, region: id })),
      { rtt: RTT },
    );
    // Routes on the measured matrix (the detour needs every node's row).
    await waitFor('RTT rows everywhere', () => NODES.every((a) => NODES.every((b) => a === b || cluster.node(a).cluster!.rtt.matrix().get(a)?.has(b))), 15_000);
    await sleep(1500);
  });
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await cluster?.close();
  });

  it('everyone gets the speaker once per node; the speaker hears nobody; neighbours hear each other', async () => {
    // On the auditorium stage of the built-in office map (x 24–36, y 1–2), and spotlit.
    const speaker = await NodeClient.join(cluster.node('eu-west').url, SPACE, 'Speaker', { x: 30, y: 1 });
    clients.push(speaker);
    stops.push(pumpMedia((await speaker.publish()).peer));
    await speaker.request('spotlight', { on: true });
    // Five pairs on the open floor, each pair on two nodes, pairs far apart from each other.
    const spots = [
      { x: 2, y: 16 },
      { x: 12, y: 16 },
      { x: 22, y: 16 },
      { x: 2, y: 27 },
      { x: 14, y: 27 },
    ];
    const pairs: Array<[NodeClient, NodeClient]> = [];
    for (let i = 0; i < 5; i++) {
      const at = spots[i]!;
      const a = await NodeClient.join(cluster.node(NODES[i]!).url, SPACE, `A${i}`, at);
      a.joined.name = `A${i}@${NODES[i]}`;
      const b = await NodeClient.join(cluster.node(NODES[(i + 1) % 5]!).url, SPACE, `B${i}`, { x: at.x + 1, y: at.y });
      b.joined.name = `B${i}@${NODES[(i + 1) % 5]}`;
      clients.push(a, b);
      // The audience talks (audio): the headless subscribers send no transport-wide feedback, so their
      // downlinks stay at the initial 1 Mbit/s estimate, room for the speaker's video and every voice.
      stops.push(pumpMedia((await a.publish({ video: false })).peer, { video: false }), pumpMedia((await b.publish({ video: false })).peer, { video: false }));
      pairs.push([a, b]);
    }
    const audience = pairs.flat();
    for (const c of audience) await c.subscriberReady(20_000);
    await waitFor(
      'every listener gets the speaker’s audio and video',
      () => audience.every((c) => packetsFrom(c, speaker.participantId, 'audio') > 20 && packetsFrom(c, speaker.participantId, 'video') > 20),
      20_000,
    ).catch((e: Error) => {
      const diag = NODES.map((n) => `${n}: up ${[...cluster.node(n).spaces.get(SPACE)!.remotes.get(speaker.participantId)?.producers.keys() ?? []].map((t) => cluster.node(n).cluster!.relay.upstreamOfTrack(t)).join('/')} sinks ${NODES.filter((m) => m !== n).map((m) => `${m}:${cluster.node(n).cluster!.relay.sinkTracks(m).length}`).join(',')}`).join('; ');
      const dl = audience
        .filter((c) => c.joined.name && String(c.joined.name).includes('ap-'))
        .map((c) => {
          const node = String(c.joined.name).split('@')[1]!;
          const p = cluster.node(node).spaces.get(SPACE)!.participants.get(c.participantId)!;
          const sp = cluster.node(node).spaces.get(SPACE)!.remotes.get(speaker.participantId)!;
          const video = [...sp.producers.values()].find((x) => x.kind === 'video')!;
          return `${c.joined.name}: ${JSON.stringify(p.downlink?.snapshot())} layers ${JSON.stringify(p.consumerOf(video.id)?.layers())}`;
        })
        .join('\n');
      throw new Error(`${dl}\n${diag}; drops ${dropCounts().filter(([, k]) => k > 0).map(([r, k]) => `${r}=${k}`).join(' ')}; ${e.message}: ${audience.map((c) => `${c.joined.name ?? c.participantId}: audio ${packetsFrom(c, speaker.participantId, 'audio')} video ${packetsFrom(c, speaker.participantId, 'video')}`).join(', ')}`);
    });
    await waitFor('neighbours hear each other', () => pairs.every(([a, b]) => packetsFrom(a, b.participantId, 'audio') > 20 && packetsFrom(b, a.participantId, 'audio') > 20), 20_000);
    // The speaker's video plays everywhere: its packets keep coming at every listener.
    const v0 = audience.map((c) => packetsFrom(c, speaker.participantId, 'video'));
    await sleep(1000);
    audience.forEach((c, i) => assert.ok(packetsFrom(c, speaker.participantId, 'video') - v0[i]! > 45, `${String(c.joined.name)} gets the speaker's video`));
    // Not neighbours: A0 does not receive pair 2.
    assert.equal(packetsFrom(pairs[0]![0], pairs[2]![0].participantId), 0, 'far apart: nothing');
    // The speaker hears nobody (their node links them to no one).
    const speakerSpace = cluster.node('eu-west').spaces.get(SPACE)!;
    const heard = [...speakerSpace.engine.linksOf(speaker.participantId).keys()].map((id) => speakerSpace.speaker(id)?.personInfo());
    assert.equal(heard.length, 0, `the audience is quiet to the speaker; the speaker hears ${JSON.stringify(heard)}`);

    // Each node takes the speaker's tracks from exactly one node: its parent in the tree.
    const origin = cluster.node('eu-west');
    const tracks = [...speakerSpace.participants.get(speaker.participantId)!.localProducers.values()];
    const streamIds = new Set(tracks.flatMap((p) => origin.cluster!.relay.localDesc(p.id)!.streamIds));
    const received = (node: string) =>
      new Map(cluster.node(node).cluster!.endpoint.stats().peers.map((p) => [p.id, p.streamsReceived.filter((s) => s.originNum === origin.cluster!.nodeNum && streamIds.has(s.streamId)).reduce((n, s) => n + s.rtpPackets, 0)]));
    const published = () => tracks.reduce((n, p) => n + p.layers.reduce((m, l) => m + l.stats.packets, 0), 0);
    const before = new Map(NODES.map((n) => [n, received(n)]));
    const pub0 = published();
    await sleep(3000);
    const sent = published() - pub0;
    const expectParent: Record<string, string> = { 'us-east': 'eu-west', 'us-west': 'us-east', 'ap-south': 'eu-west', 'ap-northeast': 'ap-south' };
    for (const n of NODES) {
      if (n === 'eu-west') continue;
      const now = received(n);
      const per = [...now].map(([peer, v]) => [peer, v - (before.get(n)!.get(peer) ?? 0)] as const).filter(([, v]) => v > 0);
      assert.equal(per.length, 1, `${n} gets the speaker from one node: ${JSON.stringify(per)}`);
      const [from, count] = per[0]!;
      for (const t of tracks) assert.equal(cluster.node(n).cluster!.relay.upstreamOfTrack(t.id), from);
      assert.ok(Math.abs(count - sent) <= Math.max(15, sent * 0.05), `${n}: ${count} packets from ${from}, the speaker sent ${sent}`);
      if (n in expectParent) assert.equal(from, expectParent[n], `${n}'s parent in the tree`);
    }
  });
});
