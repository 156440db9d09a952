/**
 * Writes the fuzz corpus, valid inputs only, under test/fuzz/corpus/<target>/ from the project's own
 * builders and fixtures (RTP/RTCP writers, the STUN builder, the SDP fixtures and the headless client's SDP,
 * a DTLS handshake between two of our own sessions, the relay's sealer). Each file starts with the target's
 * envelope byte where it has one (tools/fuzz/target.ts). Run after a wire format changes:
 *   node --import tsx tools/fuzz/make-corpus.ts [target …]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ATTR, METHOD_BINDING } from '../../src/transport/ice/stun-constants.ts';
import { buildBindingError, buildBindingRequest, buildBindingSuccess, encodeStunMessage } from '../../src/transport/ice/stun-builder.ts';
import { frame } from '../../src/transport/tcp/frame-reader.ts';
import { DtlsSession } from '../../src/transport/dtls/dtls-session.ts';
import { writeRtpHeader, RtpView } from '../../src/rtp/rtp-packet.ts';
import { ExtensionWriter } from '../../src/rtp/extension-writer.ts';
import { writeRtx } from '../../src/rtp/rtx.ts';
import { writeBye, writeRr, writeSdesCname, writeSr } from '../../src/rtp/rtcp-reports.ts';
import { writeFir, writeNack, writePli, writeRemb } from '../../src/rtp/rtcp-feedback.ts';
import { writeTwccFeedback } from '../../src/rtp/rtcp-twcc.ts';
import { allocRtcp } from '../../src/rtp/rtcp-header.ts';
import { CHROME_PLAIN_OFFER, CHROME_SIMULCAST_OFFER, CHROME_SUBSCRIBE_ANSWER, LOCAL } from '../../src/signaling/sdp/test-fixtures.ts';
import { buildSubscribeOffer } from '../../src/signaling/sdp/subscribe-offer.ts';
import { signToken } from '../../src/server/auth/tokens.ts';
import { RELAY_CONTROL, RELAY_HEADER_LENGTH, RELAY_PING, RELAY_PONG, RELAY_RTCP, RELAY_RTP, nodeNumOf, sealRelay, writeRelayHeader } from '../../src/transport/relay/relay-packet.ts';
import { Vp8Packetizer } from '../loadgen/media/vp8-packetizer.ts';
import { answerSubscribeOffer, buildPublishOffer } from '../client/peer-sdp.ts';
import { CORPUS_DIR } from './runner.ts';
import { FUZZ_ICE, FUZZ_ICE_B, fuzzCertificate, newSrtp } from './targets/media-world.ts';
import { SESSION } from './targets/sessions.ts';
import { FUZZ_NOW_S, FUZZ_TOKEN_SECRET, RELAYED_DESC, relaySendKey } from './targets/control.ts';

const out = new Map<string, Map<string, Buffer>>();
function put(target: string, name: string, data: Buffer | string, envelope?: number): void {
  let m = out.get(target);
  if (!m) out.set(target, (m = new Map()));
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  m.set(name, envelope === undefined ? body : Buffer.concat([Buffer.from([envelope]), body]));
}

// ---- RTP ----
const ext = new ExtensionWriter();
function rtp(opts: { pt: number; seq: number; ts: number; ssrc: number; marker?: boolean; payload: Buffer; ext?: (e: ExtensionWriter) => void }): Buffer {
  const b = Buffer.alloc(12 + 4 + 8 * 20 + opts.payload.length);
  ext.clear();
  opts.ext?.(ext);
  const hl = writeRtpHeader(b, 0, { marker: opts.marker ?? false, payloadType: opts.pt, sequenceNumber: opts.seq, timestamp: opts.ts, ssrc: opts.ssrc }, ext.count > 0 ? ext : null);
  opts.payload.copy(b, hl);
  return b.subarray(0, hl + opts.payload.length);
}
/** A VP8 key frame's first bytes (RFC 6386 §9.1: frame tag, start code, 640×360). */
const keyframe = Buffer.concat([Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]), Buffer.alloc(40, 0x33)]);
const interframe = Buffer.concat([Buffer.from([0x31, 0x01, 0x00]), Buffer.alloc(30, 0x44)]);
const vp8Plain = new Vp8Packetizer(100, 1100).packetize(keyframe)[0];
const vp8Temporal = new Vp8Packetizer(2000, 1100).packetize(interframe, 2, true)[0];
const vp8Split = new Vp8Packetizer(7, 30).packetize(Buffer.concat([keyframe, keyframe]));
const opus = Buffer.from([0xfc, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x05]);

