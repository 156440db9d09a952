import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sdpTransform from 'sdp-transform';
import { buildSubscribeOffer } from './subscribe-offer.ts';
import type { SubscribeMedia } from './subscribe-offer.ts';
import { parseSubscribeAnswer } from './subscribe-answer.ts';
import { SdpError, isSdpError } from './types.ts';
import type { OfferTransportParams, SdpErrorCode } from './types.ts';
import { CHROME_SUBSCRIBE_ANSWER, CLIENT_FP, LOCAL, SERVER_FP, join } from './test-fixtures.ts';

const OFFER_LOCAL: OfferTransportParams = { ...LOCAL, setup: 'actpass' };
const MEDIA: SubscribeMedia[] = [
  { mid: '0', kind: 'audio', direction: 'sendonly', ssrc: 1111, cname: 'cn1', streamId: 'pubA', trackId: 'trA', codec: 'opus' },
  { mid: '1', kind: 'video', direction: 'sendonly', ssrc: 2222, rtxSsrc: 3333, cname: 'cn1', streamId: 'pubA', trackId: 'trV', codec: 'vp8' },
  { mid: '2', kind: 'video', direction: 'sendonly', ssrc: 4444, rtxSsrc: 5555, cname: 'cn2', streamId: 'pubB', trackId: 'trH', codec: 'h264' },
];
const lines = (sdp: string) => sdp.split('\r\n');
const sections = (sdp: string) => sdp.split(/\r\n(?=m=)/).slice(1).map(lines);

