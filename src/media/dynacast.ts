/**
 * Dynacast: which simulcast layers a publisher should encode, from what every sink of its track wants.
 * Pure: one decision per layer from plain values, so the rules can be swept in a test.
 *
 * - A layer some sink wants is on, at once (a viewer is waiting for it).
 * - The lowest layer that sends is always on: a newcomer walking in gets a first frame without waiting for
 *   the publisher to start an encoder, and a subscriber whose bandwidth collapses has somewhere to go.
 * - A layer nobody wants goes off after OFF_AFTER_MS (an allocation that dips for a moment does not make
 *   the publisher restart its encoder).
 * - Only a layer that is sending is turned off. A layer asked for that does not come (the publisher's own
 *   uplink or CPU holds it back) stays asked for: it returns by itself when the publisher can, and the
 *   server does not flip it on and off.
 */

export const OFF_AFTER_MS = 1000;
/** A layer turned back on that sends nothing after this long is no longer offered to the allocator. */
export const WAKE_TIMEOUT_MS = 3000;

export interface LayerDemand {
  /** Some sink targets this layer. */
  wanted: boolean;
  /** The publisher sends it now. */
  sending: boolean;
  /** What we last asked the publisher for. */
  requested: boolean;
  /** The lowest layer that sends (or the lowest of all when none sends). */
  lowest: boolean;
  /** Since when nobody wants it (ms); -1 while wanted. */
  unwantedSinceMs: number;
}

/** Whether to ask the publisher for this layer now. */
export function layerRequested(d: LayerDemand, nowMs: number): boolean {
  if (d.wanted || d.lowest) return true;
  if (!d.requested) return false;
  if (!d.sending) return true;
  return d.unwantedSinceMs >= 0 && nowMs - d.unwantedSinceMs < OFF_AFTER_MS;
}