const rtpPackets: Array<[string, Buffer]> = [
  ['vp8-key-ext', rtp({ pt: 96, seq: 1000, ts: 90000, ssrc: 0x11223344, marker: true, payload: vp8Plain, ext: (e) => (e.setTransportSeq(3, 17), e.setAbsSendTime(2, 0x123456), e.setMid(4, '1')) })],
  ['vp8-temporal', rtp({ pt: 96, seq: 1001, ts: 93000, ssrc: 0x11223344, payload: vp8Temporal, ext: (e) => e.setTransportSeq(3, 18) })],
  ['vp8-fragment', rtp({ pt: 96, seq: 1002, ts: 96000, ssrc: 0x11223344, payload: vp8Split[1] })],
  ['opus-level', rtp({ pt: 111, seq: 5, ts: 960, ssrc: 0x0a0b0c0d, payload: opus, ext: (e) => (e.setAudioLevel(1, true, 30), e.setTransportSeq(3, 19)) })],
  ['rid-simulcast', rtp({ pt: 96, seq: 7, ts: 3000, ssrc: 0x55667788, payload: vp8Plain, ext: (e) => (e.setMid(4, '1'), e.setBytes(10, Buffer.from('h'), 0, 1)) })],
  ['plain-no-ext', rtp({ pt: 96, seq: 65535, ts: 0xffffffff, ssrc: 1, payload: vp8Plain })],
];
// CSRCs, padding and a two-byte-form extension block (RFC 8285 §4.3), which our writer never makes.
{
  const csrc = Buffer.alloc(12 + 8 + 20);
  csrc[0] = 0x82;
  csrc[1] = 96;
  csrc.writeUInt32BE(0xdeadbeef, 8);
  csrc.writeUInt32BE(0x01020304, 12);
  csrc.writeUInt32BE(0x05060708, 16);
  vp8Plain.copy(csrc, 20, 0, 20);
  rtpPackets.push(['csrc', csrc]);
  const padded = Buffer.concat([rtp({ pt: 96, seq: 9, ts: 1, ssrc: 0x11223344, payload: vp8Plain.subarray(0, 16) }), Buffer.from([0, 0, 0, 4])]);
  padded[0] |= 0x20;
  rtpPackets.push(['padding', padded]);
  const paddingOnly = Buffer.concat([rtp({ pt: 97, seq: 10, ts: 1, ssrc: 0x99, payload: Buffer.alloc(0), ext: (e) => e.setTransportSeq(3, 20) }), Buffer.from([0, 0, 0, 0, 0, 0, 0, 8])]);
  paddingOnly[0] |= 0x20;
  rtpPackets.push(['padding-only', paddingOnly]);
  const twoByte = Buffer.concat([Buffer.from([0x90, 96, 0, 11, 0, 0, 0, 1, 0, 0, 0, 2]), Buffer.from([0x10, 0x00, 0x00, 0x02, 3, 2, 0, 21, 0, 0, 0, 0]), vp8Plain.subarray(0, 12)]);
  rtpPackets.push(['two-byte-ext', twoByte]);
  const view = new RtpView();
  const orig = rtpPackets[0][1];
  view.parse(orig);
  const rtxBuf = Buffer.alloc(1500);
  ext.clear();
  ext.setTransportSeq(3, 21);
  const n = writeRtx(rtxBuf, 0, view, { payloadType: 97, sequenceNumber: 300, ssrc: 0x77777777 }, ext);
  rtpPackets.push(['rtx', rtxBuf.subarray(0, n)]);
}
for (const [name, p] of rtpPackets) put('rtp', name, p);

