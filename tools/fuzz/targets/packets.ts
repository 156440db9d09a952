/**
 * Fuzz targets for what arrives on the media port: the RFC 7983 demux, ICE-TCP framing, STUN and the ICE-lite
 * agent, the DTLS record check and handshake entry, SRTP/SRTCP, RTP, compound RTCP and codec payloads.
 * Each drives the function the server calls on that path (see docs/architecture.md, "The packet path").
 */
import { DtlsSession, isWellFormedDtls } from '../../../src/transport/dtls/dtls-session.ts';
import type { DtlsCertificate } from '../../../src/transport/dtls/certificate.ts';
import { IceLiteAgent, type IceLiteEndpoint } from '../../../src/transport/ice/ice-lite.ts';
import { parseStun, verifyFingerprint, verifyMessageIntegrity } from '../../../src/transport/ice/stun-message.ts';
import { FrameReader } from '../../../src/transport/tcp/frame-reader.ts';
import type { SrtpSession } from '../../../src/transport/srtp/index.ts';
import { RtpView } from '../../../src/rtp/rtp-packet.ts';
import { ExtensionWriter } from '../../../src/rtp/extension-writer.ts';
import { extBytesEqual, readAbsSendTime, readAudioLevel, readStringExt, readTransportSeq } from '../../../src/rtp/header-extensions.ts';
import { rtxOriginalSeq, unwrapRtxInPlace, writeRtx } from '../../../src/rtp/rtx.ts';
import { parseRtcp } from '../../../src/rtp/rtcp-compound.ts';
import type { RtcpPacket } from '../../../src/rtp/rtcp-types.ts';
import { Vp8Descriptor, vp8KeyframeSize, writePictureId, writeTl0PicIdx } from '../../../src/rtp/vp8.ts';
import { isH264Keyframe } from '../../../src/rtp/h264.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { Rng } from '../engine.ts';
import type { FuzzTarget } from '../target.ts';
import { DropWatch, FUZZ_ICE, FUZZ_ICE_B, MediaWorld, SOURCES, fuzzCertificate, newSrtp, resignStun } from './media-world.ts';

const DATAGRAM = 1500;

/**
 * demux: envelope byte = source (bits 0–1: the selected peer address, a second path of the peer, a stranger,
 * the peer's ICE-TCP connection), bit 2: re-sign STUN (integrity and fingerprint), bit 3: re-protect SRTP/SRTCP
 * with the transport's keys, so the input reaches what lies behind authentication.
 */
export function demuxTarget(): FuzzTarget {
  let world: MediaWorld | null = null;
  const watch = new DropWatch();
  return {
    name: 'demux',
    about: 'MediaMux.receive: RFC 7983 first byte → IceLiteAgent / WebRtcTransport.handleDtls (werift) / handleSrtp → RTP/RTCP',
    kind: 'bytes',
    maxLen: DATAGRAM + 1,
    headerBytes: 1,
    async setup() {
      world = new MediaWorld(await fuzzCertificate());
    },
    run(input) {
      const w = world!;
      const mode = input.length > 0 ? input[0] : 0;
      const buf = Buffer.from(input.subarray(1));
      const src = SOURCES[mode & 3];
      if (buf.length > 0 && buf[0] <= 3 && mode & 4) resignStun(buf, true, true);
      let pkt = buf;
      if (buf.length >= 12 && buf[0] >= 128 && buf[0] <= 191 && mode & 8) {
        const rtcp = buf[1] >= 192 && buf[1] <= 223;
        const out = rtcp ? w.srtpOut.protectRtcp(buf, buf.length) : w.srtpOut.protectRtp(buf, buf.length);
        if (typeof out !== 'string') pkt = Buffer.from(out);
      }
      watch.mark();
      const rtp = w.rtp;
      const rtcp = w.rtcp;
      const kept = w.mux.receive(pkt, src.address, src.port, src.family, src.protocol);
      w.clock.advance(20);
      const drop = watch.moved();
      return drop ?? (w.rtp !== rtp ? 'rtp' : w.rtcp !== rtcp ? 'rtcp' : kept ? 'accepted' : 'tcp_refused');
    },
    maintain(n) {
      // A DTLS alert or failed handshake closes the transport; werift state is let go now and then.
      if (!world!.alive || n % 512 === 0) world!.renew();
    },
    close() {
      world?.close();
    },
  };
}

/**
 * ice-tcp: an ICE-TCP byte stream (RFC 4571 frames) cut into chunks where the envelope byte's PRNG says, through
 * FrameReader.push, each frame into MediaMux.receive as the TCP listener does.
 */
