import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaDescription } from 'sdp-transform';
import { checkSdpShape, DEFAULT_SDP_LIMITS, parseCodecs } from './parse-common.ts';
import { parsePublishOffer } from './publish-offer.ts';
import { parseSubscribeAnswer } from './subscribe-answer.ts';
import { CHROME_PLAIN_OFFER, CHROME_SIMULCAST_OFFER, CHROME_SUBSCRIBE_ANSWER } from './test-fixtures.ts';
import { rtcpFbFloodOffer } from '../../../test/testkit/hostile/floods.ts';
import { SdpError } from './types.ts';

test('browser SDPs are within every cap', () => {
  for (const sdp of [CHROME_PLAIN_OFFER, CHROME_SIMULCAST_OFFER, CHROME_SUBSCRIBE_ANSWER]) assert.equal(checkSdpShape(sdp), null);
});

test('each cap rejects with a message naming it', () => {
  const video = CHROME_PLAIN_OFFER.indexOf('m=video');
  const nl = CHROME_PLAIN_OFFER.indexOf('\r\n', video) + 2;
  const grow = (lines: string) => CHROME_PLAIN_OFFER.slice(0, nl) + lines + CHROME_PLAIN_OFFER.slice(nl);
  const cases: Array<[string, string, Partial<typeof DEFAULT_SDP_LIMITS>]> = [
    ['maxRtcpFbPerPayload', grow('a=rtcp-fb:96 nack\r\n'.repeat(17)), {}],
    ['maxLinesPerMedia', grow('a=x\r\n'.repeat(401)), {}],
    ['maxLines', CHROME_PLAIN_OFFER, { maxLines: 50 }],
    ['maxMediaSections', CHROME_PLAIN_OFFER, { maxMediaSections: 2 }],
    ['maxPayloadTypes', CHROME_PLAIN_OFFER.replace(/^(m=video \d+ \S+)(.*)$/m, (_, a: string, b: string) => a + b + Array.from({ length: 60 }, (_v, i) => ` ${i + 30}`).join('')), {}],
  ];
  for (const [cap, sdp, over] of cases) {
    const e = checkSdpShape(sdp, { ...DEFAULT_SDP_LIMITS, ...over });
    assert.ok(e instanceof SdpError, cap);
    assert.match(e.message, new RegExp(`limits\\.sdp\\.${cap}`), cap);
  }
});

test('the 64 KiB a=rtcp-fb flood is rejected by the parsers at the cap, cheaply', () => {
  const { sdp, fbLines } = rtcpFbFloodOffer();
  assert.ok(fbLines > 3800, `${fbLines} lines`);
  const offer = parsePublishOffer(sdp);
  assert.ok(offer instanceof SdpError);
  assert.match(offer.message, /limits\.sdp\.maxRtcpFbPerPayload/);
  assert.ok(parseSubscribeAnswer(sdp, ['0']) instanceof SdpError);
});

test('codec parsing is linear in the lines of a section', () => {
  // 20,000 a=rtcp-fb for one payload type (beyond any cap, to measure the parser alone): appending to a
  // copied list was quadratic (200M element copies, seconds); indexed once it is a few ms.
  const m = {
    type: 'video',
    payloads: '96 97',
    rtp: [
      { payload: 96, codec: 'VP8', rate: 90000 },
      { payload: 97, codec: 'rtx', rate: 90000 },
    ],
    fmtp: [{ payload: 97, config: 'apt=96' }],
    rtcpFb: Array.from({ length: 20_000 }, () => ({ payload: 96, type: 'nack' })),
  } as unknown as MediaDescription;
  const t0 = performance.now();
  const codecs = parseCodecs(m);
  const ms = performance.now() - t0;
  assert.equal(codecs.length, 1);
  assert.equal(codecs[0]!.rtcpFb.length, 20_000);
  assert.equal(codecs[0]!.rtxPt, 97);
  assert.ok(ms < 200, `${ms.toFixed(1)} ms`);
});
