/**
 * The flight recorder over the real protocol: two people publish and receive each other; the subscriber
 * caps its resolution three times (layer switches), opts out of a publisher and back in (subscription
 * changes), walks, and leaves. Every subscription change and every layer switch the client observed (from
 * its offers and from the layer byte of the packets it received) has its event in the recording, in order;
 * the rest of the timeline (joins, tracks, links, allocations, once-a-second samples, moves, leave) is there
 * through GET /api/recorder/spaces/:space. Then the API's refusals: bad parameters, missing or wrong tokens
 * when recordings are for moderators, a server with the recorder off.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../testkit/proxima.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { LAYER_TAG, pumpMedia, pumpSimulcast } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import { feedbackReceiver } from '../testkit/feedback-receiver.ts';
import { signToken } from '../../src/server/auth/tokens.ts';
import type { RecorderEvent } from '../../src/recorder/events.ts';

const SPACE = 'recorded';
const RIDS = ['q', 'h', 'f'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timeline(server: ProximaServer, space: string, query = ''): Promise<RecorderEvent[]> {
  const res = await fetch(`${server.url}/api/recorder/spaces/${space}?from=0${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { events: RecorderEvent[]; next: string | null; count: number };
  assert.equal(body.next, null, 'one page');
  assert.equal(body.count, body.events.length);
  return body.events;
}

describe('flight recorder', () => {
  let server: ProximaServer;
  const clients: NodeClient[] = [];
  const stops: (() => void)[] = [];
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await server?.close();
  });

  it('records what the clients saw: every subscription change and layer switch, and the timeline around them', async () => {
    server = await startTestServer();
    const pub = await NodeClient.join(server.url, SPACE, 'Pia', { x: 20, y: 21 });
    clients.push(pub);
    const { peer: pubPeer, tracks } = await pub.publish({ simulcast: RIDS });
    stops.push(pumpSimulcast(pubPeer, RIDS), pumpMedia(pubPeer, { video: false }));
    const video = tracks.find((t) => t.kind === 'video')!;
    const audio = tracks.find((t) => t.kind === 'audio')!;

    // What the subscriber observes: offered tracks going live or inactive, and the layer of each video packet.
    const observedSubs: string[] = [];
    const live = new Set<string>();
    const observedLayers: number[] = [];
    const feedback = feedbackReceiver();
    stops.push(() => feedback.close());
    const sub = await NodeClient.join(server.url, SPACE, 'Sam', {
      x: 22,
      y: 21,
      beforeJoin: (c) => {
        feedback.wire(c);
        // By m-line: an inactive one names no track, and a reused one names its new track.
        const byMid = new Map<string, string>();
        c.onSubscribeTracks = (offered) => {
          for (const t of offered) {
            const was = byMid.get(t.mid);
            const now = t.direction === 'sendonly' ? t.trackId : undefined;
            if (was === now) continue;
            if (was !== undefined && live.delete(was)) observedSubs.push(`remove ${was}`);
            if (now !== undefined) observedSubs.push(`add ${now}`), live.add(now), byMid.set(t.mid, now);
            else byMid.delete(t.mid);
          }
        };
        const wire = c.onSubscriberPeer;
        c.onSubscriberPeer = (peer) => {
          wire(peer);
          const prev = peer.onRtp;
          peer.onRtp = (v) => {
            prev?.(v);
            if (v.payloadLength < 2 || !c.subscribeTracks.some((t) => t.kind === 'video' && t.ssrc === v.ssrc)) return;
            const layer = v.buf[v.payloadOffset + v.payloadLength - 1]! - LAYER_TAG;
            if (layer >= 0 && layer < RIDS.length && observedLayers.at(-1) !== layer) observedLayers.push(layer);
          };
        };
      },
    });
    clients.push(sub);
    await sub.subscriberReady();
    await waitFor('the top layer at Sam', () => observedLayers.at(-1) === 2, 10_000).catch((e: Error) => {
      throw new Error(`${e.message}: layers seen ${observedLayers.join('→')}`);
    });

    // Caps from the client's reports: three switches, each at the new layer's keyframe.
    const report = async (body: Record<string, unknown>, layer: number) => {
      sub.notify('report', body);
      await waitFor(`layer ${layer} at Sam`, () => observedLayers.at(-1) === layer, 8_000);
    };
    await report({ limits: { maxHeight: 180 } }, 0);
    await report({ limits: { maxHeight: 360 } }, 1);
    await report({ limits: {} }, 2);
    // Opting out and back in: two subscription changes per track.
    await sub.unsubscribe(pub.participantId);
    await waitFor('both tracks inactive at Sam', () => live.size === 0, 5_000);
    await sub.subscribe(pub.participantId);
    await waitFor('both tracks back at Sam', () => live.size === 2, 5_000);
    await sub.request('move', { x: 24, y: 21, goTo: true });
    // Steady receiving until five more once-a-second quality pushes came (each is also a recorded `second`).
    const pushes = () => sub.pushes.filter((m) => m.type === 'quality').length;
    const mark = pushes();
    await waitFor('five more quality pushes', () => pushes() >= mark + 5, 15_000);
    const qualityPushes = pushes();
    sub.close();
    await sleep(800); // a flush (250 ms) and the storage thread

    const events = await timeline(server, SPACE);
    const of = (pid: string, kind: RecorderEvent['kind']) => events.filter((e) => e.participant === pid && e.kind === kind);
    const S = sub.participantId;

    // Subscription changes: the same sequence the client saw.
    const recordedSubs = of(S, 'subscription').map((e) => e.kind === 'subscription' && `${e.data.op} ${e.data.trackId}`);
    assert.deepEqual(recordedSubs, observedSubs, 'every subscription change the client saw, in order, and no other');
    assert.ok(observedSubs.length >= 6, `adds, removes, adds: ${observedSubs.join(', ')}`);
    // Layer switches: each change of stream the client saw is a recorded switch at the forwarder, in order
    // (by rid: spatial ranks settle only once the layers' key frame sizes are known).
    const recordedRids: string[] = [];
    for (const e of of(S, 'layer')) {
      if (e.kind !== 'layer' || e.data.trackId !== video.trackId || e.data.layer === null || !e.data.rid) continue;
      if (recordedRids.at(-1) !== e.data.rid) recordedRids.push(e.data.rid);
    }
    const observedRids = observedLayers.map((l) => RIDS[l]!);
    assert.deepEqual(recordedRids, observedRids, `observed ${observedRids.join('→')}, recorded ${recordedRids.join('→')}`);
    assert.ok(observedLayers.length >= 4, `switches seen: ${observedLayers.join('→')}`);

    // The timeline around them.
    const joins = events.filter((e) => e.kind === 'join');
    assert.deepEqual(joins.map((e) => e.kind === 'join' && e.data.name), ['Pia', 'Sam']);
    assert.ok(of(pub.participantId, 'tracks').some((e) => e.kind === 'tracks' && e.data.tracks.length === 2), 'Pia’s two tracks');
    assert.ok(of(S, 'links').some((e) => e.kind === 'links' && e.data.links.some((l) => l.speaker === pub.participantId)), 'Sam linked to Pia');
    assert.ok(of(S, 'offer').length >= 3 && of(S, 'answer').length >= 3, 'offers and answers');
    const allocations = of(S, 'allocation');
    assert.ok(
      allocations.some((e) => e.kind === 'allocation' && e.data.tracks.some((t) => t.trackId === video.trackId && t.reason === 'capped' && t.layer?.[0] === 0)),
      'an allocation capped at layer 0 by the device’s limits',
    );
    const seconds = of(S, 'second');
    assert.ok(seconds.length >= qualityPushes && seconds.length >= 5, `${seconds.length} once-a-second samples recorded, ${qualityPushes} quality pushes seen by the client`);
    const full = seconds.filter((e) => e.kind === 'second' && e.data.down !== null && (e.data.perTrack[audio.trackId] ?? 0) > 0 && (e.data.perTrack[video.trackId] ?? 0) > 0);
    assert.ok(full.length >= 3, 'samples with a score and bitrate per track');
    assert.ok(full.every((e) => e.kind === 'second' && e.data.estimateBps !== null && e.data.estimateBps > 0), 'the estimate towards Sam');
    const moves = of(S, 'move');
    assert.ok(moves.length >= 1 && moves.length <= 4, `${moves.length} moves for a 2-tile walk`);
    assert.deepEqual(moves.at(-1)!.data, { x: 24, y: 21 });
    const leave = of(S, 'leave');
    assert.equal(leave.length, 1);
    assert.ok(events.indexOf(leave[0]!) === events.map((e) => e.participant).lastIndexOf(S), `the leave is Sam’s last event: ${JSON.stringify(events.slice(events.indexOf(leave[0]!)).filter((e) => e.participant === S))}`);
    assert.ok(events.some((e) => e.kind === 'node' && e.space === '*' && e.data.state === 'up'), 'the node’s start');
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.ts >= events[i - 1]!.ts, 'in time order');

    // Narrowing: one participant, some kinds; paging.
    const onlySam = await timeline(server, SPACE, `&participant=${S}&kinds=subscription,leave`);
    assert.deepEqual(new Set(onlySam.map((e) => e.kind)), new Set(['subscription', 'leave']));
    const page = (await (await fetch(`${server.url}/api/recorder/spaces/${SPACE}?from=0&limit=5`)).json()) as { events: unknown[]; next: string };
    assert.equal(page.events.length, 5);
    assert.match(page.next, /^\d+:\d+$/);
    const spaces = (await (await fetch(`${server.url}/api/recorder/spaces`)).json()) as { spaces: Array<{ space: string; events: number }> };
    assert.ok(spaces.spaces.some((s) => s.space === SPACE && s.events > 20));
  });

  it('refuses bad parameters with a reason', async () => {
    server ??= await startTestServer();
    for (const [q, why] of [
      ['from=yesterday', /from/],
      ['from=10&to=5', /before/],
      ['kinds=teleport', /unknown teleport/],
      ['limit=0', /limit/],
      ['after=xyz', /after/],
      ['participant=a%20b', /participant/],
    ] as const) {
      const res = await fetch(`${server.url}/api/recorder/spaces/${SPACE}?${q}`);
      assert.equal(res.status, 400, q);
      assert.match(((await res.json()) as { error: string }).error, why);
    }
    assert.equal((await fetch(`${server.url}/api/recorder/spaces/bad%20space`)).status, 400);
    assert.equal((await fetch(`${server.url}/api/recorder/nothing`)).status, 404);
    assert.equal((await fetch(`${server.url}/api/recorder/spaces/${SPACE}`, { method: 'DELETE' })).status, 405);
  });

  it('serves recordings to moderators of that space only when access is for moderators, and says when it is off', async () => {
    await server?.close();
    const secret = 's'.repeat(40);
    server = await startTestServer({ auth: { secret, guestTokens: false }, recorder: { access: 'moderators' } });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = (space: string, moderator: boolean) => signToken({ space, name: 'op', moderator, exp }, { current: { id: 'k1', secret }, previous: [], audience: 'proxima' });
    const get = (path: string, t?: string) => fetch(`${server.url}${path}`, t ? { headers: { authorization: `Bearer ${t}` } } : {});
    const none = await get(`/api/recorder/spaces/${SPACE}`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await get(`/api/recorder/spaces/${SPACE}`, 'not-a-token')).status, 401);
    assert.equal((await get(`/api/recorder/spaces/${SPACE}`, token(SPACE, false))).status, 403);
    assert.equal((await get(`/api/recorder/spaces/${SPACE}`, token('other', true))).status, 403);
    assert.equal((await get(`/api/recorder/spaces/${SPACE}`, token(SPACE, true))).status, 200);
    assert.equal((await get('/api/recorder/spaces', token(SPACE, true))).status, 200);
    await server.close();
    server = await startTestServer({ recorder: { enabled: false } });
    const off = await get(`/api/recorder/spaces/${SPACE}`);
    assert.equal(off.status, 503);
    assert.match(((await off.json()) as { error: string }).error, /off/);
  });
});
