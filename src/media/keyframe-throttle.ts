/**
 * Limits upstream keyframe requests (PLI, RFC 4585 §6.3.1; FIR, RFC 5104 §4.3.1) to one per publisher stream
 * per window: every subscriber that joins or loses packets asks for a keyframe, and one keyframe serves all.
 * A request inside the window is not lost: it stays pending and becomes due when the window ends, unless a
 * keyframe arrives meanwhile.
 */

import type { Clock, TimerHandle } from '../util/clock.ts';

export const DEFAULT_KEYFRAME_WINDOW_MS = 500;

/** Poll-style core: no timers. */
export class KeyframeThrottle {
  private lastSentMs = Number.NEGATIVE_INFINITY;
  private pending = false;

  constructor(readonly windowMs = DEFAULT_KEYFRAME_WINDOW_MS) {}

  /** A keyframe is wanted. True = send a request now; false = throttled, kept pending. */
  shouldRequest(nowMs: number): boolean {
    if (nowMs - this.lastSentMs >= this.windowMs) {
      this.lastSentMs = nowMs;
      this.pending = false;
      return true;
    }
    this.pending = true;
    return false;
  }

  /** True once when a pending request may be sent now (the caller then sends it). */
  due(nowMs: number): boolean {
    if (!this.pending || nowMs - this.lastSentMs < this.windowMs) return false;
    this.pending = false;
    this.lastSentMs = nowMs;
    return true;
  }

  /** A keyframe arrived from the publisher: pending requests are satisfied. */
  onKeyframe(): void {
    this.pending = false;
  }

  get isPending(): boolean {
    return this.pending;
  }

  /** When a pending request becomes due, or null. */
  get dueAtMs(): number | null {
    return this.pending ? this.lastSentMs + this.windowMs : null;
  }
}

/** Timer-driven variant: calls `send` immediately or at the end of the window. */
export class ScheduledKeyframeThrottle {
  private readonly core: KeyframeThrottle;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly send: () => void,
    windowMs = DEFAULT_KEYFRAME_WINDOW_MS,
  ) {
    this.core = new KeyframeThrottle(windowMs);
  }

  request(): void {
    if (this.core.shouldRequest(this.clock.now())) {
      this.send();
      return;
    }
    if (this.timer === null) {
      const wait = Math.max(0, this.core.dueAtMs! - this.clock.now());
      this.timer = this.clock.setTimeout(this.fire, wait);
    }
  }

  onKeyframe(): void {
    this.core.onKeyframe();
    this.cancel();
  }

  /** Stop the timer (stream closed). */
  close(): void {
    this.cancel();
  }

  private readonly fire = (): void => {
    this.timer = null;
    const now = this.clock.now();
    if (this.core.due(now)) this.send();
    else if (this.core.isPending) {
      // Timers may fire a little before the high-resolution clock says the window ended: wait the rest.
      this.timer = this.clock.setTimeout(this.fire, Math.max(1, this.core.dueAtMs! - now));
    }
  };

  private cancel(): void {
    if (this.timer !== null) {
      this.clock.clear(this.timer);
      this.timer = null;
    }
  }
}