// ---- codec payloads ----
put('vp8', 'key-pictureid15', vp8Plain);
put('vp8', 'temporal-tl0', vp8Temporal);
put('vp8', 'continuation', vp8Split[1]);
put('vp8', 'short-descriptor', Buffer.concat([Buffer.from([0x10]), keyframe]));
put('vp8', 'pictureid7', Buffer.concat([Buffer.from([0x90, 0x80, 0x05]), interframe]));
put('h264', 'idr', Buffer.from([0x65, 0x88, 0x84, 0x00, 0x33, 0xff]));
put('h264', 'sps', Buffer.from([0x67, 0x42, 0x00, 0x1f, 0xe9, 0x02, 0x80]));
put('h264', 'stap-a', Buffer.from([0x78, 0x00, 0x04, 0x67, 0x42, 0x00, 0x1f, 0x00, 0x02, 0x68, 0xce, 0x00, 0x03, 0x65, 0x88, 0x84]));
put('h264', 'fu-a-start', Buffer.from([0x7c, 0x85, 0x88, 0x84, 0x00, 0x10]));
put('h264', 'fu-a-middle', Buffer.from([0x7c, 0x05, 0x11, 0x22]));
put('h264', 'non-idr', Buffer.from([0x41, 0x9a, 0x02, 0x03]));

// ---- RTCP ----
const block = { ssrc: 0x11223344, fractionLost: 12, cumulativeLost: -3, highestSeq: 70000, jitter: 40, lsr: 0x12345678, dlsr: 6553 };
const sr = writeSr({ ssrc: 0xaabbccdd, ntpSec: 3_900_000_000, ntpFrac: 0x80000000, rtpTimestamp: 90000, packetCount: 100, octetCount: 120000, reports: [block] });
const sdes = writeSdesCname(0xaabbccdd, 'W5+AQfg4wosJ4uyN');
const rtcpPackets: Array<[string, Buffer]> = [
  ['sr-sdes', Buffer.concat([sr, sdes])],
  ['rr-two-blocks', writeRr(0x01020304, [block, { ...block, ssrc: 0x55667788 }])],
  ['rr-empty-nack', Buffer.concat([writeRr(1, []), writeNack(1, 0x11223344, [1000, 1001, 1005, 1016, 1020, 40000])])],
  ['pli', Buffer.concat([writeRr(1, []), writePli(1, 0x11223344)])],
  ['fir', writeFir(1, [{ ssrc: 0x11223344, seqNr: 3 }, { ssrc: 0x55667788, seqNr: 4 }])],
  ['remb', writeRemb(1, 1_500_000, [0x11223344, 0x55667788])],
  ['bye-reason', writeBye([0xaabbccdd, 7], 'gone')],
  [
    'twcc',
    writeTwccFeedback({ senderSsrc: 1, mediaSsrc: 0x11223344, baseSeq: 65530, referenceTime: 1234, fbPktCount: 9 }, 20, [1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1], [4, 0, 0, 300, -8, 2, 0, 0, 1, 1, 1, 1, 1, 1, 0, 100, 2, 2, 2, 2]),
  ],
  [
    'twcc-run',
    writeTwccFeedback({ senderSsrc: 1, mediaSsrc: 2, baseSeq: 0, referenceTime: -5, fbPktCount: 0 }, 40, new Array<number>(40).fill(1), new Array<number>(40).fill(1)),
  ],
];
{
  // APP (PT 204, RFC 3550 §6.7) and XR (PT 207, RFC 3611: a receiver reference time block): walked as unknown.
  const app = allocRtcp(3, 204, 16);
  app.writeUInt32BE(0xaabbccdd, 4);
  app.write('QTST', 8, 'latin1');
  app.writeUInt32BE(42, 12);
  const xr = allocRtcp(0, 207, 20);
  xr.writeUInt32BE(0xaabbccdd, 4);
  xr[8] = 4;
  xr.writeUInt16BE(2, 10);
  xr.writeUInt32BE(3_900_000_000, 12);
  xr.writeUInt32BE(1, 16);
  rtcpPackets.push(['app-xr', Buffer.concat([writeRr(1, []), app, xr])]);
  const padded = Buffer.concat([writeRr(1, [block]), Buffer.from([0, 0, 0, 4])]);
  padded[0] |= 0x20;
  padded.writeUInt16BE(padded.length / 4 - 1, 2);
  rtcpPackets.push(['rr-padded', padded]);
}
for (const [name, p] of rtcpPackets) put('rtcp', name, p);

