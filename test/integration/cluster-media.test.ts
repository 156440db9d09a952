/**
 * A space across three nodes (real NATS, real relay sockets): people on different nodes who stand next to
 * each other receive each other's audio and video; a track crosses a link once whatever the number of
 * subscribers behind it; nobody far away costs a link anything; a person who leaves is gone everywhere.
 */
import type { Producer } from '../../src/media/producer.ts';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../testkit/cluster.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { pumpMedia, pumpSimulcast, packetsReceived } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import type { RelayPeerStats } from '../../src/transport/relay/relay-endpoint.ts';
import { ClusterPerson } from '../../tools/client/cluster-person.ts';
import { cascadeStats } from '../../src/metrics/registry.ts';

const SPACE = 'cluster';

function linkStats(cluster: TestCluster, from: string, to: string): RelayPeerStats {
  const s = cluster.node(from).cluster!.endpoint.stats().peers.find((p) => p.id === to);
  assert.ok(s, `${from} has a relay peer ${to}`);
  return s;
}

describe('a space spanning three nodes', () => {
  let cluster: TestCluster;
  const clients: NodeClient[] = [];
  const stops: Array<() => void> = [];
  before(async () => {
    cluster = await startCluster([{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }]);
    await waitFor('every node sees the other two', () => [...cluster.nodes.values()].every((n) => n.cluster!.registry.nodes().size === 3), 10_000);
  });
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await cluster?.close();
  });

  it('A on n1 and B on n3, side by side, receive each other; two viewers on n3 cost the link one copy', async () => {
    const a = await NodeClient.join(cluster.node('n1').url, SPACE, 'A', { x: 4, y: 16 });
    clients.push(a);
    stops.push(pumpMedia((await a.publish()).peer, { senderReports: true }));
    const b = await NodeClient.join(cluster.node('n3').url, SPACE, 'B', { x: 6, y: 16 });
    clients.push(b);
    stops.push(pumpMedia((await b.publish()).peer));

    const bPeer = await b.subscriberReady(15_000);
    await waitFor('A’s audio and video at B', () => bPeer.received.size === 2 && packetsReceived(bPeer) > 100, 15_000);
    const aPeer = await a.subscriberReady(15_000);
    await waitFor('B’s audio and video at A', () => aPeer.received.size === 2 && packetsReceived(aPeer) > 100, 15_000);

    // C joins n3 next to A too: A's tracks already cross n1→n3 once, and go on doing so once.
    const c = await NodeClient.join(cluster.node('n3').url, SPACE, 'C', { x: 5, y: 17 });
    clients.push(c);
    const cPeer = await c.subscriberReady(15_000);
    await waitFor('A’s media at C', () => cPeer.received.size >= 2 && packetsReceived(cPeer) > 100, 15_000);

    const n1 = cluster.node('n1');
    const aId = a.participantId;
    const producers = [...n1.spaces.get(SPACE)!.participants.get(aId)!.localProducers.values()];
    const before = linkStats(cluster, 'n1', 'n3').streamsSent.reduce((s, x) => s + x.rtpPackets, 0);
    const inBefore = producers.reduce((s, p) => s + p.layers.reduce((t, l) => t + l.stats.packets, 0), 0);
    await new Promise((r) => setTimeout(r, 2000));
    const sent = linkStats(cluster, 'n1', 'n3').streamsSent.reduce((s, x) => s + x.rtpPackets, 0) - before;
    const got = producers.reduce((s, p) => s + p.layers.reduce((t, l) => t + l.stats.packets, 0), 0) - inBefore;
    assert.ok(got > 100, `A published ${got} packets in 2 s`);
    // One copy per link: what crossed n1→n3 is what A sent (± packets in flight), not twice that for B and C.
    assert.ok(Math.abs(sent - got) <= Math.max(10, got * 0.05), `n1→n3 carried ${sent} packets of A's ${got}`);
    // The publisher's sender reports reach n3: its NTP/RTP pair says the same clock as at the origin.
    const relayed = [...cluster.node('n3').spaces.get(SPACE)!.remotes.get(aId)!.producers.values()] as Producer[];
    await waitFor('sender reports at n3', () => relayed.every((p) => p.layers[0]!.lastSr !== null), 5000);
    for (const r of relayed) {
      const o = producers.find((p) => p.id === r.id)!.layers[0]!.lastSr!;
      const f = r.layers[0]!.lastSr!;
      const ntpMs = (x: { ntpSec: number; ntpFrac: number }) => x.ntpSec * 1000 + (x.ntpFrac / 0x1_0000_0000) * 1000;
      const rate = r.params.clockRate;
      const predicted = o.rtpTimestamp + ((ntpMs(f) - ntpMs(o)) * rate) / 1000;
      const offMs = (((f.rtpTimestamp - predicted + 2 ** 31) % 2 ** 32) - 2 ** 31) / (rate / 1000);
      assert.ok(Math.abs(offMs) < 50, `${r.kind}: the relayed pair is off by ${offMs.toFixed(1)} ms`);
    }
    // n2 has nobody: no media crosses to it.
    assert.equal(linkStats(cluster, 'n1', 'n2').streamsSent.reduce((s, x) => s + x.rtpPackets, 0), 0, 'nothing to n2');
  });

  it('someone far away on another node costs no relay traffic; walking up starts it', async () => {
    const far = await NodeClient.join(cluster.node('n2').url, SPACE, 'F', { x: 40, y: 16 });
    clients.push(far);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(linkStats(cluster, 'n1', 'n2').streamsSent.reduce((s, x) => s + x.rtpPackets, 0), 0, 'F is out of reach: nothing relayed');
    // Walk next to A (server-side walk), and A's media follows across n1→n2.
    await far.request('move', { x: 5, y: 15, goTo: true });
    const peer = await far.subscriberReady(15_000);
    await waitFor('media at F', () => packetsReceived(peer) > 50, 15_000);
    assert.ok(linkStats(cluster, 'n1', 'n2').streamsSent.reduce((s, x) => s + x.rtpPackets, 0) > 0, 'A’s tracks cross n1→n2 now');
  });

  it('a person who leaves is removed on every node', async () => {
    const g = await NodeClient.join(cluster.node('n2').url, SPACE, 'G', { x: 30, y: 16 });
    await waitFor('G mirrored on n1', () => cluster.node('n1').spaces.get(SPACE)!.remotes.has(g.participantId), 5000);
    g.close();
    await waitFor('G gone from n1 and n3', () => !cluster.node('n1').spaces.get(SPACE)!.remotes.has(g.participantId) && !cluster.node('n3').spaces.get(SPACE)!.remotes.has(g.participantId), 5000);
  });
});

