/**
 * Walking around must not grow the subscribe offer forever: once a client has answered an offer that
 * carried a finished track's m-line as inactive, the next track of that kind takes the same m-line (same
 * mid, new SSRC and msid), and its media flows.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../testkit/proxima.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { pumpMedia } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import type { OfferedTrack } from '../../tools/client/peer-sdp.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

describe('subscribe m-lines are reused after a track ends', () => {
  let server: ProximaServer;
  const clients: NodeClient[] = [];
  const stops: (() => void)[] = [];
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await server?.close();
  });

  it('a viewer who walks from one publisher to another keeps two m-lines and gets the second one’s media', async () => {
    server = await startTestServer();
    // Open floor of the office map, far apart: (4,16) and (30,16).
    const p1 = await NodeClient.join(server.url, 'reuse', 'P1', { x: 4, y: 16 });
    const p2 = await NodeClient.join(server.url, 'reuse', 'P2', { x: 30, y: 16 });
    clients.push(p1, p2);
    stops.push(pumpMedia((await p1.publish()).peer), pumpMedia((await p2.publish()).peer));
    const v = await NodeClient.join(server.url, 'reuse', 'V', { x: 6, y: 16 });
    clients.push(v);
    const peer = await v.subscriberReady();
    const tracks = (): OfferedTrack[] => v.subscribeTracks; // of the latest offer answered
    const live = () => tracks().filter((t) => t.direction === 'sendonly');
    await waitFor('P1’s two tracks offered', () => live().length === 2 && live().every((t) => t.streamId === p1.participantId));
    const firstMids = tracks().map((t) => t.mid).sort();
    const p1Ssrcs = new Set(live().map((t) => t.ssrc));

    await v.request('move', { x: 28, y: 16, goTo: true }); // walks away from P1 to P2
    await waitFor('P2’s tracks offered', () => live().length === 2 && live().every((t) => t.streamId === p2.participantId), 20_000);
    assert.deepEqual(tracks().map((t) => t.mid).sort(), firstMids, `m-lines reused, not added: ${JSON.stringify(tracks().map((t) => [t.mid, t.direction, t.streamId]))}`);
    const p2Tracks = live();
    for (const t of p2Tracks) assert.ok(!p1Ssrcs.has(t.ssrc), 'a reused m-line carries a new SSRC');
    const video = p2Tracks.find((t) => t.kind === 'video')!;
    await waitFor('P2’s video at V', () => (peer.received.get(video.ssrc!)?.packets ?? 0) > 30, 10_000);
  });
});
