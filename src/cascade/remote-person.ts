import type { Producer } from '../media/producer.ts';
import type { Mode, PersonInfo, PublisherInfo, TrackInfo, TrackSource } from '../signaling/messages.ts';
import type { Speaker } from '../server/speaker.ts';

/**
 * A person of this space hosted by another node, as this node mirrors them: position and presence from
 * their node's replication messages, tracks as relay-fed producers (created when the track directory
 * names them). Local listeners receive them like any local participant.
 */
export class RemotePerson implements Speaker {
  readonly remote = true;
  readonly producers = new Map<string, Producer>();
  /** What each track carries and whether it is muted, as their node says (shown to local pages). */
  readonly trackState = new Map<string, { source: TrackSource | undefined; muted: boolean }>();
  closed = false;
  x: number;
  y: number;
  mode: Mode;
  spotlit: boolean;
  name: string;

  constructor(
    readonly id: string,
    /** The node that hosts this person (authoritative for them). */
    public nodeId: string,
    info: PersonInfo,
  ) {
    this.name = info.name;
    this.x = info.x;
    this.y = info.y;
    this.mode = info.mode;
    this.spotlit = info.spotlit;
  }

  personInfo(): PersonInfo {
    return { id: this.id, name: this.name, x: this.x, y: this.y, mode: this.mode, spotlit: this.spotlit };
  }

  publisherInfo(): PublisherInfo {
    const tracks: TrackInfo[] = [...this.producers.values()].map((p) => {
      const st = this.trackState.get(p.id);
      return { trackId: p.id, kind: p.kind, mid: p.params.mid, source: st?.source ?? p.source, muted: st?.muted ?? false };
    });
    return { participantId: this.id, name: this.name, tracks };
  }

  /** Returns whether it changed. */
  setTrackState(trackId: string, source: TrackSource | undefined, muted: boolean): boolean {
    const was = this.trackState.get(trackId);
    if (was && was.source === source && was.muted === muted) return false;
    this.trackState.set(trackId, { source, muted });
    return true;
  }
}
