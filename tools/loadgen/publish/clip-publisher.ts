/**
 * The sending half of a load-generator participant: plays a pre-encoded clip into a connected NodePeer,
 * packetized like a browser's (RFC 7741 for VP8), with sender reports every second (RFC 3550 §6.4.1) so
 * receivers can map timestamps to wall clock, and a key frame whenever the SFU asks (PLI or FIR, RFC 4585
 * §6.3.1, RFC 5104 §4.3.1). Every payload's send time goes to a SendLog for end-to-end delay.
 */
import type { NodePeer } from '../../client/node-peer.ts';
import type { Clock, TimerHandle } from '../../../src/util/clock.ts';
import { ClipPlayer, type MediaClip, type VideoFrame } from '../media/clip.ts';
import { Vp8Packetizer } from '../media/vp8-packetizer.ts';
import { SendLog } from '../send-log.ts';

export interface ClipPublisherOptions {
  /** The video streams to send: NodePeer stream key and the clip layer it carries. */
  video: readonly { key: string; layer: number }[];
  /** NodePeer stream key of the audio, or null for none. */
  audioKey: string | null;
  /** Clip frame to start at (spread publishers so their key frames do not coincide). */
  startFrame?: number;
  /** Random source for initial timestamps, PictureIDs and talk spurts. */
  random?: () => number;
  /**
   * Conversation model: the share of time this person talks (1 = always). Between talk spurts Opus runs
   * discontinuous transmission (RFC 7587 §3.1.3): one comfort-noise packet every 400 ms instead of 50/s,
   * as browsers send when nobody speaks, with the audio level (RFC 6464) at silence.
   */
  talkShare?: number;
  /**
   * RTP timestamps follow the send time (the clip's first timestamp, then its clock rate × time since), as a
   * capture clock would, instead of the clip's nominal frame times. With the sender reports this maps every
   * packet to the moment it left, so a receiver in another process can measure delay without a send log.
   */
  sendTimeTimestamps?: boolean;
}

/** Mean talk spurt; silences follow from the talk share. */
const MEAN_SPURT_MS = 3000;
const DTX_INTERVAL_MS = 400;

const SR_INTERVAL_MS = 1000;

