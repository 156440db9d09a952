import { randomBytes } from 'node:crypto';
import { Producer } from '../media/producer.ts';
import { Consumer } from '../media/consumer.ts';
import { PublishSession } from '../media/publish-session.ts';
import { SubscribeSession } from '../media/subscribe-session.ts';
import { SUBSCRIBE_PT, SUBSCRIBE_EXT } from '../media/media-types.ts';
import type { CodecName } from '../media/media-types.ts';
import { objectCounts } from '../metrics/registry.ts';
import { parsePublishOffer } from '../signaling/sdp/publish-offer.ts';
import { buildPublishAnswer } from '../signaling/sdp/publish-answer.ts';
import { buildSubscribeOffer, type SubscribeMedia } from '../signaling/sdp/subscribe-offer.ts';
import { parseSubscribeAnswer } from '../signaling/sdp/subscribe-answer.ts';
import { isSdpError } from '../signaling/sdp/types.ts';
import { serverMessage, type Mode, type PersonInfo, type PublisherInfo, type ServerMessage, type TrackInfo } from '../signaling/messages.ts';
import type { Grants } from './auth/tokens.ts';
import type { MediaServer } from './media-server.ts';
import type { Space } from './space.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

/** A failed request, carried to the signaling layer as a typed error message. */
export class RequestError extends Error {
  constructor(
    readonly code: 'sdp_rejected' | 'unknown_publisher' | 'unknown_track' | 'bad_request' | 'forbidden' | 'bad_move' | 'internal',
    message: string,
  ) {
    super(message);
  }
}

interface PublishSide {
  session: PublishSession;
  /** Producer per m-line mid of the publish offer. */
  byMid: Map<string, Producer>;
}

interface SubscribedTrack {
  consumer: Consumer;
  media: SubscribeMedia;
}

interface SubscribeSide {
  session: SubscribeSession;
  /** Every m-line ever offered, in order; a finished one stays as inactive (RFC 8829 §5.2.2). */
  media: SubscribeMedia[];
  /** Live consumers by producer id. */
  byProducer: Map<string, SubscribedTrack>;
  nextMid: number;
  offerId: number;
  /** The offer the browser has not answered yet, and the consumers it introduced. */
  pending: { offerId: number; consumers: Consumer[]; mids: string[] } | null;
  /** Something changed while an offer was outstanding: offer again after the answer. */
  dirty: boolean;
  /** Consumers waiting for the next offer. */
  unannounced: Consumer[];
}

const id = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

/**
 * One person in a space: their two transports (publish: the browser offers; subscribe: we offer), the
 * tracks they publish and the tracks they receive. Owns and closes all of them.
 */
export class Participant {
  readonly id = id('p');
  readonly producers = new Map<string, Producer>();
  private pub: PublishSide | null = null;
  private sub: SubscribeSide | null = null;
  closed = false;
  /** Position and presence, authoritative (the Space moves them). */
  x = 0;
  y = 0;
  mode: Mode = 'normal';
  spotlit = false;

  constructor(
    readonly name: string,
    readonly grants: Pick<Grants, 'publish' | 'spotlight'>,
    readonly space: Space,
    private readonly media: MediaServer,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly sendMessage: (m: ServerMessage) => void,
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
    const tracks: TrackInfo[] = [...this.producers.values()].map((p) => ({ trackId: p.id, kind: p.kind, mid: p.params.mid }));
    return { participantId: this.id, name: this.name, tracks };
  }

