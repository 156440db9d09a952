import { randomBytes } from 'node:crypto';
import { Producer } from '../media/producer.ts';
import { PublishSession } from '../media/publish-session.ts';
import type { CodecName } from '../media/media-types.ts';
import { parsePublishOffer, type PublishOffer } from '../signaling/sdp/publish-offer.ts';
import { buildPublishAnswer } from '../signaling/sdp/publish-answer.ts';
import { isSdpError } from '../signaling/sdp/types.ts';
import type { TrackSource } from '../signaling/messages.ts';
import type { TransportState } from '../transport/webrtc-transport.ts';
import { RequestError } from './request-error.ts';
import type { MediaServer } from './media-server.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

const id = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

/** What a publish offer changed: the answer, the producers it started and the ones it ended (closed already). */
export interface PublishOutcome {
  sdp: string;
  added: Producer[];
  removed: Producer[];
}

/** What a new producer is wired to (speaking and dynacast wishes go to the control plane). */
export type ProducerHook = (producer: Producer) => void;

/**
 * The sending half of a participant: one publish transport (the browser offers, we answer), a producer per
 * m-line of the offer. Renegotiations add and end producers; new ICE credentials are an ICE restart.
 */
export class Publisher {
  readonly session: PublishSession;
  /** Producer per m-line mid of the publish offer. */
  readonly byMid = new Map<string, Producer>();
  /** The o= session id of our answers stays across ICE restarts (RFC 3264 §8): derived from the first ufrag. */
  private readonly sessionKey: string;

  private constructor(
    private readonly media: MediaServer,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly publisherId: string,
    remoteUfrag: string,
    onStateChange: (state: TransportState, reason?: string) => void,
  ) {
    const t = media.createTransport(remoteUfrag, null, 'pub');
    this.session = new PublishSession(
      t,
      clock,
      (s, reason) => {
        // Our uplink moved (an ICE restart after a network change): listeners' decoders lost packets meanwhile.
        if (s === 'connected' && reason === 'path moved') for (const p of this.byMid.values()) if (p.kind === 'video') p.requestKeyframe();
        onStateChange(s, reason);
      },
      media.ingressLimits?.publisher ?? null,
    );
    this.sessionKey = t.local.ufrag;
    media.addTickable(this.session);
  }

  /** The first offer makes the publisher (its transport takes the offer's ufrag); later ones renegotiate. */
  static offer(
    existing: Publisher | null,
    sdp: string,
    sources: ReadonlyArray<{ mid: string; source: TrackSource }> | undefined,
    make: { media: MediaServer; clock: Clock; log: Logger; publisherId: string; onStateChange: (state: TransportState, reason?: string) => void },
    hook: ProducerHook,
  ): { publisher: Publisher; outcome: PublishOutcome } {
    const offer = parsePublishOffer(sdp);
    if (isSdpError(offer)) throw new RequestError('sdp_rejected', offer.message);
    const publisher = existing ?? new Publisher(make.media, make.clock, make.log, make.publisherId, offer.transport.iceUfrag, make.onStateChange);
    return { publisher, outcome: publisher.apply(offer, sources, hook) };
  }

  private apply(offer: PublishOffer, sources: ReadonlyArray<{ mid: string; source: TrackSource }> | undefined, hook: ProducerHook): PublishOutcome {
    const session = this.session;
    const t = session.transport;
    // New ICE credentials in a renegotiation are an ICE restart (RFC 8839 §4.4.1.1.1): the answer carries new
    // ones of ours on the same transport; DTLS, SRTP and the producers stay (RFC 8445 §9).
    if (t.remoteUfrag !== null && t.remoteUfrag !== offer.transport.iceUfrag) t.restartIce(offer.transport.iceUfrag);
    const answer = buildPublishAnswer(
      offer,
      {
        iceUfrag: t.local.ufrag,
        icePwd: t.local.pwd,
        fingerprint: { algorithm: 'sha-256', value: this.media.certificate.fingerprint },
        setup: this.media.publishDtlsSetup,
        candidates: this.media.candidates,
      },
      undefined,
      { sessionKey: this.sessionKey },
    );
    t.setDtlsParameters({ role: answer.setup === 'active' ? 'client' : 'server', remoteFingerprint: offer.transport.fingerprint });

    const added: Producer[] = [];
    const seen = new Set<string>();
    for (const m of answer.media) {
      if (m.rejected || m.inactive || !m.codec || (m.kind !== 'audio' && m.kind !== 'video')) continue;
      if (m.extIds.transportCc) session.transportCcExtId = m.extIds.transportCc;
      seen.add(m.mid);
      if (this.byMid.has(m.mid)) continue;
      if (m.ssrc === undefined && m.rids.length === 0) {
        // Neither a=ssrc nor RFC 8853 rids: nothing would let us tell this m-line's packets apart.
        this.log.warn('publish m-line without a=ssrc or rids ignored', { participant: this.publisherId, mid: m.mid });
        continue;
      }
      if (m.rids.length > 0) {
        // Rid-only simulcast: layer SSRCs are learned from these extensions (RFC 8852). BUNDLE keeps the
        // ids the same on every m-line (RFC 8843 §9.2), so the session keeps one set.
        session.midExtId = m.extIds.mid ?? 0;
        session.ridExtId = m.extIds.rid ?? 0;
        session.repairedRidExtId = m.extIds.repairedRid ?? 0;
      }
      const producer = new Producer(
        {
          id: id('t'),
          publisherId: this.publisherId,
          kind: m.kind,
          mid: m.mid,
          codec: m.codec.name.toLowerCase() as CodecName,
          clockRate: m.codec.clockRate,
          payloadType: m.codec.pt,
          rtxPayloadType: m.rtxPt ?? null,
          ssrc: m.ssrc ?? 0,
          rtxSsrc: m.rtxSsrc ?? null,
          ...(m.rids.length > 0 ? { rids: m.rids } : {}),
        },
        this.clock,
        { requestKeyframe: (ssrc) => session.sendPli(ssrc) },
      );
      producer.audioLevelExtId = m.extIds.audioLevel ?? 0;
      const source = sources?.find((x) => x.mid === m.mid)?.source;
      // A named source must fit the kind (a screen is video); otherwise the default by kind stays.
      if (source !== undefined && (source === 'microphone') === (m.kind === 'audio')) producer.source = source;
      hook(producer);
      this.byMid.set(m.mid, producer);
      session.addProducer(producer);
      added.push(producer);
    }
    // m-lines that stopped sending end their producers.
    const removed: Producer[] = [];
    for (const [mid, producer] of this.byMid) {
      if (seen.has(mid)) continue;
      this.byMid.delete(mid);
      this.closeProducer(producer);
      removed.push(producer);
    }
    return { sdp: answer.sdp, added, removed };
  }

  /** Ends every producer and the transport; returns the producers that were live. */
  close(reason: string): Producer[] {
    const live = [...this.byMid.values()];
    for (const p of live) this.closeProducer(p);
    this.byMid.clear();
    this.media.removeTickable(this.session);
    this.session.transport.close(reason);
    return live;
  }

  private closeProducer(p: Producer): void {
    this.session.removeProducer(p);
    p.close();
  }
}
