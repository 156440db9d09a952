/**
 * Who hears whom, as pure functions of two people. Directional: `decideLink(listener, speaker, …)` says
 * whether the listener should receive the speaker's media, at what gain and priority. The engine
 * (proximity-engine.ts) owns all state, including the hold before a distance drop takes effect.
 * The rules as a table: docs/proximity.md.
 */

export type Mode = 'normal' | 'quiet' | 'ghost' | 'dnd';

/** A person as the rules see them: position in tiles plus what the map says about that tile. */
export interface PersonView {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly mode: Mode;
  readonly spotlit: boolean;
  /** Raises priority only (the allocator prefers who is talking). */
  readonly speaking?: boolean;
  /** The private area the person stands in, or null. */
  readonly privateArea: string | null;
  /** Standing on a stage tile. */
  readonly onStage: boolean;
}

/** Connect at or under this distance (tiles). */
export const CONNECT_RADIUS = 5;
/** A connected pair stays connected up to this distance (hysteresis against flapping at the edge). */
export const DISCONNECT_RADIUS = 6;
/** Full volume at or under this distance. */
export const FULL_GAIN_RADIUS = 2;
/** Gain at CONNECT_RADIUS, and throughout the hysteresis band: quiet but audible, never a silent link. */
export const MIN_GAIN = 0.2;
/**
 * A quiet person links only with people this many tiles away or closer along each axis: the 8 tiles around
 * them (diagonal neighbours too: people at a desk corner stand diagonally, and "right next to you" on a
 * tile grid means all eight).
 */
export const QUIET_RADIUS = 1;
/** How long a pair stays connected after a distance drop was first decided (enforced by the engine). */
export const DROP_HOLD_MS = 1500;

export const PRIORITY_MAX = 1000;
/** Broadcast (spotlight/stage) priority, independent of distance so a broadcaster's walk changes nothing. */
export const PRIORITY_BROADCAST = 700;
/** Closeness contributes up to this, falling linearly to 0 at PRIORITY_RANGE tiles. */
export const PRIORITY_NEAR = 600;
export const PRIORITY_RANGE = 2 * DISCONNECT_RADIUS;
export const PRIORITY_SPEAKING = 300;

export type LinkState = 'connect' | 'keep' | 'drop';

export type LinkReason =
  | 'self'
  /** Either side is ghost or DND. */
  | 'mode'
  /** Both in the same private area. */
  | 'private-same'
  /** Either side in a private area, not the same one. */
  | 'private-split'
  /** The speaker is spotlit or on a stage tile. */
  | 'broadcast'
  | 'quiet-near'
  | 'quiet-far'
  | 'near'
  /** Between CONNECT_RADIUS and DISCONNECT_RADIUS and already connected. */
  | 'hysteresis'
  | 'far';

export interface LinkDecision {
  readonly state: LinkState;
  /** 0..1 volume the listener should apply; 0 when dropped. */
  readonly gain: number;
  /** 0..PRIORITY_MAX, higher first: the bandwidth allocator sorts by it; 0 when dropped. */
  readonly priority: number;
  readonly reason: LinkReason;
}

/** Distance drops wait DROP_HOLD_MS before taking effect; privacy and mode drops are immediate. */
export function isHeldDrop(reason: LinkReason): boolean {
  return reason === 'far' || reason === 'quiet-far';
}

export function isSilent(mode: Mode): boolean {
  return mode === 'ghost' || mode === 'dnd';
}

export function isBroadcaster(p: Pick<PersonView, 'spotlit' | 'onStage'>): boolean {
  return p.spotlit || p.onStage;
}

/** Euclidean distance in tiles: the one metric used by the rules and the spatial index. */
export function distance(a: { x: number; y: number }, b: { x: number; y: number }): number {
  const dx = a.x - b.x;
  const dy = a.y - b.y;
  return Math.sqrt(dx * dx + dy * dy);
}

/** Within `r` tiles along both axes (Chebyshev distance): the (2r+1)² tiles centred on `a`. */
export function isAround(a: { x: number; y: number }, b: { x: number; y: number }, r: number): boolean {
  return Math.abs(a.x - b.x) <= r && Math.abs(a.y - b.y) <= r;
}

/** 1 up to FULL_GAIN_RADIUS, linear down to MIN_GAIN at CONNECT_RADIUS, MIN_GAIN beyond (hysteresis band). */
export function gainAt(d: number): number {
  if (d <= FULL_GAIN_RADIUS) return 1;
  if (d >= CONNECT_RADIUS) return MIN_GAIN;
  return 1 - ((d - FULL_GAIN_RADIUS) / (CONNECT_RADIUS - FULL_GAIN_RADIUS)) * (1 - MIN_GAIN);
}

/** An integer, so allocators sort stably and logs stay readable. */
export function priorityFor(d: number, broadcast: boolean, speaking: boolean): number {
  const base = broadcast ? PRIORITY_BROADCAST : PRIORITY_NEAR * Math.max(0, 1 - d / PRIORITY_RANGE);
  return Math.min(PRIORITY_MAX, Math.round(base + (speaking ? PRIORITY_SPEAKING : 0)));
}

const drop = (reason: LinkReason): LinkDecision => ({ state: 'drop', gain: 0, priority: 0, reason });

/**
 * Precedence, first match wins: self → silent modes → private areas → broadcast → quiet → distance.
 * `currentlyConnected` only matters in the hysteresis band (CONNECT_RADIUS, DISCONNECT_RADIUS].
 */
export function decideLink(listener: PersonView, speaker: PersonView, currentlyConnected: boolean): LinkDecision {
  if (listener.id === speaker.id) return drop('self');
  if (isSilent(listener.mode) || isSilent(speaker.mode)) return drop('mode');
  const speaking = speaker.speaking === true;
  if (listener.privateArea !== null || speaker.privateArea !== null) {
    if (listener.privateArea !== speaker.privateArea) return drop('private-split');
    return { state: 'connect', gain: 1, priority: priorityFor(distance(listener, speaker), false, speaking), reason: 'private-same' };
  }
  if (isBroadcaster(speaker)) return { state: 'connect', gain: 1, priority: priorityFor(0, true, speaking), reason: 'broadcast' };
  const d = distance(listener, speaker);
  if (listener.mode === 'quiet' || speaker.mode === 'quiet') {
    return isAround(listener, speaker, QUIET_RADIUS) ? { state: 'connect', gain: gainAt(d), priority: priorityFor(d, false, speaking), reason: 'quiet-near' } : drop('quiet-far');
  }
  if (d <= CONNECT_RADIUS) return { state: 'connect', gain: gainAt(d), priority: priorityFor(d, false, speaking), reason: 'near' };
  if (currentlyConnected && d <= DISCONNECT_RADIUS) return { state: 'keep', gain: MIN_GAIN, priority: priorityFor(d, false, speaking), reason: 'hysteresis' };
  return drop('far');
}
