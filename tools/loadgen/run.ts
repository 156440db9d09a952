/**
 * One load run: media ready, server up (the embedded one as a child process unless a URL is given), the
 * scenario's people joined a few at a time, a warm-up, then a measured window with a live progress table,
 * then the JSON report. Everything opened here is closed here, whatever fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createDtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { signToken } from '../../src/server/auth/tokens.ts';
import { seededRandom } from '../../src/util/prng.ts';
import { systemClock } from '../../src/util/clock.ts';
import type { MapInfo } from '../../src/signaling/messages.ts';
import { NodeClient } from '../client/node-client.ts';
import { loadClip } from './media/clip.ts';
import { ProximaTarget } from './targets/proxima-target.ts';
import { JanusTarget } from './targets/janus-target.ts';
import { JanusVideoRoomClient } from '../janus/janus-client.ts';
import { mapInfoOf } from '../../src/server/space.ts';
import { DEFAULT_MAP_URL, loadSpaceMap } from '../../src/proximity/map.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { SpaceLayout } from './scenarios/space-layout.ts';
import type { LoadPerson, PersonSpec } from './person.ts';
import { sampleProcess, cpuShare, type ProcSample } from './proc-stats.ts';
import { startProximaProcess, type ServerProcess, type ServerRuntime } from './server-process.ts';
import { buildReport, type LoadReport } from './report.ts';
import { StallMonitor } from './receive/stall-monitor.ts';

export interface RunOptions {
  scenario: string;
  /** Total people (the scenario's default when absent). */
  people?: number;
  durationS: number;
  warmupS: number;
  /** A running server; absent: start the embedded one. */
  url?: string;
  /** Load a Janus VideoRoom at this HTTP API URL instead (non-spatial scenarios only). */
  janusUrl?: string;
  /** Measure this server process's CPU when `url` is given. */
  serverPid?: number;
  space: string;
  /** Every publisher sends the three clip layers as rid simulcast. */
  simulcast?: boolean;
  /** How the embedded server runs (default tsx, as the tests run it; `npm start` runs compiled). */
  serverRuntime?: ServerRuntime;
  /** Map file for the embedded server (default: the scenario's, else the server's own). */
  map?: string;
  /** Sign join tokens with this secret instead of asking for guest tokens. */
  secret?: string;
  seed: number;
  joinConcurrency: number;
  freezeMs: number;
  out?: string;
  /** Progress lines (default: stdout). */
  print?: (line: string) => void;
}

export async function runLoad(o: RunOptions): Promise<LoadReport> {
  const scenario = SCENARIOS[o.scenario];
  if (!scenario) throw new Error(`unknown scenario "${o.scenario}"; choose one of ${Object.keys(SCENARIOS).join(', ')}`);
  const print = o.print ?? ((l: string) => process.stdout.write(l + '\n'));
  const count = o.people ?? scenario.defaultPeople;
  if (!Number.isInteger(count) || count < 2) throw new Error(`a run needs at least 2 people, got ${count}`);
  const rnd = seededRandom(o.seed);
  const clock = systemClock;
  const errors: string[] = [];
  const people: LoadPerson[] = [];
  let server: ServerProcess | null = null;
  const startedAt = new Date();
  const stalls = new StallMonitor(clock);
  try {
    const clip = await loadClip({ layers: 3, onProgress: (l) => print(`media: ${l}`) });
    const thumbClip = await loadClip({ layers: 'thumb', onProgress: (l) => print(`media: ${l}`) });
    if (o.janusUrl && scenario.spatial) throw new Error(`${scenario.name} needs a spatial server; Janus runs pair and fanout`);
    if (!o.url && !o.janusUrl) {
      print('server: starting the embedded Proxima server…');
      const map = o.map ?? scenario.map;
      server = await startProximaProcess({ ...(map ? { env: { PROXIMA_MAP: map } } : {}), runtime: o.serverRuntime ?? 'tsx' });
      print(`server: ${server.url} (pid ${server.pid}, log ${server.logFile})`);
    }
    const url = o.janusUrl ?? o.url ?? server!.url;
    const serverPid = server?.pid ?? o.serverPid ?? null;
    const certificate = await createDtlsCertificate();
    const token = o.secret ? (s: PersonSpec) => signToken({ space: o.space, name: s.name, publish: true, spotlight: true, exp: Math.floor(Date.now() / 1000) + 3600 }, o.secret!) : undefined;
    // Janus has no map: plan on the office map (positions are then unused).
    const map = o.janusUrl ? mapInfoOf(loadSpaceMap(DEFAULT_MAP_URL)) : await probeMap(url, o.space, token?.({ name: 'loadgen-probe', publish: false }), certificate);
    const ctx = { people: count, layout: new SpaceLayout(map, rnd), rnd };
    const specs = scenario.plan(ctx).map((s) => (o.simulcast && s.publish ? { ...s, simulcast: true } : s));
    if (o.simulcast && o.janusUrl) throw new Error('--simulcast is for Proxima (the Janus target publishes one layer)');
    const target: { join(spec: PersonSpec): Promise<LoadPerson> } = o.janusUrl
      ? new JanusTarget({
          url,
          room: await JanusVideoRoomClient.createRoom(url, { publishers: Math.max(1, specs.filter((s) => s.publish).length) }),
          clip,
          thumbClip,
          clock,
          certificate,
          publishers: specs.filter((s) => s.publish).length,
          freezeMs: o.freezeMs,
          random: rnd,
          stalls,
        })
      : new ProximaTarget({ url, space: o.space, clip, thumbClip, clock, certificate, freezeMs: o.freezeMs, random: rnd, stalls, ...(token ? { token } : {}) });

    print(`${scenario.name}: ${scenario.summary}; ${specs.length} people, ${specs.filter((s) => s.publish).length} publishing`);
    const joinT0 = Date.now();
    let next = 0;
    let joined = 0;
    const slots: (LoadPerson | null)[] = specs.map(() => null);
    const worker = async () => {
      while (next < specs.length) {
        const i = next++;
        slots[i] = await target.join(specs[i]!);
        people.push(slots[i]!);
        if (++joined % 10 === 0 || joined === specs.length) print(`joined ${joined}/${specs.length} (${((Date.now() - joinT0) / 1000).toFixed(1)} s)`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.joinConcurrency, specs.length) }, worker));
    const ordered = slots as LoadPerson[];

    const stepTimer = scenario.step
      ? setInterval(() => {
          for (const w of scenario.step!(ctx, ordered, 0)) w.person.walkTo(w.x, w.y).catch((e: Error) => w.person.errors.push(e));
        }, 1000)
      : null;
    try {
      print(`warming up ${o.warmupS} s…`);
      await sleep(o.warmupS * 1000);
      for (const p of ordered) for (const r of p.receivers) r.startWindow();
      const t0 = clock.now();
      const s0 = serverPid ? sampleProcess(serverPid) : null;
      const l0 = sampleProcess(process.pid);
      await measure(o.durationS, ordered, serverPid, print);
      // One end time for every stream: computing reports takes a while, and no packet is read meanwhile.
      const end = clock.now();
      const windowMs = end - t0;
      const s1 = serverPid ? sampleProcess(serverPid) : null;
      const l1 = sampleProcess(process.pid);
      const streamsByPerson = new Map(ordered.map((p) => [p, p.receivers.flatMap((r) => r.reports(end))]));
      for (const p of ordered) for (const e of p.errors) errors.push(e.message);
      const report = buildReport({
        scenario: scenario.name,
        target: o.janusUrl ? `janus ${url}` : o.url ? url : 'embedded proxima',
        startedAt,
        windowMs,
        windowStartMs: t0,
        people: ordered,
        streamsByPerson,
        server: serverPid && s0 && s1 ? { pid: serverPid, cpu: round2(cpuShare(s0, s1, windowMs)), rssMb: mb(s1) } : null,
        loadgen: { cpu: l0 && l1 ? round2(cpuShare(l0, l1, windowMs)) : NaN, rssMb: l1 ? mb(l1) : NaN },
        errors,
      });
      if (o.out) {
        mkdirSync(dirname(o.out), { recursive: true });
        writeFileSync(o.out, JSON.stringify(report, null, 2) + '\n');
      }
      return report;
    } finally {
      if (stepTimer) clearInterval(stepTimer);
    }
  } finally {
    stalls.close();
    for (const p of people) p.close();
    await server?.close();
  }
}

