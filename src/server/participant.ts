import { randomBytes } from 'node:crypto';
import { Producer } from '../media/producer.ts';
import type { Consumer } from '../media/consumer.ts';
import { PublishSession } from '../media/publish-session.ts';
import type { CodecName } from '../media/media-types.ts';
import { objectCounts } from '../metrics/registry.ts';
import { parsePublishOffer } from '../signaling/sdp/publish-offer.ts';
import { buildPublishAnswer } from '../signaling/sdp/publish-answer.ts';
import { isSdpError } from '../signaling/sdp/types.ts';
import { serverMessage, type Mode, type PersonInfo, type PublisherInfo, type ServerMessage, type TrackInfo, type TrackSource } from '../signaling/messages.ts';
import type { Grants } from './auth/tokens.ts';
import type { DownlinkController } from '../media/downlink-controller.ts';
import type { WebRtcTransport } from '../transport/webrtc-transport.ts';
import type { ReceiveCaps } from '../allocation/receive-caps.ts';
import { INITIAL_DEVICE_CAPS, nextDeviceCaps, type DeviceCapsState, type DeviceReport } from '../allocation/device-caps.ts';
import { RequestError } from './request-error.ts';
import { Subscriber } from './subscriber.ts';
import type { SubscribeSession } from '../media/subscribe-session.ts';
import type { MediaServer } from './media-server.ts';
import type { Space } from './space.ts';
import type { Speaker } from './speaker.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

interface PublishSide {
  session: PublishSession;
  /** Producer per m-line mid of the publish offer. */
  byMid: Map<string, Producer>;
  /** The o= session id of our answers stays across ICE restarts (RFC 3264 §8): derived from the first ufrag. */
  sessionKey: string;
}

const id = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

/**
 * One person in a space: their two transports (publish: the browser offers; subscribe: we offer), the
 * tracks they publish and the tracks they receive. Owns and closes all of them.
 */
export class Participant implements Speaker {
  readonly remote = false;
  readonly id = id('p');
  readonly producers = new Map<string, Producer>();
  private pub: PublishSide | null = null;
  private sub: Subscriber | null = null;
  closed = false;
  /** Position and presence, authoritative (the Space moves them). */
  x = 0;
  y = 0;
  mode: Mode = 'normal';
  spotlit = false;
  /** What this person's device can take, from its reports (src/allocation/device-caps.ts). */
  deviceCaps: DeviceCapsState = INITIAL_DEVICE_CAPS;

  constructor(
    readonly name: string,
    readonly grants: Pick<Grants, 'publish' | 'spotlight' | 'moderator'>,
    readonly space: Space,
    private readonly media: MediaServer,
    private readonly clock: Clock,
    private readonly log: Logger,
    private sendMessage: (m: ServerMessage) => void,
  ) {
    objectCounts.participants++;
  }

  send(m: ServerMessage): void {
    if (!this.closed) this.sendMessage(m);
  }

  personInfo(): PersonInfo {
    return { id: this.id, name: this.name, x: this.x, y: this.y, mode: this.mode, spotlit: this.spotlit };
  }

  publisherInfo(): PublisherInfo {
    const tracks: TrackInfo[] = [...this.producers.values()].map((p) => ({ trackId: p.id, kind: p.kind, mid: p.params.mid, source: p.source, muted: p.muted }));
    return { participantId: this.id, name: this.name, tracks };
  }

