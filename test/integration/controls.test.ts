import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../testkit/proxima.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { pumpMedia } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import { dropCount } from '../../src/metrics/drop-reasons.ts';
import { SUBSCRIBE_PT } from '../../src/signaling/sdp/server-capabilities.ts';
import type { NodePeer } from '../../tools/client/node-peer.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

const SPACE = 'controls';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Track = { trackId: string; kind: string; source?: string; muted?: boolean };

/** Audio packets a subscriber received (all publishers). */
const audioIn = (peer: NodePeer | null) => [...(peer?.received.values() ?? [])].filter((s) => s.payloadType === SUBSCRIBE_PT.opus).reduce((n, s) => n + s.packets, 0);
const speakingPushes = (c: NodeClient, about: string) => c.pushes.filter((m) => m.type === 'speaking' && m.participantId === about).map((m) => m.speaking as boolean);
const lastTracks = (c: NodeClient, publisherId: string): Track[] | undefined =>
  (c.pushes.filter((m) => (m.type === 'tracksChanged' || m.type === 'publisherJoined') && (m.publisher as { participantId: string }).participantId === publisherId).at(-1)?.publisher as { tracks: Track[] } | undefined)?.tracks;

// Office map (src/proximity/maps/office.json): open floor around y 16; the meeting room (private) is x 1–12, y 1–8.
describe('mute and speaking over the protocol (headless clients on the real server)', () => {
  let server: ProximaServer;
  let a: NodeClient;
  let b: NodeClient;
  let far: NodeClient;
  let tracks: Track[];
  let stop: () => void = () => {};
  before(async () => {
    server = await startTestServer();
    a = await NodeClient.join(server.url, SPACE, 'A', { x: 4, y: 16 });
    b = await NodeClient.join(server.url, SPACE, 'B', { x: 6, y: 16 });
    far = await NodeClient.join(server.url, SPACE, 'F', { x: 20, y: 16 });
    const pub = await a.publish();
    tracks = pub.tracks as Track[];
    // The pump's audio carries level 30 (-30 dBov): the server hears A speaking.
    stop = pumpMedia(pub.peer);
  });
  after(async () => {
    stop();
    for (const c of [a, b, far]) c?.close();
    await server?.close();
  });

  it('tracks are announced with their source and unmuted', () => {
    assert.deepEqual(tracks.map((t) => [t.kind, t.source, t.muted]).sort(), [['audio', 'microphone', false], ['video', 'camera', false]]);
  });

  it('speaking reaches the listener and the speaker, never someone out of range', async () => {
    await waitFor('B to hear A speaking', () => speakingPushes(b, a.participantId).at(-1) === true, 5000);
    await waitFor('A to be told it speaks', () => speakingPushes(a, a.participantId).at(-1) === true, 5000);
    await sleep(300);
    assert.deepEqual(speakingPushes(far, a.participantId), [], 'F, 16 tiles away, learns nothing');
  });

  it('muting the microphone stops its audio at the listener, ends speaking and tells everyone; unmuting resumes', async () => {
    const peer = await b.subscriberReady();
    await waitFor('A’s audio at B', () => audioIn(peer) > 20);
    const audio = tracks.find((t) => t.kind === 'audio')!;
    const dropsBefore = dropCount('track_muted');
    const r = await a.request('setMuted', { trackId: audio.trackId, muted: true });
    assert.deepEqual([r.type, r.trackId, r.muted], ['mutedSet', audio.trackId, true]);
    await waitFor('B told of the mute', () => lastTracks(b, a.participantId)?.find((t) => t.trackId === audio.trackId)?.muted === true);
    // The mute state is public, like presence: F far away learns it too.
    await waitFor('F told of the mute', () => lastTracks(far, a.participantId)?.find((t) => t.trackId === audio.trackId)?.muted === true);
    await waitFor('B told A stopped speaking', () => speakingPushes(b, a.participantId).at(-1) === false, 2000);
    await sleep(100); // packets already on their way
    const n0 = audioIn(peer);
    await sleep(600);
    assert.equal(audioIn(peer), n0, 'no audio from a muted microphone');
    assert.ok(dropCount('track_muted') - dropsBefore >= 25, 'the pump kept sending; the server dropped it as track_muted');
    await a.request('setMuted', { trackId: audio.trackId, muted: false });
    await waitFor('audio again at B', () => audioIn(peer) > n0 + 10, 3000);
    await waitFor('A speaking again at B', () => speakingPushes(b, a.participantId).at(-1) === true, 3000);
  });

  it('someone who walks into range of a speaker learns at once that they speak', async () => {
    await waitFor('A speaking', () => speakingPushes(a, a.participantId).at(-1) === true, 3000);
    const before = far.pushes.length;
    await far.request('move', { x: 8, y: 16, goTo: true });
    await waitFor('F told A speaks', () => far.pushes.slice(before).some((m) => m.type === 'speaking' && m.participantId === a.participantId && m.speaking === true), 3000);
  });

  it('muting a track you do not publish is refused', async () => {
    await assert.rejects(b.request('setMuted', { trackId: tracks[0]!.trackId, muted: true }), /unknown_track/);
    await assert.rejects(a.request('setMuted', { trackId: 'nope', muted: true }), /unknown_track/);
  });
});
