/**
 * A pre-encoded media clip (VP8 layers + Opus) and a real-time player that loops it for one publisher.
 */
import type { Clock, TimerHandle } from '../../../src/util/clock.ts';
import { ensureClipFiles, hasTemporalLayers, layerSpecs, TEMPORAL_PATTERN, TEMPORAL_SYNC, type ClipFileOptions } from './fixtures.ts';
import { readIvfFile, type IvfFile } from './ivf.ts';
import { opusPacketSamples, readOggOpusFile } from './ogg-opus.ts';
import { isVp8Keyframe } from './vp8-packetizer.ts';

export interface VideoFrame {
  data: Buffer;
  keyframe: boolean;
  /** index in the clip */
  index: number;
  /** VP8 temporal layer (RFC 7741 TID), -1 for a clip without temporal layers. */
  tid: number;
  /** The frame references only layer 0 (RFC 7741 Y bit). */
  layerSync: boolean;
}

export interface VideoLayer {
  width: number;
  height: number;
  targetKbps: number;
  frames: VideoFrame[];
}

export interface MediaClip {
  fps: number;
  frameCount: number;
  durationMs: number;
  /** Low to high; all have frameCount frames with keyframes at the same indices (frame 0 is one). */
  layers: VideoLayer[];
  /** 20 ms packets. */
  opus: Buffer[];
}

const OPUS_PACKET_SAMPLES = 960; // 20 ms at 48 kHz
const AUDIO_PACKET_MS = 20;

/** Ensures the files exist (encoding them if needed) and loads them. Load once and share: players never mutate a clip. */
export async function loadClip(opts: ClipFileOptions): Promise<MediaClip> {
  const files = await ensureClipFiles(opts);
  const specs = layerSpecs(opts.layers);
  const ivfs = await Promise.all(files.video.map((p) => readIvfFile(p)));
  const opus = await readOggOpusFile(files.audio);
  return buildClip(
    ivfs.map((ivf, i) => ({ name: files.video[i], ivf, targetKbps: specs[i].kbps, temporal: hasTemporalLayers(opts.layers) })),
    opus.packets,
    files.audio,
  );
}

/** Assembles and validates a clip from parsed files (exported for tests with the small committed fixture). */
export function buildClip(layers: { name: string; ivf: IvfFile; targetKbps: number; temporal?: boolean }[], opus: Buffer[], audioName = 'audio'): MediaClip {
  if (layers.length === 0) throw new Error('a clip needs at least one video layer');
  const first = layers[0];
  const frameCount = first.ivf.frames.length;
  if (frameCount === 0) throw new Error(`${first.name}: no frames`);
  const fps = frameRate(first.name, first.ivf);
  const out: VideoLayer[] = [];
  for (const { name, ivf, targetKbps, temporal } of layers) {
    if (ivf.frames.length !== frameCount) throw new Error(`${name}: ${ivf.frames.length} frames, but ${first.name} has ${frameCount}`);
    if (Math.abs(frameRate(name, ivf) - fps) > 1e-9) throw new Error(`${name}: frame rate differs from ${first.name}`);
    const n = TEMPORAL_PATTERN.length;
    // The encoder's temporal pattern runs on frame count, so a frame's layer follows from its index.
    const frames = ivf.frames.map((f, index) => ({
      data: f.data,
      keyframe: isVp8Keyframe(f.data),
      index,
      tid: temporal ? TEMPORAL_PATTERN[index % n] : -1,
      layerSync: temporal ? TEMPORAL_SYNC[index % n] : false,
    }));
    if (temporal) {
      // (A loop back to frame 0 is always fine: it is a keyframe.)
      const k = frames.find((f) => f.keyframe && f.tid !== 0);
      if (k) throw new Error(`${name}: keyframe at frame ${k.index} is not on temporal layer 0`);
    }
    if (!frames[0].keyframe) throw new Error(`${name}: frame 0 is not a keyframe`);
    out.push({ width: ivf.width, height: ivf.height, targetKbps, frames });
  }
  // A switch between layers (and a PLI answer on all of them) relies on keyframes at the same indices.
  for (let i = 0; i < frameCount; i++) {
    const k = out[0].frames[i].keyframe;
    for (let l = 1; l < out.length; l++) {
      if (out[l].frames[i].keyframe !== k) throw new Error(`${layers[l].name}: keyframes not aligned with ${first.name} at frame ${i}`);
    }
  }
  if (opus.length === 0) throw new Error(`${audioName}: no Opus packets`);
  opus.forEach((p, i) => {
    const samples = opusPacketSamples(p);
    if (samples !== OPUS_PACKET_SAMPLES) throw new Error(`${audioName}: packet ${i} lasts ${samples / 48} ms, expected 20 ms`);
  });
  return { fps, frameCount, durationMs: (frameCount * 1000) / fps, layers: out, opus };
}

