import type { LinkInfo, TrackSource } from '../../signaling/messages.ts';
import type { ReceiveCaps } from '../../allocation/receive-caps.ts';
import { RequestError } from '../request-error.ts';
import type { ListenerInputs, MediaEvents, MediaPlane, ParticipantMedia, PublishedTrack, PublishResult } from '../participant-media.ts';
import type { WorkerPool } from './worker-pool.ts';
import type { MediaEvent, WireTrack } from './worker-protocol.ts';
import type { Logger } from '../../util/logger.ts';

/** A track published on a media worker, as the control plane holds it. */
class TrackStub implements PublishedTrack {
  readonly id: string;
  readonly kind: 'audio' | 'video';
  readonly params: { readonly mid: string };
  source: TrackSource;
  muted: boolean;
  constructor(readonly wire: WireTrack) {
    this.id = wire.id;
    this.kind = wire.kind;
    this.params = { mid: wire.mid };
    this.source = wire.source;
    this.muted = wire.muted;
  }
}

/** A worker's error as the client should see it: a RequestError keeps its code. */
function asRequestError(e: unknown): Error {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? new RequestError(code as RequestError['code'], (e as Error).message) : (e as Error);
}

/**
 * The media workers (`media.workers` > 1, docs/workers.md): each participant's media half lives on one
 * worker, chosen by the pool when it first needs media (its first publish or subscription).
 */
export class WorkerMediaPlane implements MediaPlane {
  private readonly byParticipant = new Map<string, WorkerMedia>();

  constructor(
    readonly pool: WorkerPool,
    private readonly log: Logger,
  ) {
    pool.onMediaEvent = (_index, pid, e) => this.byParticipant.get(pid)?.onEvent(e);
    pool.onWorkerDied = (index, reason) => {
      for (const m of [...this.byParticipant.values()]) if (m.worker === index) m.workerDied(reason);
    };
  }

  forParticipant(participantId: string, events: MediaEvents, inputs: ListenerInputs): ParticipantMedia {
    const m = new WorkerMedia(this, participantId, events, inputs, this.log);
    this.byParticipant.set(participantId, m);
    return m;
  }

  /**
   * Where a participant's media goes: near the people it is linked with (their tracks then cross no ring),
   * unless that worker is much busier than the least busy one (WorkerPool.place).
   */
  place(near: Iterable<string>): number {
    const affinity = new Map<number, number>();
    for (const id of near) {
      const w = this.byParticipant.get(id)?.worker;
      if (w !== null && w !== undefined) affinity.set(w, (affinity.get(w) ?? 0) + 1);
    }
    return this.pool.place(affinity);
  }

  /** The worker a participant's media is on (null: none yet). */
  workerOf(participantId: string): number | null {
    return this.byParticipant.get(participantId)?.worker ?? null;
  }

  forget(participantId: string): void {
    this.byParticipant.delete(participantId);
  }
}

/** The control half's handle on a media half that lives on a worker: requests and notifications over postMessage. */
class WorkerMedia implements ParticipantMedia {
  worker: number | null = null;
  /** Tracks received, by publisher (the replies to unsubscribe and restartIce are known here). */
  private readonly received = new Map<string, Set<string>>();
  private subscribed = false;
  private readonly published = new Map<string, TrackStub>();
  private closed = false;

  constructor(
    private readonly plane: WorkerMediaPlane,
    private readonly pid: string,
    private readonly events: MediaEvents,
    private readonly inputs: ListenerInputs,
    private readonly log: Logger,
  ) {}

  private placed(): number {
    this.worker ??= this.plane.place(this.inputs.near());
    return this.worker;
  }

  async publish(sdp: string, sources?: ReadonlyArray<{ mid: string; source: TrackSource }>): Promise<PublishResult> {
    const worker = this.placed();
    let r: { sdp: string; added: WireTrack[]; removed: string[] };
    try {
      r = (await this.plane.pool.ask(worker, { t: 'publish', pid: this.pid, sdp, ...(sources ? { sources: [...sources] } : {}) })) as typeof r;
    } catch (e) {
      throw asRequestError(e);
    }
    const added = r.added.map((w) => {
      const stub = new TrackStub(w);
      this.published.set(stub.id, stub);
      return stub;
    });
    for (const id of r.removed) this.ended(id);
    return { sdp: r.sdp, added, removed: r.removed };
  }