  /** Offer from the browser's publish connection (first or renegotiation) → our answer. */
  publish(sdp: string): { sdp: string; tracks: TrackInfo[] } {
    if (!this.grants.publish) throw new RequestError('forbidden', 'this token does not allow publishing');
    const offer = parsePublishOffer(sdp);
    if (isSdpError(offer)) throw new RequestError('sdp_rejected', offer.message);
    if (!this.pub) {
      const t = this.media.createTransport(offer.transport.iceUfrag, null, 'pub');
      const session = new PublishSession(t, this.clock, (s, reason) => this.onTransportState('publish', s, reason));
      this.pub = { session, byMid: new Map() };
      this.media.addTickable(session);
    }
    const pub = this.pub;
    const t = pub.session.transport;
    const answer = buildPublishAnswer(offer, {
      iceUfrag: t.local.ufrag,
      icePwd: t.local.pwd,
      fingerprint: { algorithm: 'sha-256', value: this.media.certificate.fingerprint },
      setup: this.media.publishDtlsSetup,
      candidate: { ip: this.media.announcedIp, port: this.media.announcedPort },
    });
    t.setDtlsParameters({ role: answer.setup === 'active' ? 'client' : 'server', remoteFingerprint: offer.transport.fingerprint });

    const firstTime = this.producers.size === 0;
    const seen = new Set<string>();
    for (const m of answer.media) {
      if (m.rejected || m.inactive || !m.codec || (m.kind !== 'audio' && m.kind !== 'video')) continue;
      if (m.extIds.transportCc) pub.session.transportCcExtId = m.extIds.transportCc;
      seen.add(m.mid);
      if (pub.byMid.has(m.mid)) continue;
      if (m.ssrc === undefined) {
        // Simulcast without a=ssrc (rid-only) comes with the adaptation work; say so instead of failing silently.
        this.log.warn('publish m-line without a=ssrc ignored', { participant: this.id, mid: m.mid, rids: m.rids });
        continue;
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
          ssrc: m.ssrc,
          rtxSsrc: m.rtxSsrc ?? null,
        },
        this.clock,
        { requestKeyframe: (ssrc) => pub.session.sendPli(ssrc) },
      );
      producer.audioLevelExtId = m.extIds.audioLevel ?? 0;
      // Speaking raises this person's priority for their listeners (bandwidth allocation reads it).
      if (m.kind === 'audio') producer.onSpeakingChange = (on) => this.space.setSpeaking(this, on);
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
   * A client asks for a publisher's tracks. Only what the space's rules grant is served, whatever the
   * client sends; a granted publisher is normally received already (this undoes an opt-out).
   */
  subscribe(publisherId: string, trackIds?: string[]): string[] {
    const publisher = this.space.participants.get(publisherId);
    if (!publisher || publisher === this) throw new RequestError('unknown_publisher', `no publisher ${publisherId} in this space`);
    const producers = this.selectProducers(publisher, trackIds);
    if (!this.space.isGranted(this.id, publisherId)) throw new RequestError('forbidden', `${publisher.name} is not within reach`);
    this.space.subscriptions.optIn(this.id, publisherId);
    return this.consume(publisher, producers);
  }

  /** The rules link us to `speaker`: receive all its tracks (called by the SubscriptionManager). */
  followSpeaker(speaker: Participant): void {
    if (this.closed || speaker.closed) return;
    this.consume(speaker, [...speaker.producers.values()]);
  }

  /** The link to `speakerId` ended: stop receiving it. */
  unfollowSpeaker(speakerId: string): void {
    if (this.closed) return;
    this.stopConsuming(speakerId);
  }

  private consume(publisher: Participant, producers: Producer[]): string[] {
    // Nothing to offer yet: no transport either (an unoffered transport would only time out).
    if (producers.length === 0) return [];
    const sub = this.ensureSubscribeSide();
    const added: string[] = [];
    for (const producer of producers) {
      if (sub.byProducer.has(producer.id)) {
        added.push(producer.id);
        continue;
      }
      const video = producer.kind === 'video';
      const codec = producer.params.codec;
      const ssrc = randomSsrc();
      const rtxSsrc = video ? randomSsrc() : null;
      const consumer = new Consumer(
        {
          id: id('c'),
          ssrc,
          rtxSsrc,
          payloadType: codec === 'opus' ? SUBSCRIBE_PT.opus : codec === 'h264' ? SUBSCRIBE_PT.h264 : SUBSCRIBE_PT.vp8,
          rtxPayloadType: !video ? null : codec === 'h264' ? SUBSCRIBE_PT.h264Rtx : SUBSCRIBE_PT.vp8Rtx,
          ext: { transportCc: SUBSCRIBE_EXT.transportCc, absSendTime: SUBSCRIBE_EXT.absSendTime, audioLevel: video ? 0 : SUBSCRIBE_EXT.audioLevel },
        },
        producer,
        sub.session.transport,
      );
      const media: SubscribeMedia = {
        mid: String(sub.nextMid++),
        kind: producer.kind,
        direction: 'sendonly',
        ssrc,
        rtxSsrc: rtxSsrc ?? undefined,
        cname: publisher.id,
        streamId: publisher.id,
        trackId: producer.id,
        codec,
      };
      sub.media.push(media);
      sub.byProducer.set(producer.id, { consumer, media });
      sub.session.addConsumer(consumer);
      producer.addSink(consumer);
      sub.unannounced.push(consumer);
      added.push(producer.id);
    }
    this.negotiate();
    return added;
  }

  /** A client opts out of a publisher (until the link ends and comes back). */
  unsubscribe(publisherId: string, trackIds?: string[]): string[] {
    const publisher = this.space.participants.get(publisherId);
    if (!publisher) throw new RequestError('unknown_publisher', `no publisher ${publisherId} in this space`);
    if (!trackIds) this.space.subscriptions.optOut(this.id, publisherId);
    return this.stopConsuming(publisherId, trackIds);
  }

  private stopConsuming(publisherId: string, trackIds?: string[]): string[] {
    const sub = this.sub;
    const removed: string[] = [];
    if (!sub) return removed;
    for (const [producerId, st] of sub.byProducer) {
      if (st.consumer.producer.params.publisherId !== publisherId) continue;
      if (trackIds && !trackIds.includes(producerId)) continue;
      this.dropConsumer(sub, producerId, st);
      removed.push(producerId);
    }
    if (removed.length) this.negotiate();
    return removed;
  }

  /** The browser answered our subscribe offer. */
  subscriberAnswer(offerId: number, sdp: string): void {
    const sub = this.sub;
    if (!sub || !sub.pending || sub.pending.offerId !== offerId) {
      throw new RequestError('bad_request', `no outstanding subscriber offer ${offerId}`);
    }
    // Checked against the m-lines of *that* offer: more may have been added since, for the next one.
    const answer = parseSubscribeAnswer(sdp, sub.pending.mids);
    if (isSdpError(answer)) throw new RequestError('sdp_rejected', answer.message);
    if (answer.transport) {
      sub.session.transport.remoteUfrag = answer.transport.iceUfrag;
      // RFC 5763 §5: the answerer chose; active means the browser is the DTLS client.
      sub.session.transport.setDtlsParameters({ role: answer.transport.setup === 'active' ? 'server' : 'client', remoteFingerprint: answer.transport.fingerprint });
    }
    const { consumers } = sub.pending;
    sub.pending = null;
    const now = this.clock.now();
    for (const c of consumers) if (!c.closed) c.resume(now);
    if (sub.dirty || sub.unannounced.length > 0) this.negotiate();
  }

  onProducerClosed(producer: Producer): void {
    const sub = this.sub;
    const st = sub?.byProducer.get(producer.id);
    if (!sub || !st) return;
    this.dropConsumer(sub, producer.id, st);
    this.negotiate();
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
    if (this.sub) {
      for (const [pid, st] of this.sub.byProducer) this.dropConsumer(this.sub, pid, st);
      this.media.removeTickable(this.sub.session);
      this.sub.session.transport.close('participant left');
      this.sub = null;
    }
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

  private selectProducers(publisher: Participant, trackIds?: string[]): Producer[] {
    if (!trackIds) return [...publisher.producers.values()];
    return trackIds.map((t) => {
      const p = publisher.producers.get(t);
      if (!p) throw new RequestError('unknown_track', `publisher ${publisher.id} has no track ${t}`);
      return p;
    });
  }

  private ensureSubscribeSide(): SubscribeSide {
    if (this.sub) return this.sub;
    const t = this.media.createTransport(null, null, 'sub');
    const session = new SubscribeSession(t, this.clock, (s, reason) => {
      // Whatever was sent before the path existed is lost: start every video again at a keyframe.
      if (s === 'connected') for (const c of session.consumers) c.restartAtKeyframe(this.clock.now());
      this.onTransportState('subscribe', s, reason);
    });
    this.media.addTickable(session);
    this.sub = { session, media: [], byProducer: new Map(), nextMid: 0, offerId: 0, pending: null, dirty: false, unannounced: [] };
    return this.sub;
  }

  /** Send a new subscribe offer unless one is outstanding (then once it is answered). */
  private negotiate(): void {
    const sub = this.sub;
    if (!sub || this.closed) return;
    if (sub.pending) {
      sub.dirty = true;
      return;
    }
    if (sub.media.length === 0) return;
    sub.dirty = false;
    const t = sub.session.transport;
    const offerId = ++sub.offerId;
    const sdp = buildSubscribeOffer(
      {
        iceUfrag: t.local.ufrag,
        icePwd: t.local.pwd,
        fingerprint: { algorithm: 'sha-256', value: this.media.certificate.fingerprint },
        setup: 'actpass',
        candidate: { ip: this.media.announcedIp, port: this.media.announcedPort },
      },
      offerId,
      sub.media,
    );
    sub.pending = { offerId, consumers: sub.unannounced.splice(0), mids: sub.media.map((m) => m.mid) };
    this.send(serverMessage.subscriberOffer(offerId, sdp));
  }

  private dropConsumer(sub: SubscribeSide, producerId: string, st: SubscribedTrack): void {
    st.consumer.close();
    sub.session.removeConsumer(st.consumer);
    st.media.direction = 'inactive';
    sub.byProducer.delete(producerId);
    const i = sub.unannounced.indexOf(st.consumer);
    if (i >= 0) sub.unannounced.splice(i, 1);
  }

  private closeProducer(p: Producer): void {
    this.producers.delete(p.id);
    this.pub?.session.removeProducer(p);
    p.close();
    this.space.producerClosed(p);
  }

  private onTransportState(which: 'publish' | 'subscribe', state: string, reason?: string): void {
    this.log.debug('transport state', { participant: this.id, which, state, reason });
    if (state === 'failed' && !this.closed) {
      // A dead transport is a dead session: the client reconnects and joins again.
      this.close(`${which} transport failed: ${reason ?? 'unknown'}`);
      this.onFailed?.(`${which} transport failed: ${reason ?? 'unknown'}`);
    }
  }

  /** Set by the signaling layer: close the WebSocket when media failed. */
  onFailed: ((reason: string) => void) | null = null;
}

function randomSsrc(): number {
  return randomBytes(4).readUInt32BE(0) || 1;
}