  /** Offer from the browser's publish connection (first or renegotiation) → our answer. */
  publish(sdp: string, sources?: ReadonlyArray<{ mid: string; source: TrackSource }>): { sdp: string; tracks: TrackInfo[] } {
    if (!this.grants.publish) throw new RequestError('forbidden', 'this token does not allow publishing');
    const offer = parsePublishOffer(sdp);
    if (isSdpError(offer)) throw new RequestError('sdp_rejected', offer.message);
    if (!this.pub) {
      const t = this.media.createTransport(offer.transport.iceUfrag, null, 'pub');
      const session = new PublishSession(t, this.clock, (s, reason) => this.onTransportState('publish', s, reason), this.media.ingressLimits?.publisher ?? null);
      this.pub = { session, byMid: new Map(), sessionKey: t.local.ufrag };
      this.media.addTickable(session);
    }
    const pub = this.pub;
    const t = pub.session.transport;
    // New ICE credentials in a renegotiation are an ICE restart (RFC 8839 §4.4.1.1.1): the answer carries new
    // ones of ours on the same transport; DTLS, SRTP and the producers stay (RFC 8445 §9).
    if (t.remoteUfrag !== null && t.remoteUfrag !== offer.transport.iceUfrag) t.restartIce(offer.transport.iceUfrag);
    const answer = buildPublishAnswer(offer, {
      iceUfrag: t.local.ufrag,
      icePwd: t.local.pwd,
      fingerprint: { algorithm: 'sha-256', value: this.media.certificate.fingerprint },
      setup: this.media.publishDtlsSetup,
      candidates: this.media.candidates,
    }, undefined, { sessionKey: pub.sessionKey });
    t.setDtlsParameters({ role: answer.setup === 'active' ? 'client' : 'server', remoteFingerprint: offer.transport.fingerprint });

    const firstTime = this.producers.size === 0;
    const seen = new Set<string>();
    for (const m of answer.media) {
      if (m.rejected || m.inactive || !m.codec || (m.kind !== 'audio' && m.kind !== 'video')) continue;
      if (m.extIds.transportCc) pub.session.transportCcExtId = m.extIds.transportCc;
      seen.add(m.mid);
      if (pub.byMid.has(m.mid)) continue;
      if (m.ssrc === undefined && m.rids.length === 0) {
        // Neither a=ssrc nor RFC 8853 rids: nothing would let us tell this m-line's packets apart.
        this.log.warn('publish m-line without a=ssrc or rids ignored', { participant: this.id, mid: m.mid });
        continue;
      }
      if (m.rids.length > 0) {
        // Rid-only simulcast: layer SSRCs are learned from these extensions (RFC 8852). BUNDLE keeps the
        // ids the same on every m-line (RFC 8843 §9.2), so the session keeps one set.
        pub.session.midExtId = m.extIds.mid ?? 0;
        pub.session.ridExtId = m.extIds.rid ?? 0;
        pub.session.repairedRidExtId = m.extIds.repairedRid ?? 0;
      }
      const codec = m.codec.name.toLowerCase() as CodecName;
      const producer = new Producer(
        {
          id: id('t'),
          publisherId: this.id,
          kind: m.kind,
          mid: m.mid,
          codec,
          clockRate: m.codec.clockRate,
          payloadType: m.codec.pt,
          rtxPayloadType: m.rtxPt ?? null,
          ssrc: m.ssrc ?? 0,
          rtxSsrc: m.rtxSsrc ?? null,
          ...(m.rids.length > 0 ? { rids: m.rids } : {}),
        },
        this.clock,
        { requestKeyframe: (ssrc) => pub.session.sendPli(ssrc) },
      );
      producer.audioLevelExtId = m.extIds.audioLevel ?? 0;
      const source = sources?.find((x) => x.mid === m.mid)?.source;
      // A named source must fit the kind (a screen is video); otherwise the default by kind stays.
      if (source !== undefined && (source === 'microphone') === (m.kind === 'audio')) producer.source = source;
      // Speaking raises this person's priority for their listeners (bandwidth allocation reads it).
      if (m.kind === 'audio') producer.onSpeakingChange = (on) => this.space.setSpeaking(this, on);
      // Dynacast: the publisher encodes only the layers someone is allocated (and always the lowest).
      producer.onLayerWish = (wish) => this.send(serverMessage.videoLayers(producer.id, wish));
      pub.byMid.set(m.mid, producer);
      pub.session.addProducer(producer);
      this.producers.set(producer.id, producer);
    }
    // m-lines that stopped sending end their producers.
    for (const [mid, producer] of pub.byMid) {
      if (seen.has(mid)) continue;
      pub.byMid.delete(mid);
      this.closeProducer(producer);
    }
    this.space.announceTracks(this, firstTime);
    return { sdp: answer.sdp, tracks: this.publisherInfo().tracks };
  }

