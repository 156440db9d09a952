/**
 * The media sessions behind a transport, as a participant reaches them once connected (a guest token is
 * enough): RTP into a PublishSession with an a=ssrc VP8 track (with RTX), a rid-simulcast VP8 track and an
 * Opus track; RTCP into that PublishSession; RTCP into a SubscribeSession whose consumers forward those
 * tracks (NACK → RTX from the cache, PLI/FIR, REMB, transport-cc → the estimator, receiver reports).
 * The media loop's ticks run every few inputs on the fake clock, so timers, NACK and feedback run too.
 */
import { PublishSession } from '../../../src/media/publish-session.ts';
import { SubscribeSession } from '../../../src/media/subscribe-session.ts';
import { Producer } from '../../../src/media/producer.ts';
import { Consumer } from '../../../src/media/consumer.ts';
import { RtpView } from '../../../src/rtp/rtp-packet.ts';
import { WebRtcTransport } from '../../../src/transport/webrtc-transport.ts';
import type { IceLiteEndpoint } from '../../../src/transport/ice/ice-lite.ts';
import type { SrtpSession } from '../../../src/transport/srtp/index.ts';
import { createLogger } from '../../../src/util/logger.ts';
import type { FuzzTarget } from '../target.ts';
import { DropWatch, MediaWorld, PEER, fuzzCertificate, newSrtp } from './media-world.ts';

/** SSRCs and ids the corpus uses (tools/fuzz/make-corpus.ts). */
export const SESSION = {
  videoSsrc: 0x11223344,
  videoRtxSsrc: 0x77777777,
  audioSsrc: 0x0a0b0c0d,
  /** Our SSRCs towards the subscriber: video, its RTX, audio. */
  outVideo: 0x5000,
  outVideoRtx: 0x5001,
  outAudio: 0x5002,
  ext: { audioLevel: 1, absSendTime: 2, transportCc: 3, mid: 4, rid: 10, repairedRid: 11 },
} as const;

interface Sessions {
  pub: PublishSession;
  sub: SubscribeSession;
  subTransport: WebRtcTransport;
  producers: Producer[];
}

/**
 * sessions: envelope bits 0–1: 0 RTP into the publish session (parsed once, as WebRtcTransport.handleSrtp
 * does), 1 RTCP into the publish session, 2 or 3 RTCP into the subscribe session.
 */
