import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../testkit/proxima.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { pumpMedia, packetsReceived } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

const SPACE = 'prox';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Links = Array<{ participantId: string; gain: number }>;

/** The latest `links` push a client got (its desired set, as the server sent it). */
function lastLinks(c: NodeClient): Links {
  const all = c.pushes.filter((m) => m.type === 'links');
  return (all.at(-1)?.links as Links | undefined) ?? [];
}

// Positions on the built-in office map (src/proximity/maps/office.json): the meeting room is the
// private area x 1–12, y 1–8 with its door at (6..7, 9); the open floor below is free.
describe('media follows positions (headless clients on the real server)', () => {
  let server: ProximaServer;
  const clients: NodeClient[] = [];
  const stops: Array<() => void> = [];
  let a: NodeClient;
  let b: NodeClient;
  let d: NodeClient;
  before(async () => {
    server = await startTestServer();
    a = await NodeClient.join(server.url, SPACE, 'A', { x: 4, y: 16 });
    clients.push(a);
    stops.push(pumpMedia((await a.publish()).peer));
    d = await NodeClient.join(server.url, SPACE, 'D', { x: 6, y: 5 });
    clients.push(d);
    stops.push(pumpMedia((await d.publish()).peer));
  });
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await server?.close();
  });

  it('someone two tiles away is linked at full gain and receives audio and video without asking', async () => {
    b = await NodeClient.join(server.url, SPACE, 'B', { x: 6, y: 16 });
    clients.push(b);
    await waitFor('B linked to A', () => lastLinks(b).find((l) => l.participantId === a.participantId));
    assert.equal(lastLinks(b).find((l) => l.participantId === a.participantId)?.gain, 1);
    const peer = await b.subscriberReady();
    await waitFor('A’s media at B', () => packetsReceived(peer) > 50);
    assert.equal(peer.received.size, 2, 'both of A’s tracks');
  });

  it('a speaking publisher (loud audio levels) gets a higher priority at its listeners', async () => {
    // A's pump sends RFC 6464 level 30 (-30 dBov, voice): priority 500 at 2 tiles + 300 for speaking.
    const link = await waitFor('A speaking at B', () => lastLinks(b).find((l) => l.participantId === a.participantId && (l as { priority?: number }).priority === 800), 5000).catch((e: Error) => {
      throw new Error(`${e.message}; links at B: ${JSON.stringify(lastLinks(b))}`);
    });
    assert.equal(link.gain, 1);
  });

  it('someone ten tiles away gets nothing, and asking for it is refused with zero packets', async () => {
    const c = await NodeClient.join(server.url, SPACE, 'C', { x: 16, y: 16 });
    clients.push(c);
    await sleep(500);
    assert.equal(lastLinks(c).some((l) => l.participantId === a.participantId), false);
    await assert.rejects(c.request('subscribe', { publisherId: a.participantId }), /^Error: forbidden: A is not within reach/);
    await sleep(1000);
    assert.equal(c.subscriber, null, 'no subscribe transport was even offered');
    assert.equal(packetsReceived(c.subscriber), 0);
  });

  it('someone just outside the meeting room door gets nothing from inside, asking or not', async () => {
    const e = await NodeClient.join(server.url, SPACE, 'E', { x: 6, y: 10 });
    clients.push(e);
    await sleep(500);
    assert.equal(lastLinks(e).some((l) => l.participantId === d.participantId), false, 'no link into the private area');
    await assert.rejects(e.request('subscribe', { publisherId: d.participantId }), /^Error: forbidden/);
    await sleep(1000);
    assert.equal(packetsReceived(e.subscriber), 0);
  });

  it('walking away ends the media after the hysteresis hold; walking back brings it again', async () => {
    const w = await NodeClient.join(server.url, SPACE, 'W', { x: 5, y: 17 });
    clients.push(w);
    const peer = await w.subscriberReady();
    await waitFor('A’s media at W', () => packetsReceived(peer) > 30);
    const moved = await w.request('move', { x: 20, y: 21, goTo: true });
    assert.equal(moved.type, 'moved');
    await waitFor('W unlinked from A', () => !lastLinks(w).some((l) => l.participantId === a.participantId), 5000);
    await sleep(500);
    const stopped = packetsReceived(peer);
    await sleep(1500);
    assert.equal(packetsReceived(peer), stopped, 'no more packets once unlinked');
    await w.request('move', { x: 6, y: 17, goTo: true });
    await waitFor('A’s media at W again', () => packetsReceived(peer) > stopped + 30, 8000);
  });

  it('moves are validated: walls, outside the map, and jumps without goTo are refused', async () => {
    const m = await NodeClient.join(server.url, SPACE, 'M', { x: 10, y: 20 });
    clients.push(m);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ x: 0, y: 0 }, /blocked/],
      [{ x: 300, y: 5 }, /outside the map/],
      [{ x: 15, y: 20 }, /adjacent/],
    ];
    for (const [body, re] of cases) await assert.rejects(m.request('move', body), (e: Error) => /^bad_move: /.test(e.message) && re.test(e.message), JSON.stringify(body));
    assert.equal((await m.request('move', { x: 11, y: 20 })).type, 'moved');
  });
});