  /**
   * Mute or unmute one of our tracks. Muted, nothing of it is forwarded (packets still arriving are dropped
   * as `track_muted`), a microphone stops counting as speaking, and everyone in the space learns it through
   * `tracksChanged`. Unmuted video asks for a keyframe so listeners see the picture at once.
   */
  setMuted(trackId: string, muted: boolean): void {
    const producer = this.producers.get(trackId);
    if (!producer) throw new RequestError('unknown_track', `you publish no track ${trackId}`);
    if (producer.muted === muted) return;
    producer.muted = muted;
    if (muted && producer.kind === 'audio') {
      // No packets come while muted: nothing else would end "speaking".
      producer.voice.reset();
      this.space.setSpeaking(this, false);
    }
    if (!muted) producer.requestKeyframe();
    this.space.announceTracks(this, false);
  }

  /**
   * A client asks for a publisher's tracks. Only what the space's rules grant is served, whatever the
   * client sends; a granted publisher is normally received already (this undoes an opt-out).
   */
  subscribe(publisherId: string, trackIds?: string[]): string[] {
    const publisher = this.space.speaker(publisherId);
    if (!publisher || publisher === this) throw new RequestError('unknown_publisher', `no publisher ${publisherId} in this space`);
    const producers = this.selectProducers(publisher, trackIds);
    if (!this.space.isGranted(this.id, publisherId)) throw new RequestError('forbidden', `${publisher.name} is not within reach`);
    this.space.subscriptions.optIn(this.id, publisherId);
    return this.consume(publisher, producers);
  }

  /** The rules link us to `speaker`: receive all its tracks (called by the SubscriptionManager). */
  followSpeaker(speaker: Speaker): void {
    if (this.closed || speaker.closed) return;
    this.consume(speaker, [...speaker.producers.values()]);
  }

  /** The link to `speakerId` ended: stop receiving it. */
  unfollowSpeaker(speakerId: string): void {
    if (this.closed) return;
    this.stopConsuming(speakerId);
  }

  private consume(publisher: Speaker, producers: Producer[]): string[] {
    // Nothing to offer yet: no transport either (an unoffered transport would only time out).
    if (producers.length === 0) return [];
    this.sub ??= new Subscriber(
      this.media,
      this.clock,
      (m) => this.send(m),
      (s, reason) => this.onTransportState('subscribe', s, reason),
      {
        inputs: {
          // Closeness, speaking and spotlight, as the proximity rules rank them for this listener.
          priorityOf: (publisherId) => this.space.engine.linksOf(this.id).get(publisherId)?.priority ?? 0,
          caps: () => this.receiveCaps,
        },
        downlink: { log: this.log.child({ participant: this.id }) },
      },
    );
    return this.sub.consume(publisher.id, producers);
  }

  /** A client opts out of a publisher (until the link ends and comes back). */
  unsubscribe(publisherId: string, trackIds?: string[]): string[] {
    const publisher = this.space.speaker(publisherId);
    if (!publisher) throw new RequestError('unknown_publisher', `no publisher ${publisherId} in this space`);
    if (!trackIds) this.space.subscriptions.optOut(this.id, publisherId);
    return this.stopConsuming(publisherId, trackIds);
  }

  private stopConsuming(publisherId: string, trackIds?: string[]): string[] {
    return this.sub?.stopConsuming(publisherId, trackIds) ?? [];
  }

  /** The browser answered our subscribe offer. */
  subscriberAnswer(offerId: number, sdp: string): void {
    if (!this.sub) throw new RequestError('bad_request', `no outstanding subscriber offer ${offerId}`);
    this.sub.onAnswer(offerId, sdp);
  }

  /** The client asks for an ICE restart of its subscribe connection; false when it has none yet. */
  restartSubscribeIce(): boolean {
    return this.sub?.restartIce() ?? false;
  }

  /**
   * The session moved to a new signaling connection (`resume`): pushes now go there. What the old one may
   * have lost and the resume snapshot does not carry goes again: the outstanding subscribe offer and the
   * dynacast wishes of our simulcast tracks.
   */
  rebind(send: (m: ServerMessage) => void): void {
    this.sendMessage = send;
    this.sub?.resendPendingOffer();
    for (const p of this.producers.values()) {
      if (p.kind === 'video' && p.layers.length > 1) this.send(serverMessage.videoLayers(p.id, p.layers.map((l) => ({ rid: l.rid ?? '', active: l.requested }))));
    }
  }