// ---- SRTP / SRTCP: protected with the fuzz keys (mode bit 0: AES-CM), and plaintext for re-protection (bit 2) ----
for (const [p, profile] of [[0, 'AEAD_AES_128_GCM'], [1, 'AES_CM_128_HMAC_SHA1_80']] as const) {
  const tx = newSrtp(profile);
  const tag = profile === 'AEAD_AES_128_GCM' ? 'gcm' : 'cm';
  for (const [name, pkt] of [rtpPackets[0], rtpPackets[3], rtpPackets[7]]) {
    const prot = tx.protectRtp(Buffer.from(pkt), pkt.length);
    if (typeof prot !== 'string') put('srtp', `${tag}-${name}`, Buffer.from(prot), p);
  }
  for (const [name, pkt] of [rtcpPackets[0], rtcpPackets[2], rtcpPackets[7]]) {
    const prot = tx.protectRtcp(Buffer.from(pkt), pkt.length);
    if (typeof prot !== 'string') put('srtp', `${tag}-rtcp-${name}`, Buffer.from(prot), p);
  }
  put('srtp', `${tag}-plain-rtp`, rtpPackets[1][1], p | 4);
  put('srtp', `${tag}-plain-rtcp`, rtcpPackets[3][1], p | 4);
}

// ---- STUN ----
const txid = (n: number) => Buffer.alloc(12, n);
const request = (o: Partial<Parameters<typeof buildBindingRequest>[0]> = {}) =>
  buildBindingRequest({ username: `${FUZZ_ICE.ufrag}:${FUZZ_ICE.remoteUfrag}`, password: FUZZ_ICE.pwd, priority: 1853824767, controlling: true, tieBreaker: 0x1234567890abcdefn, useCandidate: false, transactionId: txid(1), ...o });
const stun: Array<[string, Buffer, number]> = [
  ['request', request(), 3],
  ['request-nominate', request({ useCandidate: true, transactionId: txid(2) }), 3],
  ['request-controlled', request({ controlling: false, transactionId: txid(3) }), 3],
  ['request-b', request({ username: `${FUZZ_ICE_B.ufrag}:anything`, password: FUZZ_ICE_B.pwd, transactionId: txid(4) }), 3 | 4],
  ['request-tcp', request({ useCandidate: true, transactionId: txid(5) }), 3 | 12],
  ['request-raw', request({ transactionId: txid(6) }), 0],
  [
    'no-integrity',
    encodeStunMessage(METHOD_BINDING, 'request', txid(7), [[ATTR.USERNAME, Buffer.from(`${FUZZ_ICE.ufrag}:${FUZZ_ICE.remoteUfrag}`)], [ATTR.PRIORITY, Buffer.from([0, 0, 0, 1])]]),
    3,
  ],
  ['no-fingerprint', encodeStunMessage(METHOD_BINDING, 'request', txid(8), [[ATTR.USERNAME, Buffer.from(`${FUZZ_ICE.ufrag}:${FUZZ_ICE.remoteUfrag}`)]], { integrityKey: FUZZ_ICE.pwd, fingerprint: false }), 1],
  ['unknown-required', encodeStunMessage(METHOD_BINDING, 'request', txid(9), [[ATTR.USERNAME, Buffer.from(`${FUZZ_ICE.ufrag}:${FUZZ_ICE.remoteUfrag}`)], [0x0029, Buffer.alloc(8)], [0x7f00, Buffer.from('abc')]], { integrityKey: FUZZ_ICE.pwd }), 3],
  ['indication', encodeStunMessage(METHOD_BINDING, 'indication', txid(10), []), 0],
  ['success-v4', buildBindingSuccess(txid(11), { address: '192.0.2.1', port: 5000, family: 4 }, FUZZ_ICE.pwd), 3],
  ['success-v6', buildBindingSuccess(txid(12), { address: '2001:db8::1', port: 5000, family: 6 }, FUZZ_ICE.pwd), 3],
  ['error-420', buildBindingError(txid(13), 420, 'Unknown Attribute', FUZZ_ICE.pwd, [0x0029, 0x7f00]), 3],
];
for (const [name, m, mode] of stun) put('stun', name, m, mode);

