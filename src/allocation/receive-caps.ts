/**
 * What a subscriber's device can take, applied to its subscriptions before `allocate`: how many videos,
 * how tall, how fluid. Pure: the caps come from the client's reports (src/allocation/device-caps.ts) and
 * the subscriptions from its consumers.
 */
import type { LayerOption, TrackSubscription, VideoSubscription } from './types.ts';

export interface ReceiveCaps {
  /** Videos forwarded at most, highest priority first; the rest pause (reason `muted`). Unset: no limit. */
  readonly maxVideos?: number;
  /** Tallest video wanted (pixels); a layer of unknown height counts as fitting. Unset: no limit. */
  readonly maxHeight?: number;
  /** Highest VP8 temporal layer wanted (0 = base frame rate only). Unset: no limit. */
  readonly maxTemporal?: number;
}

export const NO_CAPS: ReceiveCaps = Object.freeze({});

/**
 * `prioritized` in `prioritize` order; returns the same order with the caps folded into each video:
 * `muted` beyond `maxVideos`, `maxSpatial` from `maxHeight` (the highest spatial layer whose height fits,
 * so a publisher's own resolutions decide), `maxTemporal`. A cap never loosens one already set.
 */
export function applyReceiveCaps<T extends TrackSubscription>(prioritized: readonly T[], caps: ReceiveCaps): T[] {
  const maxVideos = caps.maxVideos ?? Infinity;
  let videos = 0;
  return prioritized.map((s) => {
    if (s.kind !== 'video' || s.muted) return s;
    videos++;
    if (videos > maxVideos) return { ...s, muted: true };
    let out: VideoSubscription = s;
    if (caps.maxHeight !== undefined) {
      const m = spatialFitting(s.layers, caps.maxHeight);
      if (m !== null && (s.maxSpatial === undefined || m < s.maxSpatial)) out = { ...out, maxSpatial: m };
    }
    if (caps.maxTemporal !== undefined && (s.maxTemporal === undefined || caps.maxTemporal < s.maxTemporal)) out = { ...out, maxTemporal: caps.maxTemporal };
    return out as T;
  });
}

/**
 * Highest spatial layer whose height is ≤ maxHeight (unknown heights fit); -1 when none fits (the ladder
 * then holds only the lowest layer: caps limit upgrades, not visibility); null without layers.
 */
export function spatialFitting(layers: readonly LayerOption[], maxHeight: number): number | null {
  if (layers.length === 0) return null;
  let best = -1;
  for (const l of layers) {
    const fits = l.height === undefined || l.height <= maxHeight;
    if (fits && l.spatial > best) best = l.spatial;
  }
  return best;
}
