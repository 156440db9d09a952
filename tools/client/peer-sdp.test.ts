import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PEER_EXT, PEER_PT, PEER_SIMULCAST_EXT, buildPublishOffer } from './peer-sdp.ts';
import { parsePublishOffer } from '../../src/signaling/sdp/publish-offer.ts';
import { buildPublishAnswer } from '../../src/signaling/sdp/publish-answer.ts';
import { LOCAL } from '../../src/signaling/sdp/test-fixtures.ts';
import { isSdpError } from '../../src/signaling/sdp/types.ts';
import { generateIceCredentials } from '../../src/transport/ice/ice-lite.ts';

const FP = 'A3:CC:E6:9E:7D:BF:77:1F:C4:F2:5E:1A:AC:F6:33:FB:72:58:2B:AA:96:AC:AB:97:8F:6E:C1:2B:9F:19:36:75';

test('a simulcast publish offer is shaped like Chrome’s: rids, a=simulcast, the naming extensions, no a=ssrc', () => {
  const ice = generateIceCredentials();
  const sdp = buildPublishOffer({ ice, fingerprint: FP, cname: 'cn', streamId: 'st', audio: { ssrc: 11, trackId: 'ta' }, video: { trackId: 'tv' }, simulcast: { rids: ['q', 'h', 'f'] } });
  const video = sdp.slice(sdp.indexOf('m=video'));
  assert.match(video, /a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n/);
  assert.doesNotMatch(video, /a=ssrc/);
  const offer = parsePublishOffer(sdp);
  if (isSdpError(offer)) assert.fail(offer.message);
  const v = offer.media[1]!;
  assert.deepEqual(v.rids, ['q', 'h', 'f']);
  assert.equal(v.ssrc, undefined);
  assert.deepEqual(v.extIds, { transportCc: PEER_EXT.transportCc, mid: PEER_SIMULCAST_EXT.mid, rid: PEER_SIMULCAST_EXT.rid, repairedRid: PEER_SIMULCAST_EXT.repairedRid });
  assert.equal(v.codecs[0]!.rtxPt, PEER_PT.vp8Rtx);
  assert.equal(offer.media[0]!.ssrc, 11, 'audio keeps its a=ssrc');
  const answer = buildPublishAnswer(offer, LOCAL);
  assert.match(answer.sdp, /a=simulcast:recv q;h;f/);
  assert.deepEqual(answer.media[1]!.rids, ['q', 'h', 'f']);
});

test('without simulcast the video section is unchanged: a=ssrc + FID, no rid extensions', () => {
  const ice = generateIceCredentials();
  const sdp = buildPublishOffer({ ice, fingerprint: FP, cname: 'cn', streamId: 'st', video: { ssrc: 22, rtxSsrc: 33, trackId: 'tv' } });
  assert.match(sdp, /a=ssrc-group:FID 22 33\r\n/);
  assert.doesNotMatch(sdp, /rtp-stream-id|a=rid|a=simulcast/);
  assert.throws(() => buildPublishOffer({ ice, fingerprint: FP, cname: 'cn', streamId: 'st', video: { trackId: 'tv' } }), /ssrc/);
});
