import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../testkit/proxima.ts';
import { waitFor } from '../testkit/browser.ts';
import { WsProbe, type Msg } from '../testkit/hostile/ws-probe.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { CHROME_PLAIN_OFFER } from '../../src/signaling/sdp/test-fixtures.ts';
import { CLIENT_GAVE_UP_CODE, RESUME_GRACE_MS } from '../../src/server/signaling-connection.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import type { Participant } from '../../src/server/participant.ts';

const SPACE = 'resume';
const ufragOf = (sdp: string) => /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
const pwdOf = (sdp: string) => /a=ice-pwd:(\S+)/.exec(sdp)?.[1];
/** The o= session id (RFC 4566 §5.2): the same for every description of one session (RFC 3264 §8). */
const sessionIdOf = (sdp: string) => /^o=\S+ (\d+) /m.exec(sdp)?.[1];

/**
 * The server side of recovery without a browser: ICE restarts on existing transports (publish: the client's
 * new offer; subscribe: `restartIce`) and `resume` of a session from a new signaling connection.
 */
describe('ICE restart and session resume over signaling', () => {
  let server: ProximaServer;
  const probes: WsProbe[] = [];
  const clients: NodeClient[] = [];
  const probe = async () => {
    const p = await WsProbe.open(server.url);
    probes.push(p);
    return p;
  };
  const participant = (id: unknown) => server.spaces.get(SPACE)!.participants.get(String(id)) as Participant;
  /** A publisher of audio and video (no media connection: the signaling is what is tested). */
  let a: { probe: WsProbe; id: string };

  before(async () => {
    server = await startTestServer();
    const p = await probe();
    const j = await p.request('join', { space: SPACE, name: 'A', x: 30, y: 20 });
    assert.equal(j.type, 'joined');
    assert.equal(typeof j.resumeToken, 'string');
    a = { probe: p, id: String(j.participantId) };
  });
  after(async () => {
    for (const p of probes) p.terminate();
    for (const c of clients) c.close();
    await server?.close();
  });

  it('a publish offer with new ICE credentials restarts ICE on the same transport and keeps the session', async () => {
    const first = await a.probe.request('publish', { sdp: CHROME_PLAIN_OFFER });
    assert.equal(first.type, 'publishAnswer', JSON.stringify(first));
    const t = participant(a.id).publishTransport!;
    const sdp1 = String(first.sdp);
    assert.equal(ufragOf(sdp1), t.local.ufrag);

    const restartOffer = CHROME_PLAIN_OFFER.replace(/a=ice-ufrag:\S+/g, 'a=ice-ufrag:rSt2').replace(/a=ice-pwd:\S+/g, 'a=ice-pwd:NewPasswordNewPassword24');
    const second = await a.probe.request('publish', { sdp: restartOffer });
    const sdp2 = String(second.sdp);
    assert.equal(participant(a.id).publishTransport, t, 'the same transport');
    assert.equal(t.iceRestarts, 1);
    assert.equal(t.remoteUfrag, 'rSt2');
    assert.notEqual(ufragOf(sdp2), ufragOf(sdp1), 'new ufrag in the answer (RFC 8839 §4.4.1.1.1)');
    assert.notEqual(pwdOf(sdp2), pwdOf(sdp1), 'new password in the answer');
    assert.equal(ufragOf(sdp2), t.local.ufrag);
    assert.equal(sessionIdOf(sdp2), sessionIdOf(sdp1), 'o= session id kept');
    assert.deepEqual(second.tracks, first.tracks, 'the producers stay');
    assert.equal(t.state !== 'closed' && t.state !== 'failed', true);

    // The same credentials again are a plain renegotiation.
    const third = await a.probe.request('publish', { sdp: restartOffer });
    assert.equal(t.iceRestarts, 1);
    assert.equal(ufragOf(String(third.sdp)), ufragOf(sdp2));
  });

  it('restartIce: a subscribe offer with new credentials on the same transport; nothing to restart before receiving', async () => {
    const loner = await probe();
    await loner.request('join', { space: SPACE, name: 'far', x: 3, y: 27 });
    const none = await loner.request('restartIce');
    assert.deepEqual([none.type, none.offer], ['iceRestarted', false]);

    const b = await NodeClient.join(server.url, SPACE, 'B', { x: 31, y: 20 });
    clients.push(b);
    const offer1 = await b.nextPush('subscriberOffer');
    await waitFor('B answered its first offer', () => b.offersAnswered >= 1);
    const t = participant(b.participantId).subscribeTransport!;
    const before = t.local.ufrag;
    const r = await b.request('restartIce');
    assert.deepEqual([r.type, r.offer], ['iceRestarted', true]);
    const offer2 = await b.nextPush('subscriberOffer');
    assert.ok(Number(offer2.offerId) > Number(offer1.offerId));
    assert.equal(participant(b.participantId).subscribeTransport, t, 'the same transport');
    assert.equal(t.iceRestarts, 1);
    assert.notEqual(ufragOf(String(offer2.sdp)), before);
    assert.equal(ufragOf(String(offer2.sdp)), t.local.ufrag);
    assert.equal(sessionIdOf(String(offer2.sdp)), sessionIdOf(String(offer1.sdp)), 'o= session id kept');
    await waitFor('the answer to the restart offer names the remote ufrag', () => t.remoteUfrag !== null);
  });

  it('a dropped socket resumes on a new one: same participant, a snapshot, the unanswered offer again', async () => {
    const d = await probe();
    const j = await d.request('join', { space: SPACE, name: 'D', x: 30, y: 21 });
    const id = String(j.participantId);
    const offer = await d.next('a subscribe offer for A', (m) => m.type === 'subscriberOffer');
    const p = participant(id);
    d.terminate(); // no close frame: the server keeps the session for a while

    const wrong = await probe();
    const bad = await wrong.request('resume', { participantId: id, resumeToken: 'x'.repeat(32) });
    assert.deepEqual([bad.type, bad.code], ['error', 'resume_failed']);

    const d2 = await probe();
    const r = await d2.request('resume', { participantId: id, resumeToken: j.resumeToken });
    assert.equal(r.type, 'resumed', JSON.stringify(r));
    assert.equal(r.participantId, id);
    assert.equal(participant(id), p, 'the same participant');
    assert.equal(p.closed, false);
    assert.deepEqual((r.self as Msg).id, id);
    assert.ok((r.people as Array<{ id: string }>).some((x) => x.id === a.id), 'people snapshot');
    assert.ok((r.publishers as Array<{ participantId: string }>).some((x) => x.participantId === a.id), 'publishers snapshot');
    assert.ok((r.links as Array<{ participantId: string }>).some((x) => x.participantId === a.id), 'links snapshot');
    const again = await d2.next('the unanswered offer again', (m) => m.type === 'subscriberOffer');
    assert.equal(again.offerId, offer.offerId);
    assert.equal(again.sdp, offer.sdp);
    const moved = await d2.request('move', { x: 30, y: 22 });
    assert.equal(moved.type, 'moved', 'requests work on the new socket');

    // A third connection takes it over from a live one: the live one is cut.
    const d3 = await probe();
    const r3 = await d3.request('resume', { participantId: id, resumeToken: j.resumeToken });
    assert.equal(r3.type, 'resumed');
    await d2.closed;
    assert.equal(participant(id), p);
    d3.close(); // a clean close is leaving
    await waitFor('D left', () => !server.spaces.get(SPACE)!.participants.has(id));
    const late = await (await probe()).request('resume', { participantId: id, resumeToken: j.resumeToken });
    assert.deepEqual([late.type, late.code], ['error', 'resume_failed']);
  });

  it('a socket the client gave up on (close code 4900) keeps its session for the resume; a plain close does not', async () => {
    const g = await probe();
    const j = await g.request('join', { space: SPACE, name: 'G', x: 12, y: 27 });
    const id = String(j.participantId);
    g.close(CLIENT_GAVE_UP_CODE, 'client resumes on a new socket');
    await g.closed;
    const g2 = await probe();
    const r = await g2.request('resume', { participantId: id, resumeToken: j.resumeToken });
    assert.equal(r.type, 'resumed', JSON.stringify(r));
    assert.equal(r.participantId, id);
    g2.close(4001, 'some other code');
    await waitFor('G left', () => !server.spaces.get(SPACE)!.participants.has(id));
  });

  it(`a session nobody resumes within ${RESUME_GRACE_MS} ms is gone`, async () => {
    const e = await probe();
    const j = await e.request('join', { space: SPACE, name: 'E', x: 10, y: 27 });
    const id = String(j.participantId);
    const droppedAt = Date.now();
    e.terminate();
    await new Promise((r) => setTimeout(r, RESUME_GRACE_MS / 2));
    assert.ok(server.spaces.get(SPACE)!.participants.has(id), 'kept during the grace period');
    await waitFor('E gone', () => !server.spaces.get(SPACE)!.participants.has(id), RESUME_GRACE_MS + 3000, 50);
    assert.ok(Date.now() - droppedAt >= RESUME_GRACE_MS - 50);
    const late = await (await probe()).request('resume', { participantId: id, resumeToken: j.resumeToken });
    assert.deepEqual([late.type, late.code], ['error', 'resume_failed']);
    assert.equal(server.spaces.sessions.size, server.spaces.get(SPACE)!.participants.size, 'no session left behind');
  });
});
