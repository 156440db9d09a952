/**
 * Test helper (no sockets, no sleeping): one SFU → subscriber path on a FakeClock. A sender whose video
 * follows min(estimate, wanted) (as the allocator would make it) goes through the pacer and a simulated
 * bottleneck (tools/weather Impairment); the receiver records arrivals in a TwccFeedbackBuilder, and every
 * 50 ms the built RTCP goes back through a return path and is parsed by the project's RTCP parser before
 * the estimator sees it, so the real wire format is exercised end to end.
 */
import { FakeClock } from '../util/clock.ts';
import { seededRandom } from '../util/prng.ts';
import { parseRtcp } from '../rtp/rtcp-compound.ts';
import type { RtcpPacket } from '../rtp/rtcp-types.ts';
import { TwccFeedbackBuilder } from '../rtp/twcc-feedback-builder.ts';
import { Impairment, type ImpairmentPatch } from '../../tools/weather/impairment.ts';
import type { BweSignal, BweState } from './estimator.ts';
import { burstMsFor, Pacer, PACER_SEND_NOW, PRIORITY_AUDIO, PRIORITY_VIDEO, type PacerSink } from './pacer.ts';
import { TransportCcEstimator, type TransportCcOptions } from './transport-cc-estimator.ts';

export interface SimOptions {
  /** The forward (SFU → subscriber) path. */
  link: ImpairmentPatch;
  /** What the subscriber would take (the allocator's wantedBitrate). */
  wantedBps: number;
  estimator?: TransportCcOptions;
  /** Send exactly this video rate whatever the estimate (a fixed-rate source), instead of following it. */
  fixedVideoBps?: number;
  seed?: number;
  returnDelayMs?: number;
  feedbackIntervalMs?: number;
  fps?: number;
  /** 50 packets/s of 120 bytes. Default true. */
  audio?: boolean;
  /** The receiver's clock is this far from ours (feedback carries its times). */
  receiverClockOffsetMs?: number;
  /** First transport seq; the default 65 000 makes every run cross the 16-bit wrap early. */
  firstSeq?: number;
}

export interface Sample {
  t: number;
  estimate: number;
  acked: number;
  /** What the sender put on the wire over the last 500 ms (bps). */
  sent: number;
  /** What left the bottleneck over the last 500 ms (bps). */
  delivered: number;
  state: BweState;
  signal: BweSignal;
  loss: number;
  /** One-way delay of the latest delivered packet (ms): base delay + queue + jitter. */
  oneWayMs: number;
}

const SAMPLE_MS = 100;
const RATE_WINDOW_SAMPLES = 5;
const MAX_PACKET = 1200;
const HEADER_BYTES = 10; // seq (2) + send time (8)

export class BweSim {
  readonly clock = new FakeClock();
  readonly est: TransportCcEstimator;
  readonly link: Impairment;
  readonly back: Impairment;
  readonly pacer: Pacer;
  readonly builder = new TwccFeedbackBuilder();
  readonly samples: Sample[] = [];
  wantedBps: number;
  fixedVideoBps: number | undefined;
  /** Clusters the prober started. */
  clusters = 0;
  private seq = 0;
  private handle = 0;
  private videoTarget = 0;
  private sentBucket = 0;
  private deliveredBucket = 0;
  private readonly sentHist: number[] = [];
  private readonly deliveredHist: number[] = [];
  private lastOneWayMs = 0;
  private readonly offset: number;

  constructor(private readonly opts: SimOptions) {
    const rng = seededRandom(opts.seed ?? 7);
    this.wantedBps = opts.wantedBps;
    this.fixedVideoBps = opts.fixedVideoBps;
    this.offset = opts.receiverClockOffsetMs ?? 123_456.789;
    this.seq = opts.firstSeq ?? 65_000;
    this.est = new TransportCcEstimator(opts.estimator);
    this.link = new Impairment(opts.link, this.clock, rng);
    this.back = new Impairment({ delayMs: opts.returnDelayMs ?? 20 }, this.clock, rng);
    const sink: PacerSink = {
      release: (_h, size, clusterId) => this.send(size, clusterId >= 0),
      padding: (bytes) => {
        this.send(bytes, true);
        return bytes;
      },
    };
    this.pacer = new Pacer(sink, { initialEstimateBps: this.est.estimate(0) });
    this.updateTargets();
    const c = this.clock;
    c.setInterval(() => this.tick(), 1);
    c.setInterval(() => this.updateTargets(), 200);
    c.setInterval(() => this.frame(), 1000 / (opts.fps ?? 30));
    if (opts.audio ?? true) c.setInterval(() => this.offer(120, PRIORITY_AUDIO), 20);
    c.setInterval(() => this.feedback(), opts.feedbackIntervalMs ?? 50);
    // RTT as receiver reports would measure it: forward one-way delay (queue included) plus the way back.
    c.setInterval(() => this.est.onRtt(this.lastOneWayMs + (opts.returnDelayMs ?? 20)), 1000);
    c.setInterval(() => this.sample(), SAMPLE_MS);
  }

