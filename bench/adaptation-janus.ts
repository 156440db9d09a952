/**
 * Proxima against Janus VideoRoom when ONE subscriber's own link goes through bad weather while four
 * publishers send video + audio on clear links, in one run. The subscriber is a headless load-generator
 * receiver (NACK, PLI, transport-wide CC feedback, receiver reports) whose every media packet, both ways,
 * crosses a WeatherProxy (tools/weather); nobody else's does. Weather, per measurement:
 *   1. clear 8 s (warm-up), 2. 300 kbit/s cap with a 250 ms drop-tail queue for 20 s, 3. clear 10 s,
 *   4. 5 % loss + 20 ms delay ± 50 ms jitter for 30 s, 5. clear 5 s.
 * Per server and phase, per publisher and overall: longest audio gap, video freezes, frames per second,
 * loss after retransmission, received kbit/s, and how long each video stopped (no packet at all).
 *
 * Proxima: the publishers stand 1–4 tiles from the subscriber on the office map and send rid simulcast
 * (160x90/320x180/640x360 with VP8 temporal layers); the server announces the proxy's port, so every client
 * crosses it, and the weather is set on the subscriber's own link only (WeatherProxy.linkOf).
 * Janus: the publishers send the 640x360 layer of the same clip (the project's Janus client publishes no
 * simulcast); the subscriber takes all four in one multistream subscription and sends to a proxy of its own
 * in front of Janus's candidate (Janus is ICE-lite: it answers the proxy's address).
 *
 * Janus gathers no loopback candidates, so everything runs in a network namespace (tools/janus/janus-netns.ts).
 * Each measurement starts a fresh server process; the order alternates between runs.
 *
 * Run (root): node --import tsx bench/adaptation-janus.ts [--runs 3]
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { namespaceView, runInBenchNamespace } from './lib/in-namespace.ts';
import { waitFor as waitUntil } from '../test/testkit/browser.ts';
import { startJanus } from '../tools/janus/janus-process.ts';
import { JanusVideoRoomClient } from '../tools/janus/janus-client.ts';
import { loadClip, type MediaClip } from '../tools/loadgen/media/clip.ts';
import { ProximaTarget } from '../tools/loadgen/targets/proxima-target.ts';
import { JanusTarget } from '../tools/loadgen/targets/janus-target.ts';
import type { LoadPerson } from '../tools/loadgen/person.ts';
import type { LoadReceiver } from '../tools/loadgen/receive/receiver.ts';
import { StallMonitor } from '../tools/loadgen/receive/stall-monitor.ts';
import { WeatherProxy } from '../tools/weather/udp-proxy.ts';
import type { Impairment, ImpairmentCounters, ImpairmentPatch } from '../tools/weather/impairment.ts';
import { createDtlsCertificate, type DtlsCertificate } from '../src/transport/dtls/certificate.ts';
import { systemClock } from '../src/util/clock.ts';
import { seededRandom } from '../src/util/prng.ts';
import { startProximaChild, type ServerSubscriberState } from './lib/adaptation-proxima-server.ts';
import { overallFigures, publisherFigures, type Figures } from './lib/adaptation-figures.ts';
import { median } from './lib/stats.ts';
import { fmt, printTable, type Cell } from './lib/table.ts';
import { writeResults } from './lib/results.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    /** Multiplies every phase's length (a quick check of the set-up; figures are only comparable at 1). */
    scale: { type: 'string', default: '1' },
    inside: { type: 'boolean', default: false },
    ns: { type: 'string' },
    veth: { type: 'string' },
  },
});
const thisFile = fileURLToPath(import.meta.url);

await runInBenchNamespace({ file: thisFile, label: 'bench/adaptation-janus.ts', namespace: 'proxima-adapt', inside: args.inside === true, passthrough: ['--runs', args.runs!, '--scale', args.scale!] });

const runs = Number(args.runs);
const scale = Number(args.scale);
if (!Number.isInteger(runs) || runs < 1 || !(scale > 0)) {
  process.stderr.write('--runs takes a positive integer, --scale a positive number\n');
  process.exit(2);
}

