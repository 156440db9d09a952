import type { Producer } from '../../media/producer.ts';
import type { TrackRelay } from '../../cascade/relay/track-relay.ts';
import type { ReceiveCaps } from '../../allocation/receive-caps.ts';
import { NO_CAPS } from '../../allocation/receive-caps.ts';
import type { LinkInfo, TrackSource } from '../../signaling/messages.ts';
import { LocalMedia } from '../local-media.ts';
import type { MediaServer } from '../media-server.ts';
import type { Clock } from '../../util/clock.ts';
import type { Logger } from '../../util/logger.ts';
import type { MediaEvent, WireTrack } from './worker-protocol.ts';

/** What the control plane pushed for a listener: its downlink reads it. */
interface Pushed {
  /** Link priorities (publisher id → priority). */
  priorities: Map<string, number>;
  caps: ReceiveCaps;
}

interface Person {
  media: LocalMedia;
  pushed: Pushed;
}

/**
 * Inside a media worker: the media halves of the participants placed here (a LocalMedia each), the tracks
 * published here (each also offered to the other workers through the TrackRelay), and the relay-fed
 * producers of tracks published on other workers. Driven by the main thread's requests (worker-protocol.ts).
 */
export class MediaHost {
  private readonly people = new Map<string, Person>();
  /** Tracks published on this worker, by track id. */
  private readonly published = new Map<string, Producer>();

  constructor(
    private readonly media: MediaServer,
    private readonly relay: TrackRelay,
    /** This worker's index. */
    private readonly self: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly emit: (participantId: string, e: MediaEvent) => void,
  ) {}

  get participants(): number {
    return this.people.size;
  }

  publish(pid: string, sdp: string, sources: ReadonlyArray<{ mid: string; source: TrackSource }> | undefined): { sdp: string; added: WireTrack[]; removed: string[] } {
    const r = this.person(pid).media.publishNow(sdp, sources);
    const added = r.added.map((p): WireTrack => {
      this.published.set(p.id, p);
      const desc = this.relay.addLocal(p);
      return { id: p.id, kind: p.kind, mid: p.params.mid, source: p.source, muted: p.muted, worker: this.self, desc };
    });
    for (const id of r.removed) this.unpublish(id);
    return { sdp: r.sdp, added, removed: r.removed };
  }

  setMuted(pid: string, trackId: string, muted: boolean): void {
    const p = this.published.get(trackId);
    if (p) this.people.get(pid)?.media.setMuted(p, muted);
  }

  consume(pid: string, publisherId: string, tracks: readonly WireTrack[]): void {
    this.person(pid).media.consumeProducers(publisherId, tracks.map((t) => ({ id: t.id, producer: this.producerOf(t) })));
  }

  stopConsuming(pid: string, publisherId: string, trackIds: readonly string[] | undefined): string[] {
    return this.people.get(pid)?.media.stopConsuming(publisherId, trackIds) ?? [];
  }

  /** A track ended wherever it was published: its consumers here end, and so does its relay-fed copy. */
  trackEnded(trackId: string): void {
    for (const p of this.people.values()) p.media.trackClosed(trackId);
    this.relay.removeRelayed(trackId);
  }

  answer(pid: string, offerId: number, sdp: string): void {
    const p = this.people.get(pid);
    if (!p) throw new Error(`no participant ${pid} on this worker`);
    p.media.answerNow(offerId, sdp);
  }

  restartIce(pid: string): boolean {
    return this.people.get(pid)?.media.restartSubscribeIce() ?? false;
  }

  resend(pid: string): void {
    this.people.get(pid)?.media.resend();
  }

  links(pid: string, links: readonly LinkInfo[]): void {
    const p = this.people.get(pid);
    if (!p) return;
    p.pushed.priorities.clear();
    for (const l of links) p.pushed.priorities.set(l.participantId, l.priority);
  }

  caps(pid: string, caps: ReceiveCaps): void {
    const p = this.people.get(pid);
    if (!p) return;
    p.pushed.caps = caps;
    p.media.capsChanged(caps);
  }

  /** The participant left (or failed): its media closes; returns the ids of the tracks it published. */
  close(pid: string, reason: string): string[] {
    const p = this.people.get(pid);
    if (!p) return [];
    this.people.delete(pid);
    const ended = p.media.close(reason);
    for (const id of ended) this.unpublish(id);
    return ended;
  }

  private unpublish(trackId: string): void {
    this.published.delete(trackId);
    this.relay.removeLocal(trackId);
  }

  private person(pid: string): Person {
    let p = this.people.get(pid);
    if (p) return p;
    const pushed: Pushed = { priorities: new Map(), caps: NO_CAPS };
    const media = new LocalMedia(
      this.media,
      this.clock,
      this.log,
      pid,
      {
        send: (m) => this.emit(pid, { k: 'send', m }),
        speaking: (on) => this.emit(pid, { k: 'speaking', on }),
        transportState: (which, state, reason) => this.emit(pid, { k: 'state', which, state, ...(reason !== undefined ? { reason } : {}) }),
        quality: (s) => this.emit(pid, { k: 'quality', s }),
        record: (r) => this.emit(pid, { k: 'record', r }),
      },
      { priorityOf: (publisherId) => pushed.priorities.get(publisherId) ?? 0, caps: () => pushed.caps },
    );
    p = { media, pushed };
    this.people.set(pid, p);
    return p;
  }

  /** Published here: its producer; on another worker: the relay-fed producer, made on first need. */
  private producerOf(t: WireTrack): Producer | null {
    if (t.worker === this.self) return this.published.get(t.id) ?? null;
    return this.relay.relayedProducer(t.desc);
  }
}
