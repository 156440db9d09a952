/**
 * A scripted weather timeline against the adaptation scenario (test/testkit/adaptation.ts: four simulcast
 * publishers at 1–4 tiles, one Chromium subscriber whose own link carries the weather): clear → 300 kbit/s
 * → clear → 5 % loss with 50 ms jitter → clear. Per run: the estimate, the allocated layer per video, the
 * received rate, what the page showed (freezes, heights) and audio gaps on the wire, every 250 ms; per phase
 * the figures the acceptance asks for. Prints a table (medians over runs), writes
 * bench/results/adaptation-weather.json and draws the last run as bench/results/adaptation-weather.svg.
 *
 * Run: node --import tsx bench/adaptation-weather.ts [--runs 3] [--queue-ms 250]
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AdaptationScenario, type TimelinePoint } from '../test/testkit/adaptation.ts';
import type { ImpairmentPatch } from '../tools/weather/impairment.ts';
import { median } from './lib/stats.ts';
import { fmt, printTable } from './lib/table.ts';
import { writeResults } from './lib/results.ts';
import { renderTimelineSvg, type TimelinePhase } from './lib/timeline-svg.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'queue-ms': { type: 'string', default: '250' } } });
const runs = Number(args.runs);
const queueMs = Number(args['queue-ms']);
if (!(runs >= 1) || !(queueMs > 0)) throw new Error('usage: --runs N (≥ 1) --queue-ms MS (> 0)');
const CAP_KBPS = 300;

interface Phase extends TimelinePhase {
  weather: ImpairmentPatch;
  kind: 'clear' | 'cap' | 'loss';
}
const PHASES: Phase[] = [];
let at = 0;
for (const [ms, kind, label, weather] of [
  [8000, 'clear', 'clear', {}],
  [20_000, 'cap', `${CAP_KBPS} kbit/s (${queueMs} ms buffer)`, { rateKbps: CAP_KBPS, queueBytes: Math.round((CAP_KBPS * 1000 * queueMs) / 8000) }],
  [12_000, 'clear', 'clear', {}],
  [30_000, 'loss', '5 % loss, 50 ms jitter', { loss: 0.05, delayMs: 20, jitterMs: 50 }],
  [10_000, 'clear', 'clear', {}],
] as const) {
  PHASES.push({ fromMs: at, toMs: at + ms, label, bad: kind !== 'clear', weather, kind });
  at += ms;
}
const TOTAL_MS = at;
/** The first second of a phase: a buffer fills before any sender can hear of it. */
const TRANSITION_MS = 1000;
/** Rungs of the 360p simulcast clip's ladder (docs/allocation.md: q at every frame rate, then h, f). */
const RUNGS = ['s0t0', 's0t1', 's0t2', 's1t2', 's2t2'];

/** Names by first pause time, those paused in the same allocation joined with '='. */
function pauseOrder(xs: Array<{ name: string; t: number }>): string[] {
  const paused = xs.filter((x) => Number.isFinite(x.t)).sort((a, b) => a.t - b.t);
  const out: string[] = [];
  for (let i = 0; i < paused.length; i++) {
    if (i > 0 && paused[i].t === paused[i - 1].t) out[out.length - 1] += `=${paused[i].name}`;
    else out.push(paused[i].name);
  }
  return out;
}

interface RunSummary {
  capAudioGapMaxMs: number;
  capTransitionAudioGapMaxMs: number;
  capNearestFreezeMaxMs: number;
  capNearestTransitionFreezeMs: number;
  capNearestPaused: boolean;
  /** Publisher names in the order their video first paused under the cap. */
  capPauseOrder: string[];
  capBackOnTopMs: number;
  lossRecoveredPct: number;
  lossFreezeMaxMs: number;
  lossAudioGapMaxMs: number;
}

