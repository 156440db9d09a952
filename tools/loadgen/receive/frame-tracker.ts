/**
 * What a viewer would see of one video stream, without decoding: frames are assembled from RTP packets
 * (same timestamp; the first has the VP8 start bit, the last the marker, RFC 7741 §4.1–4.2) and "decoded"
 * when complete and either a key frame or the direct successor of the last decoded frame (every VP8 frame
 * references the previous one when there are no temporal layers). A gap between decoded frames longer
 * than `freezeMs` is a freeze, as a person would notice it.
 */
import { Unwrapper } from '../../../src/media/seq-unwrapper.ts';

interface PendingFrame {
  firstExt: number;
  lastExt: number;
  /** Distinct extended seqs received. */
  seqs: Set<number>;
  keyframe: boolean;
  firstArrivalMs: number;
}

export interface FrameStats {
  framesDecoded: number;
  keyframesDecoded: number;
  /** Frames given up on: older than a key frame that was decoded past them. */
  framesSkipped: number;
  freezes: number;
  /** Gaps that were freezes only because the generator's own loop stalled (not counted in `freezes`). */
  generatorFreezes: number;
  /** Time spent frozen beyond the threshold, summed. */
  freezeMs: number;
  maxGapMs: number;
  firstFrameMs: number | null;
  lastFrameMs: number | null;
  /** When each freeze ended (clock ms), the first 100. */
  freezeEnds: number[];
}

const MAX_PENDING = 256;

export class FrameTracker {
  readonly stats: FrameStats = { framesDecoded: 0, keyframesDecoded: 0, framesSkipped: 0, freezes: 0, generatorFreezes: 0, freezeMs: 0, maxGapMs: 0, firstFrameMs: null, lastFrameMs: null, freezeEnds: [] };
  private readonly unwrap = new Unwrapper(16);
  private readonly pending = new Map<number, PendingFrame>();
  private lastDecodedExt = Number.NEGATIVE_INFINITY;
  private paused = false;
  /** Called for each decoded frame with its time and whether it was a key frame. */
  onFrame: (nowMs: number, keyframe: boolean) => void = () => {};

  /** `blockedMs(from, to)`: how long the measuring process itself was stalled in an interval (StallMonitor). */
  constructor(
    private readonly freezeMs = 200,
    private readonly blockedMs: (fromMs: number, toMs: number) => number = () => 0,
  ) {}

  /** One packet (original or repaired) of the stream. `frameStart`: S=1 and PID=0; `keyframe` only matters on it. */
  onPacket(seq: number, timestamp: number, marker: boolean, frameStart: boolean, keyframe: boolean, nowMs: number): void {
    const ext = this.unwrap.unwrap(seq);
    if (ext <= this.lastDecodedExt) return; // late duplicate of something already shown
    let f = this.pending.get(timestamp);
    if (!f) {
      if (this.pending.size >= MAX_PENDING) this.evictOldest();
      f = { firstExt: -1, lastExt: -1, seqs: new Set(), keyframe: false, firstArrivalMs: nowMs };
      this.pending.set(timestamp, f);
    }
    f.seqs.add(ext);
    if (frameStart) {
      f.firstExt = ext;
      f.keyframe = keyframe;
    }
    if (marker) f.lastExt = ext;
    this.decodeReady(nowMs);
  }

  /**
   * True when frames arrive but none can be decoded because the chain is broken: the oldest undecodable
   * frame has waited `afterMs`. The receiver then asks for a key frame (RFC 4585 §6.3.1 PLI).
   */
  stalled(nowMs: number, afterMs = 300): boolean {
    for (const f of this.pending.values()) if (nowMs - f.firstArrivalMs >= afterMs) return true;
    return false;
  }

  /** Counters from zero for a new measured window; the decoder chain and the last frame time stay. */
  resetStats(): void {
    const last = this.stats.lastFrameMs;
    Object.assign(this.stats, { framesDecoded: 0, keyframesDecoded: 0, framesSkipped: 0, freezes: 0, generatorFreezes: 0, freezeMs: 0, maxGapMs: 0, firstFrameMs: null, lastFrameMs: last, freezeEnds: [] });
  }

  /**
   * The stream stopped on purpose (the link ended): no freeze accrues while it is off, and the first frame
   * after `resume` starts afresh.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.stats.lastFrameMs = null;
  }

  /** The stats as of `nowMs`, where a freeze still going on counts (the tracker itself is unchanged). */
  snapshot(nowMs: number): FrameStats {
    const s = { ...this.stats, freezeEnds: [...this.stats.freezeEnds] };
    if (s.lastFrameMs !== null && !this.paused) gapInto(s, nowMs - s.lastFrameMs, this.freezeMs, nowMs, this.blockedMs(s.lastFrameMs, nowMs));
    return s;
  }

  private decodeReady(nowMs: number): void {
    for (;;) {
      let next: PendingFrame | null = null;
      let nextTs = 0;
      for (const [ts, f] of this.pending) {
        if (f.firstExt < 0 || f.lastExt < f.firstExt || f.seqs.size !== f.lastExt - f.firstExt + 1) continue;
        if (!f.keyframe && f.firstExt !== this.lastDecodedExt + 1) continue;
        if (!next || f.firstExt < next.firstExt) (next = f), (nextTs = ts);
      }
      if (!next) return;
      this.pending.delete(nextTs);
      this.lastDecodedExt = next.lastExt;
      for (const [ts, f] of this.pending) {
        // Anything wholly before the decoded frame can never be shown now.
        const end = f.lastExt >= 0 ? f.lastExt : Math.max(...f.seqs);
        if (end <= next.lastExt) {
          this.pending.delete(ts);
          this.stats.framesSkipped++;
        }
      }
      const s = this.stats;
      if (s.lastFrameMs !== null) this.gap(nowMs - s.lastFrameMs, nowMs);
      if (s.firstFrameMs === null) s.firstFrameMs = nowMs;
      s.lastFrameMs = nowMs;
      s.framesDecoded++;
      if (next.keyframe) s.keyframesDecoded++;
      this.onFrame(nowMs, next.keyframe);
    }
  }

  private gap(ms: number, nowMs: number): void {
    gapInto(this.stats, ms, this.freezeMs, nowMs, ms > this.freezeMs ? this.blockedMs(nowMs - ms, nowMs) : 0);
  }

  private evictOldest(): void {
    let oldestTs = 0;
    let oldest: PendingFrame | null = null;
    for (const [ts, f] of this.pending) if (!oldest || f.firstArrivalMs < oldest.firstArrivalMs) (oldest = f), (oldestTs = ts);
    this.pending.delete(oldestTs);
    this.stats.framesSkipped++;
  }
}

function gapInto(s: FrameStats, ms: number, freezeMs: number, nowMs: number, blockedMs: number): void {
  if (ms > s.maxGapMs) s.maxGapMs = ms;
  if (ms > freezeMs && ms - blockedMs <= freezeMs) {
    s.generatorFreezes++;
    return;
  }
  if (ms > freezeMs) {
    s.freezes++;
    s.freezeMs += ms - freezeMs;
    if (s.freezeEnds.length < 100) s.freezeEnds.push(nowMs);
  }
}