export function iceTcpTarget(): FuzzTarget {
  let world: MediaWorld | null = null;
  const watch = new DropWatch();
  return {
    name: 'ice-tcp',
    about: 'FrameReader.push (RFC 4571) → MediaMux.receive(protocol tcp)',
    kind: 'bytes',
    maxLen: 8192,
    headerBytes: 1,
    async setup() {
      world = new MediaWorld(await fuzzCertificate());
    },
    run(input) {
      const w = world!;
      const rng = new Rng(input.length > 0 ? input[0] : 0);
      const stream = input.subarray(1);
      const reader = new FrameReader();
      let frames = 0;
      let refused = 0;
      watch.mark();
      for (let o = 0; o < stream.length; ) {
        const n = Math.min(stream.length - o, 1 + rng.below(rng.chance(0.5) ? 8 : 2048));
        reader.push(stream.subarray(o, o + n), (f) => {
          frames++;
          if (!w.mux.receive(f, SOURCES[3].address, SOURCES[3].port, 4, 'tcp')) refused++;
        });
        o += n;
      }
      const drop = watch.moved();
      return `${drop ?? 'none'}:${Math.min(frames, 3)}:${refused > 0}`;
    },
    maintain(n) {
      if (!world!.alive || n % 512 === 0) world!.renew();
    },
    close() {
      world?.close();
    },
  };
}

/**
 * stun: parseStun and both checksums, then IceLiteAgent.handle with two registered endpoints. Envelope bit 0:
 * re-sign MESSAGE-INTEGRITY, bit 1: recompute FINGERPRINT (so mutated requests still authenticate and drive
 * the agent's nomination, replay and path logic), bits 2–3: source address.
 */
export function stunTarget(): FuzzTarget {
  const clock = new FakeClock();
  let agent = new IceLiteAgent(clock);
  const endpoint = (ufrag: string, pwd: string, remoteUfrag: string | null): IceLiteEndpoint => ({
    local: { ufrag, pwd },
    remoteUfrag,
    onSelected() {},
    onPathValidated() {},
  });
  const register = () => {
    agent = new IceLiteAgent(clock);
    agent.register(endpoint(FUZZ_ICE.ufrag, FUZZ_ICE.pwd, FUZZ_ICE.remoteUfrag));
    agent.register(endpoint(FUZZ_ICE_B.ufrag, FUZZ_ICE_B.pwd, null));
  };
  register();
  return {
    name: 'stun',
    about: 'parseStun, verifyMessageIntegrity, verifyFingerprint, IceLiteAgent.handle',
    kind: 'bytes',
    maxLen: DATAGRAM + 1,
    headerBytes: 1,
    run(input) {
      const mode = input.length > 0 ? input[0] : 0;
      const buf = Buffer.from(input.subarray(1));
      resignStun(buf, (mode & 1) !== 0, (mode & 2) !== 0);
      const msg = parseStun(buf);
      if (typeof msg !== 'string') {
        verifyFingerprint(buf, msg);
        verifyMessageIntegrity(buf, msg, FUZZ_ICE.pwd);
      }
      const src = SOURCES[(mode >> 2) & 3];
      const r = agent.handle(buf, src.address, src.port, src.family, src.protocol);
      clock.advance(1 + (mode >> 4) * 500);
      return r.drop ?? (r.response ? `response:${r.response.readUInt16BE(0)}` : 'none');
    },
    maintain(n) {
      if (n % 4096 === 0) register();
    },
  };
}

/** dtls-record: the record-layer screen every DTLS datagram passes before werift sees it. */
export function dtlsRecordTarget(): FuzzTarget {
  return {
    name: 'dtls-record',
    about: 'isWellFormedDtls (RFC 6347 §4.1 framing check in src/transport/dtls/dtls-session.ts)',
    kind: 'bytes',
    maxLen: DATAGRAM,
    headerBytes: 0,
    run(input) {
      return isWellFormedDtls(input) ? 'ok' : 'bad';
    },
  };
}

/** Offset of a ClientHello's cookie in a datagram that starts with it (record 13, handshake 12 bytes), or -1. */
function clientHelloCookie(buf: Buffer): Buffer | null {
  if (buf.length < 61 || buf[0] !== 22 || buf[13] !== 1) return null;
  const sidLen = buf[59];
  const o = 60 + sidLen;
  if (o >= buf.length) return null;
  const n = buf[o];
  return o + 1 + n <= buf.length ? buf.subarray(o + 1, o + 1 + n) : null;
}

