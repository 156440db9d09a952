import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../../test/testkit/proxima.ts';
import { waitFor } from '../../test/testkit/browser.ts';
import type { NodePeer } from './node-peer.ts';
import { NodeClient } from './node-client.ts';
import { opusPayload, vp8Payload } from '../../test/testkit/synthetic-media.ts';
import { PEER_EXT, PEER_PT, buildPublishOffer } from './peer-sdp.ts';
import { buildInProcessSfu } from '../../bench/lib/in-process-sfu.ts';
import { parsePublishOffer } from '../../src/signaling/sdp/publish-offer.ts';
import { isSdpError } from '../../src/signaling/sdp/types.ts';
import { readAudioLevel, readTransportSeq } from '../../src/rtp/header-extensions.ts';
import { createDtlsCertificate, type DtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { generateIceCredentials } from '../../src/transport/ice/ice-lite.ts';
import { dropCount } from '../../src/metrics/drop-reasons.ts';
import type { RtpView } from '../../src/rtp/rtp-packet.ts';
import type { SenderReport } from '../../src/rtp/rtcp-types.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

interface Got {
  ssrc: number;
  seq: number;
  ts: number;
  marker: boolean;
  pt: number;
  payload: Buffer;
  tseq: number;
  audioLevel: number;
}

/** Copies what a test needs out of a view (valid only during the callback). */
function record(into: Got[], ext: { transportCc?: number; audioLevel?: number }) {
  return (v: RtpView) =>
    into.push({
      ssrc: v.ssrc,
      seq: v.sequenceNumber,
      ts: v.timestamp,
      marker: v.marker,
      pt: v.payloadType,
      payload: Buffer.from(v.buf.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)),
      tseq: readTransportSeq(v, ext.transportCc),
      audioLevel: readAudioLevel(v, ext.audioLevel),
    });
}

interface Sent {
  payload: Buffer;
  ts: number;
  marker: boolean;
}

/** One video frame of `packets` packets (marker on the last, RFC 7741 §4.1), sent and remembered. */
function sendFrame(peer: NodePeer, sent: Sent[], ts: number, packets: number, keyframe: boolean, size = 1000): void {
  for (let i = 0; i < packets; i++) {
    const payload = vp8Payload(size, { keyframe, first: i === 0, seed: sent.length * 31 + i });
    const marker = i === packets - 1;
    peer.sendRtp('video', payload, { timestamp: ts, marker });
    sent.push({ payload, ts, marker });
  }
}

const u32 = (x: number) => x >>> 0;
const ntpSeconds = (sr: { ntpSec: number; ntpFrac: number }) => sr.ntpSec + sr.ntpFrac / 0x1_0000_0000;

