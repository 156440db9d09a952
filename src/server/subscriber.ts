import { randomBytes } from 'node:crypto';
import { Consumer } from '../media/consumer.ts';
import { SubscribeSession, type SubscribeSessionOptions } from '../media/subscribe-session.ts';
// The consumer writes exactly the payload types and extension ids the subscribe offer announces.
import { SUBSCRIBE_EXT_ID as SUBSCRIBE_EXT, SUBSCRIBE_PT } from '../signaling/sdp/server-capabilities.ts';
import type { Producer } from '../media/producer.ts';
import { buildSubscribeOffer, type SubscribeMedia } from '../signaling/sdp/subscribe-offer.ts';
import { parseSubscribeAnswer } from '../signaling/sdp/subscribe-answer.ts';
import { isSdpError } from '../signaling/sdp/types.ts';
import { serverMessage, type ServerMessage } from '../signaling/messages.ts';
import { RequestError } from './request-error.ts';
import { histograms } from '../metrics/registry.ts';
import type { MediaServer } from './media-server.ts';
import type { TransportState } from '../transport/webrtc-transport.ts';
import type { Clock } from '../util/clock.ts';
import type { MediaRecord } from '../recorder/events.ts';
import type { Allocation, TrackSubscription } from '../allocation/types.ts';
import type { ReceiveCaps } from '../allocation/receive-caps.ts';

interface SubscribedTrack {
  consumer: Consumer;
  media: SubscribeMedia;
}

/** An m-line and, once its track ended, the offer that first carried it as inactive. */
interface MediaSlot {
  media: SubscribeMedia;
  inactiveSince: number | null;
}

const randomSsrc = () => randomBytes(4).readUInt32BE(0) || 1;

/**
 * The receiving half of a participant: one subscribe transport on which we offer an m-line per consumed
 * track, and the negotiation around it. One offer at a time; changes meanwhile go into the next one. A
 * consumer starts when the answer to the offer that introduced it arrives.
 */
export class Subscriber {
  readonly session: SubscribeSession;
  /**
   * Every m-line ever offered, in order (RFC 8829 §5.2.2: never removed or reordered). A finished one goes
   * inactive; once the client has answered an offer carrying it inactive, the next track of its kind reuses
   * it (same mid, new SSRC and msid), so the offer does not grow with every link a walk makes and breaks.
   */
  private readonly slots: MediaSlot[] = [];
  /** Live consumers by producer id. */
  private readonly byProducer = new Map<string, SubscribedTrack>();
  private nextMid = 0;
  private offerId = 0;
  private answeredOfferId = 0;
  /** The offer the browser has not answered yet, its m-lines, and the consumers it introduced. */
  private pending: { offerId: number; sdp: string; consumers: Consumer[]; mids: string[] } | null = null;
  /** Something changed while an offer was outstanding: offer again after the answer. */
  private dirty = false;
  /** Consumers waiting for the next offer. */
  private readonly unannounced: Consumer[] = [];
  private closed = false;
  /** The client asked for an ICE restart: the next offer carries new credentials. */
  private iceRestartWanted = false;
  /** The o= session id stays across ICE restarts (RFC 3264 §8): derived from the first ufrag. */
  private readonly sessionKey: string;
  /** When this subscriber was made (the participant's join, for the join → first frame histogram). */
  private readonly createdAt: number;
  /** The transport has been connected once: later tracks are walk-ins, not part of the join. */
  private everConnected = false;

  constructor(
    private readonly mediaServer: MediaServer,
    private readonly clock: Clock,
    private readonly send: (m: ServerMessage) => void,
    onStateChange: (state: TransportState, reason?: string) => void,
    opts: SubscribeSessionOptions = {},
    /** The flight recorder's changes: subscriptions, offers and answers, allocations, layer switches. */
    private readonly record: (r: MediaRecord) => void = () => {},
  ) {
    this.createdAt = clock.now();
    const t = mediaServer.createTransport(null, null, 'sub');
    const session = new SubscribeSession(
      t,
      clock,
      (s, reason) => {
        // Whatever was sent before the path existed is lost: start every video again at a keyframe.
        if (s === 'connected') {
          this.everConnected = true;
          for (const c of session.consumers) c.restartAtKeyframe(clock.now());
        }
        onStateChange(s, reason);
      },
      { ingress: mediaServer.ingressLimits?.subscriber ?? null, ...opts },
    );
    this.session = session;
    session.downlink.onAllocation = (a, inputs) => this.recordAllocation(a, inputs);
    this.sessionKey = t.local.ufrag;
    mediaServer.addTickable(session);
  }

  /**
   * ICE restart of the subscribe connection (RFC 8445 §9), asked for by the client when its network changed:
   * the next offer (now, or after the answer to the outstanding one) carries new ICE credentials for the same
   * transport; DTLS, SRTP and the consumers stay. Returns whether an offer will carry it.
   */
  restartIce(): boolean {
    if (this.closed || this.slots.length === 0) return false;
    this.iceRestartWanted = true;
    this.negotiate();
    return true;
  }