/**
 * dtls-handshake: DtlsSession.handle (record check, then werift's handshake state machine) in the server role
 * (envelope bit 0 clear) or the client role after its ClientHello (bit 0 set). Bit 1: a ClientHello's cookie
 * is made the one the server expects, as a peer that got our HelloVerifyRequest would send it, so the input
 * reaches flight 4 (our certificate and signed key exchange).
 */
export function dtlsHandshakeTarget(): FuzzTarget {
  let cert: DtlsCertificate | null = null;
  let server: DtlsSession | null = null;
  let client: DtlsSession | null = null;
  let failed = 0;
  const handler = {
    send() {},
    onConnected() {},
    onFailed() {
      failed++;
    },
  };
  const renew = () => {
    server?.close();
    client?.close();
    const fp = { algorithm: 'sha-256', value: cert!.fingerprint };
    server = new DtlsSession('server', cert!, fp, handler);
    client = new DtlsSession('client', cert!, fp, handler);
    client.start();
  };
  return {
    name: 'dtls-handshake',
    about: 'DtlsSession.handle → werift-dtls DtlsServer/DtlsClient (server and client roles)',
    kind: 'bytes',
    maxLen: DATAGRAM + 1,
    headerBytes: 1,
    async setup() {
      cert = await fuzzCertificate();
      renew();
    },
    run(input) {
      const mode = input.length > 0 ? input[0] : 0;
      const buf = Buffer.from(input.subarray(1));
      const s = mode & 1 ? client! : server!;
      if (mode & 2 && !(mode & 1)) {
        const cookie = clientHelloCookie(buf);
        if (cookie && cookie.length > 0) (s as unknown as { socket: { dtls: { cookie: Buffer } } }).socket.dtls.cookie = Buffer.from(cookie);
      }
      const f = failed;
      const errors = s.handshakeErrors;
      const ok = s.handle(buf);
      return `${mode & 1 ? 'client' : 'server'}:${ok ? (failed !== f ? 'failed' : 'handled') : 'rejected'}:${s.handshakeErrors !== errors}:${buf.length > 13 ? buf[13] : -1}`;
    },
    maintain(n) {
      if (n % 64 === 0) renew();
    },
    close() {
      server?.close();
      client?.close();
    },
  };
}

/**
 * srtp: SrtpSession.unprotectRtp / unprotectRtcp as WebRtcTransport.handleSrtp calls them (RTCP by PT 192–223),
 * then RtpView.parse. Envelope bit 0: AES_CM_128_HMAC_SHA1_80 (else AEAD_AES_128_GCM); bit 2: the input is
 * plaintext, protected first with the same keys, so mutated headers get past authentication.
 */
export function srtpTarget(): FuzzTarget {
  let rx: SrtpSession[] = [];
  let tx: SrtpSession[] = [];
  const view = new RtpView();
  const renew = () => {
    rx = [newSrtp('AEAD_AES_128_GCM'), newSrtp('AES_CM_128_HMAC_SHA1_80')];
    tx = [newSrtp('AEAD_AES_128_GCM'), newSrtp('AES_CM_128_HMAC_SHA1_80')];
  };
  renew();
  return {
    name: 'srtp',
    about: 'SrtpSession.unprotectRtp/unprotectRtcp (GCM and AES-CM/HMAC), RtpView.parse after it',
    kind: 'bytes',
    maxLen: DATAGRAM + 1,
    headerBytes: 1,
    run(input) {
      const mode = input.length > 0 ? input[0] : 0;
      const p = mode & 1;
      let buf = Buffer.from(input.subarray(1));
      if (buf.length < 12) return 'packet_too_short';
      const rtcp = buf[1] >= 192 && buf[1] <= 223;
      if (mode & 4) {
        const out = rtcp ? tx[p].protectRtcp(buf, buf.length) : tx[p].protectRtp(buf, buf.length);
        if (typeof out === 'string') return `protect:${out}`;
        buf = Buffer.from(out);
      }
      if (rtcp) {
        const n = rx[p].unprotectRtcp(buf, buf.length);
        return typeof n === 'number' ? 'rtcp' : n;
      }
      const n = rx[p].unprotectRtp(buf, buf.length);
      if (typeof n !== 'number') return n;
      return view.parse(buf, n) ?? 'rtp';
    },
    maintain(n) {
      if (n % 8192 === 0) renew();
    },
  };
}