// ---- DTLS: a whole handshake between two of our sessions (the server sees the client's flights and vice versa) ----
const cert = await fuzzCertificate();
const flights: Array<{ from: 'client' | 'server'; data: Buffer }> = [];
await new Promise<void>((resolve, reject) => {
  const fp = { algorithm: 'sha-256', value: cert.fingerprint };
  let connected = 0;
  const done = () => {
    if (++connected === 2) resolve();
  };
  // eslint-disable-next-line prefer-const
  let server: DtlsSession;
  const client: DtlsSession = new DtlsSession('client', cert, fp, {
    send: (d) => {
      flights.push({ from: 'client', data: Buffer.from(d) });
      setImmediate(() => server.handle(Buffer.from(d)));
    },
    onConnected: done,
    onFailed: (r) => reject(new Error(`client: ${r}`)),
  });
  server = new DtlsSession('server', cert, fp, {
    send: (d) => {
      flights.push({ from: 'server', data: Buffer.from(d) });
      setImmediate(() => client.handle(Buffer.from(d)));
    },
    onConnected: done,
    onFailed: (r) => reject(new Error(`server: ${r}`)),
  });
  client.start();
  setTimeout(() => reject(new Error('DTLS handshake did not complete')), 10_000).unref();
});
let ci = 0;
let si = 0;
for (const f of flights) {
  const name = f.from === 'client' ? `client-${++ci}` : `server-${++si}`;
  // Server role (bit 0 clear) gets the client's datagrams; a ClientHello with a cookie also with bit 1.
  put('dtls-handshake', name, f.data, f.from === 'client' ? (ci === 2 ? 2 : 0) : 1);
  put('dtls-record', name, f.data);
}
const clientHello = flights.find((f) => f.from === 'client')!.data;

// ---- demux: one datagram per class, from the selected address (bits 0–1), STUN re-signed (bit 2), media re-protected (bit 3) ----
put('demux', 'stun-request', request({ useCandidate: true, transactionId: txid(20) }), 4);
put('demux', 'stun-request-path2', request({ useCandidate: true, transactionId: txid(21) }), 1 | 4);
put('demux', 'stun-stranger', request({ transactionId: txid(22) }), 2);
put('demux', 'dtls-client-hello', clientHello, 0);
put('demux', 'dtls-client-hello-path2', clientHello, 1);
put('demux', 'rtp', rtpPackets[0][1], 8);
put('demux', 'rtp-path2', rtpPackets[3][1], 1 | 8);
put('demux', 'rtcp', rtcpPackets[0][1], 8);
put('demux', 'srtp-as-is', Buffer.from(newSrtp('AEAD_AES_128_GCM').protectRtp(Buffer.from(rtpPackets[1][1]), rtpPackets[1][1].length) as Buffer), 0);
put('demux', 'rtp-stranger', rtpPackets[0][1], 2 | 8);
put('demux', 'tcp-stun', request({ useCandidate: true, transactionId: txid(23) }), 3 | 4);

