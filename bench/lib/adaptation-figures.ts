/**
 * What bench/adaptation-janus.ts reads from a headless receiver's stream reports over one weather phase,
 * per publisher and for all of them together.
 */
import type { InboundStreamReport } from '../../tools/loadgen/receive/inbound-stream.ts';

export interface Figures {
  /** Longest time between two audio packets (ms): a dropout a listener hears. The phase length if none came. */
  audioGapMs: number;
  /** The same, for gaps ending `settleMs` or more into the phase (once the server had time to react; 0: none of 60 ms or more). */
  audioGapSettledMs: number;
  /** Video freezes (> freezeMs between decoded frames), the longest gap between decoded frames (when there was a freeze) and the freezes' summed full length. */
  freezes: number;
  longestFreezeMs: number;
  frozenMs: number;
  /** Gaps that were freezes only because the generator itself stalled (not in `freezes`). */
  generatorFreezes: number;
  /** Decoded video frames per second (summed over publishers in the overall figures). */
  fps: number;
  /** Video packets never received, even as RTX, over those expected. */
  videoExpected: number;
  videoLost: number;
  lossAfterRtx: number;
  /** Audio + video RTP received (retransmissions and duplicates included), kbit/s. */
  kbps: number;
  /** Longest time without a new video packet (ms): the server stopped sending, as opposed to a freeze under loss. */
  videoOffMs: number;
  nacksSent: number;
  plisSent: number;
  rtxPackets: number;
  /** Publisher → subscriber delay of first-time video packets, ms. */
  videoDelayP50: number;
  videoDelayP95: number;
}

/** One publisher's figures; streams missing from `reports` (nothing arrived in the phase) count as silent throughout. */
export function publisherFigures(reports: readonly InboundStreamReport[], publisherId: string, phase: { startMs: number; durationMs: number; settleMs: number }, freezeMs: number): Figures {
  const phaseMs = phase.durationMs;
  const audio = reports.find((r) => r.publisherId === publisherId && r.kind === 'audio');
  const video = reports.find((r) => r.publisherId === publisherId && r.kind === 'video');
  const f = video?.frames ?? null;
  const freezes = f?.freezes ?? 0;
  const bytes = (audio?.bytes ?? 0) + (video?.bytes ?? 0);
  const expected = video?.expected ?? 0;
  const lost = video?.lost ?? 0;
  return {
    audioGapMs: audio && audio.packets > 0 ? audio.maxArrivalGapMs : phaseMs,
    audioGapSettledMs: audio && audio.packets > 0 ? Math.max(0, ...audio.longGaps.filter(([end]) => end >= phase.startMs + phase.settleMs).map(([, g]) => g)) : phaseMs - phase.settleMs,
    freezes,
    longestFreezeMs: f && f.maxGapMs > freezeMs ? f.maxGapMs : 0,
    // FrameStats.freezeMs sums the time beyond the threshold; add it back for whole freezes (as getStats' totalFreezesDuration).
    frozenMs: (f?.freezeMs ?? 0) + freezes * freezeMs,
    generatorFreezes: f?.generatorFreezes ?? 0,
    fps: ((f?.framesDecoded ?? 0) * 1000) / phaseMs,
    videoExpected: expected,
    videoLost: lost,
    lossAfterRtx: expected > 0 ? lost / expected : NaN,
    kbps: (bytes * 8) / phaseMs,
    videoOffMs: video && video.packets > 0 ? video.maxArrivalGapMs : phaseMs,
    nacksSent: video?.nacksSent ?? 0,
    plisSent: video?.plisSent ?? 0,
    rtxPackets: video?.rtxPackets ?? 0,
    videoDelayP50: video && video.delay.count > 0 ? video.delay.percentile(50) : NaN,
    videoDelayP95: video && video.delay.count > 0 ? video.delay.percentile(95) : NaN,
  };
}

/** All publishers together: worst gaps, summed counts and rates, loss over all video packets. */
export function overallFigures(each: readonly Figures[]): Figures {
  const max = (k: keyof Figures) => Math.max(0, ...each.map((f) => f[k]));
  const sum = (k: keyof Figures) => each.reduce((a, f) => a + f[k], 0);
  const expected = sum('videoExpected');
  const lost = sum('videoLost');
  return {
    audioGapMs: max('audioGapMs'),
    audioGapSettledMs: max('audioGapSettledMs'),
    freezes: sum('freezes'),
    longestFreezeMs: max('longestFreezeMs'),
    frozenMs: sum('frozenMs'),
    generatorFreezes: sum('generatorFreezes'),
    fps: sum('fps'),
    videoExpected: expected,
    videoLost: lost,
    lossAfterRtx: expected > 0 ? lost / expected : NaN,
    kbps: sum('kbps'),
    videoOffMs: max('videoOffMs'),
    nacksSent: sum('nacksSent'),
    plisSent: sum('plisSent'),
    rtxPackets: sum('rtxPackets'),
    videoDelayP50: NaN,
    videoDelayP95: NaN,
  };
}