/** The space's map, from a short-lived participant's `joined` answer. */
export async function probeMap(url: string, space: string, token: string | undefined, certificate: Awaited<ReturnType<typeof createDtlsCertificate>>): Promise<MapInfo> {
  const probe = await NodeClient.join(url, space, 'loadgen-probe', { certificate, ...(token ? { token } : {}) });
  try {
    return probe.joined.map as MapInfo;
  } finally {
    probe.close();
  }
}

/** The measured window, with a progress row every 2 s. */
async function measure(durationS: number, people: readonly LoadPerson[], serverPid: number | null, print: (l: string) => void): Promise<void> {
  const head = ['t s', 'people', 'streams', 'rx Mbps', 'frames/s', 'freezes', 'errors', 'server cpu', 'loadgen cpu', 'lag max ms'];
  // The generator's own event-loop lag: when it grows, the numbers measure the generator, not the server.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  print(head.map((h) => h.padStart(12)).join(''));
  const t0 = Date.now();
  let prev = { at: t0, bytes: 0, frames: 0, srv: serverPid ? sampleProcess(serverPid) : null, me: sampleProcess(process.pid) };
  const end = t0 + durationS * 1000;
  while (Date.now() < end) {
    await sleep(Math.min(2000, end - Date.now()));
    const now = Date.now();
    let streams = 0;
    let bytes = 0;
    let frames = 0;
    let freezes = 0;
    let errs = 0;
    for (const p of people) {
      errs += p.errors.length;
      for (const r of p.receivers) {
        const t = r.totals();
        streams += t.streams;
        bytes += t.bytes;
        frames += t.frames;
        freezes += t.freezes;
      }
    }
    const srv = serverPid ? sampleProcess(serverPid) : null;
    const me = sampleProcess(process.pid);
    const dt = now - prev.at;
    const pct = (a: ProcSample | null, b: ProcSample | null) => (a && b ? `${Math.round(cpuShare(a, b, dt) * 100)}%` : '-');
    const row = [((now - t0) / 1000).toFixed(0), people.length, streams, (((bytes - prev.bytes) * 8) / 1000 / dt).toFixed(2), Math.round(((frames - prev.frames) * 1000) / dt), freezes, errs, pct(prev.srv, srv), pct(prev.me, me), Math.round(lag.max / 1e6)];
    lag.reset();
    print(row.map((c) => String(c).padStart(12)).join(''));
    prev = { at: now, bytes, frames, srv, me };
  }
  lag.disable();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const round2 = (x: number) => Math.round(x * 100) / 100;
const mb = (s: ProcSample) => Math.round(s.rssBytes / 1024 / 1024);