// ---- sessions: RTP into the publish session (0), RTCP into it (1), RTCP into the subscribe session (2) ----
{
  const S = SESSION;
  const simulcastLayer = (rid: string, seq: number, payload: Buffer, key = false) =>
    rtp({ pt: 96, seq, ts: seq * 3000, ssrc: 0x55660000 + rid.charCodeAt(0), marker: key, payload, ext: (e) => (e.setTransportSeq(S.ext.transportCc, seq), e.setMid(S.ext.mid, '1'), e.setBytes(S.ext.rid, Buffer.from(rid), 0, 1)) });
  put('sessions', 'rtp-video', rtp({ pt: 96, seq: 100, ts: 9000, ssrc: S.videoSsrc, marker: true, payload: vp8Plain, ext: (e) => e.setTransportSeq(S.ext.transportCc, 1) }), 0);
  put('sessions', 'rtp-video-next', rtp({ pt: 96, seq: 102, ts: 12000, ssrc: S.videoSsrc, payload: vp8Temporal, ext: (e) => e.setTransportSeq(S.ext.transportCc, 3) }), 0);
  {
    const view = new RtpView();
    view.parse(rtp({ pt: 96, seq: 101, ts: 9000, ssrc: S.videoSsrc, payload: vp8Plain }));
    const b = Buffer.alloc(1500);
    ext.clear();
    ext.setTransportSeq(S.ext.transportCc, 2);
    put('sessions', 'rtp-video-rtx', b.subarray(0, writeRtx(b, 0, view, { payloadType: 97, sequenceNumber: 5, ssrc: S.videoRtxSsrc }, ext)), 0);
  }
  put('sessions', 'rtp-rid-q', simulcastLayer('q', 10, vp8Plain, true), 0);
  put('sessions', 'rtp-rid-f', simulcastLayer('f', 11, vp8Temporal), 0);
  put('sessions', 'rtp-audio', rtp({ pt: 111, seq: 7, ts: 960, ssrc: S.audioSsrc, payload: opus, ext: (e) => (e.setAudioLevel(S.ext.audioLevel, true, 20), e.setTransportSeq(S.ext.transportCc, 4)) }), 0);
  put('sessions', 'pub-sr-sdes', Buffer.concat([writeSr({ ssrc: S.videoSsrc, ntpSec: 3_900_000_000, ntpFrac: 1, rtpTimestamp: 9000, packetCount: 3, octetCount: 900 }), writeSdesCname(S.videoSsrc, 'cn')]), 1);
  put('sessions', 'pub-rr-bye', Buffer.concat([writeRr(S.audioSsrc, [{ ...block, ssrc: 1 }]), writeBye([S.audioSsrc])]), 1);
  put('sessions', 'sub-nack', Buffer.concat([writeRr(0x9000, [{ ...block, ssrc: S.outVideo }]), writeNack(0x9000, S.outVideo, [0, 1, 2, 3])]), 2);
  put('sessions', 'sub-pli-fir', Buffer.concat([writeRr(0x9000, []), writePli(0x9000, S.outVideo), writeFir(0x9000, [{ ssrc: S.outVideo + 16, seqNr: 1 }])]), 2);
  put('sessions', 'sub-remb', Buffer.concat([writeRr(0x9000, []), writeRemb(0x9000, 800_000, [S.outVideo, S.outAudio])]), 2);
  put(
    'sessions',
    'sub-twcc',
    writeTwccFeedback({ senderSsrc: 0x9000, mediaSsrc: S.outVideo, baseSeq: 0, referenceTime: 10, fbPktCount: 0 }, 12, [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1], [4, 4, 4, 0, 8, 4, 4, 4, 4, 4, 4, 4]),
    2,
  );
}

// ---- ICE-TCP: RFC 4571 streams ----
put('ice-tcp', 'stun-dtls-rtp', Buffer.concat([frame(request({ useCandidate: true, transactionId: txid(24) })), frame(clientHello), frame(rtpPackets[0][1])]), 1);
put('ice-tcp', 'stun-only', frame(request({ transactionId: txid(25) })), 7);
put('ice-tcp', 'rtp-first', Buffer.concat([frame(rtpPackets[3][1]), frame(request({ transactionId: txid(26) }))]), 200);

