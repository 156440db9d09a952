import { Space, mapInfoOf } from './space.ts';
import type { MapInfo } from '../signaling/messages.ts';
import { ResumableSessions } from './resumable-sessions.ts';
import type { SpaceMap } from '../proximity/map.ts';
import type { Clock } from '../util/clock.ts';
import { NO_RECORDER, type Recorder } from '../recorder/recorder.ts';

/** Spaces by id, all on the configured map: created on first join, dropped when the last person leaves. */
export class SpaceRegistry {
  private readonly spaces = new Map<string, Space>();
  /** Cluster mode: a space opened here / released here (src/cascade/cluster-node.ts follows it). */
  onOpen: ((s: Space) => void) | null = null;
  onRelease: ((s: Space) => void) | null = null;
  /** Cluster mode: the node is being drained; joins are refused. */
  draining = false;
  /** Who may take over which session from a new signaling connection (`resume`). */
  readonly sessions = new ResumableSessions();
  /** The server is shutting down: nothing is kept for a resume. */
  closing = false;

  constructor(
    readonly map: SpaceMap,
    private readonly clock: Clock,
    private readonly walkSpeed: number,
    /** The node's flight recorder (off unless given). */
    readonly recorder: Recorder = NO_RECORDER,
  ) {}

  /** The map as clients draw it (the same for every space). */
  get mapInfo(): MapInfo {
    return (this.mapInfoCache ??= mapInfoOf(this.map));
  }
  private mapInfoCache: MapInfo | null = null;

  getOrCreate(id: string): Space {
    let s = this.spaces.get(id);
    if (!s) {
      this.spaces.set(id, (s = new Space(id, this.map, this.clock, this.walkSpeed, this.recorder)));
      this.onOpen?.(s);
    }
    return s;
  }

  get(id: string): Space | undefined {
    return this.spaces.get(id);
  }

  releaseIfEmpty(space: Space): void {
    if (space.empty && this.spaces.get(space.id) === space) {
      this.onRelease?.(space);
      space.close();
      this.spaces.delete(space.id);
    }
  }

  all(): IterableIterator<Space> {
    return this.spaces.values();
  }

  closeAll(): void {
    for (const s of this.spaces.values()) s.close();
    this.spaces.clear();
  }

  get size(): number {
    return this.spaces.size;
  }
}