/** Frames per second from the IVF timebase and the pts step (ffmpeg writes timebase 1/fps, pts 0,1,2…). */
function frameRate(name: string, ivf: IvfFile): number {
  const f = ivf.frames;
  const step = f.length > 1 ? f[1].pts - f[0].pts : 1;
  for (let i = 1; i < f.length; i++) {
    if (f[i].pts - f[i - 1].pts !== step) throw new Error(`${name}: variable frame rate at frame ${i}; the player needs a constant one`);
  }
  if (step <= 0) throw new Error(`${name}: non-increasing timestamps`);
  return ivf.timebaseDen / (ivf.timebaseNum * step);
}

export interface ClipSink {
  /** Called for every layer, low to high, at each frame time. */
  videoFrame(layerIndex: number, frame: VideoFrame, rtpTimestamp90k: number): void;
  audioPacket(packet: Buffer, rtpTimestamp48k: number): void;
}

export interface ClipPlayerOptions {
  /**
   * Clip index of the first video frame (use a random one so many publishers don't send keyframes together).
   * If it is not a keyframe, receivers get delta frames until the next keyframe or a requestKeyframe().
   */
  startFrame?: number;
  /** Initial RTP timestamps; RFC 3550 §5.1 wants them random, the caller picks. Default 0. */
  videoTimestamp?: number;
  audioTimestamp?: number;
  /** Most frames (or audio packets) sent at once when the clock fires late. Default 5. */
  maxBurst?: number;
}

export interface ClipPlayerStats {
  videoFrames: number;
  /** Frame times dropped because the clock fired too late to catch up. */
  videoFramesSkipped: number;
  audioPackets: number;
  audioPacketsSkipped: number;
  /** requestKeyframe() calls that moved playback forward. */
  keyframeJumps: number;
}

/** Timers may fire slightly early against now() (libuv's cached loop time); treat that as on time. */
const EARLY_TOLERANCE_MS = 1;

/**
 * Plays a clip in real time, looping forever. Deadlines are computed from the start time (slot n is due at
 * start + n·interval), so late timers never accumulate drift. RTP timestamps follow the slots, so they keep
 * increasing across loops and jump when slots are skipped, as a real sender's do when its encoder drops
 * frames. The clip position only advances for frames actually sent, so the VP8 reference chain stays intact.
 */
export class ClipPlayer {
  readonly stats: ClipPlayerStats = { videoFrames: 0, videoFramesSkipped: 0, audioPackets: 0, audioPacketsSkipped: 0, keyframeJumps: 0 };
  private readonly maxBurst: number;
  private readonly frameMs: number;
  private readonly ticksPerFrame: number;
  private running = false;
  private started = false;
  private t0 = 0;
  private videoSlot = 0;
  private audioSlot = 0;
  private videoPos: number;
  private audioPos = 0;
  private keyframeWanted = false;
  private videoTimer: TimerHandle | null = null;
  private audioTimer: TimerHandle | null = null;
  private readonly videoTs0: number;
  private readonly audioTs0: number;

  constructor(
    private readonly clip: MediaClip,
    private readonly clock: Clock,
    private readonly sink: ClipSink,
    opts: ClipPlayerOptions = {},
  ) {
    const start = opts.startFrame ?? 0;
    if (!Number.isInteger(start) || start < 0) throw new Error(`startFrame must be a non-negative integer, got ${start}`);
    if (clip.frameCount === 0 || clip.opus.length === 0) throw new Error('cannot play an empty clip');
    this.videoPos = start % clip.frameCount;
    this.maxBurst = opts.maxBurst ?? 5;
    if (!Number.isInteger(this.maxBurst) || this.maxBurst < 1) throw new Error(`maxBurst must be a positive integer, got ${opts.maxBurst}`);
    this.frameMs = 1000 / clip.fps;
    this.ticksPerFrame = 90000 / clip.fps;
    this.videoTs0 = opts.videoTimestamp ?? 0;
    this.audioTs0 = opts.audioTimestamp ?? 0;
  }