// ---- SDP ----
put('sdp-publish', 'chrome-simulcast', CHROME_SIMULCAST_OFFER);
put('sdp-publish', 'chrome-plain', CHROME_PLAIN_OFFER);
const ice = { ufrag: 'cliU', pwd: 'clientpasswordclientpw12' };
put('sdp-publish', 'headless-client', buildPublishOffer({ ice, fingerprint: cert.fingerprint, cname: 'cn', streamId: 'st', audio: { ssrc: 111, trackId: 'a' }, video: { ssrc: 222, rtxSsrc: 333, trackId: 'v' }, candidate: { ip: '192.0.2.1', port: 5000 } }));
put('sdp-publish', 'headless-simulcast', buildPublishOffer({ ice, fingerprint: cert.fingerprint, cname: 'cn', streamId: 'st', video: { trackId: 'v' }, simulcast: { rids: ['q', 'h', 'f'] } }));
put('sdp-subscribe', 'chrome', CHROME_SUBSCRIBE_ANSWER);
const subOffer = buildSubscribeOffer({ ...LOCAL, setup: 'actpass' }, 1, [
  { mid: '0', kind: 'audio', direction: 'sendonly', ssrc: 1111, cname: 'cn1', streamId: 'pubA', trackId: 'trA', codec: 'opus' },
  { mid: '1', kind: 'video', direction: 'sendonly', ssrc: 2222, rtxSsrc: 3333, cname: 'cn1', streamId: 'pubA', trackId: 'trV', codec: 'vp8' },
  { mid: '2', kind: 'video', direction: 'inactive', ssrc: 4444, cname: 'cn2', streamId: 'pubB', trackId: 'trH', codec: 'h264' },
]);
put('sdp-subscribe', 'headless-client', answerSubscribeOffer(subOffer, { ice, fingerprint: cert.fingerprint, candidate: { ip: '192.0.2.1', port: 5000 } }).sdp);

// ---- signaling: one of each client message ----
const msgs: Record<string, unknown> = {
  join: { v: 1, id: 1, type: 'join', space: 'office', name: 'Ada', token: 'x.y.z', x: 30, y: 20, mode: 'normal' },
  move: { v: 1, id: 2, type: 'move', x: 31, y: 20, goTo: true },
  setMode: { v: 1, id: 3, type: 'setMode', mode: 'quiet' },
  spotlight: { v: 1, id: 'a4', type: 'spotlight', on: true, participantId: 'p-123' },
  publish: { v: 1, id: 5, type: 'publish', sdp: CHROME_PLAIN_OFFER, sources: [{ mid: '1', source: 'screen' }] },
  setMuted: { v: 1, id: 6, type: 'setMuted', trackId: 't-1', muted: true },
  subscribe: { v: 1, id: 7, type: 'subscribe', publisherId: 'p-1', trackIds: ['t-1', 't-2'] },
  unsubscribe: { v: 1, id: 8, type: 'unsubscribe', publisherId: 'p-1' },
  subscriberAnswer: { v: 1, type: 'subscriberAnswer', offerId: 3, sdp: CHROME_SUBSCRIBE_ANSWER },
  report: {
    v: 1,
    type: 'report',
    device: { cores: 8, memoryGb: 8, mobile: false },
    receive: { intervalMs: 2000, videos: 3, framesDecoded: 180, framesDropped: 2, decodeMs: 300, freezes: 0 },
    publish: { qualityLimitationReason: 'cpu', availableOutgoingBitrate: 2_500_000, layers: [{ rid: 'q', active: true, fps: 30, height: 180 }] },
    limits: { maxVideos: 9, maxHeight: 720 },
  },
  leave: { v: 1, id: 11, type: 'leave' },
  ping: { v: 1, id: 12, type: 'ping' },
  resume: { v: 1, id: 13, type: 'resume', participantId: 'p-1', resumeToken: '0123456789abcdef0123' },
  restartIce: { v: 1, id: 14, type: 'restartIce' },
};
for (const [name, m] of Object.entries(msgs)) put('signaling', name, JSON.stringify(m));

