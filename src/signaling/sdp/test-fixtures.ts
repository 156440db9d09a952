/** Hand-written Chrome-like SDPs for the unit tests (trimmed: fewer codecs than a real browser offers). */
import type { LocalTransportParams } from './types.ts';

export const CLIENT_FP = 'A3:CC:E6:9E:7D:BF:77:1F:C4:F2:5E:1A:AC:F6:33:FB:72:58:2B:AA:96:AC:AB:97:8F:6E:C1:2B:9F:19:36:75';
export const SERVER_FP = '0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0';

export const LOCAL: LocalTransportParams = {
  iceUfrag: 'srvU',
  icePwd: 'serverpasswordserverpw1',
  fingerprint: { algorithm: 'sha-256', value: SERVER_FP },
  setup: 'passive',
  candidates: [{ ip: '203.0.113.7', port: 40000, protocol: 'udp' }],
};

const transport = (mid: string) => [
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:fm6w',
  'a=ice-pwd:W8N2AF8GHH5wQOuMYYJ5qsY5',
  'a=ice-options:trickle',
  `a=fingerprint:sha-256 ${CLIENT_FP}`,
  'a=setup:actpass',
  `a=mid:${mid}`,
];

const AUDIO = [
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 126',
  ...transport('0'),
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendonly',
  'a=msid:stream-1 track-audio',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:126 telephone-event/8000',
  'a=ssrc:628618608 cname:W5+AQfg4wosJ4uyN',
  'a=ssrc:628618608 msid:stream-1 track-audio',
];

const VIDEO_HEAD = (mid: string, payloads: string) => [
  `m=video 9 UDP/TLS/RTP/SAVPF ${payloads}`,
  ...transport(mid),
  'a=extmap:14 urn:ietf:params:rtp-hdrext:toffset',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:13 urn:3gpp:video-orientation',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'a=sendonly',
  'a=msid:stream-1 track-video',
  'a=rtcp-mux',
  'a=rtcp-rsize',
];
const fb = (pt: number) => ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli'].map((f) => `a=rtcp-fb:${pt} ${f}`);
const VIDEO_CODECS = [
  'a=rtpmap:96 VP8/90000',
  ...fb(96),
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000',
  ...fb(102),
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:103 rtx/90000',
  'a=fmtp:103 apt=102',
  'a=rtpmap:108 H264/90000',
  ...fb(108),
  'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:109 rtx/90000',
  'a=fmtp:109 apt=108',
  'a=rtpmap:98 VP9/90000',
  ...fb(98),
  'a=fmtp:98 profile-id=0',
  'a=rtpmap:120 ulpfec/90000',
];
const VIDEO_PTS = '96 97 102 103 108 109 98 120';

const DATA = ['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', ...transport('2'), 'a=sctp-port:5000', 'a=max-message-size:262144'];

const HEAD = ['v=0', 'o=- 9010815272333097587 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1 2', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS stream-1'];

export const join = (lines: readonly string[]) => lines.join('\r\n') + '\r\n';

/** Audio + simulcast video (rids q;h;f, no SSRC lines, as Chrome does) + data channel. */
export const CHROME_SIMULCAST_OFFER = join([
  ...HEAD,
  ...AUDIO,
  ...VIDEO_HEAD('1', VIDEO_PTS),
  ...VIDEO_CODECS,
  'a=rid:q send',
  'a=rid:h send',
  'a=rid:f send',
  'a=simulcast:send q;h;f',
  ...DATA,
]);

/** Audio + single-encoding video with an RTX FID group + data channel. */
export const CHROME_PLAIN_OFFER = join([
  ...HEAD,
  ...AUDIO,
  ...VIDEO_HEAD('1', VIDEO_PTS),
  ...VIDEO_CODECS,
  'a=ssrc-group:FID 1702461394 3389259894',
  'a=ssrc:1702461394 cname:W5+AQfg4wosJ4uyN',
  'a=ssrc:1702461394 msid:stream-1 track-video',
  'a=ssrc:3389259894 cname:W5+AQfg4wosJ4uyN',
  'a=ssrc:3389259894 msid:stream-1 track-video',
  ...DATA,
]);

/** What Chrome answers to a 3-track subscribe offer (audio, VP8, H264). */
export const CHROME_SUBSCRIBE_ANSWER = join([
  'v=0',
  'o=- 7140684897592450709 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=msid-semantic: WMS',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:vO9h',
  'a=ice-pwd:68ayxc1dW/ULYb7t5KdEjeJh',
  `a=fingerprint:sha-256 ${CLIENT_FP}`,
  'a=setup:active',
  'a=mid:0',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=recvonly',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:vO9h',
  'a=ice-pwd:68ayxc1dW/ULYb7t5KdEjeJh',
  `a=fingerprint:sha-256 ${CLIENT_FP}`,
  'a=setup:active',
  'a=mid:1',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=recvonly',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'm=video 0 UDP/TLS/RTP/SAVPF 102',
  'c=IN IP4 0.0.0.0',
  'a=mid:2',
  'a=inactive',
  'a=rtpmap:102 H264/90000',
]);
