/**
 * Participants on different media workers (media.workers 2, placement forced): media crosses between the
 * workers both ways with contiguous sequence numbers, a subscriber's keyframe request reaches a publisher on
 * the other worker, a dead worker closes only the participants placed on it, and the signaling answers stay
 * in order while a publish waits for its worker.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testConfig } from '../testkit/proxima.ts';
import { ProximaServer } from '../../src/server/proxima-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { pumpMedia, packetsReceived } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import { dropCounts } from '../../src/metrics/drop-reasons.ts';
import { SUBSCRIBE_PT } from '../../src/signaling/sdp/server-capabilities.ts';
import type { NodePeer } from '../../tools/client/node-peer.ts';

const SPACE = 'workers';

const RTX_PTS = new Set<number>([SUBSCRIBE_PT.vp8Rtx, SUBSCRIBE_PT.h264Rtx]);

/** The media streams (not RTX) the peer receives. */
const mediaStreams = (peer: NodePeer) => [...peer.received].filter(([, s]) => !RTX_PTS.has(s.payloadType));

/**
 * Every media stream gap-free from its first packet (sequence rewriting holds across workers): what did not
 * arrive the first time came as a retransmission (a NACK answered; a loaded machine loses a few on loopback).
 */
function contiguous(peer: NodePeer): string[] {
  const repaired = [...peer.received.values()].filter((s) => RTX_PTS.has(s.payloadType)).reduce((n, s) => n + s.packets, 0);
  const bad: string[] = [];
  for (const [ssrc, s] of mediaStreams(peer)) {
    const span = ((s.lastSeq - s.firstSeq) & 0xffff) + 1;
    if (span > s.packets + repaired + 2) bad.push(`${ssrc}: ${s.packets} packets over ${span} sequence numbers (${repaired} retransmitted)`);
  }
  return bad;
}

describe('media workers: participants on different workers', () => {
  let server: ProximaServer;
  const clients: NodeClient[] = [];
  const stops: Array<() => void> = [];
  let a: NodeClient;
  let b: NodeClient;
  before(async () => {
    // A on worker 0, B on worker 1, C on worker 1 (the placement list is taken in order of first media).
    server = await ProximaServer.start(testConfig({ media: { workers: 2 } }), { workerPlacement: [0, 1, 1], log: createLogger('warn') });
    a = await NodeClient.join(server.url, SPACE, 'A', { x: 30, y: 20 });
    clients.push(a);
    const pa = await a.publish();
    stops.push(pumpMedia(pa.peer));
    b = await NodeClient.join(server.url, SPACE, 'B', { x: 32, y: 20 });
    clients.push(b);
    const pb = await b.publish();
    stops.push(pumpMedia(pb.peer));
  });
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await server?.close();
  });

  it('two people on two workers receive each other, every stream contiguous', async () => {
    assert.equal(server.workers?.size, 2);
    assert.equal(server.mediaWorkerOf(a.participantId), 0);
    assert.equal(server.mediaWorkerOf(b.participantId), 1);
    const atA = await a.subscriberReady();
    const atB = await b.subscriberReady();
    await waitFor('B’s media at A and A’s at B', () => packetsReceived(atA) > 100 && packetsReceived(atB) > 100, 10_000);
    assert.equal(mediaStreams(atA).length, 2, 'A receives B’s audio and video');
    assert.equal(mediaStreams(atB).length, 2, 'B receives A’s audio and video');
    assert.deepEqual(contiguous(atA), []);
    assert.deepEqual(contiguous(atB), []);
    const ring = dropCounts().find(([r]) => r === 'worker_ring_full')?.[1] ?? 0;
    assert.equal(ring, 0, 'nothing dropped between the workers');
    // /metrics is one view: the workers' producers (2 each published, 2 relay-fed copies each) and consumers.
    const gauge = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? -1);
    await waitFor('the workers’ producers and consumers in /metrics', async () => (await gauge('proxima_producers')) === 8 && (await gauge('proxima_consumers')) === 4, 5000).catch(async (e: Error) => {
      throw new Error(`${e.message}: producers ${await gauge('proxima_producers')}, consumers ${await gauge('proxima_consumers')}`);
    });
  });

  it('a keyframe request from B crosses to A’s worker and reaches A', async () => {
    const atB = await b.subscriberReady();
    const video = mediaStreams(atB).find(([, st]) => st.payloadType === SUBSCRIBE_PT.vp8)![0];
    const pa = a.publisher!;
    const before = pa.rtcpOf('pli').length;
    atB.sendPli(video);
    await waitFor('a PLI at A', () => pa.rtcpOf('pli').length > before, 5000);
  });

  it('a dead worker closes only the participants placed on it; the others keep their media', async () => {
    const c = await NodeClient.join(server.url, SPACE, 'C', { x: 31, y: 21 });
    clients.push(c);
    const atC = await c.subscriberReady();
    await waitFor('media at C', () => packetsReceived(atC) > 50, 10_000);
    assert.equal(server.mediaWorkerOf(c.participantId), 1);
    server.workers!.crash(1);
    await waitFor('B and C disconnected', () => b.closed !== null && c.closed !== null, 5000);
    assert.deepEqual([b.closed!.code, c.closed!.code], [4000, 4000], 'B and C are told their media failed (they reconnect)');
    const atA = await a.subscriberReady();
    const before = packetsReceived(atA);
    await waitFor('A still connected and in the space', () => server.spaces.get(SPACE)?.participants.has(a.participantId) === true, 2000);
    assert.ok(!server.spaces.get(SPACE)!.participants.has(b.participantId), 'B left the space');
    // A publishes on; with its listeners gone A receives nothing more, but its session lives.
    assert.equal(a.closed, null);
    assert.ok(packetsReceived(atA) >= before);
  });
});