  /** The client's signaling connection was replaced: the outstanding offer may have died with the old one. */
  resendPendingOffer(): void {
    if (this.pending && !this.closed) this.send(serverMessage.subscriberOffer(this.pending.offerId, this.pending.sdp));
  }

  /** Receive these producers of `publisherId` (the ones already received are kept); returns their ids. */
  consume(publisherId: string, producers: readonly Producer[]): string[] {
    const added: string[] = [];
    let changed = false;
    for (const producer of producers) {
      added.push(producer.id);
      if (this.byProducer.has(producer.id)) continue;
      changed = true;
      const video = producer.kind === 'video';
      const codec = producer.params.codec;
      const ssrc = randomSsrc();
      const rtxSsrc = video ? randomSsrc() : null;
      const consumer = new Consumer(
        {
          id: `c${randomBytes(6).toString('hex')}`,
          ssrc,
          rtxSsrc,
          payloadType: codec === 'opus' ? SUBSCRIBE_PT.opus : codec === 'h264' ? SUBSCRIBE_PT.h264 : SUBSCRIBE_PT.vp8,
          rtxPayloadType: !video ? null : codec === 'h264' ? SUBSCRIBE_PT.h264Rtx : SUBSCRIBE_PT.vp8Rtx,
          ext: { transportCc: SUBSCRIBE_EXT.transportCc, absSendTime: SUBSCRIBE_EXT.absSendTime, audioLevel: video ? 0 : SUBSCRIBE_EXT.audioLevel },
        },
        producer,
        this.session.sender,
      );
      const slot = this.slots.find((x) => x.inactiveSince !== null && x.inactiveSince <= this.answeredOfferId && x.media.kind === producer.kind);
      const media: SubscribeMedia = {
        mid: slot ? slot.media.mid : String(this.nextMid++),
        kind: producer.kind,
        direction: 'sendonly',
        ssrc,
        ...(rtxSsrc !== null ? { rtxSsrc } : {}),
        cname: publisherId,
        streamId: publisherId,
        trackId: producer.id,
        codec,
      };
      if (slot) (slot.media = media), (slot.inactiveSince = null);
      else this.slots.push({ media, inactiveSince: null });
      if (this.everConnected) consumer.measureFirstFrame(histograms.walkInFirstFrame, this.clock.now());
      else consumer.measureFirstFrame(histograms.joinFirstFrame, this.createdAt);
      this.byProducer.set(producer.id, { consumer, media });
      // Only what the subscriber can tell apart: a new stream, rank or temporal layer, or a pause.
      let said = '';
      consumer.onLayerChange = (c) => {
        const l = c.current;
        const s = l ? c.forwardedStream : null;
        const key = l && s ? `${l.spatial}/${l.temporal}/${s.rid}/${s.height}` : 'paused';
        if (key === said) return;
        said = key;
        const stream = s ? { rid: s.rid, ...(s.height > 0 ? { height: s.height } : {}) } : {};
        this.record({ kind: 'layer', ts: this.wallNow(), data: { trackId: c.producer.id, layer: l ? [l.spatial, l.temporal] : null, switches: c.switchCount, ...stream } });
      };
      this.record({ kind: 'subscription', ts: this.wallNow(), data: { op: 'add', publisher: publisherId, trackId: producer.id, kind: producer.kind } });
      this.session.addConsumer(consumer);
      producer.addSink(consumer);
      this.unannounced.push(consumer);
    }
    if (changed) this.negotiate();
    return added;
  }

  /** Stop receiving `publisherId` (or some of its tracks); returns the track ids that ended. */
  stopConsuming(publisherId: string, trackIds?: readonly string[]): string[] {
    const removed: string[] = [];
    for (const [producerId, st] of this.byProducer) {
      if (st.consumer.producer.params.publisherId !== publisherId) continue;
      if (trackIds && !trackIds.includes(producerId)) continue;
      this.drop(producerId, st);
      removed.push(producerId);
    }
    if (removed.length) this.negotiate();
    return removed;
  }

  /** The live consumer of a producer (track id), if any. */
  consumerOf(producerId: string): Consumer | undefined {
    return this.byProducer.get(producerId)?.consumer;
  }

  producerClosed(producerId: string): void {
    const st = this.byProducer.get(producerId);
    if (!st) return;
    this.drop(producerId, st);
    this.negotiate();
  }