describe('NodePeer', () => {
  let cert: DtlsCertificate;
  before(async () => {
    cert = await createDtlsCertificate();
  });

  it('builds a publish offer our parser accepts: Opus, VP8 with an RTX FID pair, transport-cc and audio level', () => {
    const ice = generateIceCredentials();
    const sdp = buildPublishOffer({ ice, fingerprint: cert.fingerprint, cname: 'cn', streamId: 'st', audio: { ssrc: 11, trackId: 'ta' }, video: { ssrc: 22, rtxSsrc: 33, trackId: 'tv' } });
    const offer = parsePublishOffer(sdp);
    if (isSdpError(offer)) assert.fail(offer.message);
    assert.deepEqual(offer.transport, { iceUfrag: ice.ufrag, icePwd: ice.pwd, fingerprint: { algorithm: 'sha-256', value: cert.fingerprint }, setup: 'actpass' });
    assert.deepEqual(offer.bundleMids, ['0', '1']);
    const [a, v] = offer.media;
    assert.deepEqual([a!.type, a!.status, a!.ssrc, a!.codecs[0]!.name, a!.codecs[0]!.pt], ['audio', 'send', 11, 'opus', PEER_PT.opus]);
    assert.deepEqual(a!.extIds, { audioLevel: PEER_EXT.audioLevel, transportCc: PEER_EXT.transportCc });
    assert.deepEqual([v!.type, v!.status, v!.ssrc, v!.rtxSsrc, v!.codecs[0]!.name, v!.codecs[0]!.rtxPt], ['video', 'send', 22, 33, 'VP8', PEER_PT.vp8Rtx]);
    assert.deepEqual(v!.msid, { streamId: 'st', trackId: 'tv' });
  });

  describe('against a real ProximaServer over UDP', () => {
    let server: ProximaServer;
    const clients: NodeClient[] = [];
    before(async () => {
      server = await startTestServer();
    });
    after(async () => {
      for (const c of clients) c.close();
      await server?.close();
    });

    it('forwards from a keyframe with contiguous rewritten sequence numbers, answers a NACK with RTX and sends SRs', async () => {
      const P = await NodeClient.join(server.url, 'np1', 'P', { certificate: cert });
      clients.push(P);
      const { peer: pub, tracks } = await P.publish();
      assert.deepEqual(tracks.map((t) => t.kind).sort(), ['audio', 'video']);
      assert.equal(pub.state, 'connected');
      assert.equal(pub.mappedAddress?.port, pub.link.port, 'the binding response reflects our source port');

      const S = await NodeClient.join(server.url, 'np1', 'S', { certificate: cert });
      clients.push(S);
      assert.deepEqual((await S.subscribe(P.participantId)).sort(), tracks.map((t) => t.trackId).sort());
      const sub = await S.subscriberReady();
      const video = S.subscribeTracks.find((t) => t.kind === 'video')!;
      const audio = S.subscribeTracks.find((t) => t.kind === 'audio')!;
      assert.ok(video.ssrc && video.rtxSsrc && audio.ssrc, 'the subscribe offer names the SSRCs (a=ssrc, FID)');
      assert.deepEqual([video.payloadType, video.rtxPayloadType, audio.payloadType], [96, 97, 111]);
      assert.equal(video.streamId, P.participantId);

      // Subscribing resumed the consumer, which asks the publisher for a keyframe (RFC 4585 §6.3.1).
      await waitFor('a PLI at the publisher', () => pub.rtcpOf('pli').some((p) => p.mediaSsrc === pub.stream('video').ssrc), 5000, 20);

      const got: Got[] = [];
      sub.onRtp = record(got, video.ext.transportCc !== undefined ? { transportCc: video.ext.transportCc, audioLevel: audio.ext.audioLevel! } : {});
      const sent: Sent[] = [];
      const notKeyframeBefore = dropCount('not_keyframe');
      // Delta packets before any keyframe: a new subscriber cannot decode them, so nothing may arrive.
      const ts0 = 1_000_000;
      pub.sendRtp('video', vp8Payload(500, { keyframe: false }), { timestamp: ts0 - 3000, marker: true });
      pub.sendRtp('video', vp8Payload(500, { keyframe: false }), { timestamp: ts0 - 1500, marker: true });
      sendFrame(pub, sent, ts0, 4, true);
      sendFrame(pub, sent, ts0 + 3000, 3, false);
      sendFrame(pub, sent, ts0 + 6000, 3, false);
      const audioTs0 = 50_000;
      for (let i = 0; i < 5; i++) pub.sendRtp('audio', opusPayload(80, i), { timestamp: audioTs0 + i * 960, audioLevel: 42 });

      const vid = () => got.filter((g) => g.ssrc === video.ssrc);
      const aud = () => got.filter((g) => g.ssrc === audio.ssrc);
      await waitFor('10 video and 5 audio packets at the subscriber', () => vid().length >= 10 && aud().length >= 5, 5000, 20);
      await new Promise((r) => setTimeout(r, 200)); // anything extra would arrive now
      assert.equal(dropCount('not_keyframe') - notKeyframeBefore, 2, 'the two delta packets before the keyframe were held back');
      const v = vid();
      assert.equal(v.length, 10, 'exactly the keyframe and what followed');
      for (let i = 0; i < v.length; i++) {
        assert.equal(v[i]!.seq, (v[0]!.seq + i) & 0xffff, `video seq contiguous at ${i}`);
        assert.equal(v[i]!.pt, 96);
        assert.ok(v[i]!.payload.equals(sent[i]!.payload), `video payload ${i} unchanged`);
        assert.equal(v[i]!.marker, sent[i]!.marker, `marker ${i}`);
        assert.equal(u32(v[i]!.ts - v[0]!.ts), u32(sent[i]!.ts - sent[0]!.ts), `timestamp spacing ${i}`);
      }
      assert.equal(v[0]!.payload[1]! & 0x01, 0, 'the first video packet is a keyframe (P bit 0)');
      const a = aud();
      assert.equal(a.length, 5);
      for (let i = 0; i < a.length; i++) {
        assert.equal(a[i]!.seq, (a[0]!.seq + i) & 0xffff, `audio seq contiguous at ${i}`);
        assert.equal(a[i]!.pt, 111);
        assert.ok(a[i]!.payload.equals(opusPayload(80, i)), `audio payload ${i} unchanged`);
        assert.equal(a[i]!.audioLevel, 0x80 | 42, 'RFC 6464 level and voice bit carried to the subscriber');
      }
      // One transport-wide sequence per connection (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2).
      const tseqs = got.map((g) => g.tseq).sort((x, y) => x - y);
      assert.ok(tseqs[0]! >= 0, 'transport-cc extension present');
      assert.equal(new Set(tseqs).size, tseqs.length, 'transport-wide seqs unique');
      assert.equal(tseqs.at(-1)! - tseqs[0]!, tseqs.length - 1, 'transport-wide seqs contiguous');

      // NACK (RFC 4585 §6.2.1) for one delivered packet and one never sent: one RTX (RFC 4588 §4), one counted miss.
      const lost = v[5]!;
      const never = (v[0]!.seq - 100) & 0xffff;
      const missesBefore = dropCount('nack_not_in_cache');
      got.length = 0;
      sub.sendNack(video.ssrc!, [never, lost.seq]);
      await waitFor('an RTX packet', () => got.some((g) => g.ssrc === video.rtxSsrc), 5000, 20);
      await waitFor('the miss counted', () => dropCount('nack_not_in_cache') > missesBefore, 2000, 20);
      await new Promise((r) => setTimeout(r, 200));
      const rtx = got.filter((g) => g.ssrc === video.rtxSsrc);
      assert.equal(rtx.length, 1, 'one retransmission, none for the unknown seq');
      assert.equal(dropCount('nack_not_in_cache') - missesBefore, 1);
      assert.equal(rtx[0]!.pt, 97, 'RTX payload type');
      assert.equal(rtx[0]!.payload.readUInt16BE(0), lost.seq, 'OSN is the NACKed (rewritten) sequence number');
      assert.ok(rtx[0]!.payload.subarray(2).equals(lost.payload), 'original payload after the OSN');
      assert.equal(rtx[0]!.ts, lost.ts, 'original timestamp');
      assert.equal(rtx[0]!.marker, lost.marker);

      // SRs: the publisher's NTP↔RTP pair, carried forward and shifted by the consumer's timestamp offset.
      const pv = pub.sendSenderReport('video', { rtpTimestamp: ts0 + 6000 });
      const pa = pub.sendSenderReport('audio', { rtpTimestamp: audioTs0 + 4 * 960 });
      const srFor = (ssrc: number) => sub.rtcpOf('sr').find((r) => r.ssrc === ssrc);
      const [srV, srA] = await waitFor('SRs for both streams', () => (srFor(video.ssrc!) && srFor(audio.ssrc!) ? [srFor(video.ssrc!)!, srFor(audio.ssrc!)!] : null), 5000, 50);
      const check = (sr: SenderReport, p: { ntpSec: number; ntpFrac: number; rtpTimestamp: number }, offset: number, rate: number, packets: number, octets: number, what: string) => {
        assert.equal(sr.packetCount, packets, `${what} packet count`);
        assert.equal(sr.octetCount, octets, `${what} octet count`);
        const elapsed = ntpSeconds(sr) - ntpSeconds(p);
        assert.ok(elapsed >= 0 && elapsed < 5, `${what} NTP time moves forward from the publisher's (${elapsed} s)`);
        const expected = u32(p.rtpTimestamp + Math.round(elapsed * rate) + offset);
        const diff = ((u32(sr.rtpTimestamp - expected) + 0x8000_0000) >>> 0) - 0x8000_0000;
        assert.ok(Math.abs(diff) <= 2, `${what} RTP timestamp maps like the publisher's (off by ${diff})`);
      };
      check(srV, pv, u32(v[0]!.ts - sent[0]!.ts), 90000, 10, sent.reduce((n, s) => n + s.payload.length, 0), 'video');
      check(srA, pa, u32(a[0]!.ts - audioTs0), 48000, 5, 5 * 80, 'audio');
      assert.deepEqual([...sub.drops], [], 'the subscriber dropped nothing');
      assert.deepEqual([...pub.drops], [], 'the publisher dropped nothing');
    });
  });

  it('runs the same path in one process over a VirtualNetwork', async () => {
    const sfu = await buildInProcessSfu({ subscribers: 2 });
    try {
      const pub = sfu.publisher.peer;
      const received = sfu.subscribers.map(() => [] as Got[]);
      sfu.subscribers.forEach((s, i) => (s.peer.onRtp = record(received[i]!, {})));
      const sent: Sent[] = [];
      sendFrame(pub, sent, 9000, 3, true, 1200);
      sendFrame(pub, sent, 12000, 3, false, 1200);
      await waitFor('both subscribers receive 6 video packets', () => received.every((r) => r.length >= 6), 5000, 10);
      sfu.subscribers.forEach((s, i) => {
        const r = received[i]!;
        assert.equal(r.length, 6);
        assert.ok(r.every((g) => g.ssrc === s.consumers.video.params.ssrc));
        r.forEach((g, k) => {
          assert.equal(g.seq, (r[0]!.seq + k) & 0xffff);
          assert.ok(g.payload.equals(sent[k]!.payload));
        });
      });
      assert.notEqual(sfu.subscribers[0]!.consumers.video.params.ssrc, sfu.subscribers[1]!.consumers.video.params.ssrc);

      // With a media sink, SRTP to a peer is counted instead of delivered; handshakes are untouched.
      let sunk = 0;
      sfu.subscribers[0]!.link.mediaSink = () => sunk++;
      const before = received[0]!.length;
      sendFrame(pub, sent, 15000, 2, false, 1200);
      await waitFor('the other subscriber gets the frame', () => received[1]!.length >= 8, 5000, 10);
      assert.equal(sunk, 2);
      assert.equal(received[0]!.length, before);
      assert.deepEqual(sfu.failures, []);
    } finally {
      sfu.close();
    }
  });
});
