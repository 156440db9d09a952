/**
 * Rid-based simulcast end to end over real UDP: a headless client publishes three layers the way Chrome
 * does (no a=ssrc; mid + rtp-stream-id extensions name each layer's SSRC), a subscriber next to it gets
 * one continuous stream of the top layer, a forced switch lands on the low layer exactly at its keyframe
 * with contiguous numbering, and a NACK for a packet of the new layer is answered with RTX.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, serverDiagnostics } from '../testkit/proxima.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { LAYER_TAG, pumpSimulcast } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import { Vp8Descriptor } from '../../src/rtp/vp8.ts';
import { dropCount } from '../../src/metrics/drop-reasons.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import type { RtpView } from '../../src/rtp/rtp-packet.ts';

const SPACE = 'simulcast';
const RIDS = ['q', 'h', 'f'];

interface Got {
  ssrc: number;
  seq: number;
  payload: Buffer;
  /** Layer index from the payload's last byte. */
  layer: number;
  key: boolean;
  pictureId: number;
}

describe('rid-based simulcast through the server', () => {
  let server: ProximaServer;
  const clients: NodeClient[] = [];
  const stops: (() => void)[] = [];
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await server?.close();
  });

  it('one continuous stream; a forced switch happens at the target layer’s keyframe; NACK gets RTX', async () => {
    server = await startTestServer();
    const pub = await NodeClient.join(server.url, SPACE, 'P', { x: 4, y: 16 });
    clients.push(pub);
    const { peer: pubPeer, tracks } = await pub.publish({ audio: false, simulcast: RIDS });
    const videoTrack = tracks.find((t) => t.kind === 'video');
    assert.ok(videoTrack, 'one video track for the three layers');
    assert.equal(tracks.length, 1);
    stops.push(pumpSimulcast(pubPeer, RIDS));

    const got: Got[] = [];
    const d = new Vp8Descriptor();
    const record = (v: RtpView) => {
      const payload = Buffer.from(v.buf.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength));
      const ok = d.parse(payload, 0, payload.length) === null;
      got.push({ ssrc: v.ssrc, seq: v.sequenceNumber, payload, layer: payload[payload.length - 1] - LAYER_TAG, key: ok && d.isKeyframe, pictureId: ok ? d.pictureId : -1 });
    };
    const sub = await NodeClient.join(server.url, SPACE, 'S', { x: 6, y: 16, beforeJoin: (c) => (c.onSubscriberPeer = (peer) => void (peer.onRtp = record)) });
    clients.push(sub);
    const peer = await sub.subscriberReady();
    const video = await waitFor('the video offered to S', () => sub.subscribeTracks.find((t) => t.kind === 'video' && t.direction === 'sendonly'));
    const media = () => got.filter((g) => g.ssrc === video.ssrc);
    await waitFor('the top layer at S', () => media().filter((g) => g.layer === 2).length > 30, 10_000).catch((e: Error) => {
      throw new Error(`${e.message}; ${serverDiagnostics()}`);
    });

    // The server's object graph: S's consumer of P's video.
    const consumer = server.spaces.get(SPACE)?.participants.get(sub.participantId)?.consumerOf(videoTrack.trackId);
    assert.ok(consumer, 'S consumes P’s video');
    assert.deepEqual(consumer.current, { spatial: 2, temporal: 0 }, 'f (1280×720) ranks top');
    assert.deepEqual(
      consumer.layers().map((l) => [l.spatial, l.width, l.height]),
      [
        [0, 320, 180],
        [1, 640, 360],
        [2, 1280, 720],
      ],
    );
    assert.ok(consumer.layers().every((l) => l.bitrate > 0), 'every layer measured');

    const qSsrc = pubPeer.stream('video/q').ssrc;
    const qPlis = () => pubPeer.rtcpOf('pli').filter((p) => p.mediaSsrc === qSsrc).length;
    const plisBefore = qPlis();
    const mark = media().length;
    consumer.setTarget({ spatial: 0, temporal: 0 });
    await waitFor('the low layer at S', () => media().slice(mark).some((g) => g.layer === 0), 5000);
    assert.ok(qPlis() > plisBefore, 'the server asked q for a keyframe');

    const all = media();
    const sw = all.findIndex((g, i) => i >= mark && g.layer === 0);
    assert.ok(all[sw].key, 'the first q packet is its keyframe');
    assert.equal(all[sw - 1].layer, 2, 'f until then');
    for (let i = 1; i < all.length; i++) {
      assert.equal(all[i].seq, (all[i - 1].seq + 1) & 0xffff, `contiguous sequence numbers at ${i} (switch at ${sw})`);
    }
    assert.equal(all[sw].pictureId, (all[sw - 1].pictureId + 1) & 0x7fff, 'PictureID continues across the switch');
    assert.ok(all.slice(sw).every((g) => g.layer === 0), 'nothing of f after the switch');

    // A NACK for a packet of the new layer: RTX (RFC 4588) from q's cache.
    await waitFor('a few q packets', () => media().length > sw + 6, 3000);
    const wanted = media()[sw + 3];
    peer.sendNack(video.ssrc!, [wanted.seq]);
    const rtx = await waitFor('RTX at S', () => got.find((g) => g.ssrc === video.rtxSsrc && g.payload.readUInt16BE(0) === wanted.seq), 3000);
    assert.deepEqual(rtx.payload.subarray(2), wanted.payload, 'the packet as S got it');
    assert.equal(dropCount('rid_unknown'), 0);
  });
});