type Server = 'proxima' | 'janus';
interface Phase {
  name: string;
  seconds: number;
  weather: ImpairmentPatch;
  measured: boolean;
}
const PHASES: Phase[] = ([
  { name: 'clear (warm-up)', seconds: 8, weather: {}, measured: false },
  { name: '300 kbit/s cap, 250 ms queue', seconds: 20, weather: { rateKbps: 300, queueBytes: 9375 }, measured: true },
  { name: 'clear', seconds: 10, weather: {}, measured: false },
  { name: '5% loss, 20 ms ± 50 ms jitter', seconds: 30, weather: { loss: 0.05, delayMs: 20, jitterMs: 50 }, measured: true },
  { name: 'clear', seconds: 5, weather: {}, measured: false },
] satisfies Phase[]).map((p) => ({ ...p, seconds: p.seconds * scale }));
const SPACE = 'adapt';
const FREEZE_MS = 200;
/** Audio gaps are also reported from this far into a phase on: the steady state after the server reacted. */
const SETTLE_MS = 2000;
/** A video without a single packet this long was stopped by the server (not merely frozen by loss). */
const STOPPED_MS = 5000;
const SUBSCRIBER_AT = { x: 20, y: 21 };
const PUBLISHERS = [
  { name: 'P1', x: 21, y: 21, distance: 1 },
  { name: 'P2', x: 18, y: 21, distance: 2 },
  { name: 'P3', x: 20, y: 18, distance: 3 },
  { name: 'P4', x: 24, y: 21, distance: 4 },
];
const JANUS_MODE = 'single layer 640x360 (top layer of the sim360 clip; the project\'s Janus client publishes no simulcast)';
const PROXIMA_MODE = 'rid simulcast q/h/f 160x90/320x180/640x360, VP8 L1T3';

interface PhaseSample {
  phase: number;
  name: string;
  durationMs: number;
  /** By publisher name, plus 'all'. */
  figures: Record<string, Figures>;
  /** What the weather did to the subscriber's link in the phase. */
  link: { down: ImpairmentCounters; up: ImpairmentCounters };
  /** Proxima only: the server's allocation for the subscriber, about once a second. */
  server: Array<{ t: number } & ServerSubscriberState>;
  /** About once a second: ms into the phase and the longest audio gap so far (over all publishers), to see when the worst one came. */
  audioGapSoFar: Array<[number, number]>;
}

interface Measurement {
  server: Server;
  run: number;
  phases: PhaseSample[];
  errors: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const nsView = namespaceView(args.ns!, args.veth!);

/** Polls every 100 ms (the test kit's waitFor). */
const waitFor = <T>(what: string, f: () => T | Promise<T>, timeoutMs: number) => waitUntil(what, f, timeoutMs, 100);

const counterDelta = (a: ImpairmentCounters, b: ImpairmentCounters): ImpairmentCounters => {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof ImpairmentCounters)[]) out[k] = b[k] - a[k];
  return out;
};

/** The subscriber's link, the receiver, and who is who: what a phase runner needs of either server. */
interface Setup {
  link: { up: Impairment; down: Impairment };
  receiver: LoadReceiver;
  /** Publisher name → the id the receiver reports as publisherId. */
  ids: Map<string, string>;
  serverState?: () => Promise<ServerSubscriberState>;
}

async function runPhases(s: Setup): Promise<PhaseSample[]> {
  const out: PhaseSample[] = [];
  for (const [i, phase] of PHASES.entries()) {
    // Clear weather is the default config: a phase sets its whole weather, nothing carries over.
    s.link.up.setConfig(phase.weather);
    s.link.down.setConfig(phase.weather);
    s.receiver.startWindow();
    const t0 = performance.now();
    const down0 = { ...s.link.down.counters };
    const up0 = { ...s.link.up.counters };
    const server: PhaseSample['server'] = [];
    const audioGapSoFar: PhaseSample['audioGapSoFar'] = [];
    const end = t0 + phase.seconds * 1000;
    while (performance.now() < end) {
      await sleep(Math.min(1000, end - performance.now()));
      // About once a second, and once at the end.
      if (end - performance.now() > 300 || performance.now() >= end) {
        const t = Math.round(performance.now() - t0);
        audioGapSoFar.push([t, Math.round(Math.max(0, ...s.receiver.reports().filter((r) => r.kind === 'audio').map((r) => r.maxArrivalGapMs)))]);
        if (s.serverState) server.push({ t, ...(await s.serverState()) });
      }
    }
    const now = performance.now();
    const durationMs = now - t0;
    const reports = s.receiver.reports(now);
    const figures: Record<string, Figures> = {};
    for (const p of PUBLISHERS) figures[p.name] = publisherFigures(reports, s.ids.get(p.name)!, { startMs: t0, durationMs, settleMs: SETTLE_MS }, FREEZE_MS);
    figures.all = overallFigures(PUBLISHERS.map((p) => figures[p.name]!));
    out.push({ phase: i + 1, name: phase.name, durationMs, figures, link: { down: counterDelta(down0, s.link.down.counters), up: counterDelta(up0, s.link.up.counters) }, server, audioGapSoFar });
  }
  return out;
}