describe('draining a node', () => {
  let cluster: TestCluster;
  const people: ClusterPerson[] = [];
  before(async () => {
    cluster = await startCluster([{ id: 'd1', region: 'eu' }, { id: 'd2', region: 'eu' }]);
    await waitFor('both nodes see each other', () => [...cluster.nodes.values()].every((n) => n.cluster!.registry.nodes().size === 2), 10_000);
  });
  after(async () => {
    for (const p of people) p.close();
    await cluster?.close();
  });

  it('moves everyone off to another node, refuses newcomers, and the moved get media there', async () => {
    const url = (id: string) => cluster.node(id).url;
    let got = 0;
    const a = await ClusterPerson.start({ entry: url('d1'), prefer: url('d1'), region: 'eu', space: 'drain', name: 'A', x: 4, y: 16, publish: (peer) => pumpMedia(peer) });
    const b = await ClusterPerson.start({ entry: url('d2'), prefer: url('d2'), region: 'eu', space: 'drain', name: 'B', x: 6, y: 16, onRtp: () => void got++ });
    people.push(a, b);
    await waitFor('B gets A across the nodes', () => got > 50, 15_000);
    const moved = await cluster.node('d1').drain();
    assert.equal(moved, 1, 'A was moved');
    await waitFor('A moved to d2', () => a.failovers.length === 1 && a.url === url('d2'), 10_000);
    const before = got;
    await waitFor('B gets A again, now on the same node', () => got > before + 50, 10_000);
    assert.equal(cluster.node('d1').spaces.get('drain')?.participants.size ?? 0, 0, 'nobody left on d1');
    await assert.rejects(NodeClient.join(url('d1'), 'drain', 'Late', { x: 8, y: 16 }), /draining|closed/, 'a draining node refuses newcomers');
  });
});

