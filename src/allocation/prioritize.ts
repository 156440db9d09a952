import type { TrackSubscription } from './types.ts';

/**
 * The order `allocate` serves tracks in: all audio first (audio is never traded for video), then video
 * by priority, highest first. Ties go to the smaller trackId (code-unit order, not locale), so the same
 * input always gives the same allocation. Returns a sorted copy.
 */
export function prioritize<T extends TrackSubscription>(subscriptions: readonly T[]): T[] {
  return subscriptions.slice().sort(compareSubscriptions);
}

export function compareSubscriptions(a: TrackSubscription, b: TrackSubscription): number {
  if (a.kind !== b.kind) return a.kind === 'audio' ? -1 : 1;
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.trackId < b.trackId ? -1 : a.trackId > b.trackId ? 1 : 0;
}
