import type { Space, SpaceObserver } from '../server/space.ts';
import { asProducer } from '../server/local-media.ts';
import type { Participant } from '../server/participant.ts';
import type { PersonInfo } from '../signaling/messages.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { ControlBus } from './control/control-bus.ts';
import { decoderFor } from './control/messages.ts';
import type { TrackRelay } from './relay/track-relay.ts';
import type { TrackDesc } from './relay/track-desc.ts';
import { RemotePerson } from './remote-person.ts';
import { spaceSubject, type ReplicatedPerson, type SpacePeople } from './space-messages.ts';

/** Every node republishes everyone it hosts this often: a lost message heals, a late joiner catches up. */
const FULL_EVERY_MS = 5000;

/**
 * One space spanning nodes, as this node sees it. Where the state lives: each person's position, mode,
 * spotlight and tracks are authoritative on the node that hosts them (it validates their moves against the
 * map and walking speed), which publishes changes of its people on `proxima.v1.space.<id>.people`; every
 * node following the space mirrors the others' people as RemotePersons and runs the same proximity rules
 * over everyone, so each node decides for its own listeners and needs nobody's permission. A node that
 * dies takes its people with it (removed when the registry reports it down); they rejoin elsewhere.
 */
export class SpaceReplica implements SpaceObserver {
  private readonly unsubs: Array<() => void> = [];
  private seq = 0;
  private readonly lastSeq = new Map<string, number>();
  private readonly timer: TimerHandle;
  private closed = false;

  constructor(
    readonly space: Space,
    private readonly nodeId: string,
    private readonly bus: ControlBus,
    private readonly relay: TrackRelay,
    private readonly isNodeUp: (nodeId: string) => boolean,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    space.observer = this;
    const id = space.id;
    this.unsubs.push(bus.subscribe(spaceSubject(id, 'people'), decoderFor('spacePeople'), (m) => this.onPeople(m)));
    this.unsubs.push(
      bus.subscribe(spaceSubject(id, 'speaking'), decoderFor('spaceSpeaking'), (m) => {
        if (m.node !== this.nodeId && m.space === id) space.remoteSpeaking(m.person, m.on);
      }),
    );
    this.unsubs.push(
      bus.subscribe(spaceSubject(id, 'hello'), decoderFor('spaceHello'), (m) => {
        if (m.node !== this.nodeId && m.space === id) this.publishFull();
      }),
    );
    this.unsubs.push(
      bus.subscribe(spaceSubject(id, 'spotlight'), decoderFor('spaceSpotlight'), (m) => {
        const p = space.participants.get(m.person);
        if (p && m.space === id) space.setSpotlight(p, m.on);
      }),
    );
    bus.publish(spaceSubject(id, 'hello'), 'spaceHello', { v: 1, node: nodeId, space: id });
    this.publishFull();
    this.timer = clock.setInterval(() => this.publishFull(), FULL_EVERY_MS);
  }

  // ── local changes → the other nodes (SpaceObserver) ───────────────────────────────────────────

  peopleChanged(upserts: PersonInfo[], removed: string[]): void {
    this.publish(false, upserts.map((u) => this.replicated(u)), removed);
  }

  speakingChanged(personId: string, speaking: boolean): void {
    if (this.closed) return;
    this.bus.publish(spaceSubject(this.space.id, 'speaking'), 'spaceSpeaking', { v: 1, node: this.nodeId, space: this.space.id, person: personId, on: speaking });
  }

  tracksChanged(p: Participant): void {
    this.publish(false, [this.replicated(p.personInfo())], []);
  }

  /** A spotlight for someone hosted elsewhere: their node applies it (and replicates the result). */
  spotlightRemote(personId: string, on: boolean): void {
    this.bus.publish(spaceSubject(this.space.id, 'spotlight'), 'spaceSpotlight', { v: 1, node: this.nodeId, space: this.space.id, person: personId, on });
  }

  /** Mirrored people of `nodeId` leave (their node is down). */
  dropNode(nodeId: string): void {
    for (const r of [...this.space.remotes.values()]) if (r instanceof RemotePerson && r.nodeId === nodeId) this.removeRemote(r);
    this.lastSeq.delete(nodeId);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.clear(this.timer);
    for (const u of this.unsubs) u();
    if (this.space.observer === this) this.space.observer = null;
    for (const r of [...this.space.remotes.values()]) if (r instanceof RemotePerson) this.removeRemote(r);
  }

