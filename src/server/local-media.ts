import type { Producer } from '../media/producer.ts';
import type { Consumer } from '../media/consumer.ts';
import type { DownlinkController } from '../media/downlink-controller.ts';
import type { SubscribeSession } from '../media/subscribe-session.ts';
import { serverMessage, type LinkInfo, type TrackSource } from '../signaling/messages.ts';
import type { ReceiveCaps } from '../allocation/receive-caps.ts';
import type { WebRtcTransport } from '../transport/webrtc-transport.ts';
import { RequestError } from './request-error.ts';
import { Publisher } from './publisher.ts';
import { Subscriber } from './subscriber.ts';
import type { MediaServer } from './media-server.ts';
import type { ListenerInputs, MediaEvents, MediaPlane, ParticipantMedia, PublishedTrack, PublishResult } from './participant-media.ts';
import type { Clock } from '../util/clock.ts';
import { QualitySampler } from '../quality/quality-sampler.ts';
import { TrafficSampler } from '../recorder/traffic-sampler.ts';
import type { Logger } from '../util/logger.ts';

/**
 * A participant's media half in this thread: the publisher (publish transport, producers) and the
 * subscriber (subscribe transport, consumers, downlink). Runs on the main thread with one media worker, and
 * inside each media worker for the participants placed there.
 */
export class LocalMedia implements ParticipantMedia {
  private pub: Publisher | null = null;
  private sub: Subscriber | null = null;
  private closed = false;
  private readonly sampler = new QualitySampler();
  private readonly traffic = new TrafficSampler();
  private readonly log: Logger;
  private stopQuality: (() => void) | null = null;
  private qualityEmptySent = true;

  constructor(
    private readonly media: MediaServer,
    private readonly clock: Clock,
    log: Logger,
    private readonly participantId: string,
    private readonly events: MediaEvents,
    /** What its downlink reads (in a worker: what the control plane pushed). */
    private readonly inputs: Pick<ListenerInputs, 'priorityOf' | 'caps'>,
  ) {
    this.log = log.child({ participant: participantId });
  }

  /** The producers this participant publishes (the worker's registry and the cluster relay read them). */
  get producers(): Producer[] {
    return this.pub ? [...this.pub.byMid.values()] : [];
  }

  async publish(sdp: string, sources?: ReadonlyArray<{ mid: string; source: TrackSource }>): Promise<PublishResult> {
    return this.publishNow(sdp, sources);
  }

  /** The same as publish(), answered in this turn (the worker host replies from it). */
  publishNow(sdp: string, sources?: ReadonlyArray<{ mid: string; source: TrackSource }>): { sdp: string; added: Producer[]; removed: string[] } {
    if (this.closed) throw new RequestError('bad_request', 'this session has ended');
    const { publisher, outcome } = Publisher.offer(
      this.pub,
      sdp,
      sources,
      { media: this.media, clock: this.clock, log: this.log, publisherId: this.participantId, onStateChange: (s, reason) => this.events.transportState('publish', s, reason) },
      (producer) => {
        // Speaking raises this person's priority for their listeners (bandwidth allocation reads it).
        if (producer.kind === 'audio') producer.onSpeakingChange = (on) => this.events.speaking(on);
        // Dynacast: the publisher encodes only the layers someone is allocated (and always the lowest).
        producer.onLayerWish = (wish) => this.events.send(serverMessage.videoLayers(producer.id, wish));
      },
    );
    this.pub = publisher;
    this.startQuality();
    return { sdp: outcome.sdp, added: outcome.added, removed: outcome.removed.map((p) => p.id) };
  }

  setMuted(track: PublishedTrack, muted: boolean): void {
    const producer = this.ownProducer(track.id);
    if (!producer) return;
    producer.muted = muted;
    // No packets come while muted: nothing else would end "speaking" (the control half ends it).
    if (muted && producer.kind === 'audio') producer.voice.reset();
    // Listeners see the picture at once.
    if (!muted) producer.requestKeyframe();
  }

  /** In this thread every published track (local or relay-fed from another node) is a Producer. */
  consume(publisherId: string, tracks: readonly PublishedTrack[]): void {
    this.consumeProducers(publisherId, tracks.map((t) => ({ id: t.id, producer: asProducer(t) })));
  }

