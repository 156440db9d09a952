/** A load run's JSON report: what people received, summed and as distributions, with the CPU it took. */
import { cpus } from 'node:os';
import { Histogram } from './receive/histogram.ts';
import type { InboundStreamReport } from './receive/inbound-stream.ts';
import { joinToFirstFrameMs, type LoadPerson } from './person.ts';

export interface Quantiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadReport {
  scenario: string;
  target: string;
  startedAt: string;
  durationS: number;
  machine: { cpus: number; model: string; node: string };
  people: number;
  publishers: number;
  streams: { audio: number; video: number };
  video: {
    /** Received bitrate per video stream, kbps (mean). */
    kbpsPerStream: number;
    framesDecoded: number;
    /** Decoded frames per second per stream (mean). */
    fpsPerStream: number;
    freezes: number;
    /** Gaps over the freeze threshold only because the generator itself stalled (not in `freezes`). */
    generatorFreezes: number;
    freezeMs: number;
    maxGapMs: number;
    /** Packets lost for good after retransmission / expected. */
    lossAfterRtx: number;
    nacksSent: number;
    rtxPackets: number;
    plisSent: number;
    delayMs: Quantiles;
    /** Freezes ending in each second of the window (when do they happen: all at once means a stall). */
    freezesPerSecond: number[];
  };
  audio: { kbpsPerStream: number; packets: number; loss: number; delayMs: Quantiles };
  /** Total received by all people, kbps. */
  receivedKbps: number;
  /** RTP packets the server sent to all people in the window (originals, retransmissions and duplicates). */
  packetsReceived: number;
  joinToFirstFrameMs: Quantiles & { missing: number };
  /** CPU share (1 = one core) and RSS over the measured window. */
  server: { pid: number | null; cpu: number; rssMb: number } | null;
  loadgen: { cpu: number; rssMb: number };
  errors: string[];
  /** Per person: what they received in the window. */
  perPerson: { name: string; publishing: boolean; videoStreams: number; audioStreams: number; frames: number; freezes: number; joinToFirstFrameMs: number | null }[];
}

export function quantiles(h: Histogram): Quantiles {
  const r = (x: number) => Math.round(x * 10) / 10;
  return { count: h.count, p50: r(h.percentile(50)), p90: r(h.percentile(90)), p99: r(h.percentile(99)), max: r(h.count ? h.max : NaN) };
}

export function buildReport(input: {
  scenario: string;
  target: string;
  startedAt: Date;
  windowMs: number;
  windowStartMs: number;
  people: readonly LoadPerson[];
  streamsByPerson: ReadonlyMap<LoadPerson, readonly InboundStreamReport[]>;
  server: LoadReport['server'];
  loadgen: LoadReport['loadgen'];
  errors: string[];
}): LoadReport {
  const sec = input.windowMs / 1000;
  const all = [...input.streamsByPerson.values()].flat();
  const video = all.filter((s) => s.kind === 'video');
  const audio = all.filter((s) => s.kind === 'audio');
  const vDelay = new Histogram();
  const aDelay = new Histogram();
  for (const s of video) vDelay.merge(s.delay);
  for (const s of audio) aDelay.merge(s.delay);
  const sum = (xs: readonly InboundStreamReport[], f: (s: InboundStreamReport) => number) => xs.reduce((a, s) => a + f(s), 0);
  const vExpected = sum(video, (s) => s.expected);
  const aExpected = sum(audio, (s) => s.expected);
  const frames = sum(video, (s) => s.frames?.framesDecoded ?? 0);
  const joins = new Histogram();
  let missing = 0;
  for (const p of input.people) {
    if (p.receivers.every((r) => r.totals().streams === 0)) continue; // received nothing by design (e.g. a lone publisher)
    const j = joinToFirstFrameMs(p);
    if (j === null) missing++;
    else joins.add(j);
  }
  const round = (x: number, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : 0);
  return {
    scenario: input.scenario,
    target: input.target,
    startedAt: input.startedAt.toISOString(),
    durationS: round(sec),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    people: input.people.length,
    publishers: input.people.filter((p) => p.publisher).length,
    streams: { audio: audio.length, video: video.length },
    video: {
      kbpsPerStream: round(video.length ? (sum(video, (s) => s.bytes) * 8) / 1000 / sec / video.length : 0),
      framesDecoded: frames,
      fpsPerStream: round(video.length ? frames / sec / video.length : 0),
      freezes: sum(video, (s) => s.frames?.freezes ?? 0),
      generatorFreezes: sum(video, (s) => s.frames?.generatorFreezes ?? 0),
      freezeMs: round(sum(video, (s) => s.frames?.freezeMs ?? 0), 0),
      maxGapMs: round(Math.max(0, ...video.map((s) => s.frames?.maxGapMs ?? 0)), 0),
      lossAfterRtx: round(vExpected ? sum(video, (s) => s.lost) / vExpected : 0, 5),
      nacksSent: sum(video, (s) => s.nacksSent),
      rtxPackets: sum(video, (s) => s.rtxPackets),
      plisSent: sum(video, (s) => s.plisSent),
      delayMs: quantiles(vDelay),
      freezesPerSecond: freezeTimeline(video, input.windowStartMs, input.windowMs),
    },
    audio: {
      kbpsPerStream: round(audio.length ? (sum(audio, (s) => s.bytes) * 8) / 1000 / sec / audio.length : 0),
      packets: sum(audio, (s) => s.packets),
      loss: round(aExpected ? sum(audio, (s) => s.lost) / aExpected : 0, 5),
      delayMs: quantiles(aDelay),
    },
    receivedKbps: round((sum(all, (s) => s.bytes) * 8) / 1000 / sec, 0),
    packetsReceived: sum(all, (s) => s.packets + s.duplicates),
    joinToFirstFrameMs: { ...quantiles(joins), missing },
    server: input.server,
    loadgen: input.loadgen,
    errors: input.errors,
    perPerson: input.people.map((p) => {
      const mine = input.streamsByPerson.get(p) ?? [];
      const v = mine.filter((s) => s.kind === 'video');
      return {
        name: p.spec.name,
        publishing: p.publisher !== null,
        videoStreams: v.length,
        audioStreams: mine.length - v.length,
        frames: v.reduce((a, s) => a + (s.frames?.framesDecoded ?? 0), 0),
        freezes: v.reduce((a, s) => a + (s.frames?.freezes ?? 0), 0),
        joinToFirstFrameMs: joinToFirstFrameMs(p),
      };
    }),
  };
}

function freezeTimeline(video: readonly InboundStreamReport[], startMs: number, windowMs: number): number[] {
  const out = new Array<number>(Math.max(1, Math.ceil(windowMs / 1000))).fill(0);
  for (const s of video) for (const t of s.frames?.freezeEnds ?? []) out[Math.min(out.length - 1, Math.max(0, Math.floor((t - startMs) / 1000)))]!++;
  return out;
}