/** Waits until the subscriber decodes video from every publisher. */
async function waitForAllVideo(receiver: LoadReceiver, ids: Map<string, string>): Promise<void> {
  await waitFor(
    'video from all four publishers',
    () => {
      const r = receiver.reports();
      return [...ids.values()].every((id) => r.some((x) => x.publisherId === id && x.kind === 'video' && (x.frames?.framesDecoded ?? 0) > 0));
    },
    20_000,
  );
}

async function measureProxima(run: number, clip: MediaClip, certificate: DtlsCertificate): Promise<Measurement> {
  const errors: string[] = [];
  const proxy = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: 9 }, seed: run });
  await proxy.start();
  const server = await startProximaChild({ announcedPort: proxy.port });
  proxy.setTarget({ address: '127.0.0.1', port: server.mediaPort });
  const stalls = new StallMonitor(systemClock);
  const people: LoadPerson[] = [];
  try {
    const target = new ProximaTarget({ url: server.url, space: SPACE, clip, clock: systemClock, certificate, freezeMs: FREEZE_MS, random: seededRandom(run), stalls });
    const ids = new Map<string, string>();
    for (const p of PUBLISHERS) {
      const person = await target.join({ name: p.name, publish: true, simulcast: true, x: p.x, y: p.y });
      people.push(person);
      ids.set(p.name, person.id);
    }
    const sub = await target.join({ name: 'S', publish: false, ...SUBSCRIBER_AT });
    people.push(sub);
    const receiver = sub.receivers[0]!;
    await waitForAllVideo(receiver, ids);
    const port = await waitFor('the subscribe transport', () => server.subscribePort(SPACE, sub.id), 10_000);
    const link = proxy.linkOf(port);
    if (!link) throw new Error(`no weather-proxy client for upstream port ${port}`);
    const phases = await runPhases({ link, receiver, ids, serverState: () => server.subscriberState(SPACE, sub.id, PUBLISHERS.map((p) => ids.get(p.name)!)) });
    for (const p of people) errors.push(...p.errors.map((e) => e.message));
    // The server reports publishers by id: name them for the JSON.
    const nameOf = new Map([...ids].map(([n, id]) => [id, n]));
    for (const ph of phases) for (const st of ph.server) for (const v of st.videos) v.publisher = nameOf.get(v.publisher) ?? v.publisher;
    return { server: 'proxima', run, phases, errors };
  } finally {
    for (const p of people) p.close();
    stalls.close();
    await server.close();
    await proxy.close();
  }
}

