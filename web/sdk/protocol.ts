/**
 * The shapes the browser SDK reads from protocol v1 (the zod schemas in src/signaling/messages.ts are the
 * source of truth; these are plain interfaces so the SDK has no runtime dependency on the server code).
 */
export const MODES = ['normal', 'quiet', 'ghost', 'dnd'] as const;
export type Mode = (typeof MODES)[number];

/** What a published track carries. */
export type TrackSource = 'microphone' | 'camera' | 'screen';

export interface TrackInfo {
  trackId: string;
  kind: 'audio' | 'video';
  mid?: string;
  /** Absent from older servers: microphone for audio, camera for video. */
  source?: TrackSource;
  /** The publisher muted it: nothing of it arrives until unmuted. */
  muted?: boolean;
}

/** A track's source, with the defaults of servers that do not send one. */
export function sourceOf(t: Pick<TrackInfo, 'kind' | 'source'>): TrackSource {
  return t.source ?? (t.kind === 'audio' ? 'microphone' : 'camera');
}

/** Dynacast: whether anyone watches one simulcast layer (rid) of a track we publish. */
export interface VideoLayer {
  rid: string;
  active: boolean;
}

export interface PublisherInfo {
  participantId: string;
  name: string;
  tracks: TrackInfo[];
}

/** Someone in the space: where they stand (tile coordinates) and how they take part. */
export interface Person {
  id: string;
  name: string;
  x: number;
  y: number;
  mode: Mode;
  spotlit: boolean;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface MapArea {
  id: string;
  name: string;
  kind: 'private' | 'stage';
  rects: Rect[];
}

export interface SpaceMap {
  name: string;
  width: number;
  height: number;
  /** `height` rows of `width` characters; `blocked[y][x] === '1'` where nobody can stand. */
  blocked: string[];
  areas: MapArea[];
  spawn: { x: number; y: number };
}

/** One entry of the server's desired link set: we receive `participantId`, at this audio gain (0..1). */
export interface Link {
  participantId: string;
  gain: number;
  priority: number;
}

export interface Grants {
  publish: boolean;
  /** May spotlight oneself. */
  spotlight: boolean;
  /** May spotlight (and un-spotlight) other people. */
  moderator: boolean;
}

export interface JoinedMessage {
  participantId: string;
  iceServers?: RTCIceServer[];
  publishers: PublisherInfo[];
  self: Person;
  people: Person[];
  map: SpaceMap;
  grants: Grants;
}

export function isBlocked(map: SpaceMap, x: number, y: number): boolean {
  if (x < 0 || y < 0 || x >= map.width || y >= map.height) return true;
  return map.blocked[y]?.[x] === '1';
}

export function areaTiles(area: MapArea): Array<[number, number]> {
  const seen = new Set<string>();
  const out: Array<[number, number]> = [];
  for (const r of area.rects)
    for (let y = r.y; y < r.y + r.h; y++)
      for (let x = r.x; x < r.x + r.w; x++) {
        const k = `${x},${y}`;
        if (!seen.has(k)) {
          seen.add(k);
          out.push([x, y]);
        }
      }
  return out;
}

export function areaAt(map: SpaceMap, x: number, y: number): MapArea | undefined {
  return map.areas.find((a) => a.rects.some((r) => x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h));
}
