/** Per received video: frames shown, the longest gap between two of them (what a person sees as a freeze), its size. */
export interface FrameWatch {
  publisherId: string;
  frames: number;
  lastMs: number;
  maxGapMs: number;
  /** Height of the last frame shown (requestVideoFrameCallback metadata), 0 before the first. */
  height: number;
  /** Gaps of at least FREEZE_MS, newest last (page clock: performance.now()), at most MAX_EVENTS. */
  freezes: Array<{ atMs: number; gapMs: number }>;
}

/** A gap this long counts as a freeze event (the load generator uses the same threshold). */
const FREEZE_MS = 200;
const MAX_EVENTS = 500;

export class FrameWatches {
  private readonly watches = new Map<HTMLVideoElement, FrameWatch>();

  /** Start counting the frames `el` shows (again, if it shows a new track). */
  watch(el: HTMLVideoElement, publisherId: string): void {
    this.unwatch(el);
    const w: FrameWatch = { publisherId, frames: 0, lastMs: 0, maxGapMs: 0, height: 0, freezes: [] };
    this.watches.set(el, w);
    const onFrame = (now: number, meta: VideoFrameCallbackMetadata) => {
      if (this.watches.get(el) !== w) return;
      if (w.frames > 0) {
        const gap = now - w.lastMs;
        w.maxGapMs = Math.max(w.maxGapMs, gap);
        if (gap >= FREEZE_MS) {
          w.freezes.push({ atMs: w.lastMs, gapMs: gap });
          if (w.freezes.length > MAX_EVENTS) w.freezes.shift();
        }
      }
      w.frames++;
      w.lastMs = now;
      w.height = meta.height;
      el.requestVideoFrameCallback(onFrame);
    };
    el.requestVideoFrameCallback(onFrame);
  }

  /** The video's track ended (the person went out of range): it no longer counts. */
  unwatch(el: HTMLVideoElement): void {
    this.watches.delete(el);
  }

  /**
   * Per live received video: frames, the longest gap so far (a video with no frame for a while counts that
   * wait), the height shown, and freeze events; `reset` starts a new window.
   */
  report(reset = false): Array<{ publisherId: string; frames: number; maxGapMs: number; height: number; freezes: Array<{ atMs: number; gapMs: number }> }> {
    const now = performance.now();
    const r = [...this.watches.values()].map((w) => ({
      publisherId: w.publisherId,
      frames: w.frames,
      maxGapMs: Math.max(w.maxGapMs, w.frames > 0 ? now - w.lastMs : 0),
      height: w.height,
      freezes: w.freezes.slice(),
    }));
    if (reset) for (const w of this.watches.values()) (w.maxGapMs = 0), (w.freezes = []);
    return r;
  }
}