export class ClipPublisher {
  readonly sendLog = new SendLog();
  /** Video payload bytes sent (all layers), for delivered-rate comparisons. */
  videoPayloadBytes = 0;
  readonly player: ClipPlayer;
  keyframeRequests = 0;
  private readonly packetizers: Vp8Packetizer[];
  private readonly active: boolean[];
  private readonly last = new Map<string, { ts: number; at: number; clockRate: number }>();
  /** With sendTimeTimestamps: each stream's first timestamp and when it was sent. */
  private readonly origin = new Map<string, { ts: number; at: number }>();
  private srTimer: TimerHandle | null = null;
  private readonly rnd: () => number;
  private readonly talkShare: number;
  private talking: boolean;
  private nextTurnAt = 0;
  private lastDtxAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly peer: NodePeer,
    clip: MediaClip,
    private readonly clock: Clock,
    private readonly opts: ClipPublisherOptions,
  ) {
    const rnd = opts.random ?? Math.random;
    this.rnd = rnd;
    const byLayer = new Map<number, number>();
    opts.video.forEach((v, i) => {
      if (!Number.isInteger(v.layer) || v.layer < 0 || v.layer >= clip.layers.length) throw new Error(`video layer ${v.layer} but the clip has ${clip.layers.length}`);
      byLayer.set(v.layer, i);
    });
    this.packetizers = opts.video.map(() => new Vp8Packetizer(Math.floor(rnd() * 0x8000)));
    this.active = opts.video.map(() => true);
    this.talkShare = opts.talkShare ?? 1;
    this.talking = rnd() < this.talkShare;
    this.player = new ClipPlayer(
      clip,
      clock,
      {
        videoFrame: (layer, frame, ts) => {
          const k = byLayer.get(layer);
          if (k !== undefined) this.sendFrame(k, frame, ts);
        },
        audioPacket: (packet, ts) => {
          if (opts.audioKey) this.sendAudio(opts.audioKey, packet, ts);
        },
      },
      { startFrame: opts.startFrame ?? 0, videoTimestamp: Math.floor(rnd() * 2 ** 32), audioTimestamp: Math.floor(rnd() * 2 ** 32) },
    );
    const videoSsrcs = new Set(opts.video.map((v) => peer.stream(v.key).ssrc));
    const previous = peer.onRtcp;
    peer.onRtcp = (p) => {
      previous(p);
      if ((p.type === 'pli' && videoSsrcs.has(p.mediaSsrc)) || p.type === 'fir') {
        this.keyframeRequests++;
        this.player.requestKeyframe();
      }
    };
  }

  /**
   * Dynacast (server `videoLayers`): stop or resume one video stream, by NodePeer key. A resumed stream
   * starts at a keyframe (the clip's keyframes are aligned, so every layer jumps to it), as a browser's
   * re-enabled encoder does.
   */
  setActive(key: string, active: boolean): void {
    const k = this.opts.video.findIndex((v) => v.key === key);
    if (k < 0 || this.active[k] === active) return;
    this.active[k] = active;
    if (active) this.player.requestKeyframe();
  }

  /** Whether a video stream is being sent (not stopped by dynacast). */
  isActive(key: string): boolean {
    const k = this.opts.video.findIndex((v) => v.key === key);
    return k >= 0 && this.active[k];
  }

  start(): void {
    this.player.start();
    this.srTimer = this.clock.setInterval(() => this.sendReports(), SR_INTERVAL_MS);
  }

  stop(): void {
    this.player.stop();
    if (this.srTimer) this.clock.clear(this.srTimer);
    this.srTimer = null;
  }

  private sendFrame(k: number, frame: VideoFrame, ts: number): void {
    if (!this.active[k]) return;
    const payloads = this.packetizers[k]!.packetize(frame.data, frame.tid, frame.layerSync);
    // One timestamp for all packets of the frame (RFC 7741 §4.1), taken once.
    if (this.opts.sendTimeTimestamps) ts = this.sendTimeTs(this.opts.video[k]!.key, ts, 90000);
    for (let i = 0; i < payloads.length; i++) {
      if (this.peer.state === 'connected') this.videoPayloadBytes += payloads[i]!.length;
      this.send(this.opts.video[k]!.key, payloads[i]!, ts, i === payloads.length - 1, 90000);
    }
  }

  private sendAudio(key: string, packet: Buffer, ts: number): void {
    const now = this.clock.now();
    if (this.talkShare < 1 && now >= this.nextTurnAt) {
      // Exponential spurts and silences whose means give the talk share.
      this.talking = !this.talking;
      const silenceMs = (MEAN_SPURT_MS * (1 - this.talkShare)) / Math.max(this.talkShare, 0.01);
      this.nextTurnAt = now - Math.log(1 - this.rnd()) * (this.talking ? MEAN_SPURT_MS : silenceMs);
    }
    if (this.opts.sendTimeTimestamps) ts = this.sendTimeTs(key, ts, 48000);
    if (this.talking) return this.send(key, packet, ts, false, 48000, 25);
    if (now - this.lastDtxAt < DTX_INTERVAL_MS) return;
    this.lastDtxAt = now;
    // A TOC byte alone: a comfort-noise/DTX frame (RFC 6716 §3.2.1, frame length 0).
    this.send(key, packet.subarray(0, 1), ts, false, 48000, 127);
  }

  private send(key: string, payload: Buffer, ts: number, marker: boolean, clockRate: number, audioLevel?: number): void {
    if (this.peer.state !== 'connected') return;
    const now = this.clock.now();
    this.peer.sendRtp(key, payload, { timestamp: ts, marker, ...(audioLevel !== undefined ? { audioLevel } : {}) });
    this.sendLog.record(payload, 0, payload.length, now);
    this.last.set(key, { ts, at: now, clockRate });
  }

  private sendTimeTs(key: string, ts: number, clockRate: number): number {
    const now = this.clock.now();
    let o = this.origin.get(key);
    if (!o) this.origin.set(key, (o = { ts, at: now }));
    return (o.ts + Math.round(((now - o.at) * clockRate) / 1000)) >>> 0;
  }

  /** SR with the RTP time of "now", extrapolated from the last packet (RFC 3550 §6.4.1). */
  private sendReports(): void {
    if (this.peer.state !== 'connected') return;
    const now = this.clock.now();
    const wall = this.clock.wallNow();
    for (const [key, l] of this.last) {
      const rtp = (l.ts + Math.round(((now - l.at) * l.clockRate) / 1000)) >>> 0;
      this.peer.sendSenderReport(key, { wallMs: wall, rtpTimestamp: rtp });
    }
  }
}
