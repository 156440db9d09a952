import { randomBytes } from 'node:crypto';
import type { Consumer } from '../media/consumer.ts';
import type { Producer } from '../media/producer.ts';
import { asProducer } from './local-media.ts';
import { histograms, objectCounts } from '../metrics/registry.ts';
import { serverMessage, type Mode, type PersonInfo, type PublisherInfo, type ServerMessage, type TrackInfo, type TrackSource } from '../signaling/messages.ts';
import type { Grants } from './auth/tokens.ts';
import type { DownlinkController } from '../media/downlink-controller.ts';
import type { WebRtcTransport } from '../transport/webrtc-transport.ts';
import type { ReceiveCaps } from '../allocation/receive-caps.ts';
import { INITIAL_DEVICE_CAPS, nextDeviceCaps, type DeviceCapsState, type DeviceReport } from '../allocation/device-caps.ts';
import { RequestError } from './request-error.ts';
import type { SubscribeSession } from '../media/subscribe-session.ts';
import type { MediaPlane, ParticipantMedia, PublishedTrack } from './participant-media.ts';
import type { LinkInfo } from '../signaling/messages.ts';
import type { Space } from './space.ts';
import type { Speaker } from './speaker.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { scoreDownlink, scoreUplink, type DownlinkCause, type QualityLevel, type QualityScore, type UplinkCause } from '../quality/quality-score.ts';
import { NO_BROWSER_VIEW, nextBrowserView, type BrowserView } from '../quality/browser-view.ts';
import type { QualitySample } from '../quality/quality-sampler.ts';
import type { EventData, RecordInput } from '../recorder/events.ts';

const round1 = (v: number) => Math.round(v * 10) / 10;

const id = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

/**
 * One person in a space, the control half: place, mode, grants, the tracks they publish as the space sees
 * them, what they receive. The media half (transports, producers, consumers) is a ParticipantMedia, in this
 * thread or on a media worker; this object owns it and closes it.
 */
export class Participant implements Speaker {
  readonly remote = false;
  readonly id = id('p');
  readonly producers = new Map<string, PublishedTrack>();
  readonly media: ParticipantMedia;
  closed = false;
  /** Position and presence, authoritative (the Space moves them). */
  x = 0;
  y = 0;
  mode: Mode = 'normal';
  spotlit = false;
  /** The client software, as its connection named itself (recorded with the join). */
  client: string | null = null;
  /** What this person's device can take, from its reports (src/allocation/device-caps.ts). */
  deviceCaps: DeviceCapsState = INITIAL_DEVICE_CAPS;

  private readonly log: Logger;