  // ── inside ────────────────────────────────────────────────────────────────────────────────────

  private replicated(person: PersonInfo): ReplicatedPerson {
    const p = this.space.participants.get(person.id);
    // Source and mute state change after the track is named: added to a copy, not to the relay's desc.
    // Cluster mode keeps the media in this thread (media.workers 1): every local track is a Producer.
    const tracks: TrackDesc[] = [];
    for (const t of p?.producers.values() ?? []) {
      const prod = asProducer(t);
      if (prod) tracks.push({ ...this.relay.addLocal(prod), source: t.source, muted: t.muted });
    }
    return { person, tracks };
  }

  private publishFull(): void {
    const people = [...this.space.participants.values()].map((p) => this.replicated(p.personInfo()));
    this.publish(true, people, []);
  }

  private publish(full: boolean, upserts: ReplicatedPerson[], removed: string[]): void {
    if (this.closed) return;
    const msg: SpacePeople = { v: 1, node: this.nodeId, space: this.space.id, seq: this.seq++, full, upserts, removed };
    this.bus.publish(spaceSubject(this.space.id, 'people'), 'spacePeople', msg);
  }

  private onPeople(m: SpacePeople): void {
    if (this.closed || m.node === this.nodeId || m.space !== this.space.id) return;
    if (!this.isNodeUp(m.node)) return; // a late message of a node already gone
    const last = this.lastSeq.get(m.node) ?? -1;
    if (m.seq <= last) return;
    this.lastSeq.set(m.node, m.seq);
    const listed = new Set<string>();
    for (const u of m.upserts) {
      listed.add(u.person.id);
      this.upsert(m.node, u);
    }
    for (const id of m.removed) {
      const r = this.space.remotes.get(id);
      if (r instanceof RemotePerson && r.nodeId === m.node) this.removeRemote(r);
    }
    if (m.full) {
      for (const r of [...this.space.remotes.values()]) if (r instanceof RemotePerson && r.nodeId === m.node && !listed.has(r.id)) this.removeRemote(r);
    }
  }

  private upsert(node: string, u: ReplicatedPerson): void {
    const space = this.space;
    const id = u.person.id;
    if (space.participants.has(id)) {
      // Ids are random per join: a clash is a forged or broken message, never a reason to touch our person.
      this.log.warn('replicated person has the id of a local participant: ignored', { node, person: id });
      return;
    }
    let r = space.remotes.get(id) as RemotePerson | undefined;
    if (r && r.nodeId !== node) {
      // The person moved nodes (rejoined elsewhere): the new host is authoritative.
      this.removeRemote(r);
      r = undefined;
    }
    if (!r) {
      r = new RemotePerson(id, node, u.person);
      this.syncTracks(r, u.tracks, true);
      space.addRemote(r);
      if (r.producers.size > 0) space.announceTracks(r, true);
      return;
    }
    const before = { x: r.x, y: r.y, mode: r.mode, spotlit: r.spotlit };
    r.name = u.person.name;
    r.x = u.person.x;
    r.y = u.person.y;
    r.mode = u.person.mode;
    r.spotlit = u.person.spotlit;
    space.updateRemote(r, before);
    const hadTracks = r.producers.size > 0;
    if (this.syncTracks(r, u.tracks, false)) space.announceTracks(r, !hadTracks);
  }

  /** The person's relayed producers follow their track list; true when it changed. */
  private syncTracks(r: RemotePerson, tracks: readonly TrackDesc[], fresh: boolean): boolean {
    let changed = false;
    const ids = new Set<string>();
    for (const d of tracks) {
      if (d.publisherId !== r.id) continue;
      ids.add(d.trackId);
      if (r.setTrackState(d.trackId, d.source, d.muted === true) && r.producers.has(d.trackId)) changed = true;
      if (r.producers.has(d.trackId)) continue;
      r.producers.set(d.trackId, this.relay.relayedProducer(d));
      changed = true;
    }
    for (const trackId of [...r.producers.keys()]) {
      if (ids.has(trackId)) continue;
      r.producers.delete(trackId);
      r.trackState.delete(trackId);
      this.relay.removeRelayed(trackId);
      if (!fresh) this.space.producerClosed(trackId);
      changed = true;
    }
    return changed;
  }

  private removeRemote(r: RemotePerson): void {
    r.closed = true;
    this.space.removeRemote(r.id);
    for (const trackId of r.producers.keys()) this.relay.removeRelayed(trackId);
  }
}
