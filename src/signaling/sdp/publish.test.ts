import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sdpTransform from 'sdp-transform';
import { parsePublishOffer } from './publish-offer.ts';
import type { PublishOffer } from './publish-offer.ts';
import { buildPublishAnswer } from './publish-answer.ts';
import { createServerCapabilities } from './server-capabilities.ts';
import { SdpError, isSdpError } from './types.ts';
import type { SdpErrorCode } from './types.ts';
import { CHROME_PLAIN_OFFER, CHROME_SIMULCAST_OFFER, CLIENT_FP, LOCAL, SERVER_FP, join } from './test-fixtures.ts';

function mustParse(sdp: string): PublishOffer {
  const r = parsePublishOffer(sdp);
  if (isSdpError(r)) assert.fail(`unexpected SdpError ${r.code}: ${r.message}`);
  return r;
}
const lines = (sdp: string) => sdp.split('\r\n');
/** Lines of the m-section with the given mid. */
function section(sdp: string, mid: string): string[] {
  const parts = sdp.split(/\r\n(?=m=)/);
  const hit = parts.find((p) => p.includes(`\r\na=mid:${mid}\r\n`) || p.endsWith(`a=mid:${mid}\r\n`));
  assert.ok(hit, `no section with mid ${mid}`);
  return lines(hit);
}
const edit = (sdp: string, from: string | RegExp, to: string) => {
  const out = sdp.replace(from, to);
  assert.notEqual(out, sdp, `fixture edit ${from} did not apply`);
  return out;
};

