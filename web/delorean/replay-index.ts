/**
 * Seeking: the state at any time of a loaded range without reducing from its start each time. A checkpoint
 * (a state, shared structure and all) is kept every CHECKPOINT_EVERY events; a seek reduces from the last
 * checkpoint at or before it.
 */
import { applyEvent, type ReplayEvent, type ReplayState } from './replay-state.ts';

const CHECKPOINT_EVERY = 256;

/** The index of the first event with ts > t (events ordered by ts). */
export function upperBound(events: readonly ReplayEvent[], t: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.ts <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ReplayIndex {
  /** checkpoints[k]: the state after the first k * CHECKPOINT_EVERY events. */
  private readonly checkpoints: ReplayState[];

  /** `initial`: the state when the range begins (reduced from what came before it). */
  constructor(
    readonly initial: ReplayState,
    readonly events: readonly ReplayEvent[],
  ) {
    this.checkpoints = [initial];
    let s = initial;
    events.forEach((e, i) => {
      s = applyEvent(s, e);
      if ((i + 1) % CHECKPOINT_EVERY === 0) this.checkpoints.push(s);
    });
  }

  /** The state at time t: every event with ts ≤ t applied. */
  at(t: number): ReplayState {
    const n = upperBound(this.events, t);
    const k = Math.floor(n / CHECKPOINT_EVERY);
    let s = this.checkpoints[k]!;
    for (let i = k * CHECKPOINT_EVERY; i < n; i++) s = applyEvent(s, this.events[i]!);
    return s.t === t ? s : { ...s, t };
  }
}