async function measureJanus(run: number, clip: MediaClip, certificate: DtlsCertificate): Promise<Measurement> {
  const errors: string[] = [];
  const janus = await startJanus({ ns: nsView, debugLevel: 2 });
  // Only the subscriber talks to this proxy, so its shared up/down are the subscriber's own link.
  const proxy = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: 9 }, seed: run });
  await proxy.start();
  const stalls = new StallMonitor(systemClock);
  const people: LoadPerson[] = [];
  try {
    const room = await JanusVideoRoomClient.createRoom(janus.url, { publishers: PUBLISHERS.length });
    const target = new JanusTarget({
      url: janus.url,
      room,
      clip,
      clock: systemClock,
      certificate,
      publishers: PUBLISHERS.length,
      freezeMs: FREEZE_MS,
      random: seededRandom(run),
      stalls,
      subscribeAll: true,
      subscriberRemote: (_spec, candidate) => {
        proxy.setTarget({ address: candidate.ip, port: candidate.port });
        return { ip: '127.0.0.1', port: proxy.port };
      },
    });
    const ids = new Map<string, string>();
    for (const p of PUBLISHERS) {
      people.push(await target.join({ name: p.name, publish: true, videoLayer: clip.layers.length - 1 }));
      ids.set(p.name, target.feedOf(p.name)!);
    }
    const sub = await target.join({ name: 'S', publish: false });
    people.push(sub);
    const receiver = sub.receivers[0]!;
    await waitForAllVideo(receiver, ids);
    const phases = await runPhases({ link: proxy, receiver, ids });
    for (const p of people) errors.push(...p.errors.map((e) => e.message));
    return { server: 'janus', run, phases, errors };
  } finally {
    for (const p of people) p.close();
    stalls.close();
    await proxy.close();
    await janus.close();
  }
}

const clip = await loadClip({ layers: 'sim360' });
const certificate = await createDtlsCertificate();
const measurements: Measurement[] = [];
for (let run = 1; run <= runs; run++) {
  const order: Server[] = run % 2 === 1 ? ['janus', 'proxima'] : ['proxima', 'janus'];
  for (const server of order) {
    process.stdout.write(`run ${run}, ${server}: ${PHASES.reduce((a, p) => a + p.seconds, 0)} s of weather…\n`);
    const m = server === 'janus' ? await measureJanus(run, clip, certificate) : await measureProxima(run, clip, certificate);
    measurements.push(m);
    for (const ph of m.phases.filter((x) => PHASES[x.phase - 1]!.measured)) {
      const a = ph.figures.all!;
      const d = ph.link.down;
      process.stdout.write(
        `  phase ${ph.phase} (${ph.name}): audio gap max ${fmt(a.audioGapMs)} ms (seen by ${fmt(worstGapBy(ph) / 1000)} s; ${fmt(a.audioGapSettledMs)} ms after ${SETTLE_MS / 1000} s), ${a.freezes} freezes (${fmt(a.frozenMs)} ms), ${fmt(a.fps, 1)} fps total, ` +
          `loss after RTX ${pct(a.lossAfterRtx)}, ${fmt(a.kbps)} kbit/s; link down: ${d.received} in, ${d.queue_overflow} overflowed, ${d.lost_random} lost\n`,
      );
    }
    if (m.errors.length) process.stdout.write(`  errors: ${m.errors.join('; ')}\n`);
  }
}

/** When the phase's longest audio gap had been seen (s into the phase, to the second). */
function worstGapBy(ph: PhaseSample): number {
  const worst = ph.audioGapSoFar.at(-1)?.[1] ?? 0;
  return ph.audioGapSoFar.find(([, g]) => g >= worst)?.[0] ?? 0;
}

/**
 * The share of the phase's server samples at each layer for one publisher's video, averaged over runs:
 * "s2 40% s1 60%", "off 95% s0 5%" (off: paused).
 */
function layerShares(ms: readonly Measurement[], phaseIndex: number, who: string): string {
  const share = new Map<string, number>();
  for (const m of ms) {
    const samples = m.phases[phaseIndex]!.server;
    for (const st of samples) {
      const t = st.videos.find((v) => v.publisher === who)?.target ?? null;
      const key = t === null ? 'off' : t.slice(0, 2);
      share.set(key, (share.get(key) ?? 0) + 1 / samples.length / ms.length);
    }
  }
  return ['s2', 's1', 's0', 'off']
    .filter((k) => (share.get(k) ?? 0) >= 0.005)
    .map((k) => `${k} ${Math.round(share.get(k)! * 100)}%`)
    .join(' ');
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '-';
}

// Medians over runs, per server, phase and publisher.
const ROWS = [...PUBLISHERS.map((p) => p.name), 'all'];
const med = (server: Server, phase: number, who: string, f: (x: Figures) => number) =>
  median(measurements.filter((m) => m.server === server).map((m) => f(m.phases[phase - 1]!.figures[who]!)));
