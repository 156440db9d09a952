/**
 * The server's packet path wired in one process over a VirtualNetwork: one publish transport
 * (PublishSession → audio and video Producers) and N subscribe transports (SubscribeSession → Consumers),
 * each with a NodePeer on the other end that really ran ICE and DTLS. The wiring mirrors
 * src/server/participant.ts without signaling, so benchmarks measure the code that runs in production.
 */
import { randomBytes } from 'node:crypto';
import { IceLiteAgent, generateIceCredentials } from '../../src/transport/ice/ice-lite.ts';
import { WebRtcTransport, type TransportState } from '../../src/transport/webrtc-transport.ts';
import { createDtlsCertificate, type DtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { PublishSession } from '../../src/media/publish-session.ts';
import { SubscribeSession } from '../../src/media/subscribe-session.ts';
import { Producer } from '../../src/media/producer.ts';
import { Consumer } from '../../src/media/consumer.ts';
import { SUBSCRIBE_EXT_ID as SUBSCRIBE_EXT, SUBSCRIBE_PT } from '../../src/signaling/sdp/server-capabilities.ts';
import type { MediaKind } from '../../src/media/media-types.ts';
import { systemClock, type Clock } from '../../src/util/clock.ts';
import { createLogger, type Logger } from '../../src/util/logger.ts';
import { NodePeer, randomSsrc, type OutgoingStream } from '../../tools/client/node-peer.ts';
import { PEER_EXT, PEER_PT } from '../../tools/client/peer-sdp.ts';
import { VirtualNetwork, type Delivery, type VirtualLink } from '../../test/testkit/virtual-network.ts';

export interface SfuPublisher {
  peer: NodePeer;
  link: VirtualLink;
  transport: WebRtcTransport;
  session: PublishSession;
  producers: Record<MediaKind, Producer>;
}

export interface SfuSubscriber {
  peer: NodePeer;
  link: VirtualLink;
  transport: WebRtcTransport;
  session: SubscribeSession;
  consumers: Record<MediaKind, Consumer>;
}

export interface InProcessSfu {
  net: VirtualNetwork;
  ice: IceLiteAgent;
  clock: Clock;
  publisher: SfuPublisher;
  subscribers: SfuSubscriber[];
  /** Transports that failed or closed before close(): a benchmark with any is void. */
  failures: string[];
  /** What the media loop does every 20 ms (src/server/media-server.ts). */
  tick(nowMs: number): void;
  close(): void;
}

const sha256 = (c: DtlsCertificate) => ({ algorithm: 'sha-256', value: c.fingerprint });

/** Builds the SFU and connects every peer (ICE + DTLS over the virtual network). Consumers are resumed. */
export async function buildInProcessSfu(opts: { subscribers: number; delivery?: Delivery; log?: Logger; clock?: Clock }): Promise<InProcessSfu> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger('warn');
  const net = new VirtualNetwork(opts.delivery ?? 'microtask');
  const ice = new IceLiteAgent(clock);
  net.setStunHandler({ handleStun: (buf, address, port, family) => ice.handle(buf, address, port, family).response });
  const [serverCert, peerCert] = await Promise.all([createDtlsCertificate(), createDtlsCertificate()]);
  const transport = (remoteUfrag: string, role: 'client' | 'server', kind: string) =>
    new WebRtcTransport({ id: `${kind}-${randomBytes(4).toString('hex')}`, mux: net, ice, iceCredentials: generateIceCredentials(), remoteUfrag, certificate: serverCert, dtls: { role, remoteFingerprint: sha256(peerCert) }, clock, log, srtpPreference: kind === 'sub' ? 'aes-cm' : 'gcm' });

  // Publisher: like a browser's publish offer answered with setup:active (we are the DTLS client).
  const streams: OutgoingStream[] = [
    { kind: 'audio', ssrc: randomSsrc(), payloadType: PEER_PT.opus, clockRate: 48000 },
    { kind: 'video', ssrc: randomSsrc(), payloadType: PEER_PT.vp8, clockRate: 90000, rtxSsrc: randomSsrc(), rtxPayloadType: PEER_PT.vp8Rtx },
  ];
  const pubLink = net.attach();
  const pubPeer = new NodePeer({ link: pubLink, certificate: peerCert, streams, ext: PEER_EXT });
  const pubT = transport(pubPeer.ice.ufrag, 'client', 'pub');
  const failures: string[] = [];
  const watch = (what: string) => (state: TransportState, reason?: string) => {
    if (state === 'failed' || state === 'closed') failures.push(`${what} ${state}: ${reason ?? ''}`);
  };
  const pubSession = new PublishSession(pubT, clock, watch('publish transport'));
  pubSession.transportCcExtId = PEER_EXT.transportCc;
  const producer = (s: OutgoingStream) =>
    new Producer(
      { id: `t-${s.kind}`, publisherId: 'p', kind: s.kind, mid: s.kind === 'audio' ? '0' : '1', codec: s.kind === 'audio' ? 'opus' : 'vp8', clockRate: s.clockRate, payloadType: s.payloadType, rtxPayloadType: s.rtxPayloadType ?? null, ssrc: s.ssrc, rtxSsrc: s.rtxSsrc ?? null },
      clock,
      { requestKeyframe: (ssrc) => pubSession.sendPli(ssrc) },
    );
  const producers = { audio: producer(streams[0]!), video: producer(streams[1]!) };
  producers.audio.audioLevelExtId = PEER_EXT.audioLevel;
  pubSession.addProducer(producers.audio);
  pubSession.addProducer(producers.video);
  const publisher: SfuPublisher = { peer: pubPeer, link: pubLink, transport: pubT, session: pubSession, producers };

  // Subscribers: like a browser answering our actpass offer with setup:active (we are the DTLS server).
  const subscribers: SfuSubscriber[] = [];
  for (let i = 0; i < opts.subscribers; i++) {
    const link = net.attach();
    const peer = new NodePeer({ link, certificate: peerCert });
    const t = transport(peer.ice.ufrag, 'server', 'sub');
    const consumers: Consumer[] = [];
    const session = new SubscribeSession(t, clock, (state, reason) => {
      // As Participant does: what was sent before the path existed is lost, restart video at a keyframe.
      if (state === 'connected') for (const c of consumers) c.restartAtKeyframe(clock.now());
      watch(`subscribe transport ${i}`)(state, reason);
    });
    // No adaptation (as for a subscriber whose answer negotiates no feedback): the bench feeds far faster
    // than real time, so the estimator would rightly pause video and only audio would be measured.
    session.downlink.useEstimator('null');
    const consumer = (kind: MediaKind) => {
      const video = kind === 'video';
      const c = new Consumer(
        {
          id: `c${i}-${kind}`,
          ssrc: randomSsrc(),
          rtxSsrc: video ? randomSsrc() : null,
          payloadType: video ? SUBSCRIBE_PT.vp8 : SUBSCRIBE_PT.opus,
          rtxPayloadType: video ? SUBSCRIBE_PT.vp8Rtx : null,
          ext: { transportCc: SUBSCRIBE_EXT.transportCc, absSendTime: SUBSCRIBE_EXT.absSendTime, audioLevel: video ? 0 : SUBSCRIBE_EXT.audioLevel },
        },
        producers[kind],
        session.sender,
      );
      session.addConsumer(c);
      producers[kind].addSink(c);
      consumers.push(c);
      return c;
    };
    subscribers.push({ peer, link, transport: t, session, consumers: { audio: consumer('audio'), video: consumer('video') } });
  }

  await Promise.all([
    pubPeer.connect({ iceUfrag: pubT.local.ufrag, icePwd: pubT.local.pwd, fingerprint: sha256(serverCert), dtlsRole: 'server' }),
    ...subscribers.map((s) => s.peer.connect({ iceUfrag: s.transport.local.ufrag, icePwd: s.transport.local.pwd, fingerprint: sha256(serverCert), dtlsRole: 'client' })),
  ]);
  // The server side finishes its handshake in the same flight exchange; wait until it says so.
  const deadline = Date.now() + 5000;
  while (![pubT, ...subscribers.map((s) => s.transport)].every((t) => t.connected)) {
    if (Date.now() > deadline) throw new Error('server transports did not reach connected');
    await new Promise((r) => setTimeout(r, 5));
  }
  // As Participant.subscriberAnswer does once the answer is in.
  const now = clock.now();
  for (const s of subscribers) for (const c of Object.values(s.consumers)) c.resume(now);

  return {
    net,
    ice,
    clock,
    publisher,
    subscribers,
    failures,
    tick(now) {
      pubSession.tick(now);
      for (const s of subscribers) s.session.tick(now);
    },
    close() {
      failures.length = 0;
      for (const s of subscribers) {
        for (const c of Object.values(s.consumers)) c.close();
        s.transport.close('bench done');
        s.peer.close();
      }
      for (const p of Object.values(producers)) p.close();
      pubT.close('bench done');
      pubPeer.close();
    },
  };
}