  /** The publish connection (null before publishing): tests find its path by its remote port. */
  get publishTransport(): WebRtcTransport | null {
    return this.pub?.session.transport ?? null;
  }

  /** The subscribe connection (null before the first subscription): tests find its path by its remote port. */
  get subscribeTransport(): WebRtcTransport | null {
    return this.sub?.session.transport ?? null;
  }

  /** The send side of what this person receives (null before the first subscription): tests and diagnostics. */
  get subscribeSession(): SubscribeSession | null {
    return this.sub?.session ?? null;
  }

  /** Bandwidth control of what this person receives (null before the first subscription). */
  get downlink(): DownlinkController | null {
    return this.sub?.session.downlink ?? null;
  }

  /** Read by the bandwidth allocation of what this person receives. */
  get receiveCaps(): ReceiveCaps {
    return this.deviceCaps.caps;
  }

  /** The browser's periodic report of its limits: its receive caps follow. */
  onReport(r: DeviceReport): void {
    const before = this.deviceCaps;
    this.deviceCaps = nextDeviceCaps(before, r, this.clock.now());
    if (this.deviceCaps.level !== before.level) {
      this.log.info('receive caps changed', { participant: this.id, level: this.deviceCaps.level, caps: this.deviceCaps.caps, cause: this.deviceCaps.cause ?? 'recovered' });
    }
    this.sub?.session.downlink.invalidate();
  }

  /** This participant's consumer of a publisher's track (the allocator sets its layer target). */
  consumerOf(trackId: string): Consumer | undefined {
    return this.sub?.consumerOf(trackId);
  }

  onProducerClosed(producer: Producer): void {
    this.sub?.producerClosed(producer);
  }

  notifyPublisher(info: PublisherInfo, firstTime: boolean): void {
    this.send(firstTime ? serverMessage.publisherJoined(info) : serverMessage.tracksChanged(info));
  }

  notifyPublisherLeft(participantId: string): void {
    this.send(serverMessage.publisherLeft(participantId));
  }

  /** Leave: close everything this participant owns, then tell the space. */
  close(reason: string): void {
    if (this.closed) return;
    this.log.info('participant leaving', { participant: this.id, reason });
    const hadTracks = this.producers.size > 0;
    for (const p of [...this.producers.values()]) this.closeProducer(p);
    this.sub?.close('participant left');
    this.sub = null;
    if (this.pub) {
      this.media.removeTickable(this.pub.session);
      this.pub.session.transport.close('participant left');
      this.pub = null;
    }
    this.closed = true;
    objectCounts.participants--;
    this.space.remove(this);
    if (hadTracks) this.space.announceLeft(this);
  }

  private selectProducers(publisher: Speaker, trackIds?: string[]): Producer[] {
    if (!trackIds) return [...publisher.producers.values()];
    return trackIds.map((t) => {
      const p = publisher.producers.get(t);
      if (!p) throw new RequestError('unknown_track', `publisher ${publisher.id} has no track ${t}`);
      return p;
    });
  }

  private closeProducer(p: Producer): void {
    this.producers.delete(p.id);
    this.pub?.session.removeProducer(p);
    p.close();
    this.space.producerClosed(p);
  }

  private onTransportState(which: 'publish' | 'subscribe', state: string, reason?: string): void {
    this.log.debug('transport state', { participant: this.id, which, state, reason });
    // Our uplink moved (an ICE restart after a network change): listeners' decoders lost packets meanwhile.
    if (which === 'publish' && state === 'connected' && reason === 'path moved') for (const p of this.producers.values()) if (p.kind === 'video') p.requestKeyframe();
    if (state === 'failed' && !this.closed) {
      // A dead transport is a dead session: the client reconnects and joins again.
      this.close(`${which} transport failed: ${reason ?? 'unknown'}`);
      this.onFailed?.(`${which} transport failed: ${reason ?? 'unknown'}`);
    }
  }

  /** Set by the signaling layer: close the WebSocket when media failed. */
  onFailed: ((reason: string) => void) | null = null;
}