async function oneRun(): Promise<{ summary: RunSummary; points: TimelinePoint[]; freezes: Array<{ name: string; events: Array<[number, number]> }> }> {
  const s = await AdaptationScenario.start({ publishers: 'headless', space: 'bench' });
  try {
    await s.join();
    await new Promise((r) => setTimeout(r, 3000));
    const consumers = s.publishers.map((p) => s.consumers(p.id).video!);
    s.wire.trace(consumers.flatMap((c) => [c.params.ssrc, c.params.rtxSsrc!]));
    const resent = consumers.map(() => new Map<number, number[]>());
    consumers.forEach((c, i) => (c.onResend = (seq, rtxSeq) => resent[i].set(rtxSeq, [...(resent[i].get(rtxSeq) ?? []), seq])));
    await s.pageVideos(true);
    const pageT0 = await s.pageNow();
    const lossPhase = PHASES.find((p) => p.kind === 'loss')!;
    const lostAtLossStart: number[] = [];
    let phase = -1;
    const points = await s.record(TOTAL_MS, 250, (t) => {
      const i = PHASES.findIndex((p) => t >= p.fromMs && t < p.toMs);
      if (i === phase || i < 0) return;
      phase = i;
      if (PHASES[i] === lossPhase) consumers.forEach((c, k) => (lostAtLossStart[k] = s.wire.lostSeqs.get(c.params.ssrc)?.length ?? 0));
      s.weather(PHASES[i].weather);
    });
    s.weather({});
    const videos = await s.pageVideos(true);
    for (const c of consumers) c.onResend = null;
    const freezes = s.publishers.map((p) => ({
      name: p.name,
      events: (videos.find((v) => v.publisherId === p.id)?.freezes ?? []).map((f): [number, number] => [f.atMs - pageT0, f.gapMs]),
    }));
    const cap = PHASES.find((p) => p.kind === 'cap')!;
    const inPhase = (p: Phase, skip = 0) => points.filter((x) => x.t >= p.fromMs + skip && x.t < p.toMs);
    const audioMax = (pts: TimelinePoint[]) => Math.max(0, ...pts.flatMap((x) => x.tracks.map((t) => t.audioGapMs)));
    const freezeMax = (i: number, from: number, to: number) => Math.max(0, ...freezes[i].events.filter(([a]) => a >= from && a < to).map(([, ms]) => ms));
    const firstPause = s.publishers.map((p, i) => inPhase(cap).find((x) => x.tracks[i].target === '-')?.t ?? Infinity);
    const afterCap = points.filter((x) => x.t >= cap.toMs);
    const backOnTop = afterCap.find((x) => x.tracks[0].current === 's2t2' && x.tracks[0].height === s.topHeight);
    let lost = 0;
    let rec = 0;
    consumers.forEach((c, i) => {
      const seqs = (s.wire.lostSeqs.get(c.params.ssrc) ?? []).slice(lostAtLossStart[i] ?? 0);
      const got = new Set<number>();
      for (const r of s.wire.deliveredSeqs.get(c.params.rtxSsrc!) ?? []) for (const q of resent[i].get(r) ?? []) got.add(q);
      lost += seqs.length;
      rec += seqs.filter((q) => got.has(q)).length;
    });
    const summary: RunSummary = {
      capAudioGapMaxMs: audioMax(inPhase(cap, TRANSITION_MS)),
      capTransitionAudioGapMaxMs: audioMax(inPhase(cap).filter((x) => x.t < cap.fromMs + TRANSITION_MS)),
      capNearestFreezeMaxMs: freezeMax(0, cap.fromMs + TRANSITION_MS, cap.toMs),
      capNearestTransitionFreezeMs: freezeMax(0, cap.fromMs, cap.fromMs + TRANSITION_MS),
      capNearestPaused: Number.isFinite(firstPause[0]),
      capPauseOrder: pauseOrder(s.publishers.map((p, i) => ({ name: p.name, t: firstPause[i] }))),
      capBackOnTopMs: backOnTop ? backOnTop.t - cap.toMs : Infinity,
      lossRecoveredPct: lost > 0 ? (100 * rec) / lost : 100,
      lossFreezeMaxMs: Math.max(0, ...s.publishers.map((_, i) => freezeMax(i, lossPhase.fromMs, lossPhase.toMs + 1000))),
      lossAudioGapMaxMs: audioMax(inPhase(lossPhase)),
    };
    return { summary, points, freezes };
  } finally {
    await s.close();
  }
}