  /** The browser answered our offer `offerId`. */
  onAnswer(offerId: number, sdp: string): void {
    const pending = this.pending;
    if (!pending || pending.offerId !== offerId) throw new RequestError('bad_request', `no outstanding subscriber offer ${offerId}`);
    // Checked against the m-lines of *that* offer: more may have been added since, for the next one.
    const answer = parseSubscribeAnswer(sdp, pending.mids);
    if (isSdpError(answer)) throw new RequestError('sdp_rejected', answer.message);
    const t = this.session.transport;
    // Which feedback the browser kept decides how we estimate its downlink (transport-cc, else REMB).
    const live = answer.media.filter((m) => m.accepted && m.direction !== 'inactive');
    if (live.length > 0) {
      const tcc = live.some((m) => m.extIds.transportCc !== undefined && m.codecs.some((c) => c.rtcpFb.includes('transport-cc')));
      const remb = live.some((m) => m.codecs.some((c) => c.rtcpFb.includes('goog-remb')));
      this.session.downlink.useEstimator(tcc ? 'transport-cc' : remb ? 'remb' : 'null');
    }
    if (answer.transport) {
      t.remoteUfrag = answer.transport.iceUfrag;
      // RFC 5763 §5: the answerer chose; active means the browser is the DTLS client.
      t.setDtlsParameters({ role: answer.transport.setup === 'active' ? 'server' : 'client', remoteFingerprint: answer.transport.fingerprint });
    }
    // RED where the browser kept it in its answer (and only there).
    for (const m of answer.media) {
      if (m.type !== 'audio') continue;
      const st = [...this.byProducer.values()].find((x) => x.media.mid === m.mid);
      if (st) st.consumer.redPayloadType = m.accepted && m.codecs.some((c) => c.pt === SUBSCRIBE_PT.red && c.name.toLowerCase() === "red") ? SUBSCRIBE_PT.red : null;
    }
    this.pending = null;
    this.answeredOfferId = offerId;
    this.record({ kind: 'answer', ts: this.wallNow(), data: { offerId } });
    const now = this.clock.now();
    // Layers first, so each new video starts on (and asks a keyframe of) the layer it will keep.
    this.session.allocateNow();
    for (const c of pending.consumers) if (!c.closed) c.resume(now);
    if (this.dirty || this.unannounced.length > 0) this.negotiate();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const [producerId, st] of this.byProducer) this.drop(producerId, st);
    this.mediaServer.removeTickable(this.session);
    this.session.transport.close(reason);
  }

  /** Send a new offer unless one is outstanding (then once it is answered). */
  private negotiate(): void {
    if (this.closed) return;
    if (this.pending) {
      this.dirty = true;
      return;
    }
    if (this.slots.length === 0) return;
    this.dirty = false;
    const t = this.session.transport;
    if (this.iceRestartWanted) {
      this.iceRestartWanted = false;
      // The browser's answer names its new ufrag (onAnswer); until then any is taken with our new password.
      t.restartIce(null);
    }
    const offerId = ++this.offerId;
    const sdp = buildSubscribeOffer(
      {
        iceUfrag: t.local.ufrag,
        icePwd: t.local.pwd,
        fingerprint: { algorithm: 'sha-256', value: this.mediaServer.certificate.fingerprint },
        setup: 'actpass',
        candidates: this.mediaServer.candidates,
      },
      offerId,
      this.slots.map((x) => x.media),
      this.sessionKey,
    );
    for (const x of this.slots) if (x.media.direction === 'inactive' && x.inactiveSince === null) x.inactiveSince = offerId;
    this.pending = { offerId, sdp, consumers: this.unannounced.splice(0), mids: this.slots.map((x) => x.media.mid) };
    this.send(serverMessage.subscriberOffer(offerId, sdp));
    this.record({ kind: 'offer', ts: this.wallNow(), data: { offerId, tracks: this.byProducer.size } });
  }

  private drop(producerId: string, st: SubscribedTrack): void {
    // Leaving ends every subscription at once: the leave event says so.
    if (!this.closed) this.record({ kind: 'subscription', ts: this.wallNow(), data: { op: 'remove', publisher: st.consumer.producer.params.publisherId, trackId: producerId, kind: st.consumer.producer.kind } });
    st.consumer.onLayerChange = null;
    st.consumer.close();
    this.session.removeConsumer(st.consumer);
    st.media.direction = 'inactive';
    this.byProducer.delete(producerId);
    const i = this.unannounced.indexOf(st.consumer);
    if (i >= 0) this.unannounced.splice(i, 1);
  }

  private recordAllocation(a: Allocation, inputs: { subscriptions: readonly TrackSubscription[]; caps: ReceiveCaps }): void {
    const priority = new Map(inputs.subscriptions.map((s) => [s.trackId, s.priority]));
    const tracks = a.tracks.map((t) => {
      const p = priority.get(t.trackId);
      return { trackId: t.trackId, kind: t.kind, layer: t.target ? ([t.target.spatial, t.target.temporal] as [number, number]) : null, bps: Math.round(t.bitrate), reason: t.reason, ...(p !== undefined && Number.isFinite(p) ? { priority: Math.round(p * 1000) / 1000 } : {}) };
    });
    // The device's limits, when it has any ("maxVideos=1 maxHeight=360"): a `muted` reason may come from them.
    const caps = Object.entries(inputs.caps)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    this.record({ kind: 'allocation', ts: this.wallNow(), data: { estimateBps: Number.isFinite(a.budget) ? Math.round(a.budget) : null, wantedBps: Math.round(a.wantedBitrate), totalBps: Math.round(a.totalBitrate), tracks, ...(caps ? { caps } : {}) } });
  }

  private wallNow(): number {
    return Math.round(this.clock.wallNow());
  }
}