  /** Runs the simulation for `ms` of fake time. */
  run(ms: number): void {
    this.clock.advance(ms);
  }

  setLink(patch: ImpairmentPatch): void {
    this.link.setConfig({ ...this.opts.link, ...patch });
  }

  /** Samples with from ≤ t < to. */
  between(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.t >= from && s.t < to);
  }

  private tick(): void {
    const now = this.clock.now();
    const cluster = this.est.planProbe(now, this.wantedBps);
    if (cluster) {
      this.clusters++;
      this.pacer.startCluster(cluster, now);
    }
    this.pacer.process(now);
  }

  private updateTargets(): void {
    const now = this.clock.now();
    const e = this.est.estimate(now);
    this.pacer.setEstimate(e);
    this.pacer.setBurstMs(burstMsFor(this.est.queueMs, this.est.lossFraction));
    const audio = (this.opts.audio ?? true) ? 50 * 120 * 8 : 0;
    this.videoTarget = this.fixedVideoBps ?? Math.max(0, Math.min(e, this.wantedBps) - audio);
  }

  private frame(): void {
    const bytes = Math.round(this.videoTarget / (this.opts.fps ?? 30) / 8);
    if (bytes < HEADER_BYTES) return;
    const n = Math.ceil(bytes / MAX_PACKET);
    const each = Math.max(HEADER_BYTES, Math.round(bytes / n));
    for (let i = 0; i < n; i++) this.offer(each, PRIORITY_VIDEO);
  }

  private offer(size: number, priority: 0 | 2): void {
    const v = this.pacer.enqueue(this.handle++, size, priority, this.clock.now());
    if (v === PACER_SEND_NOW) this.send(size, this.pacer.activeClusterId >= 0);
  }

  private send(size: number, isProbe: boolean): void {
    const now = this.clock.now();
    const seq = this.seq++ & 0xffff;
    this.est.onPacketSent(seq, size, now, isProbe);
    this.sentBucket += size;
    const buf = Buffer.alloc(Math.max(size, HEADER_BYTES));
    buf.writeUInt16BE(seq, 0);
    buf.writeDoubleBE(now, 2);
    this.link.push(buf, (b) => {
      const at = this.clock.now();
      this.lastOneWayMs = at - b.readDoubleBE(2);
      this.deliveredBucket += b.length;
      this.builder.record(b.readUInt16BE(0), at + this.offset);
    });
  }

  private feedback(): void {
    for (const rtcp of this.builder.build(0x1111, 0x2222)) {
      this.back.push(rtcp, (b) => {
        const list: RtcpPacket[] = [];
        if (parseRtcp(b, b.length, list) !== null) throw new Error('feedback did not parse');
        for (const p of list) if (p.type === 'twcc') this.est.onTransportFeedback(p, this.clock.now());
      });
    }
  }

  private sample(): void {
    this.sentHist.push(this.sentBucket);
    this.deliveredHist.push(this.deliveredBucket);
    this.sentBucket = 0;
    this.deliveredBucket = 0;
    const rate = (h: number[]) => {
      const k = Math.min(h.length, RATE_WINDOW_SAMPLES);
      let s = 0;
      for (let i = h.length - k; i < h.length; i++) s += h[i];
      return (s * 8 * 1000) / (k * SAMPLE_MS);
    };
    const st = this.est.stats();
    this.samples.push({
      t: this.clock.now(),
      estimate: this.est.estimate(this.clock.now()),
      acked: st.ackedBps,
      sent: rate(this.sentHist),
      delivered: rate(this.deliveredHist),
      state: st.state,
      signal: st.signal,
      loss: st.lossFraction,
      oneWayMs: this.lastOneWayMs,
    });
  }
}

/** Seconds from `from` until the estimate entered [lo, hi] for good (up to `to`); Infinity if it never settled. */
export function settleTime(samples: Sample[], from: number, to: number, lo: number, hi: number): number {
  let settled = Infinity;
  for (const s of samples) {
    if (s.t < from || s.t >= to) continue;
    const inBand = s.estimate >= lo && s.estimate <= hi;
    if (!inBand) settled = Infinity;
    else if (settled === Infinity) settled = s.t;
  }
  return settled === Infinity ? Infinity : (settled - from) / 1000;
}

/** Seconds from `from` until `pred` first holds; Infinity if never (before `to`). */
export function firstTime(samples: Sample[], from: number, to: number, pred: (s: Sample) => boolean): number {
  for (const s of samples) if (s.t >= from && s.t < to && pred(s)) return (s.t - from) / 1000;
  return Infinity;
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}