const summary: Record<string, unknown>[] = [];
for (const [i, phase] of PHASES.entries()) {
  if (!phase.measured) continue;
  const n = i + 1;
  const rows: Cell[][] = [];
  const stopped: string[] = [];
  for (const server of ['proxima', 'janus'] as Server[]) {
    const ms = measurements.filter((m) => m.server === server);
    const per: Record<string, Record<string, number | string>> = {};
    for (const who of ROWS) {
      const keys: (keyof Figures)[] = ['audioGapMs', 'audioGapSettledMs', 'freezes', 'longestFreezeMs', 'frozenMs', 'fps', 'lossAfterRtx', 'kbps', 'videoOffMs', 'generatorFreezes', 'nacksSent', 'rtxPackets'];
      const x: Record<string, number | string> = {};
      for (const k of keys) x[k] = med(server, n, who, (f) => f[k]);
      const stoppedRuns = ms.filter((m) => m.phases[i]!.figures[who]!.videoOffMs >= STOPPED_MS).length;
      x.stoppedRuns = stoppedRuns;
      // The server's own view (Proxima): which layer it allocated, as shares of the phase.
      const layers = server === 'proxima' && who !== 'all' ? layerShares(ms, i, who) : '';
      x.serverLayers = layers;
      per[who] = x;
      if (who !== 'all' && stoppedRuns > 0) stopped.push(`${server} ${who} (${stoppedRuns}/${ms.length} runs)`);
      const dist = PUBLISHERS.find((p) => p.name === who)?.distance;
      rows.push([
        server,
        who === 'all' ? 'all 4' : `${who} (${dist} tile${dist === 1 ? '' : 's'})`,
        fmt(x.audioGapMs as number),
        fmt(x.audioGapSettledMs as number),
        fmt(x.freezes as number),
        fmt(x.longestFreezeMs as number),
        fmt(x.frozenMs as number),
        fmt(x.fps as number, 1),
        pct(x.lossAfterRtx as number),
        fmt(x.kbps as number),
        fmt((x.videoOffMs as number) / 1000, 1),
        server === 'proxima' ? layers : who === 'all' ? '' : 'n/a (one layer)',
      ]);
    }
    summary.push({ phase: n, name: phase.name, server, medians: per });
  }
  printTable(
    `Phase ${n}: ${phase.name}, ${phase.seconds} s on the subscriber's link (both ways) — medians of ${runs} run${runs === 1 ? '' : 's'}`,
    ['server', 'publisher', 'audio gap max ms', `after ${SETTLE_MS / 1000} s`, 'freezes', 'longest freeze ms', 'frozen ms', 'fps', 'loss after RTX', 'kbit/s', 'video off s', 'Proxima layer (time share)'],
    rows,
  );
  if (n === 2) process.stdout.write(`Video stopped (no packet for ≥ ${STOPPED_MS / 1000} s) in phase 2: ${stopped.length ? stopped.join(', ') : 'none'}\n\n`);
}
process.stdout.write(`Publishers: Proxima ${PROXIMA_MODE}; Janus ${JANUS_MODE}. "all 4": worst gap, summed counts, fps and kbit/s, loss over all video packets.\n`);
// Every media byte the subscriber got must have crossed its weather (RTP after SRTP is smaller than the datagram).
const bypass = measurements.flatMap((m) => m.phases.filter((ph) => (ph.figures.all!.kbps * ph.durationMs) / 8 > ph.link.down.deliveredBytes * 1.02).map((ph) => `${m.server} run ${m.run} phase ${ph.phase}`));
if (bypass.length) process.stdout.write(`warning: the subscriber received more than its weather delivered (media around the proxy?): ${bypass.join(', ')}\n`);

const path = writeResults('adaptation-janus', {
  runs,
  scale,
  phases: PHASES,
  freezeMs: FREEZE_MS,
  settleMs: SETTLE_MS,
  stoppedMs: STOPPED_MS,
  subscriberAt: SUBSCRIBER_AT,
  publishers: PUBLISHERS,
  publishing: { proxima: PROXIMA_MODE, janus: JANUS_MODE },
  summary,
  measurements,
});
process.stdout.write(`results: ${path}\n`);