// ---- JWT: header and claims JSON (made into a token by the target, signed with bit 0), or a whole token (bit 1) ----
const claims = { space: 'office', name: 'Ada', publish: true, spotlight: false, exp: FUZZ_NOW_S + 3600, iat: FUZZ_NOW_S - 10, sub: 'u-1' };
put('jwt', 'signed-parts', `${JSON.stringify({ alg: 'HS256', typ: 'JWT' })}\n${JSON.stringify(claims)}`, 1);
put('jwt', 'unsigned-parts', `${JSON.stringify({ alg: 'HS256', typ: 'JWT' })}\n${JSON.stringify(claims)}`, 0);
put('jwt', 'alg-none', `${JSON.stringify({ alg: 'none' })}\n${JSON.stringify({ space: 's', name: 'n', exp: FUZZ_NOW_S + 1 })}`, 1);
put('jwt', 'token', signToken({ space: 'office', name: 'Ada', publish: true, spotlight: true, exp: FUZZ_NOW_S + 60 }, FUZZ_TOKEN_SECRET, FUZZ_NOW_S), 2);
put('jwt', 'token-resigned', signToken({ space: 'x', name: 'y', publish: false, spotlight: false, exp: FUZZ_NOW_S + 60 }, 'another-secret-another-secret-another-s', FUZZ_NOW_S), 3);

// ---- relay: header + plaintext, sealed by the target with fuzz-b's key (bit 0), as fuzz-b's next datagram (bit 1) ----
function relayPlain(type: 1 | 2 | 3 | 4 | 5, originNum: number, streamId: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(RELAY_HEADER_LENGTH + payload.length);
  writeRelayHeader(b, type, nodeNumOf('fuzz-b'), 1, originNum, streamId);
  payload.copy(b, RELAY_HEADER_LENGTH);
  return b;
}
const origin = RELAYED_DESC.originNum;
put('relay', 'rtp', relayPlain(RELAY_RTP, origin, 7, rtp({ pt: 96, seq: 1, ts: 1, ssrc: 0x1000, payload: vp8Plain })), 3);
put('relay', 'rtp-layer-f', relayPlain(RELAY_RTP, origin, 9, rtpPackets[1][1]), 3);
put('relay', 'rtcp-nack', relayPlain(RELAY_RTCP, origin, 7, writeNack(1, 0x1000, [1, 2, 3])), 3);
put('relay', 'rtcp-sr-pli', relayPlain(RELAY_RTCP, origin, 8, Buffer.concat([sr, writePli(1, 0x1000)])), 3);
const ping = Buffer.alloc(12);
ping.writeDoubleBE(1234.5, 0);
ping.writeUInt32BE(1, 8);
put('relay', 'ping', relayPlain(RELAY_PING, 0, 0, ping), 3);
put('relay', 'pong', relayPlain(RELAY_PONG, 0, 0, ping), 3);
const want = { v: 1, t: 'want', seq: 4, part: 0, parts: 1, tracks: [{ desc: RELAYED_DESC, active: [true, false, true] }] };
put('relay', 'control-want', relayPlain(RELAY_CONTROL, 0, 0, Buffer.from(JSON.stringify(want))), 3);
{
  // One datagram exactly as fuzz-b sends it (counter 1): a stranger's replay of it gets nowhere.
  const plain = relayPlain(RELAY_PING, 0, 0, ping);
  const sealed = Buffer.alloc(plain.length + 16);
  plain.copy(sealed, 0, 0, RELAY_HEADER_LENGTH);
  sealRelay(sealed, sealed.subarray(0, RELAY_HEADER_LENGTH), sealed.subarray(4, 16), relaySendKey(), plain.subarray(RELAY_HEADER_LENGTH), 0, 12);
  put('relay', 'sealed-ping', sealed, 0);
}

// ---- write (only the targets named on the command line, if any: the others keep their files) ----
const only = process.argv.slice(2);
let total = 0;
for (const [target, files] of out) {
  if (only.length > 0 && !only.includes(target)) continue;
  const dir = join(CORPUS_DIR, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (const [name, data] of files) {
    writeFileSync(join(dir, name), data);
    bytes += data.length;
  }
  total += bytes;
  console.log(`${target}: ${files.size} files, ${bytes} bytes`);
}
console.log(`corpus: ${total} bytes under ${CORPUS_DIR}`);
process.exit(0);