/**
 * rtp: RtpView.parse and what the publish path reads from a parsed packet: RFC 8285 extensions (one- and
 * two-byte forms), mid/rid strings, RTX (OSN, unwrap in place), and an RTX written from it.
 */
export function rtpTarget(): FuzzTarget {
  const v = new RtpView();
  const ext = new ExtensionWriter();
  const out = Buffer.alloc(DATAGRAM + 64);
  const mid = Buffer.from('1');
  return {
    name: 'rtp',
    about: 'RtpView.parse, findExtension, header-extension readers, rtx unwrapInPlace/writeRtx',
    kind: 'bytes',
    maxLen: DATAGRAM,
    headerBytes: 0,
    run(input) {
      const buf = Buffer.from(input);
      const bad = v.parse(buf);
      if (bad !== null) return bad;
      for (let id = 1; id <= 15; id++) v.findExtension(id);
      v.findExtension(255);
      readTransportSeq(v, 3);
      readAbsSendTime(v, 2);
      readAudioLevel(v, 1);
      readStringExt(v, 4);
      readStringExt(v, 10);
      const o = v.findExtension(4);
      extBytesEqual(v, o, v.lastExtLength, mid);
      v.isPaddingOnly();
      ext.clear();
      ext.setTransportSeq(3, 7);
      writeRtx(out, 0, v, { payloadType: 97, sequenceNumber: 1, ssrc: 0x1234 }, ext);
      if (rtxOriginalSeq(v) < 0) return `ok:ext${v.hasExtension ? 1 : 0}:short`;
      const r = unwrapRtxInPlace(v, 0xabcdef, 96);
      return `ok:ext${v.hasExtension ? 1 : 0}:${r ?? 'rtx'}`;
    },
  };
}

/** rtcp: the compound walker and every packet parser behind it (SR/RR/SDES/BYE, NACK, PLI/FIR, REMB, transport-cc; APP/XR as unknown). */
export function rtcpTarget(): FuzzTarget {
  const list: RtcpPacket[] = [];
  return {
    name: 'rtcp',
    about: 'parseRtcp: SR/RR/SDES/BYE/APP/XR, NACK, PLI/FIR, REMB, transport-cc',
    kind: 'bytes',
    maxLen: DATAGRAM,
    headerBytes: 0,
    known: { note: 'transport-cc feedback claiming 65,535 statuses (issue 15 finding 2, fixed in src/rtp/rtcp-twcc.ts by other work)', knownSlowMs: 50 },
    run(input) {
      list.length = 0;
      const bad = parseRtcp(input, input.length, list);
      if (bad !== null) return bad;
      let label = 'ok';
      for (const p of list) if (!label.includes(p.type)) label += `:${p.type}`;
      return label;
    },
  };
}

/** vp8: the VP8 payload descriptor (RFC 7741 §4.2) as Producer reads it, the key frame size, and the consumer's in-place rewrites. */
export function vp8Target(): FuzzTarget {
  const d = new Vp8Descriptor();
  return {
    name: 'vp8',
    about: 'Vp8Descriptor.parse, vp8KeyframeSize, writePictureId/writeTl0PicIdx',
    kind: 'bytes',
    maxLen: DATAGRAM,
    headerBytes: 0,
    run(input) {
      const buf = Buffer.from(input);
      const bad = d.parse(buf, 0, buf.length);
      if (bad !== null) return bad;
      const size = vp8KeyframeSize(buf, d.descriptorLength, buf.length);
      if (d.pictureIdOffset >= 0) writePictureId(buf, d.pictureIdOffset, d.pictureIdLength, d.pictureId + 1);
      if (d.tl0PicIdxOffset >= 0) writeTl0PicIdx(buf, d.tl0PicIdxOffset, d.tl0PicIdx + 1);
      return `ok:${d.isKeyframe}:${size >= 0}:${d.pictureIdLength}:${d.tid}`;
    },
  };
}

/** h264: keyframe detection over an RTP payload (single NAL, STAP-A, FU-A), what Producer does for H.264. */
export function h264Target(): FuzzTarget {
  return {
    name: 'h264',
    about: 'isH264Keyframe (RFC 6184 single NAL, STAP-A, FU-A)',
    kind: 'bytes',
    maxLen: DATAGRAM,
    headerBytes: 0,
    run(input) {
      const key = isH264Keyframe(input, 0, input.length);
      return `${key}:${input.length > 0 ? input[0] & 0x1f : -1}`;
    },
  };
}