export function sessionsTarget(): FuzzTarget {
  let world: MediaWorld | null = null;
  let s: Sessions | null = null;
  const view = new RtpView();
  const watch = new DropWatch();
  const log = createLogger('silent');
  let n = 0;

  const build = () => {
    const w = world!;
    if (s) {
      for (const p of s.producers) p.close();
      s.sub.close();
      s.subTransport.close('fuzz renew');
    }
    w.renew();
    const clock = w.clock;
    const pub = new PublishSession(w.transport, clock, () => {});
    pub.transportCcExtId = SESSION.ext.transportCc;
    pub.midExtId = SESSION.ext.mid;
    pub.ridExtId = SESSION.ext.rid;
    pub.repairedRidExtId = SESSION.ext.repairedRid;
    const upstream = { requestKeyframe: (ssrc: number) => pub.sendPli(ssrc) };
    const video = new Producer(
      { id: 'tv', publisherId: 'p', kind: 'video', mid: '2', codec: 'vp8', clockRate: 90000, payloadType: 96, rtxPayloadType: 97, ssrc: SESSION.videoSsrc, rtxSsrc: SESSION.videoRtxSsrc },
      clock,
      upstream,
    );
    const simulcast = new Producer(
      { id: 'ts', publisherId: 'p', kind: 'video', mid: '1', codec: 'vp8', clockRate: 90000, payloadType: 96, rtxPayloadType: 97, ssrc: 0, rtxSsrc: null, rids: ['q', 'h', 'f'] },
      clock,
      upstream,
    );
    const audio = new Producer(
      { id: 'ta', publisherId: 'p', kind: 'audio', mid: '0', codec: 'opus', clockRate: 48000, payloadType: 111, rtxPayloadType: null, ssrc: SESSION.audioSsrc, rtxSsrc: null },
      clock,
      upstream,
    );
    audio.audioLevelExtId = SESSION.ext.audioLevel;
    for (const p of [video, simulcast, audio]) pub.addProducer(p);

    const subTransport = new WebRtcTransport({
      id: 'fuzz-sub',
      mux: w.mux,
      ice: w.ice,
      iceCredentials: { ufrag: 'fuzS', pwd: 'subscribepasswordsubscr' },
      remoteUfrag: 'peerS',
      certificate: w.cert,
      dtls: null,
      clock,
      log,
    });
    (subTransport as IceLiteEndpoint).onSelected({ address: PEER.address, port: PEER.port + 2, family: 4 }, null);
    // What a completed DTLS handshake leaves: keys to send with, and the transport connected.
    (subTransport as unknown as { srtpOut: SrtpSession }).srtpOut = newSrtp('AEAD_AES_128_GCM');
    subTransport.state = 'connected';
    const sub = new SubscribeSession(subTransport, clock, () => {});
    sub.downlink.useEstimator('transport-cc');
    const ext = { transportCc: SESSION.ext.transportCc, absSendTime: SESSION.ext.absSendTime, audioLevel: 0 };
    const consumers = [
      new Consumer({ id: 'cv', ssrc: SESSION.outVideo, rtxSsrc: SESSION.outVideoRtx, payloadType: 96, rtxPayloadType: 97, ext }, video, sub.sender),
      new Consumer({ id: 'cs', ssrc: SESSION.outVideo + 16, rtxSsrc: SESSION.outVideoRtx + 16, payloadType: 96, rtxPayloadType: 97, ext }, simulcast, sub.sender),
      new Consumer({ id: 'ca', ssrc: SESSION.outAudio, rtxSsrc: null, payloadType: 111, rtxPayloadType: null, ext: { ...ext, audioLevel: SESSION.ext.audioLevel } }, audio, sub.sender),
    ];
    for (const c of consumers) {
      sub.addConsumer(c);
      c.producer.addSink(c);
      c.resume(clock.now());
    }
    s = { pub, sub, subTransport, producers: [video, simulcast, audio] };
  };

  return {
    name: 'sessions',
    about: 'PublishSession.onRtp/onRtcp (Producer: layers, RTX, VP8, NACK) and SubscribeSession.onRtcp (consumers, RTX, estimator)',
    kind: 'bytes',
    maxLen: 1500 + 1,
    headerBytes: 1,
    known: { note: 'transport-cc feedback claiming 65,535 statuses (issue 15 finding 2, fixed in src/rtp/rtcp-twcc.ts and src/bwe/transport-cc-estimator.ts by other work)', knownSlowMs: 50 },
    async setup() {
      world = new MediaWorld(await fuzzCertificate());
      build();
    },
    run(input) {
      const ss = s!;
      const w = world!;
      const mode = input.length > 0 ? input[0] & 3 : 0;
      const buf = Buffer.from(input.subarray(1));
      watch.mark();
      if (mode === 0) {
        const bad = view.parse(buf);
        if (bad === null) ss.pub.onRtp(view);
      } else if (mode === 1) ss.pub.onRtcp(buf, buf.length);
      else ss.sub.onRtcp(buf, buf.length);
      if (++n % 8 === 0) {
        w.clock.advance(20);
        const now = w.clock.now();
        ss.pub.tick(now);
        ss.sub.tick(now);
      } else w.clock.advance(1);
      const drop = watch.moved();
      return `${mode}:${drop ?? 'ok'}`;
    },
    maintain(count) {
      // Consent (RFC 7675) fails a transport after 30 s of fake time without checks: start afresh before.
      const dead = !world!.alive || s!.subTransport.state === 'closed' || s!.subTransport.state === 'failed';
      if (dead || count % 4096 === 0) build();
    },
    close() {
      if (s) for (const p of s.producers) p.close();
      s?.subTransport.close('fuzz end');
      world?.close();
    },
  };
}