  /** Receive these producers (null: none here for that track, logged); the worker host resolves them itself. */
  consumeProducers(publisherId: string, found: ReadonlyArray<{ id: string; producer: Producer | null }>): void {
    if (this.closed) return;
    const producers: Producer[] = [];
    for (const { id, producer: p } of found) {
      if (p && !p.closed) producers.push(p);
      else this.log.warn('consume: no producer for a track here', { participant: this.participantId, track: id });
    }
    // Nothing to offer yet: no transport either (an unoffered transport would only time out).
    if (producers.length === 0) return;
    this.sub ??= new Subscriber(this.media, this.clock, this.events.send, (s, reason) => this.events.transportState('subscribe', s, reason), {
      inputs: this.inputs,
      downlink: { log: this.log },
    }, (r) => this.events.record(r));
    this.startQuality();
    this.sub.consume(publisherId, producers);
  }

  stopConsuming(publisherId: string, trackIds?: readonly string[]): string[] {
    return this.sub?.stopConsuming(publisherId, trackIds) ?? [];
  }

  trackClosed(trackId: string): void {
    this.sub?.producerClosed(trackId);
  }

  async subscriberAnswer(offerId: number, sdp: string): Promise<void> {
    this.answerNow(offerId, sdp);
  }

  answerNow(offerId: number, sdp: string): void {
    if (!this.sub) throw new RequestError('bad_request', `no outstanding subscriber offer ${offerId}`);
    this.sub.onAnswer(offerId, sdp);
  }

  restartSubscribeIce(): boolean {
    return this.sub?.restartIce() ?? false;
  }

  resend(): void {
    this.sub?.resendPendingOffer();
    for (const p of this.producers) {
      if (p.kind === 'video' && p.layers.length > 1) this.events.send(serverMessage.videoLayers(p.id, p.layers.map((l) => ({ rid: l.rid ?? '', active: l.requested }))));
    }
  }

  /** In this thread the downlink reads the links live (ListenerInputs); nothing to copy. */
  linksChanged(_links: readonly LinkInfo[]): void {}

  capsChanged(_caps: ReceiveCaps): void {
    this.sub?.session.downlink.invalidate();
  }

  /** Once a second on the media loop, the quality inputs (src/quality), with the loop's own lateness. */
  private startQuality(): void {
    if (this.stopQuality !== null || this.closed) return;
    this.stopQuality = this.media.everySecond((lagMs) => {
      const pub = this.pub ? { session: this.pub.session, producers: this.producers } : null;
      const sample = this.sampler.sample(this.sub?.session ?? null, pub, lagMs);
      if (sample.down && this.sub) sample.traffic = this.traffic.sample(this.sub.session, this.clock.now());
      // Nothing to judge (no media flowed yet, or none now): said once, not every second.
      const empty = sample.down === null && sample.up === null;
      if (!empty || !this.qualityEmptySent) this.events.quality(sample);
      this.qualityEmptySent = empty;
    });
  }

  close(reason: string): string[] {
    if (this.closed) return [];
    this.closed = true;
    this.stopQuality?.();
    this.stopQuality = null;
    const ended = this.pub?.close(reason).map((p) => p.id) ?? [];
    this.pub = null;
    this.sub?.close(reason);
    this.sub = null;
    return ended;
  }

  get publishTransport(): WebRtcTransport | null {
    return this.pub?.session.transport ?? null;
  }

  get subscribeTransport(): WebRtcTransport | null {
    return this.sub?.session.transport ?? null;
  }

  get subscribeSession(): SubscribeSession | null {
    return this.sub?.session ?? null;
  }

  get downlink(): DownlinkController | null {
    return this.sub?.session.downlink ?? null;
  }

  consumerOf(trackId: string): Consumer | undefined {
    return this.sub?.consumerOf(trackId);
  }

  private ownProducer(trackId: string): Producer | undefined {
    return this.producers.find((p) => p.id === trackId);
  }
}

/**
 * One media thread for everyone (`media.workers: 1`): the media half of each participant lives beside its
 * control half, and a published track is its Producer.
 */
export class LocalMediaPlane implements MediaPlane {
  constructor(
    private readonly media: MediaServer,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  forParticipant(participantId: string, events: MediaEvents, inputs: ListenerInputs): ParticipantMedia {
    return new LocalMedia(this.media, this.clock, this.log, participantId, events, inputs);
  }
}

/** In this thread every published track (local or relay-fed from another node) is a Producer. */
export function asProducer(t: PublishedTrack): Producer | null {
  return 'addSink' in t ? (t as Producer) : null;
}
