/** Per received video: frames shown and the longest gap between two of them (what a person sees as a freeze). */
export interface FrameWatch {
  publisherId: string;
  frames: number;
  lastMs: number;
  maxGapMs: number;
}

export class FrameWatches {
  private readonly watches = new Map<HTMLVideoElement, FrameWatch>();

  /** Start counting the frames `el` shows (again, if it shows a new track). */
  watch(el: HTMLVideoElement, publisherId: string): void {
    this.unwatch(el);
    const w: FrameWatch = { publisherId, frames: 0, lastMs: 0, maxGapMs: 0 };
    this.watches.set(el, w);
    const onFrame = (now: number) => {
      if (this.watches.get(el) !== w) return;
      if (w.frames > 0) w.maxGapMs = Math.max(w.maxGapMs, now - w.lastMs);
      w.frames++;
      w.lastMs = now;
      el.requestVideoFrameCallback(onFrame);
    };
    el.requestVideoFrameCallback(onFrame);
  }

  /** The video's track ended (the person went out of range): it no longer counts. */
  unwatch(el: HTMLVideoElement): void {
    this.watches.delete(el);
  }

  /** Per live received video: frames and the longest gap so far (a video with no frame for a while counts that wait); `reset` starts a new window. */
  report(reset = false): Array<{ publisherId: string; frames: number; maxGapMs: number }> {
    const now = performance.now();
    const r = [...this.watches.values()].map((w) => ({ publisherId: w.publisherId, frames: w.frames, maxGapMs: Math.max(w.maxGapMs, w.frames > 0 ? now - w.lastMs : 0) }));
    if (reset) for (const w of this.watches.values()) w.maxGapMs = 0;
    return r;
  }
}
