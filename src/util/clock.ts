/**
 * Injected time source. Media timing (NACK retries, RTCP intervals, keyframe throttles) reads time from a
 * Clock so tests drive it without sleeping.
 */
export interface Clock {
  /** Monotonic milliseconds (fractional). */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (for RTCP NTP timestamps). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

export const systemClock: Clock = (() => {
  const handles = new Map<number, NodeJS.Timeout>();
  let next = 1;
  const origin = performance.timeOrigin;
  return {
    now: () => performance.now(),
    wallNow: () => origin + performance.now(),
    setTimeout(fn, ms) {
      const id = next++;
      const t = setTimeout(() => {
        handles.delete(id);
        fn();
      }, ms);
      t.unref?.();
      handles.set(id, t);
      return { id };
    },
    setInterval(fn, ms) {
      const id = next++;
      const t = setInterval(fn, ms);
      t.unref?.();
      handles.set(id, t);
      return { id };
    },
    clear(h) {
      const t = handles.get(h.id);
      if (t) {
        clearTimeout(t);
        handles.delete(h.id);
      }
    },
  };
})();

/** A clock that only moves when told to: for unit tests of timing logic. */
export class FakeClock implements Clock {
  private t = 0;
  private wallOrigin = 1_700_000_000_000;
  private nextId = 1;
  private timers = new Map<number, { at: number; every: number; fn: () => void }>();

  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.wallOrigin + this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, every: 0, fn });
    return { id };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, every: Math.max(ms, 1), fn });
    return { id };
  }
  clear(h: TimerHandle): void {
    this.timers.delete(h.id);
  }
  /** Advance time, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let dueId = -1;
      let dueAt = Infinity;
      for (const [id, tm] of this.timers) {
        if (tm.at <= end && tm.at < dueAt) {
          dueAt = tm.at;
          dueId = id;
        }
      }
      if (dueId < 0) break;
      const tm = this.timers.get(dueId)!;
      this.t = tm.at;
      if (tm.every > 0) tm.at += tm.every;
      else this.timers.delete(dueId);
      tm.fn();
    }
    this.t = end;
  }
}