test('subscribe offer: one sendonly m-line per track with our fixed PTs and ext ids', () => {
  const sdp = buildSubscribeOffer(OFFER_LOCAL, 5, MEDIA);
  const l = lines(sdp);
  assert.ok(l.includes('a=ice-lite'));
  assert.ok(l.includes('a=group:BUNDLE 0 1 2'));
  assert.match(l[1]!, /^o=- \d+ 5 IN IP4 /);
  const [audio, vp8, h264] = sections(sdp);
  const common = [
    'c=IN IP4 203.0.113.7',
    'a=setup:actpass',
    'a=ice-ufrag:srvU',
    'a=ice-pwd:serverpasswordserverpw1',
    `a=fingerprint:sha-256 ${SERVER_FP}`,
    'a=candidate:1 1 udp 2130706431 203.0.113.7 40000 typ host',
    'a=end-of-candidates',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    'a=sendonly',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  ];
  const want: [string[], string[]][] = [
    [audio!, ['m=audio 40000 UDP/TLS/RTP/SAVPF 111 63', 'a=mid:0', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1', 'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111', 'a=rtcp-fb:111 transport-cc',
      'a=extmap:4 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=msid:pubA trA', 'a=ssrc:1111 cname:cn1', 'a=ssrc:1111 msid:pubA trA']],
    [vp8!, ['m=video 40000 UDP/TLS/RTP/SAVPF 96 97', 'a=mid:1', 'a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli',
      'a=rtcp-fb:96 ccm fir', 'a=rtcp-fb:96 transport-cc', 'a=rtcp-fb:96 goog-remb', 'a=ssrc-group:FID 2222 3333', 'a=ssrc:2222 cname:cn1', 'a=ssrc:3333 cname:cn1', 'a=ssrc:3333 msid:pubA trV', 'a=msid:pubA trV']],
    [h264!, ['m=video 40000 UDP/TLS/RTP/SAVPF 102 103', 'a=mid:2', 'a=rtpmap:102 H264/90000', 'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      'a=fmtp:103 apt=102', 'a=ssrc-group:FID 4444 5555']],
  ];
  for (const [sec, lines] of want) for (const x of [...common, ...lines]) assert.ok(sec.includes(x), `${sec[0]} lacks ${x}`);
  assert.equal(vp8!.some((x) => /ssrc-audio-level/.test(x)), false);
  // REMB is the fallback estimate for a browser that drops transport-cc; audio needs neither.
  assert.equal(audio!.some((x) => /goog-remb/.test(x)), false);
  assert.equal(sdpTransform.parse(sdp).media.length, 3);
});

test('subscribe offer: session id stable, mids stable, gone tracks become inactive', () => {
  const v1 = buildSubscribeOffer(OFFER_LOCAL, 1, MEDIA);
  const v2 = buildSubscribeOffer(OFFER_LOCAL, 2, [{ ...MEDIA[0]!, direction: 'inactive' }, MEDIA[1]!, MEDIA[2]!]);
  const o1 = lines(v1)[1]!.split(' ');
  const o2 = lines(v2)[1]!.split(' ');
  assert.equal(o1[1], o2[1], 'session id');
  assert.deepEqual([o1[2], o2[2]], ['1', '2']);
  assert.notEqual(lines(buildSubscribeOffer({ ...OFFER_LOCAL, iceUfrag: 'othr' }, 1, MEDIA))[1]!.split(' ')[1], o1[1]);
  const audio = sections(v2)[0]!;
  assert.ok(audio.includes('a=inactive'));
  assert.ok(audio.includes('a=mid:0'));
  assert.equal(audio.some((x) => x.startsWith('a=ssrc') || x.startsWith('a=msid')), false);
  assert.match(audio[0]!, /^m=audio 40000 /, 'inactive m-line keeps its port and stays bundled');
  assert.ok(lines(v2).includes('a=group:BUNDLE 0 1 2'));
});

test('subscribe offer: RTX is only offered when an RTX SSRC is given', () => {
  const sdp = buildSubscribeOffer(OFFER_LOCAL, 1, [{ ...MEDIA[1]!, rtxSsrc: undefined }]);
  const [v] = sections(sdp);
  assert.equal(v![0], 'm=video 40000 UDP/TLS/RTP/SAVPF 96');
  assert.equal(v!.some((x) => /rtx|ssrc-group/.test(x)), false);
});

test('subscribe offer with no tracks has no m-lines and no BUNDLE group', () => {
  const sdp = buildSubscribeOffer(OFFER_LOCAL, 1, []);
  assert.equal(sdp.includes('m='), false);
  assert.equal(sdp.includes('a=group'), false);
  assert.ok(sdp.startsWith('v=0\r\n'));
});

test('subscribe offer rejects values that would corrupt the SDP', () => {
  const bad: [string, Partial<SubscribeMedia>][] = [
    ['CRLF in cname', { cname: 'x\r\na=evil' }],
    ['space in trackId', { trackId: 'a b' }],
    ['empty streamId', { streamId: '' }],
    ['bad mid', { mid: 'a b' }],
    ['ssrc 0', { ssrc: 0 }],
    ['ssrc > 32 bits', { ssrc: 2 ** 32 }],
    ['rtx = media ssrc', { rtxSsrc: 2222 }],
    ['opus on video', { codec: 'opus' }],
  ];
  for (const [name, patch] of bad) {
    assert.throws(() => buildSubscribeOffer(OFFER_LOCAL, 1, [{ ...MEDIA[1]!, ...patch }]), TypeError, name);
  }
  assert.throws(() => buildSubscribeOffer(OFFER_LOCAL, 1, [MEDIA[0]!, MEDIA[0]!]), /duplicate mid/);
  assert.throws(() => buildSubscribeOffer({ ...OFFER_LOCAL, candidates: [{ ip: 'not-an-ip', port: 1, protocol: 'udp' }] }, 1, MEDIA), TypeError);
  assert.throws(() => buildSubscribeOffer(OFFER_LOCAL, -1, MEDIA), TypeError);
});

test('parses a Chrome subscribe answer', () => {
  const r = parseSubscribeAnswer(CHROME_SUBSCRIBE_ANSWER, ['0', '1', '2']);
  if (isSdpError(r)) assert.fail(r.message);
  assert.deepEqual(r.transport, { iceUfrag: 'vO9h', icePwd: '68ayxc1dW/ULYb7t5KdEjeJh', fingerprint: { algorithm: 'sha-256', value: CLIENT_FP }, setup: 'active' });
  assert.deepEqual(r.media.map((m) => [m.mid, m.type, m.accepted, m.direction]), [
    ['0', 'audio', true, 'recvonly'],
    ['1', 'video', true, 'recvonly'],
    ['2', 'video', false, 'inactive'],
  ]);
  assert.deepEqual(r.media[0]!.extIds, { mid: 1, transportCc: 3, audioLevel: 4 });
  assert.deepEqual(r.media[1]!.extIds, { mid: 1, absSendTime: 2, transportCc: 3 });
  assert.deepEqual(r.media[1]!.codecs.map((c) => [c.pt, c.name, c.rtxPt, c.rtcpFb]), [[96, 'VP8', 97, ['nack', 'nack pli']]]);
});

test('answer with no m-lines has no transport', () => {
  const r = parseSubscribeAnswer(join(['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0']));
  assert.ok(!isSdpError(r));
  assert.equal(r.transport, undefined);
  assert.deepEqual(r.media, []);
});

test('bad subscribe answers give a clear SdpError', () => {
  const A = CHROME_SUBSCRIBE_ANSWER;
  const cases: { name: string; sdp: string; mids?: string[]; code: SdpErrorCode; msg: RegExp }[] = [
    { name: 'empty', sdp: '', code: 'invalid_sdp', msg: /empty/ },
    { name: 'garbage', sdp: 'v=0\r\n' + '\u0000'.repeat(100), code: 'invalid_sdp', msg: /NUL/ },
    { name: '1 MB', sdp: 'v=0\r\n' + 'a'.repeat(1 << 20), code: 'too_large', msg: /exceeds/ },
    { name: 'our own offer (actpass)', sdp: buildSubscribeOffer(OFFER_LOCAL, 1, MEDIA), code: 'bad_setup', msg: /actpass/ },
    { name: 'mids reordered', sdp: A, mids: ['1', '0', '2'], code: 'mid_mismatch', msg: /match the offer/ },
    { name: 'm-line missing', sdp: A, mids: ['0', '1', '2', '3'], code: 'mid_mismatch', msg: /match the offer/ },
    { name: 'no fingerprint', sdp: A.replace(/a=fingerprint:.*\r\n/g, ''), code: 'missing_fingerprint', msg: /fingerprint/ },
    { name: 'no BUNDLE', sdp: A.replace('a=group:BUNDLE 0 1\r\n', ''), code: 'missing_bundle', msg: /BUNDLE/ },
    { name: 'accepted m-line outside BUNDLE', sdp: A.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0'), code: 'missing_bundle', msg: /"1"/ },
    { name: 'no rtcp-mux', sdp: A.replace(/a=rtcp-mux\r\n/g, ''), code: 'missing_rtcp_mux', msg: /rtcp-mux/ },
    { name: 'no setup', sdp: A.replace(/a=setup:active\r\n/g, ''), code: 'bad_setup', msg: /setup/ },
    { name: 'duplicate mid', sdp: A.replace('a=mid:1', 'a=mid:0'), code: 'duplicate_mid', msg: /twice/ },
  ];
  for (const c of cases) {
    const r = parseSubscribeAnswer(c.sdp, c.mids);
    assert.ok(r instanceof SdpError, `${c.name}: expected SdpError`);
    assert.equal(r.code, c.code, `${c.name}: ${r.message}`);
    assert.match(r.message, c.msg, c.name);
  }
});

test('every host candidate goes into the offer: UDP first by priority, IPv6, passive ICE-TCP below all UDP', () => {
  const sdp = buildSubscribeOffer(
    {
      ...OFFER_LOCAL,
      candidates: [
        { ip: '192.168.1.20', port: 40000, protocol: 'udp' },
        { ip: 'fd00::2', port: 40000, protocol: 'udp' },
        { ip: '192.168.1.20', port: 40001, protocol: 'tcp' },
      ],
    },
    1,
    MEDIA,
  );
  const lines = sdp.split('\r\n').filter((l) => l.startsWith('a=candidate'));
  const first = lines.length / MEDIA.filter((m) => m.direction !== 'inactive').length;
  assert.deepEqual(lines.slice(0, first), [
    'a=candidate:1 1 udp 2130706431 192.168.1.20 40000 typ host',
    'a=candidate:2 1 udp 2130706175 fd00::2 40000 typ host',
    'a=candidate:3 1 tcp 2124414975 192.168.1.20 40001 typ host tcptype passive',
  ]);
  assert.match(sdp, /c=IN IP4 192\.168\.1\.20/);
});