describe('simulcast layers across a link', () => {
  let cluster: TestCluster;
  const clients: NodeClient[] = [];
  const stops: Array<() => void> = [];
  before(async () => {
    cluster = await startCluster([{ id: 's1' }, { id: 's2' }]);
    await waitFor('both nodes see each other', () => [...cluster.nodes.values()].every((n) => n.cluster!.registry.nodes().size === 2), 10_000);
  });
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await cluster?.close();
  });

  it('only the layers someone downstream needs cross the link, and the publisher hears it (dynacast)', async () => {
    const pub = await NodeClient.join(cluster.node('s1').url, 'layers', 'P', { x: 4, y: 16 });
    clients.push(pub);
    const { peer } = await pub.publish({ audio: false, simulcast: ['q', 'h', 'f'] });
    stops.push(pumpSimulcast(peer, ['q', 'h', 'f']));
    const sub = await NodeClient.join(cluster.node('s2').url, 'layers', 'S', { x: 6, y: 16 });
    clients.push(sub);
    await sub.subscriberReady(15_000);
    const track = [...cluster.node('s1').spaces.get('layers')!.participants.get(pub.participantId)!.localProducers.values()][0]!;
    const ids = cluster.node('s1').cluster!.relay.localDesc(track.id)!.streamIds;
    const perLayer = () => {
      const s = linkStats(cluster, 's1', 's2').streamsSent;
      return ids.map((id) => s.find((x) => x.streamId === id)?.rtpPackets ?? 0);
    };
    const window = async () => {
      const a = perLayer();
      await new Promise((r) => setTimeout(r, 1500));
      return perLayer().map((n, i) => n - a[i]!);
    };
    const lastWish = () => (pub.pushes.filter((m) => m.type === 'videoLayers').at(-1)?.layers as Array<{ rid: string; active: boolean }> | undefined)?.map((l) => l.active);
    // S's device takes at most 180p: only q is allocated at s2, so only q crosses, and P is told h and f are not needed.
    sub.notify('report', { limits: { maxHeight: 180 } });
    await waitFor('h and f no longer wanted at the publisher', () => JSON.stringify(lastWish()) === '[true,false,false]', 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const capped = await window();
    assert.ok(capped[0]! > 30, `q crosses: ${capped}`);
    assert.deepEqual(capped.slice(1), [0, 0], `h and f stay at s1: ${capped}`);
    // Limits lifted: a higher layer is wanted again, at the publisher and on the link. (h, not f: this
    // headless subscriber sends no transport-wide feedback, so its budget stays at the initial 1 Mbit/s,
    // and a 720p layer coming back from standby is expected to cost more than that.)
    sub.notify('report', { limits: {} });
    await waitFor('h wanted again', () => lastWish()?.[1] === true, 10_000).catch((e: Error) => {
      const s2 = cluster.node('s2');
      const relayed = s2.spaces.get('layers')!.remotes.get(pub.participantId)!.producers.get(track.id) as Producer;
      const c = s2.spaces.get('layers')!.participants.get(sub.participantId)!.consumerOf(track.id)!;
      throw new Error(`${e.message}: at s2 layers ${JSON.stringify(relayed.layers.map((l) => ({ i: l.index, sp: l.spatial, req: l.requested, standby: l.standby !== null, last: l.lastPacketMs })))} options ${JSON.stringify(c.layers())} target ${JSON.stringify((c as any).target)} alloc ${JSON.stringify(s2.spaces.get('layers')!.participants.get(sub.participantId)!.downlink?.snapshot().allocation)}`);
    });
    await waitFor('h crosses again', async () => (await window())[1]! > 30, 10_000);
  });
});

describe('loss on a relay link', () => {
  let cluster: TestCluster;
  const clients: NodeClient[] = [];
  const stops: Array<() => void> = [];
  before(async () => {
    cluster = await startCluster([{ id: 'l1' }, { id: 'l2' }], { rtt: { 'l1|l2': 30 } });
    await waitFor('both nodes see each other', () => [...cluster.nodes.values()].every((n) => n.cluster!.registry.nodes().size === 2), 10_000);
  });
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await cluster?.close();
  });

  it('video lost between nodes is NACKed to the upstream node and repaired from its cache', async () => {
    // 5 % random loss on l1 → l2 (media), none back (NACKs).
    cluster.links.get('l1')!.get('l2')!.up.setConfig({ loss: 0.05 });
    const pub = await NodeClient.join(cluster.node('l1').url, 'loss', 'P', { x: 4, y: 16 });
    clients.push(pub);
    stops.push(pumpMedia((await pub.publish()).peer));
    // Every video sequence number S sees, by unwrapped extended number (repairs arrive late and out of order).
    const seen = new Set<number>();
    let videoSsrc = -1;
    let highest = -1;
    const sub = await NodeClient.join(cluster.node('l2').url, 'loss', 'S', {
      x: 6,
      y: 16,
      beforeJoin: (c) => {
        c.onSubscriberPeer = (p) => {
          p.onRtp = (v) => {
            if (v.ssrc !== videoSsrc) return;
            // Unwrap against the highest so far (RFC 3550 §A.1): repairs are never 32768 behind.
            const ext = highest < 0 ? v.sequenceNumber : highest + ((((v.sequenceNumber - highest) & 0xffff) ^ 0x8000) - 0x8000);
            seen.add(ext);
            if (ext > highest) highest = ext;
          };
        };
      },
    });
    clients.push(sub);
    await sub.subscriberReady(15_000);
    const video = () => sub.subscribeTracks.find((t) => t.kind === 'video' && t.streamId === pub.participantId);
    await waitFor('video at S', () => {
      videoSsrc = video()?.ssrc ?? -1;
      return seen.size > 100;
    }, 15_000);
    const answered0 = cascadeStats.nacksAnswered;
    const from = highest + 1;
    await new Promise((r) => setTimeout(r, 4000));
    const to = highest;
    // Time for the last losses of the window to be repaired (RTT 30 ms, retries every RTT).
    await new Promise((r) => setTimeout(r, 1000));
    const missing: number[] = [];
    for (let s = from; s <= to; s++) if (!seen.has(s)) missing.push(s & 0xffff);
    const dropped = cluster.links.get('l1')!.get('l2')!.up.counters;
    assert.ok(to - from + 1 > 300, `S expected ${to - from + 1} video packets`);
    assert.ok(cascadeStats.nacksAnswered - answered0 > 5, `l1 answered ${cascadeStats.nacksAnswered - answered0} NACKs from its cache (link lost ${JSON.stringify(dropped)})`);
    // Everything the link lost came again: no sequence number of the window is missing at S.
    assert.deepEqual(missing, [], `S missed ${missing.length} of ${to - from + 1} video packets (link lost ${JSON.stringify(dropped)})`);
  });
});