const results: Awaited<ReturnType<typeof oneRun>>[] = [];
for (let r = 0; r < runs; r++) {
  process.stdout.write(`run ${r + 1}/${runs} (${Math.round(TOTAL_MS / 1000)} s of weather)…\n`);
  results.push(await oneRun());
  const x = results[results.length - 1].summary;
  process.stdout.write(`  cap: audio gap ≤ ${Math.round(x.capAudioGapMaxMs)} ms, nearest freeze ≤ ${Math.round(x.capNearestFreezeMaxMs)} ms, top again ${x.capBackOnTopMs} ms after; loss: ${x.lossRecoveredPct.toFixed(1)} % repaired, freeze ≤ ${Math.round(x.lossFreezeMaxMs)} ms\n`);
}

const med = (f: (x: RunSummary) => number) => median(results.map((r) => f(r.summary)));
const rows: Array<[string, string, string]> = [
  [`${CAP_KBPS} kbit/s: longest audio gap, after the first second`, fmt(med((x) => x.capAudioGapMaxMs), 0) + ' ms', '≤ 200 ms'],
  [`${CAP_KBPS} kbit/s: longest audio gap, first second`, fmt(med((x) => x.capTransitionAudioGapMaxMs), 0) + ' ms', '(transition)'],
  [`${CAP_KBPS} kbit/s: nearest video paused`, `${results.filter((r) => r.summary.capNearestPaused).length}/${runs} runs`, 'never'],
  [`${CAP_KBPS} kbit/s: pause order (farthest first; = same moment)`, results.map((r) => r.summary.capPauseOrder.join(' then ') || '-').join(' | '), 'P4 not after P1–3'],
  [`${CAP_KBPS} kbit/s: nearest's longest freeze, after the first second`, fmt(med((x) => x.capNearestFreezeMaxMs), 0) + ' ms', '≤ 500 ms'],
  [`${CAP_KBPS} kbit/s: nearest's freeze at the transition`, fmt(med((x) => x.capNearestTransitionFreezeMs), 0) + ' ms', '(transition)'],
  ['cap lifted → nearest on its top layer', fmt(med((x) => x.capBackOnTopMs), 0) + ' ms', '≤ 5000 ms'],
  ['5 % loss + 50 ms jitter: lost video packets repaired by RTX', fmt(med((x) => x.lossRecoveredPct), 1) + ' %', '≥ 95 %'],
  ['5 % loss + 50 ms jitter: longest freeze', fmt(med((x) => x.lossFreezeMaxMs), 0) + ' ms', '≤ 500 ms'],
  ['5 % loss + 50 ms jitter: longest audio gap', fmt(med((x) => x.lossAudioGapMaxMs), 0) + ' ms', ''],
];
printTable(`adaptation under weather (median of ${runs} run${runs > 1 ? 's' : ''})`, ['figure', 'measured', 'target'], rows);

const last = results[results.length - 1];
const svg = renderTimelineSvg(
  `Adaptation under a scripted weather timeline — 4 simulcast publishers, Chromium subscriber (${new Date().toISOString().slice(0, 10)})`,
  PHASES,
  {
    t: last.points.map((p) => p.t),
    estimateKbps: last.points.map((p) => p.estimateBps / 1000),
    receivedKbps: last.points.map((p) => p.rxKbps),
    layers: last.points[0].tracks.map((tr, i) => ({ name: `${tr.name} (${tr.distance} tile${tr.distance > 1 ? 's' : ''})`, rung: last.points.map((p) => RUNGS.indexOf(p.tracks[i].target)) })),
    freezes: last.freezes.map((f, i) => ({
      name: f.name,
      events: f.events,
      audioGaps: last.points.filter((p) => p.tracks[i].audioGapMs > 200).map((p): [number, number] => [p.t - p.tracks[i].audioGapMs, p.tracks[i].audioGapMs]),
    })),
    rungLabels: ['q 7.5 fps', 'q 15 fps', 'q 30 fps', 'h 30 fps', 'f 30 fps'],
  },
);
const svgPath = fileURLToPath(new URL('./results/adaptation-weather.svg', import.meta.url));
writeFileSync(svgPath, svg);
const jsonPath = writeResults('adaptation-weather', {
  config: { runs, queueMs, capKbps: CAP_KBPS, phases: PHASES.map(({ fromMs, toMs, label, weather }) => ({ fromMs, toMs, label, weather })) },
  medians: Object.fromEntries(rows.map(([k, v]) => [k, v])),
  runs: results.map((r) => r.summary),
  lastRun: { points: last.points, freezes: last.freezes },
});
process.stdout.write(`wrote ${jsonPath} and ${svgPath}\n`);