  constructor(
    readonly name: string,
    readonly grants: Pick<Grants, 'publish' | 'spotlight' | 'moderator'>,
    readonly space: Space,
    plane: MediaPlane,
    private readonly clock: Clock,
    log: Logger,
    private sendMessage: (m: ServerMessage) => void,
  ) {
    // Every line about this person carries its id (and the space's, bound by the caller).
    this.log = log.child({ participant: this.id });
    objectCounts.participants++;
    this.media = plane.forParticipant(
      this.id,
      {
        send: (m) => this.send(m),
        // Speaking raises this person's priority for their listeners (bandwidth allocation reads it).
        speaking: (on) => this.space.setSpeaking(this, on),
        transportState: (which, state, reason) => this.onTransportState(which, state, reason),
        quality: (s) => this.onQuality(s),
        record: (r) => this.space.recorder.record({ space: this.space.id, participant: this.id, ...r }),
      },
      {
        // Closeness, speaking and spotlight, as the proximity rules rank them for this listener.
        priorityOf: (publisherId) => this.space.engine.linksOf(this.id).get(publisherId)?.priority ?? 0,
        caps: () => this.receiveCaps,
        near: () => [...this.space.engine.linksOf(this.id).keys(), ...this.space.engine.listenersOf(this.id)],
      },
    );
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
  async publish(sdp: string, sources?: ReadonlyArray<{ mid: string; source: TrackSource }>): Promise<{ sdp: string; tracks: TrackInfo[] }> {
    if (!this.grants.publish) throw new RequestError('forbidden', 'this token does not allow publishing');
    const r = await this.media.publish(sdp, sources);
    if (this.closed) throw new RequestError('bad_request', 'this session has ended');
    const firstTime = this.producers.size === 0;
    for (const t of r.added) this.producers.set(t.id, t);
    // m-lines that stopped sending ended their tracks.
    for (const trackId of r.removed) this.trackEnded(trackId);
    this.space.announceTracks(this, firstTime);
    return { sdp: r.sdp, tracks: this.publisherInfo().tracks };
  }

  /**
   * Mute or unmute one of our tracks. Muted, nothing of it is forwarded (packets still arriving are dropped
   * as `track_muted`), a microphone stops counting as speaking, and everyone in the space learns it through
   * `tracksChanged`. Unmuted video asks for a keyframe so listeners see the picture at once.
   */
  setMuted(trackId: string, muted: boolean): void {
    const track = this.producers.get(trackId);
    if (!track) throw new RequestError('unknown_track', `you publish no track ${trackId}`);
    if (track.muted === muted) return;
    track.muted = muted;
    this.media.setMuted(track, muted);
    if (muted && track.kind === 'audio') this.space.setSpeaking(this, false);
    this.space.announceTracks(this, false);
  }

  /**
   * A client asks for a publisher's tracks. Only what the space's rules grant is served, whatever the
   * client sends; a granted publisher is normally received already (this undoes an opt-out).
   */
  subscribe(publisherId: string, trackIds?: string[]): string[] {
    const publisher = this.space.speaker(publisherId);
    if (!publisher || publisher === this) throw new RequestError('unknown_publisher', `no publisher ${publisherId} in this space`);
    const tracks = this.selectTracks(publisher, trackIds);
    if (!this.space.isGranted(this.id, publisherId)) throw new RequestError('forbidden', `${publisher.name} is not within reach`);
    this.space.subscriptions.optIn(this.id, publisherId);
    if (tracks.length > 0) this.media.consume(publisher.id, tracks);
    return tracks.map((t) => t.id);
  }

  /** The rules link us to `speaker`: receive all its tracks (called by the SubscriptionManager). */
  followSpeaker(speaker: Speaker): void {
    if (this.closed || speaker.closed || speaker.producers.size === 0) return;
    this.media.consume(speaker.id, [...speaker.producers.values()]);
  }

  /** The link to `speakerId` ended: stop receiving it. */
  unfollowSpeaker(speakerId: string): void {
    if (this.closed) return;
    this.media.stopConsuming(speakerId);
  }

  /** A client opts out of a publisher (until the link ends and comes back). */
  unsubscribe(publisherId: string, trackIds?: string[]): string[] {
    const publisher = this.space.speaker(publisherId);
    if (!publisher) throw new RequestError('unknown_publisher', `no publisher ${publisherId} in this space`);
    if (!trackIds) this.space.subscriptions.optOut(this.id, publisherId);
    return this.media.stopConsuming(publisherId, trackIds);
  }

  /** The browser answered our subscribe offer. */
  subscriberAnswer(offerId: number, sdp: string): Promise<void> {
    return this.media.subscriberAnswer(offerId, sdp);
  }

  /** The client asks for an ICE restart of its subscribe connection; false when it has none yet. */
  restartSubscribeIce(): boolean {
    return this.media.restartSubscribeIce();
  }

  /**
   * The session moved to a new signaling connection (`resume`): pushes now go there. What the old one may
   * have lost and the resume snapshot does not carry goes again: the outstanding subscribe offer and the
   * dynacast wishes of our simulcast tracks.
   */
  rebind(send: (m: ServerMessage) => void): void {
    this.sendMessage = send;
    this.media.resend();
  }

  /** Our link set changed (pushed to the client at most every 100 ms, and to the media half with it). */
  linksChanged(links: readonly LinkInfo[]): void {
    this.send(serverMessage.links([...links]));
    this.record('links', { links: links.map((l) => ({ speaker: l.participantId, gain: l.gain, priority: l.priority })) });
    this.media.linksChanged(links);
  }

  /** Our tracks' producers when the media is in this thread (tests, diagnostics); empty on a media worker. */
  get localProducers(): Map<string, Producer> {
    const out = new Map<string, Producer>();
    for (const [id, t] of this.producers) {
      const p = asProducer(t);
      if (p) out.set(id, p);
    }
    return out;
  }

  /** The publish connection (null before publishing, or on a media worker): tests find its path by its remote port. */
  get publishTransport(): WebRtcTransport | null {
    return this.media.publishTransport;
  }

  /** The subscribe connection (null before the first subscription, or on a media worker). */
  get subscribeTransport(): WebRtcTransport | null {
    return this.media.subscribeTransport;
  }

  /** The send side of what this person receives (null before the first subscription): tests and diagnostics. */
  get subscribeSession(): SubscribeSession | null {
    return this.media.subscribeSession;
  }

  /** Bandwidth control of what this person receives (null before the first subscription). */
  get downlink(): DownlinkController | null {
    return this.media.downlink;
  }

  /** Read by the bandwidth allocation of what this person receives. */
  get receiveCaps(): ReceiveCaps {
    return this.deviceCaps.caps;
  }

  /** The latest connection-quality scores (src/quality); others read `quality.up.level` for their `peers`. */
  quality: { down: QualityScore<DownlinkCause> | null; up: QualityScore<UplinkCause> | null } = { down: null, up: null };
  /** What the browser last said that only it knows: freezes per 10 s, its encoder's limitation. */
  private browserSays: BrowserView = NO_BROWSER_VIEW;
  /** When the last sample showed videos held back (bandwidth) or publishers silent: freezes then are explained. */
  private heldBackAt = -Infinity;

  /** The media half's once-a-second sample: score it with the browser's own view, tell the client. */
  private onQuality(s: QualitySample): void {
    if (this.closed) return;
    if (s.down && (s.down.budgetShortfall > 0.05 || s.down.silentPublisherShare > 0)) this.heldBackAt = this.clock.now();
    const down = s.down ? scoreDownlink({ ...s.down, freezesPer10s: this.browserSays.freezesPer10s }) : null;
    const up = s.up ? scoreUplink({ ...s.up, limitation: this.browserSays.limitation }) : null;
    this.quality = { down, up };
    if (down) histograms.qualityDown.observe(down.score);
    if (up) histograms.qualityUp.observe(up.score);
    const peers: Record<string, QualityLevel> = {};
    for (const id of this.space.engine.linksOf(this.id).keys()) {
      const level = this.space.participants.get(id)?.quality.up?.level;
      if (level) peers[id] = level;
    }
    this.send(serverMessage.quality({ down, up, peers }));
    const t = s.traffic;
    this.record('second', {
      estimateBps: t?.estimateBps ?? null,
      sentBps: t?.sentBps ?? 0,
      perTrack: t?.perTrack ?? {},
      down: down && s.down ? { ...down, lossPct: round1(s.down.lossFraction * 100), rttMs: s.down.rttMs >= 0 ? Math.round(s.down.rttMs) : null, delayMs: Math.round(s.down.queueMs) } : null,
      up: up && s.up ? { ...up, lossPct: round1(s.up.lossFraction * 100), rttMs: s.up.rttMs >= 0 ? Math.round(s.up.rttMs) : null, delayMs: Math.round(s.up.jitterMs) } : null,
      nacks: t?.nacks ?? 0,
      plis: t?.plis ?? 0,
      rtx: t?.rtx ?? 0,
      ...(t?.red ? { red: true } : {}),
    });
  }

  /** Records an event about this person in this space. */
  private record<K extends 'links' | 'second' | 'report' | 'transport' | 'leave'>(kind: K, data: EventData<K>): void {
    this.space.recorder.record({ space: this.space.id, participant: this.id, kind, data } as RecordInput);
  }

  /** The browser's periodic report of its limits: its receive caps follow. */
  onReport(r: DeviceReport): void {
    const said = this.browserSays;
    this.browserSays = nextBrowserView(this.browserSays, r, this.clock.now(), this.heldBackAt);
    const before = this.deviceCaps;
    this.deviceCaps = nextDeviceCaps(before, r, this.clock.now());
    if (this.deviceCaps.level !== before.level) {
      this.log.info('receive caps changed', { capsLevel: this.deviceCaps.level, caps: this.deviceCaps.caps, cause: this.deviceCaps.cause ?? 'recovered' });
    }
    const b = this.browserSays;
    if (b.freezesPer10s !== said.freezesPer10s || b.limitation !== said.limitation || this.deviceCaps.level !== before.level) {
      this.record('report', { freezesPer10s: b.freezesPer10s, limitation: b.limitation, capsLevel: this.deviceCaps.level, capsCause: this.deviceCaps.cause ?? null });
    }
    this.media.capsChanged(this.deviceCaps.caps);
  }

  /** This participant's consumer of a publisher's track (the allocator sets its layer target). */
  consumerOf(trackId: string): Consumer | undefined {
    return this.media.consumerOf(trackId);
  }

  onTrackClosed(trackId: string): void {
    this.media.trackClosed(trackId);
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
    this.media.close('participant left');
    for (const trackId of [...this.producers.keys()]) this.trackEnded(trackId);
    // The last event of this person (their transports' closes come before; a media worker's later ones are dropped).
    this.space.recorder.forget(this.id);
    this.record('leave', { reason: reason.slice(0, 200) });
    this.closed = true;
    objectCounts.participants--;
    this.space.remove(this);
    if (hadTracks) this.space.announceLeft(this);
  }

  private selectTracks(publisher: Speaker, trackIds?: string[]): PublishedTrack[] {
    if (!trackIds) return [...publisher.producers.values()];
    return trackIds.map((t) => {
      const p = publisher.producers.get(t);
      if (!p) throw new RequestError('unknown_track', `publisher ${publisher.id} has no track ${t}`);
      return p;
    });
  }

  /** One of our tracks ended (its media is closed): every listener drops it. */
  private trackEnded(trackId: string): void {
    if (!this.producers.delete(trackId)) return;
    this.space.producerClosed(trackId);
  }

  private onTransportState(which: 'publish' | 'subscribe', state: string, reason?: string): void {
    this.log.debug('transport state', { participant: this.id, which, state, reason });
    if (!this.closed) this.record('transport', { which, state, ...(reason !== undefined ? { reason: reason.slice(0, 200) } : {}) });
    if (state === 'failed' && !this.closed) {
      // A dead transport is a dead session: the client reconnects and joins again.
      this.close(`${which} transport failed: ${reason ?? 'unknown'}`);
      this.onFailed?.(`${which} transport failed: ${reason ?? 'unknown'}`);
    }
  }

  /** Set by the signaling layer: close the WebSocket when media failed. */
  onFailed: ((reason: string) => void) | null = null;
}