  setMuted(track: PublishedTrack, muted: boolean): void {
    if (this.worker !== null) this.plane.pool.tell(this.worker, { t: 'setMuted', pid: this.pid, trackId: track.id, muted });
  }

  consume(publisherId: string, tracks: readonly PublishedTrack[]): void {
    if (this.closed) return;
    const wires = tracks.flatMap((t) => (t instanceof TrackStub ? [t.wire] : []));
    if (wires.length < tracks.length) this.log.warn('consume: a track not on a media worker is skipped', { participant: this.pid, publisher: publisherId });
    if (wires.length === 0) return;
    let set = this.received.get(publisherId);
    if (!set) this.received.set(publisherId, (set = new Set()));
    for (const w of wires) set.add(w.id);
    this.subscribed = true;
    this.plane.pool.tell(this.placed(), { t: 'consume', pid: this.pid, publisherId, tracks: wires });
  }

  stopConsuming(publisherId: string, trackIds?: readonly string[]): string[] {
    const set = this.received.get(publisherId);
    if (!set || this.worker === null) return [];
    const ended = trackIds ? trackIds.filter((id) => set.has(id)) : [...set];
    for (const id of ended) set.delete(id);
    if (set.size === 0) this.received.delete(publisherId);
    if (ended.length > 0) this.plane.pool.tell(this.worker, { t: 'stopConsuming', pid: this.pid, publisherId, ...(trackIds ? { trackIds: [...trackIds] } : {}) });
    return ended;
  }

  /** The worker hosting it drops its consumers (trackEnded goes to every worker); the mirror follows. */
  trackClosed(trackId: string): void {
    for (const [publisherId, set] of this.received) if (set.delete(trackId) && set.size === 0) this.received.delete(publisherId);
  }

  async subscriberAnswer(offerId: number, sdp: string): Promise<void> {
    if (this.worker === null) throw new RequestError('bad_request', `no outstanding subscriber offer ${offerId}`);
    try {
      await this.plane.pool.ask(this.worker, { t: 'answer', pid: this.pid, offerId, sdp });
    } catch (e) {
      throw asRequestError(e);
    }
  }

  restartSubscribeIce(): boolean {
    if (!this.subscribed || this.worker === null) return false;
    this.plane.pool.tell(this.worker, { t: 'restartIce', pid: this.pid });
    return true;
  }

  resend(): void {
    if (this.worker !== null) this.plane.pool.tell(this.worker, { t: 'resend', pid: this.pid });
  }

  linksChanged(links: readonly LinkInfo[]): void {
    if (this.worker !== null) this.plane.pool.tell(this.worker, { t: 'links', pid: this.pid, links: [...links] });
  }

  capsChanged(caps: ReceiveCaps): void {
    if (this.worker !== null) this.plane.pool.tell(this.worker, { t: 'caps', pid: this.pid, caps });
  }

  close(reason: string): string[] {
    if (this.closed) return [];
    this.closed = true;
    if (this.worker !== null) this.plane.pool.tell(this.worker, { t: 'closeParticipant', pid: this.pid, reason });
    const ids = [...this.published.keys()];
    for (const id of ids) this.ended(id);
    this.plane.forget(this.pid);
    return ids;
  }

  /** Our worker died: our transports are gone with it, so the session is (the client reconnects). */
  workerDied(reason: string): void {
    this.events.transportState('publish', 'failed', `media worker died: ${reason}`);
  }

  onEvent(e: MediaEvent): void {
    if (this.closed) return;
    if (e.k === 'send') this.events.send(e.m);
    else if (e.k === 'speaking') this.events.speaking(e.on);
    else if (e.k === 'quality') this.events.quality(e.s);
    else if (e.k === 'record') this.events.record(e.r);
    else this.events.transportState(e.which, e.state, e.reason);
  }

  /** One of our tracks ended: the other workers drop their copies and consumers of it. */
  private ended(trackId: string): void {
    if (!this.published.delete(trackId)) return;
    this.plane.pool.tellAll({ t: 'trackEnded', trackId });
  }

  // The transports are on the worker: nothing to reach into from here.
  readonly publishTransport = null;
  readonly subscribeTransport = null;
  readonly subscribeSession = null;
  readonly downlink = null;
  consumerOf(): undefined {
    return undefined;
  }
}
