/**
 * A subscriber's reports reach its allocation over the real protocol: `report.limits` caps the number of
 * videos (the lowest-priority one pauses, the nearest keeps playing) and `{}` lifts it; a device reporting
 * slow decoding is stepped down; a malformed report is a clear error, not a crash, and touches nobody else.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testConfig } from '../testkit/proxima.ts';
import { ProximaServer } from '../../src/server/proxima-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { pumpMedia } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import { feedbackReceiver } from '../testkit/feedback-receiver.ts';

const SPACE = 'caps';

describe('receive caps from client reports', () => {
  let server: ProximaServer;
  const clients: NodeClient[] = [];
  const stops: (() => void)[] = [];
  const lines: Array<Record<string, unknown>> = [];
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await server?.close();
  });

  it('limits pause the lowest-priority videos, {} lifts them; overload steps the device down; bad reports are refused', async () => {
    // Log lines kept to check they carry the ids an operator joins them on.
    server = await ProximaServer.start(testConfig(), { log: createLogger('info', {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)) });
    const near = await NodeClient.join(server.url, SPACE, 'Near', { x: 21, y: 21 });
    const far = await NodeClient.join(server.url, SPACE, 'Far', { x: 24, y: 21 });
    clients.push(near, far);
    for (const p of [near, far]) {
      const { peer } = await p.publish();
      stops.push(pumpMedia(peer));
    }
    // The subscriber answers like a browser (NACK, PLI, transport-wide feedback), so its estimate is real.
    const feedback = feedbackReceiver();
    stops.push(() => feedback.close());
    const sub = await NodeClient.join(server.url, SPACE, 'S', { x: 20, y: 21, beforeJoin: (c) => feedback.wire(c) });
    clients.push(sub);
    await sub.subscriberReady();
    const me = () => server.spaces.get(SPACE)!.participants.get(sub.participantId)!;
    const videoOf = (c: NodeClient) => {
      const p = server.spaces.get(SPACE)!.participants.get(c.participantId)!;
      const track = [...p.producers.values()].find((x) => x.kind === 'video')!;
      return me().consumerOf(track.id);
    };
    await waitFor('both videos allocated', () => videoOf(near)?.target !== null && videoOf(far)?.target !== null && videoOf(near) && videoOf(far), 10_000);

    // A ping after each report: its pong says the report was handled (messages are handled in order).
    const report = async (body: Record<string, unknown>) => {
      sub.notify('report', body);
      await sub.request('ping');
    };
    await report({ limits: { maxVideos: 1 } });
    await waitFor('the farther video paused', () => videoOf(far)?.target === null, 3000);
    assert.notEqual(videoOf(near)?.target, null, 'the nearer one keeps playing');
    assert.equal(me().deviceCaps.caps.maxVideos, 1);
    await report({ limits: {} });
    await waitFor('both again', () => videoOf(far)?.target !== null, 3000);

    // Decoding far slower than 30 ms a frame, twice in a row: one level down (720 p at most).
    const slow = { receive: { intervalMs: 2000, videos: 2, framesDecoded: 100, framesDropped: 0, decodeMs: 5000 } };
    await report(slow);
    await report(slow);
    await waitFor('one level down', () => me().deviceCaps.level === 1, 3000);
    assert.equal(me().deviceCaps.caps.maxHeight, 720);
    // The line saying so names the person and the space without the call site spelling them out.
    const changed = lines.find((l) => l.msg === 'receive caps changed' && l.level === 'info');
    assert.ok(changed, `caps change logged: ${JSON.stringify(lines.slice(-5))}`);
    assert.equal(changed.participant, sub.participantId);
    assert.equal(changed.space, SPACE);

    // Hostile or broken reports: a typed error naming the field, the connection and everyone else unaffected.
    sub.notify('report', { limits: { maxVideos: -3 } });
    sub.notify('report', { receive: { intervalMs: 'x' } });
    const e1 = await sub.nextPush('error');
    const e2 = await sub.nextPush('error');
    assert.equal(e1.code, 'bad_request');
    assert.match(String(e1.message), /limits\.maxVideos/);
    assert.match(String(e2.message), /receive/);
    assert.equal(me().deviceCaps.caps.maxVideos, undefined, 'a refused report changes nothing');
    assert.ok(!sub.closed, 'still connected');
    assert.ok(!near.closed && !far.closed);
  });
});