test('parses a Chrome simulcast offer', () => {
  const o = mustParse(CHROME_SIMULCAST_OFFER);
  assert.deepEqual(o.transport, { iceUfrag: 'fm6w', icePwd: 'W8N2AF8GHH5wQOuMYYJ5qsY5', fingerprint: { algorithm: 'sha-256', value: CLIENT_FP }, setup: 'actpass' });
  assert.deepEqual(o.bundleMids, ['0', '1', '2']);
  assert.deepEqual(o.media.map((m) => [m.mid, m.type, m.status, m.direction]), [
    ['0', 'audio', 'send', 'sendonly'],
    ['1', 'video', 'send', 'sendonly'],
    ['2', 'application', 'send', 'sendrecv'],
  ]);
  const [audio, video] = o.media;
  assert.deepEqual(audio!.codecs.map((c) => [c.pt, c.name]), [[111, 'opus'], [63, 'red'], [9, 'G722'], [0, 'PCMU'], [126, 'telephone-event']]);
  assert.deepEqual(audio!.codecs[0]!.fmtp, Object.assign(Object.create(null), { minptime: '10', useinbandfec: '1' }));
  assert.deepEqual(audio!.extIds, { mid: 4, absSendTime: 2, transportCc: 3, audioLevel: 1 });
  assert.equal(audio!.ssrc, 628618608);
  assert.equal(audio!.cname, 'W5+AQfg4wosJ4uyN');
  assert.deepEqual(audio!.msid, { streamId: 'stream-1', trackId: 'track-audio' });
  assert.deepEqual(video!.rids, ['q', 'h', 'f']);
  assert.equal(video!.ssrc, undefined);
  const vp8 = video!.codecs.find((c) => c.name === 'VP8')!;
  assert.equal(vp8.rtxPt, 97);
  assert.deepEqual(vp8.rtcpFb, ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']);
  assert.equal(video!.codecs.some((c) => c.name === 'rtx'), false);
  assert.deepEqual(video!.extIds, { mid: 4, rid: 10, repairedRid: 11, absSendTime: 2, transportCc: 3 });
  assert.equal(video!.extensions.length, 7); // toffset and video-orientation are carried, just not negotiated
});

test('parses a non-simulcast offer with an RTX FID group', () => {
  const video = mustParse(CHROME_PLAIN_OFFER).media[1]!;
  assert.equal(video.ssrc, 1702461394);
  assert.equal(video.rtxSsrc, 3389259894);
  assert.deepEqual(video.rids, []);
  assert.deepEqual(video.msid, { streamId: 'stream-1', trackId: 'track-video' });
});

test('answer to the simulcast offer has the lines Chrome needs', () => {
  const { sdp, media, setup } = buildPublishAnswer(mustParse(CHROME_SIMULCAST_OFFER), LOCAL);
  assert.equal(setup, 'passive');
  const l = lines(sdp);
  assert.ok(l.includes('a=ice-lite'));
  assert.ok(l.includes('a=group:BUNDLE 0 1'), 'data channel is left out of BUNDLE');
  assert.equal(l.indexOf('a=ice-lite') < l.findIndex((x) => x.startsWith('m=')), true, 'ice-lite is session-level');

  const audio = section(sdp, '0');
  assert.equal(audio[0], 'm=audio 40000 UDP/TLS/RTP/SAVPF 111');
  for (const want of [
    'c=IN IP4 203.0.113.7',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtcp-fb:111 transport-cc',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=recvonly',
    'a=setup:passive',
    `a=fingerprint:sha-256 ${SERVER_FP}`,
    'a=ice-ufrag:srvU',
    'a=ice-pwd:serverpasswordserverpw1',
    'a=candidate:1 1 udp 2130706431 203.0.113.7 40000 typ host',
    'a=end-of-candidates',
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ]) assert.ok(audio.includes(want), `audio lacks ${want}`);
  assert.equal(audio.some((x) => /red|G722|PCMU|telephone-event|sendonly|sendrecv/.test(x)), false);

  const video = section(sdp, '1');
  assert.equal(video[0], 'm=video 40000 UDP/TLS/RTP/SAVPF 96 97');
  for (const want of [
    'a=rtpmap:96 VP8/90000',
    'a=rtpmap:97 rtx/90000',
    'a=fmtp:97 apt=96',
    'a=rtcp-fb:96 nack',
    'a=rtcp-fb:96 nack pli',
    'a=rtcp-fb:96 ccm fir',
    'a=rtcp-fb:96 transport-cc',
    'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
    'a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    'a=rid:q recv',
    'a=rid:h recv',
    'a=rid:f recv',
    'a=simulcast:recv q;h;f',
    'a=recvonly',
  ]) assert.ok(video.includes(want), `video lacks ${want}`);
  assert.equal(video.some((x) => /goog-remb|toffset|video-orientation|H264|VP9|ulpfec|a=ssrc/.test(x)), false);

  const data = section(sdp, '2');
  assert.equal(data[0], 'm=application 0 UDP/DTLS/SCTP webrtc-datachannel');
  assert.equal(data.some((x) => x.startsWith('a=candidate') || x.startsWith('a=ice-ufrag')), false);

  assert.deepEqual(media.map((m) => [m.mid, m.kind, m.rejected, m.codec?.pt, m.rtxPt]), [
    ['0', 'audio', false, 111, undefined],
    ['1', 'video', false, 96, 97],
    ['2', 'other', true, undefined, undefined],
  ]);
  assert.deepEqual(media[1]!.rids, ['q', 'h', 'f']);
  assert.deepEqual(media[1]!.extIds, { mid: 4, rid: 10, repairedRid: 11, absSendTime: 2, transportCc: 3 });
  assert.deepEqual(media[1]!.rtcpFb, ['nack', 'nack pli', 'ccm fir', 'transport-cc']);
  assert.match(media[2]!.rejectReason!, /application/);
  // The answer must itself be well-formed SDP.
  assert.equal(sdpTransform.parse(sdp).media.length, 3);
});

test('DTLS role follows RFC 5763 §5', () => {
  const cases = [
    { offer: 'actpass', local: 'passive', want: 'passive' },
    { offer: 'actpass', local: 'active', want: 'active' },
    { offer: 'active', local: 'active', want: 'passive' },
    { offer: 'passive', local: 'passive', want: 'active' },
  ] as const;
  for (const c of cases) {
    const offer = mustParse(CHROME_PLAIN_OFFER.replaceAll('a=setup:actpass', `a=setup:${c.offer}`));
    const a = buildPublishAnswer(offer, { ...LOCAL, setup: c.local });
    assert.equal(a.setup, c.want, JSON.stringify(c));
    assert.ok(lines(a.sdp).includes(`a=setup:${c.want}`));
  }
});

test('keeps the offerer payload types and extension ids', () => {
  const renumber = (l: string) =>
    l.startsWith('a=fingerprint') ? l : l.replace(/\b96\b/g, '100').replace(/\b97\b/g, '101').replace(/\b111\b/g, '109').replace('extmap:4 ', 'extmap:9 ');
  const sdp = lines(CHROME_PLAIN_OFFER).map(renumber).join('\r\n');
  const a = buildPublishAnswer(mustParse(sdp), LOCAL);
  assert.equal(section(a.sdp, '0')[0], 'm=audio 40000 UDP/TLS/RTP/SAVPF 109');
  assert.equal(section(a.sdp, '1')[0], 'm=video 40000 UDP/TLS/RTP/SAVPF 100 101');
  assert.ok(section(a.sdp, '1').includes('a=fmtp:101 apt=100'));
  assert.ok(section(a.sdp, '1').includes('a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid'));
  assert.equal(a.media[1]!.ssrc, 1702461394);
  assert.equal(a.media[1]!.rtxSsrc, 3389259894);
});

test('codec choice follows the offer order and our capabilities', () => {
  const withOrder = (pts: string) => CHROME_PLAIN_OFFER.replace('m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 108 109 98 120', `m=video 9 UDP/TLS/RTP/SAVPF ${pts}`);
  const cases = [
    { name: 'VP8 first', pts: '96 97 102 103 108 109 98 120', caps: {}, want: [96, 97] },
    { name: 'H264 baseline 42001f skipped for constrained baseline', pts: '102 103 108 109 96 97', caps: {}, want: [108, 109] },
    { name: 'H264 disabled', pts: '108 109 96 97', caps: { h264: false }, want: [96, 97] },
    { name: 'only VP9', pts: '98', caps: {}, want: undefined },
    { name: 'only H264, disabled', pts: '108 109', caps: { h264: false }, want: undefined },
  ];
  for (const c of cases) {
    const a = buildPublishAnswer(mustParse(withOrder(c.pts)), LOCAL, createServerCapabilities(c.caps));
    const v = a.media[1]!;
    if (c.want === undefined) {
      assert.equal(v.rejected, true, c.name);
      assert.equal(v.rejectReason, 'no supported codec', c.name);
      assert.match(section(a.sdp, '1')[0]!, /^m=video 0 /, c.name);
      assert.ok(lines(a.sdp).includes('a=group:BUNDLE 0'), c.name);
    } else {
      assert.deepEqual([v.codec?.pt, v.rtxPt], c.want, c.name);
      assert.equal(section(a.sdp, '1')[0], `m=video 40000 UDP/TLS/RTP/SAVPF ${c.want.join(' ')}`, c.name);
    }
  }
  const h264 = buildPublishAnswer(mustParse(withOrder('108 109 96 97')), LOCAL);
  assert.ok(section(h264.sdp, '1').includes('a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'));
});

test('idle and rejected m-lines', () => {
  const cases = [
    { name: 'inactive', edit: ['a=sendonly\r\na=msid:stream-1 track-video', 'a=inactive\r\na=msid:stream-1 track-video'], status: 'inactive', line: 'a=inactive', port: 40000, rejected: false, inactive: true },
    { name: 'recvonly (after removeTrack)', edit: ['a=sendonly\r\na=msid:stream-1 track-video', 'a=recvonly'], status: 'inactive', line: 'a=inactive', port: 40000, rejected: false, inactive: true },
    { name: 'sendrecv', edit: ['a=sendonly\r\na=msid:stream-1 track-video', 'a=sendrecv\r\na=msid:stream-1 track-video'], status: 'send', line: 'a=recvonly', port: 40000, rejected: false, inactive: false },
    { name: 'port 0 (stopped)', edit: ['m=video 9 ', 'm=video 0 '], status: 'rejected', line: 'a=inactive', port: 0, rejected: true, inactive: false },
    { name: 'RTP/AVP', edit: ['m=video 9 UDP/TLS/RTP/SAVPF', 'm=video 9 RTP/AVP'], status: 'send', line: 'a=inactive', port: 0, rejected: true, inactive: false },
  ];
  for (const c of cases) {
    const offer = mustParse(edit(CHROME_PLAIN_OFFER, c.edit[0]!, c.edit[1]!));
    assert.equal(offer.media[1]!.status, c.status, c.name);
    const a = buildPublishAnswer(offer, LOCAL);
    const v = section(a.sdp, '1');
    assert.ok(v.includes(c.line), `${c.name}: ${v.join('|')}`);
    assert.equal(Number(v[0]!.split(' ')[1]), c.port, c.name);
    assert.deepEqual([a.media[1]!.rejected, a.media[1]!.inactive], [c.rejected, c.inactive], c.name);
    assert.equal(lines(a.sdp).includes('a=group:BUNDLE 0 1'), !c.rejected, c.name);
  }
});

test('port 0 with a=bundle-only is bundled, not rejected (RFC 8843)', () => {
  const sdp = edit(CHROME_PLAIN_OFFER, 'm=video 9 ', 'm=video 0 ').replace('a=mid:1\r\n', 'a=mid:1\r\na=bundle-only\r\n');
  const o = mustParse(sdp);
  assert.equal(o.media[1]!.status, 'send');
});

test('numeric-looking values survive sdp-transform number coercion', () => {
  const sdp = join([
    'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:1234', 'a=ice-pwd:1234567890123456789012', `a=fingerprint:sha-256 ${CLIENT_FP}`, 'a=setup:actpass',
    'a=mid:0', 'a=sendonly', 'a=msid:5 7', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 5',
    'a=ssrc-group:FID 42', 'a=ssrc:42 cname:99', 'a=ssrc:42 msid:5 7',
  ]);
  const o = mustParse(sdp);
  assert.deepEqual(o.bundleMids, ['0']);
  assert.equal(o.transport.iceUfrag, '1234');
  assert.deepEqual(o.media[0]!.msid, { streamId: '5', trackId: '7' });
  assert.equal(o.media[0]!.cname, '99');
  const a = buildPublishAnswer(o, LOCAL);
  assert.ok(lines(a.sdp).includes('a=mid:0'));
});

test('hostile or unsupported offers give a clear SdpError', () => {
  const S = CHROME_SIMULCAST_OFFER;
  const P = CHROME_PLAIN_OFFER;
  const cases: { name: string; sdp: string; code: SdpErrorCode; msg: RegExp }[] = [
    { name: 'empty string', sdp: '', code: 'invalid_sdp', msg: /empty/ },
    { name: '1 MB garbage', sdp: 'v=0\r\n' + 'x'.repeat(1024 * 1024), code: 'too_large', msg: /exceeds/ },
    { name: 'not SDP', sdp: 'hello world', code: 'invalid_sdp', msg: /v=0/ },
    { name: 'NUL byte', sdp: P.replace('s=-', 's=\0'), code: 'invalid_sdp', msg: /NUL/ },
    { name: 'no m-lines', sdp: join(['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0']), code: 'no_media', msg: /no m-lines/ },
    { name: 'no BUNDLE', sdp: edit(P, 'a=group:BUNDLE 0 1 2\r\n', ''), code: 'missing_bundle', msg: /BUNDLE/ },
    { name: 'two BUNDLE groups', sdp: edit(P, 'a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 0 1\r\na=group:BUNDLE 2'), code: 'missing_bundle', msg: /several/ },
    { name: 'm-line outside BUNDLE', sdp: edit(P, 'a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 0 2'), code: 'missing_bundle', msg: /"1" is not in the BUNDLE/ },
    { name: 'no rtcp-mux', sdp: P.replace(/a=rtcp-mux\r\n/g, ''), code: 'missing_rtcp_mux', msg: /rtcp-mux/ },
    { name: 'no fingerprint', sdp: P.replace(/a=fingerprint:.*\r\n/g, ''), code: 'missing_fingerprint', msg: /fingerprint/ },
    { name: 'sha-1 fingerprint', sdp: P.replace(/a=fingerprint:sha-256 /g, 'a=fingerprint:sha-1 '), code: 'unsupported_fingerprint', msg: /sha-256 required/ },
    { name: 'short fingerprint', sdp: P.replaceAll(CLIENT_FP, 'AB:CD'), code: 'unsupported_fingerprint', msg: /malformed/ },
    { name: 'no ice credentials', sdp: P.replace(/a=ice-pwd:.*\r\n/g, ''), code: 'missing_ice', msg: /ice-pwd/ },
    { name: 'no setup', sdp: P.replace(/a=setup:.*\r\n/g, ''), code: 'bad_setup', msg: /setup/ },
    { name: 'holdconn', sdp: P.replace(/a=setup:actpass/g, 'a=setup:holdconn'), code: 'bad_setup', msg: /setup/ },
    { name: 'ufrag differs across bundle', sdp: edit(P, /a=ice-ufrag:fm6w(?![\s\S]*a=ice-ufrag:fm6w)/, 'a=ice-ufrag:zzzz'), code: 'transport_mismatch', msg: /disagree/ },
    { name: 'missing mid', sdp: edit(P, 'a=mid:1\r\n', ''), code: 'missing_mid', msg: /#1/ },
    { name: 'duplicate mid', sdp: edit(P, 'a=mid:2\r\n', 'a=mid:1\r\n'), code: 'duplicate_mid', msg: /twice/ },
    {
      name: 'Plan B: two media SSRCs, no msid',
      sdp: P.replace('a=msid:stream-1 track-video\r\n', '').replace(/a=ssrc-group:FID.*\r\n/, '').replace('a=ssrc:3389259894 msid:stream-1 track-video', 'a=ssrc:3389259894 msid:stream-2 other'),
      code: 'plan_b',
      msg: /2 media SSRCs/,
    },
    { name: 'Plan B: two msid tracks', sdp: edit(P, 'a=msid:stream-1 track-video\r\n', 'a=msid:stream-1 track-video\r\na=msid:stream-2 track-screen\r\n'), code: 'plan_b', msg: /several tracks/ },
    { name: 'SIM group', sdp: edit(P, 'a=ssrc-group:FID', 'a=ssrc-group:SIM 1702461394 3389259894\r\na=ssrc-group:FID'), code: 'plan_b', msg: /SIM/ },
    { name: 'simulcast rid undeclared', sdp: edit(S, 'a=rid:h send\r\n', ''), code: 'bad_simulcast', msg: /"h"/ },
    { name: 'simulcast without rid ext', sdp: S.replace(/a=extmap:10 .*\r\n/, ''), code: 'bad_simulcast', msg: /rtp-stream-id/ },
    { name: 'simulcast too many layers', sdp: edit(S, 'a=simulcast:send q;h;f', 'a=simulcast:send q;h;f;a;b').replace('a=rid:q send', 'a=rid:q send\r\na=rid:a send\r\na=rid:b send'), code: 'bad_simulcast', msg: /more than 4/ },
    { name: 'simulcast repeated rid', sdp: edit(S, 'a=simulcast:send q;h;f', 'a=simulcast:send q;q'), code: 'bad_simulcast', msg: /repeats/ },
    { name: 'simulcast rid too long', sdp: S.replace(/\bq\b/g, 'q'.repeat(17)), code: 'bad_simulcast', msg: /invalid rid/ },
    { name: 'simulcast recv only', sdp: edit(S, 'a=simulcast:send q;h;f', 'a=simulcast:recv q;h;f'), code: 'bad_simulcast', msg: /send list/ },
  ];
  for (const c of cases) {
    const r = parsePublishOffer(c.sdp);
    assert.ok(r instanceof SdpError, `${c.name}: expected SdpError`);
    assert.equal(r.code, c.code, `${c.name}: ${r.message}`);
    assert.match(r.message, c.msg, c.name);
  }
  assert.ok(isSdpError(parsePublishOffer(42 as unknown as string)));
});

test('mutated offers never throw', () => {
  let seed = 7;
  const rnd = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * n);
  const base = lines(CHROME_SIMULCAST_OFFER);
  for (let i = 0; i < 500; i++) {
    const l = [...base];
    for (let k = 0; k < 3; k++) {
      const at = rnd(l.length);
      const op = rnd(4);
      if (op === 0) l.splice(at, 1);
      else if (op === 1) l.splice(at, 0, l[rnd(l.length)]!);
      else if (op === 2) l[at] = l[at]!.slice(0, rnd(l[at]!.length + 1));
      else l[at] = l[at]!.replace(/[0-9a-z]/, String.fromCharCode(33 + rnd(90)));
    }
    const r = parsePublishOffer(l.join('\r\n'));
    if (!isSdpError(r)) assert.equal(typeof buildPublishAnswer(r, LOCAL).sdp, 'string');
  }
});