  /** Sends the first frame and audio packet now, then keeps to the schedule. A player runs once. */
  start(): void {
    if (this.started) throw new Error('ClipPlayer already started; create a new one to play again');
    this.started = true;
    this.running = true;
    this.t0 = this.clock.now();
    this.videoTick();
    this.audioTick();
  }

  stop(): void {
    this.running = false;
    if (this.videoTimer) this.clock.clear(this.videoTimer);
    if (this.audioTimer) this.clock.clear(this.audioTimer);
    this.videoTimer = this.audioTimer = null;
  }

  /**
   * Answers a PLI/FIR the only way pre-encoded media can: the next frame sent (on every layer) is the clip's
   * next keyframe, skipping the frames before it (up to one GOP, 2 s with the default clip). If the next
   * frame is already a keyframe nothing is skipped.
   */
  requestKeyframe(): void {
    this.keyframeWanted = true;
  }

  /** Clip index of the next video frame to send. */
  get position(): number {
    return this.videoPos;
  }

  private videoTick(): void {
    this.videoTimer = null;
    if (!this.running) return;
    const now = this.clock.now();
    let due = this.slotsDue(now, this.videoSlot, this.frameMs);
    if (due > this.maxBurst) {
      // Too late to catch up: drop the oldest frame times, send the newest maxBurst.
      this.stats.videoFramesSkipped += due - this.maxBurst;
      this.videoSlot += due - this.maxBurst;
      due = this.maxBurst;
    }
    // Schedule before sending so a throwing sink cannot stop playback.
    this.videoTimer = this.clock.setTimeout(() => this.videoTick(), this.delayTo(this.videoSlot + due, this.frameMs, now));
    for (let i = 0; i < due && this.running; i++) this.sendVideo();
  }

  private audioTick(): void {
    this.audioTimer = null;
    if (!this.running) return;
    const now = this.clock.now();
    let due = this.slotsDue(now, this.audioSlot, AUDIO_PACKET_MS);
    if (due > this.maxBurst) {
      this.stats.audioPacketsSkipped += due - this.maxBurst;
      this.audioSlot += due - this.maxBurst;
      due = this.maxBurst;
    }
    this.audioTimer = this.clock.setTimeout(() => this.audioTick(), this.delayTo(this.audioSlot + due, AUDIO_PACKET_MS, now));
    for (let i = 0; i < due && this.running; i++) this.sendAudio();
  }

  /** Slots from `next` whose deadline (t0 + slot·interval) has passed. */
  private slotsDue(now: number, next: number, interval: number): number {
    const last = Math.floor((now + EARLY_TOLERANCE_MS - this.t0) / interval);
    return Math.max(0, last - next + 1);
  }

  private delayTo(slot: number, interval: number, now: number): number {
    return Math.max(0, this.t0 + slot * interval - now);
  }

  private sendVideo(): void {
    const clip = this.clip;
    if (this.keyframeWanted) {
      this.keyframeWanted = false;
      const k = nextKeyframe(clip, this.videoPos);
      if (k !== this.videoPos) this.stats.keyframeJumps++;
      this.videoPos = k;
    }
    const ts = (this.videoTs0 + Math.round(this.videoSlot * this.ticksPerFrame)) >>> 0;
    const pos = this.videoPos;
    this.videoSlot++;
    this.videoPos = pos + 1 === clip.frameCount ? 0 : pos + 1;
    this.stats.videoFrames++;
    for (let l = 0; l < clip.layers.length; l++) this.sink.videoFrame(l, clip.layers[l].frames[pos], ts);
  }

  private sendAudio(): void {
    const ts = (this.audioTs0 + this.audioSlot * OPUS_PACKET_SAMPLES) >>> 0;
    const packet = this.clip.opus[this.audioPos];
    this.audioSlot++;
    this.audioPos = this.audioPos + 1 === this.clip.opus.length ? 0 : this.audioPos + 1;
    this.stats.audioPackets++;
    this.sink.audioPacket(packet, ts);
  }
}

/** First keyframe index at or after pos, wrapping to the loop start (frame 0 is always a keyframe). */
function nextKeyframe(clip: MediaClip, pos: number): number {
  const frames = clip.layers[0].frames;
  for (let i = pos; i < frames.length; i++) if (frames[i].keyframe) return i;
  return 0;
}
