/**
 * The recorder across a cluster (node processes, real NATS with JetStream): a space spans three nodes, one
 * person on each; n2 is killed -9. Every surviving node serves the same merged timeline: the three joins
 * (each from its own node), n2's events up to its death, n2 recorded down by a survivor, and P2's rejoin on
 * another node after all of that, in order.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProcessCluster, type ProcessCluster } from '../testkit/cluster-processes.ts';
import { MIDDLE_OF_THREE } from '../testkit/regions.ts';
import { ClusterPerson } from '../../tools/client/cluster-person.ts';
import { pumpMedia } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import type { RecorderEvent } from '../../src/recorder/events.ts';

const SPACE = 'recorded-cluster';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timeline(url: string): Promise<RecorderEvent[]> {
  const res = await fetch(`${url}/api/recorder/spaces/${SPACE}?from=0`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { events: RecorderEvent[] }).events;
}

describe('the recorder in a cluster', () => {
  let cluster: ProcessCluster;
  const people: ClusterPerson[] = [];
  before(async () => {
    cluster = await startProcessCluster(MIDDLE_OF_THREE.nodes, { rtt: MIDDLE_OF_THREE.rtt });
  });
  after(async () => {
    for (const p of people) p.close();
    await cluster?.close();
  });

  it('serves one merged timeline from every node: the failover and the rejoin in order', async () => {
    const url = (id: string) => cluster.node(id).url;
    const start = (name: string, node: string, x: number) =>
      ClusterPerson.start({ entry: url(node), prefer: url(node), region: 'eu', space: SPACE, name, x, y: 16, publish: (peer) => pumpMedia(peer, { video: false }), publishKinds: { video: false } });
    const p1 = await start('P1', 'n1', 4);
    const p2 = await start('P2', 'n2', 5);
    const p3 = await start('P3', 'n3', 6);
    people.push(p1, p2, p3);
    const firstP2 = p2.participantId;
    await sleep(2000);
    const killedAt = Date.now();
    await cluster.node('n2').kill();
    await waitFor('P2 rejoined elsewhere', () => p2.failovers[0]?.rejoinedAt, 10_000);
    assert.notEqual(p2.participantId, firstP2, 'a fresh join on another node');
    // The survivors see n2 gone (heartbeats) and the batches reach each other (250 ms flushes).
    const events = await waitFor(
      'n2 recorded down, and the rejoin, on both survivors',
      async () => {
        const [a, b] = await Promise.all([timeline(url('n1')), timeline(url('n3'))]);
        const ok = (ev: RecorderEvent[]) => ev.some((e) => e.kind === 'node' && e.data.state === 'down' && e.data.about === 'n2') && ev.some((e) => e.kind === 'join' && e.participant === p2.participantId);
        return ok(a) && ok(b) ? [a, b] : null;
      },
      10_000,
    ).catch(async (e: Error) => {
      const [a, b] = await Promise.all([timeline(url('n1')), timeline(url('n3'))]);
      const summary = (ev: RecorderEvent[]) => JSON.stringify(ev.filter((x) => x.kind === 'join' || x.kind === 'node').map((x) => `${x.node}:${x.kind}:${x.participant}:${JSON.stringify(x.data).slice(0, 60)}`));
      throw new Error(`${e.message}; P2 now ${p2.participantId} at ${p2.url}; n1 has ${a.length}: ${summary(a)}; n3 has ${b.length}: ${summary(b)}`);
    });
    const [fromN1, fromN3] = events;
    const key = (e: RecorderEvent) => `${e.node} ${e.ts} ${e.participant} ${e.kind}`;
    const lifecycle = (ev: RecorderEvent[]) => ev.filter((e) => e.kind === 'join' || e.kind === 'leave' || e.kind === 'node').map(key);
    assert.deepEqual(lifecycle(fromN1), lifecycle(fromN3), 'the same merged timeline from n1 and n3');

    const ev = fromN1;
    const joins = ev.filter((e) => e.kind === 'join');
    const joinOf = (pid: string) => joins.find((e) => e.participant === pid);
    assert.equal(joinOf(p1.participantId)?.node, 'n1');
    assert.equal(joinOf(firstP2)?.node, 'n2', 'P2’s first join, recorded by n2 before it died');
    assert.equal(joinOf(p3.participantId)?.node, 'n3');
    const rejoin = joinOf(p2.participantId)!;
    assert.ok(rejoin.kind === 'join' && rejoin.data.name === 'P2' && rejoin.node !== 'n2', `P2 rejoined on ${rejoin.node}`);
    const lastOfN2 = ev.filter((e) => e.node === 'n2').at(-1)!;
    assert.ok(lastOfN2.ts <= killedAt + 50, 'nothing from n2 after its death');
    assert.ok(ev.filter((e) => e.node === 'n2').length >= 3, 'n2’s own events up to its death (up, join, tracks…)');
    const down = ev.find((e) => e.kind === 'node' && e.data.state === 'down' && e.data.about === 'n2')!;
    assert.ok(down.node !== 'n2' && down.ts >= killedAt && down.ts < killedAt + 5000, `n2 recorded down ${down.ts - killedAt} ms after the kill by ${down.node}`);
    assert.ok(joinOf(firstP2)!.ts < lastOfN2.ts + 1 && lastOfN2.ts < rejoin.ts, 'P2 joined, n2 died, P2 rejoined: in that order');
    for (let i = 1; i < ev.length; i++) assert.ok(ev[i]!.ts >= ev[i - 1]!.ts, 'merged in time order');
  });
});
