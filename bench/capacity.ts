/**
 * Capacity as a user reads it: how many people one core holds in a fan-out, a town hall and a mingle, and
 * the largest town hall this machine holds with subscribers losing < 1 % and p99 added delay < 50 ms.
 *
 * The server runs as its own process (a fresh one per trial); its CPU comes from /proc (all its threads).
 * The people run in `--shards` load processes of light receivers (tools/loadgen/receive/light-receiver.ts:
 * loss from sequence numbers, delay from send-time RTP timestamps and the forwarded sender reports, SRTP
 * authentication on 1 packet in `--auth-every`), whose CPU is measured and printed next to the server's.
 *
 * Run: node --import tsx bench/capacity.ts [--scenarios fanout,townhall,mingle] [--people 60[,120…]]
 *        [--workers 1,2] [--seconds 15] [--warmup 5] [--runs 1] [--shards 2] [--search townhall|none]
 *        [--search-start 40] [--search-max 400] [--auth-every 16] [--recorder on|off|on,off]
 * `--recorder on,off` runs each trial with the flight recorder on and off in turn (docs/recorder.md): its cost
 * per packet side by side, and the events and bytes it stores per person-hour.
 * Prints tables; writes bench/results/capacity.json.
 */
import { parseArgs } from 'node:util';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startProximaProcess, type ServerProcess } from '../tools/loadgen/server-process.ts';
import { sampleProcess, type ProcSample } from '../tools/loadgen/proc-stats.ts';
import { probeMap } from '../tools/loadgen/run.ts';
import { SCENARIOS } from '../tools/loadgen/scenarios/index.ts';
import { PLAZA_MAP, type ScenarioContext } from '../tools/loadgen/scenarios/scenario.ts';
import { SpaceLayout } from '../tools/loadgen/scenarios/space-layout.ts';
import type { LoadPerson, PersonSpec } from '../tools/loadgen/person.ts';
import { Histogram } from '../tools/loadgen/receive/histogram.ts';
import { createDtlsCertificate } from '../src/transport/dtls/certificate.ts';
import { signToken } from '../src/server/auth/tokens.ts';
import { seededRandom } from '../src/util/prng.ts';
import { median, percentile } from './lib/stats.ts';
import { printTable, fmt } from './lib/table.ts';
import { writeResults } from './lib/results.ts';
import type { CapacityShardCommand, CapacityShardEvent, ShardSubscriber } from './lib/capacity-shard.ts';

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'fanout,townhall,mingle' },
    people: { type: 'string', default: '60' },
    workers: { type: 'string' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    runs: { type: 'string', default: '1' },
    shards: { type: 'string', default: String(Math.max(2, cpus().length)) },
    search: { type: 'string', default: 'townhall' },
    'search-start': { type: 'string', default: '40' },
    'search-max': { type: 'string', default: '400' },
    'auth-every': { type: 'string', default: '16' },
    'loss-max': { type: 'string', default: '0.01' },
    'delay-max-ms': { type: 'string', default: '50' },
    'join-concurrency': { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    recorder: { type: 'string', default: 'on' },
  },
});
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const num = (name: string, v: string, min = 0) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${v}`);
  return n;
};
const SCENARIO_NAMES = list(args.scenarios);
for (const s of SCENARIO_NAMES) if (!['fanout', 'townhall', 'mingle'].includes(s)) throw new Error(`--scenarios: ${s} is not one of fanout, townhall, mingle`);
const PEOPLE = list(args.people).map((p) => num('people', p, 2));
const WORKERS: Array<number | null> = args.workers ? list(args.workers).map((w) => num('workers', w, 1)) : [null];
const SECONDS = num('seconds', args.seconds, 1);
const WARMUP = num('warmup', args.warmup);
const RUNS = num('runs', args.runs, 1);
const SHARDS = num('shards', args.shards, 1);
const SEARCH = args.search === 'none' ? null : args.search;
if (SEARCH && !SCENARIOS[SEARCH]) throw new Error(`--search: unknown scenario ${SEARCH}`);
const SEARCH_START = num('search-start', args['search-start'], 2);
const SEARCH_MAX = num('search-max', args['search-max'], 2);
const AUTH_EVERY = num('auth-every', args['auth-every'], 1);
const LOSS_MAX = num('loss-max', args['loss-max']);
const DELAY_MAX_MS = num('delay-max-ms', args['delay-max-ms']);
const JOIN_CONCURRENCY = num('join-concurrency', args['join-concurrency'], 1);
const SEED = num('seed', args.seed);
const RECORDER = list(args.recorder).map((v) => {
  if (v !== 'on' && v !== 'off') throw new Error(`--recorder: on, off or on,off (got ${v})`);
  return v === 'on';
});

const SHARD_ENTRY = fileURLToPath(new URL('./lib/capacity-shard.ts', import.meta.url));
const out = (l: string) => process.stdout.write(l + '\n');

/** The server refused `media.workers` (a build without media workers). */
class WorkersUnavailable extends Error {}

interface Trial {
  scenario: string;
  people: number;
  workers: number | null;
  /** The flight recorder was on. */
  recorder: boolean;
  /** Recorder events stored and its file's growth over the window, per person-hour (0 when off). */
  recorderEventsPerPersonH: number;
  recorderBytesPerPersonH: number;
  publishers: number;
  subscribers: number;
  /** People after the first who received nothing in the window (a mingler between groups may). */
  silent: number;
  windowS: number;
  serverCpuS: number;
  serverCpuShare: number;
  serverRssMb: number;
  /** Load processes and this one, over the window. */
  loadCpuS: number;
  loadCpuShare: number;
  packetsOut: number;
  packetsReceived: number;
  cpuUsPerPersonS: number;
  cpuUsPerPacketOut: number;
  /** 1 core ÷ CPU per person: the people one fully busy core would hold at this per-person cost. */
  peoplePerCore: number;
  loadUsPerPacketReceived: number;
  loss: { aggregate: number; p50: number; p95: number; max: number };
  /** Every packet's delay (audio and video). */
  delayMs: { p50: number; p99: number; max: number; samples: number };
  audioDelayMs: { p50: number; p99: number; samples: number };
  /** Server counters over the window: RTX sent, estimate cuts, allocation changes. */
  server: ServerCounters;
  /** The machine's 1-minute load average at the window's end (other work shares these cores). */
  loadAverage: number;
  serverDrops: Record<string, number>;
  /** Subscribers whose own median delay was at or over the delay limit (a standing queue towards them). */
  slowSubscribers: number;
  auth: { checked: number; unauthenticated: number; failures: Record<string, number> };
  loadLagMaxMs: number;
  unknownPackets: number;
  errors: string[];
  pass: boolean;
}

const SERVER_COUNTERS = {
  packetsOut: 'proxima_rtp_packets_sent_total',
  rtxOut: 'proxima_rtx_packets_sent_total',
  dropped: 'proxima_packets_dropped_total',
  overuseCuts: 'proxima_bwe_overuse_cuts_total',
  capacityDrops: 'proxima_bwe_capacity_drops_total',
  allocationChanges: 'proxima_allocation_changes_total',
  // Media workers: records crossing between them, and ring readers woken from sleep (each ~0.3 ms of CPU).
  workerRecords: 'proxima_worker_records_received_total',
  workerWakeups: 'proxima_worker_wakeups_total',
} as const;
type ServerCounters = Record<keyof typeof SERVER_COUNTERS, number>;

/** Packets the server dropped in a window, by reason (src/metrics/drop-reasons.ts). */
async function serverDrops(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^proxima_packets_dropped_total\{reason="([^"]+)"\} (\S+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Counters of the server's /metrics, each summed over its label sets (NaN if absent). */
async function serverCounters(url: string): Promise<ServerCounters> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = {} as ServerCounters;
  for (const [k, name] of Object.entries(SERVER_COUNTERS) as Array<[keyof ServerCounters, string]>) {
    let sum = NaN;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
      sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    out[k] = sum;
  }
  return out;
}

async function startServer(map: string, secret: string, workers: number | null, recorderPath: string | null): Promise<ServerProcess> {
  const env: Record<string, string> = { PROXIMA_MAP: map, PROXIMA_TOKEN_SECRET: secret, PROXIMA_RECORDER: recorderPath ? 'true' : 'false', ...(recorderPath ? { PROXIMA_RECORDER_PATH: recorderPath } : {}) };
  let configFile: string | null = null;
  if (workers !== null) {
    // A config file, not an environment variable: the key is media.workers whatever the build names its env.
    configFile = join(tmpdir(), `proxima-capacity-${process.pid}.json`);
    writeFileSync(configFile, JSON.stringify({ media: { workers } }));
    env.PROXIMA_CONFIG = configFile;
  }
  const logFile = join(tmpdir(), `proxima-capacity-${process.pid}-${Date.now()}.log`);
  try {
    return await startProximaProcess({ env, logFile, runtime: 'compiled' });
  } catch (e) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    if (workers !== null && /workers/.test(log)) throw new WorkersUnavailable(log.split('\n').find((l) => /workers/.test(l))?.trim() ?? 'media.workers refused');
    throw e;
  } finally {
    if (configFile) rmSync(configFile, { force: true });
  }
}

interface Shard {
  child: ChildProcess;
  next(type: CapacityShardEvent['type'], timeoutMs: number): Promise<CapacityShardEvent>;
  send(c: CapacityShardCommand): void;
}

function startShard(i: number): Shard {
  const child = fork(SHARD_ENTRY, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: Array<{ type: string; resolve: (e: CapacityShardEvent) => void; reject: (e: Error) => void }> = [];
  const failAll = (err: Error) => {
    for (const w of waiting.splice(0)) w.reject(err);
  };
  child.on('message', (e: CapacityShardEvent) => {
    if (e.type === 'fatal') return failAll(new Error(`load process ${i}: ${e.message}`));
    if (e.type === 'joined') return;
    const k = waiting.findIndex((w) => w.type === e.type);
    if (k >= 0) waiting.splice(k, 1)[0]!.resolve(e);
  });
  child.on('exit', (code) => failAll(new Error(`load process ${i} exited (${code})`)));
  return {
    child,
    send: (c) => child.connected && child.send(c),
    next: (type, timeoutMs) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`load process ${i}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({ type, resolve: (e) => (clearTimeout(t), resolve(e)), reject: (e) => (clearTimeout(t), reject(e)) });
      }),
  };
}

const cpuMs = (pids: number[]) => pids.reduce((a, p) => a + (sampleProcess(p)?.cpuMs ?? 0), 0);
const ticksCpuMs = (pids: number[]) => pids.reduce((a, p) => a + (sampleProcess(p)?.ticksCpuMs ?? 0), 0);

/** A process and its descendants (a server that runs media in child processes rather than threads). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
      } catch {
        // gone, or a kernel without the children file: the process alone
      }
    }
  }
  return out;
}

/** CPU of the server's whole process tree (all threads), RSS of its main process. */
function sampleServer(pid: number): ProcSample | null {
  const main = sampleProcess(pid);
  if (!main) return null;
  const rest = processTree(pid).slice(1);
  return { cpuMs: main.cpuMs + cpuMs(rest), ticksCpuMs: main.ticksCpuMs + ticksCpuMs(rest), rssBytes: main.rssBytes };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function trial(scenarioName: string, people: number, workers: number | null, seed: number, recorder = true): Promise<Trial> {
  const scenario = SCENARIOS[scenarioName]!;
  const map = scenario.map ?? PLAZA_MAP; // the plaza has room for hundreds standing apart
  const secret = randomBytes(32).toString('hex');
  const space = `capacity-${scenarioName}`;
  const recorderPath = recorder ? join(tmpdir(), `proxima-capacity-rec-${process.pid}-${Date.now()}.sqlite`) : null;
  const server = await startServer(map, secret, workers, recorderPath);
  const shards: Shard[] = [];
  let window: { from: number; to: number } | null = null;
  let result: Trial | null = null;
  let walkTimer: NodeJS.Timeout | null = null;
  try {
    const token = signToken({ space, name: 'capacity-probe', publish: false, exp: Math.floor(Date.now() / 1000) + 600 }, secret);
    const mapInfo = await probeMap(server.url, space, token, await createDtlsCertificate());
    const rnd = seededRandom(seed);
    const ctx: ScenarioContext = { people, layout: new SpaceLayout(mapInfo, rnd), rnd };
    const specs: PersonSpec[] = scenario.plan(ctx);
    const k = Math.min(SHARDS, specs.length);
    for (let i = 0; i < k; i++) shards.push(startShard(i));
    const joinMs = 120_000 + specs.length * 1000;
    const ready = shards.map((s) => s.next('ready', joinMs));
    shards.forEach((s, i) =>
      s.send({ type: 'init', url: server.url, space, secret, seed: seed * 1000 + i, authEvery: AUTH_EVERY, joinConcurrency: JOIN_CONCURRENCY, settleMs: 60_000, allButFirstReceive: scenarioName !== 'mingle', people: specs.map((spec, index) => ({ index, spec })).filter((p) => p.index % k === i) }),
    );
    const t0 = Date.now();
    const readies = (await Promise.all(ready)) as Array<Extract<CapacityShardEvent, { type: 'ready' }>>;
    const unconnected = readies.flatMap((r) => r.unconnected);
    out(
      `  ${scenarioName} ${people} people${workers !== null ? `, ${workers} workers` : ''}: joined and connected in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
        (unconnected.length ? ` (${unconnected.length} subscribe transports still not connected)` : ''),
    );
    // Walks as the scenario plans them; groupWalks reads only each person's spec and identity.
    const proxies = specs.map((spec, index) => ({ spec, index }));
    if (scenario.step) {
      walkTimer = setInterval(() => {
        for (const w of scenario.step!(ctx, proxies as unknown as LoadPerson[], 0)) {
          const index = (w.person as unknown as { index: number }).index;
          shards[index % k]!.send({ type: 'walk', index, x: w.x, y: w.y });
        }
      }, 1000);
    }
    await sleep(WARMUP * 1000);
    const started = shards.map((s) => s.next('windowStarted', 10_000));
    for (const s of shards) s.send({ type: 'window' });
    await Promise.all(started);
    const loadPids = [process.pid, ...shards.map((s) => s.child.pid!)];
    const wall0 = Date.now();
    const w0 = performance.now();
    const s0 = sampleServer(server.pid);
    const l0 = cpuMs(loadPids);
    const c0 = await serverCounters(server.url);
    const d0 = await serverDrops(server.url);
    let prev = { at: w0, s: s0, l: l0 };
    for (let t = 0; t < SECONDS; ) {
      const step = Math.min(5, SECONDS - t);
      await sleep(step * 1000);
      t += step;
      const now = performance.now();
      const s = sampleServer(server.pid);
      const l = cpuMs(loadPids);
      const dt = now - prev.at;
      out(`    ${t.toFixed(0).padStart(3)} s: server ${pct(s, prev.s, dt)} CPU, load ${fmt(((l - prev.l) / dt) * 100)}%`);
      prev = { at: now, s, l };
    }
    const reports = shards.map((s) => s.next('report', 30_000));
    for (const s of shards) s.send({ type: 'report' });
    const windowMs = performance.now() - w0;
    const s1 = sampleServer(server.pid);
    const l1 = cpuMs(loadPids);
    const c1 = await serverCounters(server.url);
    const d1 = await serverDrops(server.url);
    const drops = Object.fromEntries(Object.entries(d1).map(([k, n]) => [k, n - (d0[k] ?? 0)]).filter(([, n]) => (n as number) > 0));
    const rs = (await Promise.all(reports)) as Array<Extract<CapacityShardEvent, { type: 'report' }>>;
    window = { from: wall0, to: Date.now() };
    result = summarize({ unconnected: unconnected.length, scenarioName, people, workers, recorder, specs, windowMs, s0, s1, loadCpuMs: l1 - l0, server: Object.fromEntries(Object.keys(c0).map((k) => [k, c1[k as keyof ServerCounters] - c0[k as keyof ServerCounters]])) as ServerCounters, drops, reports: rs });
  } finally {
    if (walkTimer) clearInterval(walkTimer);
    for (const s of shards) s.send({ type: 'close' });
    await Promise.all(
      shards.map((s) => {
        if (s.child.exitCode !== null || s.child.signalCode !== null) return null;
        const kill = setTimeout(() => s.child.kill('SIGKILL'), 5000);
        return new Promise((r) => s.child.once('exit', r)).finally(() => clearTimeout(kill));
      }),
    );
    await server.close();
    if (recorderPath) {
      // Closed by the server: the whole recording is in the main file now.
      if (result && window) Object.assign(result, recordedPerPersonH(recorderPath, window, people));
      for (const x of ['', '-wal', '-shm']) rmSync(recorderPath + x, { force: true });
    }
  }
  return result!;
}

/** Events the recording holds from the measured window, and their share of the file, per person-hour. */
function recordedPerPersonH(path: string, window: { from: number; to: number }, people: number): Pick<Trial, 'recorderEventsPerPersonH' | 'recorderBytesPerPersonH'> {
  const db = new Database(path, { readonly: true });
  try {
    const total = db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number;
    const inWindow = db.prepare('SELECT COUNT(*) FROM events WHERE ts >= ? AND ts < ?').pluck().get(window.from, window.to) as number;
    const personH = (people * (window.to - window.from)) / 3_600_000;
    const bytesPerEvent = total > 0 ? statSync(path).size / total : 0;
    return { recorderEventsPerPersonH: Math.round(inWindow / personH), recorderBytesPerPersonH: Math.round((inWindow * bytesPerEvent) / personH) };
  } finally {
    db.close();
  }
}

const pct = (a: ProcSample | null, b: ProcSample | null, dtMs: number) => (a && b ? `${fmt(((a.cpuMs - b.cpuMs) / dtMs) * 100)}%` : '-');

function summarize(o: {
  unconnected: number;
  scenarioName: string;
  people: number;
  workers: number | null;
  recorder: boolean;
  specs: PersonSpec[];
  windowMs: number;
  s0: ProcSample | null;
  s1: ProcSample | null;
  loadCpuMs: number;
  server: ServerCounters;
  drops: Record<string, number>;
  reports: Array<Extract<CapacityShardEvent, { type: 'report' }>>;
}): Trial {
  const windowS = o.windowMs / 1000;
  const serverCpuMs = o.s0 && o.s1 ? o.s1.cpuMs - o.s0.cpuMs : NaN;
  const everyone: ShardSubscriber[] = o.reports.flatMap((r) => r.subscribers);
  const subs = everyone.filter((s) => s.expected > 0);
  // Everyone but the first person (fanout's publisher, the town hall's speaker) must receive someone.
  const silent = everyone.filter((s) => s.index > 0 && s.expected === 0).length;
  const lossOf = subs.map((s) => s.lost / s.expected);
  const delay = new Histogram();
  const audioDelay = new Histogram();
  for (const r of o.reports) delay.merge(Histogram.fromJSON(r.delay));
  for (const r of o.reports) audioDelay.merge(Histogram.fromJSON(r.audioDelay));
  const failures: Record<string, number> = {};
  for (const r of o.reports) for (const [k, n] of Object.entries(r.authFailures)) failures[k] = (failures[k] ?? 0) + n;
  const packetsReceived = subs.reduce((a, s) => a + s.packets + s.rtxPackets, 0);
  const expected = subs.reduce((a, s) => a + s.expected, 0);
  const lost = subs.reduce((a, s) => a + s.lost, 0);
  const errors = o.reports.flatMap((r) => r.errors);
  const joined = o.reports.reduce((a, r) => a + r.subscribers.length, 0);
  if (joined < o.specs.length) errors.push(`${o.specs.length - joined} of ${o.specs.length} people did not join`);
  const failing = everyone.filter((x) => x.authFailed > 0).length;
  if (failing > 0) errors.push(`${failing} subscribers had packets fail SRTP checks`);
  if (o.unconnected > 0) errors.push(`${o.unconnected} subscribe transports not connected 60 s after joining`);
  if (silent > 0 && o.scenarioName !== 'mingle') errors.push(`${silent} listeners received nothing`);
  const cpuUsPerPersonS = (serverCpuMs * 1000) / (o.people * windowS);
  const t: Trial = {
    scenario: o.scenarioName,
    people: o.people,
    workers: o.workers,
    recorder: o.recorder,
    // Filled in from the recording itself once the server has closed it (recordedPerPersonH).
    recorderEventsPerPersonH: 0,
    recorderBytesPerPersonH: 0,
    publishers: o.specs.filter((s) => s.publish).length,
    subscribers: subs.length,
    silent,
    windowS: round(windowS, 2),
    serverCpuS: round(serverCpuMs / 1000, 2),
    serverCpuShare: round(serverCpuMs / o.windowMs, 3),
    serverRssMb: o.s1 ? Math.round(o.s1.rssBytes / 2 ** 20) : NaN,
    loadCpuS: round(o.loadCpuMs / 1000, 2),
    loadCpuShare: round(o.loadCpuMs / o.windowMs, 3),
    packetsOut: o.server.packetsOut,
    packetsReceived,
    cpuUsPerPersonS: round(cpuUsPerPersonS, 1),
    cpuUsPerPacketOut: round((serverCpuMs * 1000) / o.server.packetsOut, 2),
    peoplePerCore: Math.round(1e6 / cpuUsPerPersonS),
    loadUsPerPacketReceived: round((o.loadCpuMs * 1000) / packetsReceived, 2),
    loss: { aggregate: round(expected ? lost / expected : NaN, 5), p50: round(percentile(lossOf, 50), 5), p95: round(percentile(lossOf, 95), 5), max: round(lossOf.length ? Math.max(...lossOf) : NaN, 5) },
    delayMs: { p50: round(delay.percentile(50), 2), p99: round(delay.percentile(99), 2), max: round(delay.count ? delay.max : NaN, 2), samples: delay.count },
    audioDelayMs: { p50: round(audioDelay.percentile(50), 2), p99: round(audioDelay.percentile(99), 2), samples: audioDelay.count },
    server: o.server,
    loadAverage: round(loadavg()[0]!, 2),
    serverDrops: o.drops,
    slowSubscribers: subs.filter((x) => x.delayP50Ms >= DELAY_MAX_MS).length,
    auth: { checked: subs.reduce((a, s) => a + s.authenticated, 0), unauthenticated: subs.reduce((a, s) => a + s.unauthenticated, 0), failures },
    loadLagMaxMs: round(Math.max(...o.reports.map((r) => r.lagMaxMs)), 1),
    unknownPackets: o.reports.reduce((a, r) => a + r.unknownPackets, 0),
    errors,
    pass: false,
  };
  t.pass = errors.length === 0 && subs.length > 0 && t.loss.max < LOSS_MAX && t.delayMs.p99 < DELAY_MAX_MS;
  return t;
}

const round = (x: number, d: number) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

/** Largest passing size: grow ×1.5 from the start until a trial fails, then halve the gap to ~10 %. */
async function search(scenario: string, workers: number | null): Promise<{ people: number | null; firstFail: number | null; trials: Trial[] }> {
  const trials: Trial[] = [];
  const run = async (n: number) => {
    let t: Trial;
    try {
      t = await trial(scenario, n, workers, SEED, RECORDER[0]);
    } catch (e) {
      if (e instanceof WorkersUnavailable) throw e;
      out(`  ${scenario} ${n}: failed: ${(e as Error).message}`);
      return false;
    }
    trials.push(t);
    out(`  → ${t.pass ? 'holds' : 'does not hold'}: worst subscriber loss ${fmt(t.loss.max * 100, 2)}%, p99 delay ${fmt(t.delayMs.p99, 1)} ms (audio ${fmt(t.audioDelayMs.p99, 1)}), server ${fmt(t.serverCpuShare * 100)}% CPU, load ${fmt(t.loadCpuShare * 100)}%${t.errors.length ? `; ${t.errors.join('; ')}` : ''}`);
    return t.pass;
  };
  let lo: number | null = null;
  let hi: number | null = null;
  for (let n = SEARCH_START; n <= SEARCH_MAX; n = Math.round(n * 1.5)) {
    if (await run(n)) lo = n;
    else {
      hi = n;
      break;
    }
  }
  if (lo === null) {
    for (let n = Math.floor(SEARCH_START / 2); n >= 4; n = Math.floor(n / 2)) {
      if (await run(n)) {
        lo = n;
        break;
      }
      hi = n;
    }
  }
  while (lo !== null && hi !== null && hi - lo > Math.max(4, lo * 0.1)) {
    const mid = Math.round((lo + hi) / 2);
    if (await run(mid)) lo = mid;
    else hi = mid;
  }
  return { people: lo, firstFail: hi, trials };
}

// ---------------------------------------------------------------------------------------------------------

out(`capacity: scenarios ${SCENARIO_NAMES.join(', ')} at ${PEOPLE.join(', ')} people, workers ${WORKERS.map((w) => w ?? 'default').join(', ')}; ${SHARDS} load processes, ${SECONDS} s window after ${WARMUP} s; ${cpus().length} cores`);
const trials: Trial[] = [];
const saturation: Array<{ workers: number | null; scenario: string; people: number | null; firstFail: number | null; trials: Trial[] }> = [];
const unavailable: Array<{ workers: number; reason: string }> = [];
let exitCode = 0;
for (const workers of WORKERS) {
  try {
    for (const scenario of SCENARIO_NAMES) {
      for (const people of PEOPLE) {
        const runs: Trial[] = [];
        // With the recorder on and off, in turn within each run: side by side on the same machine state.
        for (let r = 0; r < RUNS; r++) {
          for (const recorder of RECORDER) {
            try {
              runs.push(await trial(scenario, people, workers, SEED + r, recorder));
            } catch (e) {
              if (e instanceof WorkersUnavailable) throw e;
              out(`  ${scenario} ${people}: failed: ${(e as Error).message}`);
              exitCode = 1;
            }
          }
        }
        trials.push(...runs);
        for (const recorder of RECORDER) {
          const m = medianTrial(runs.filter((t) => t.recorder === recorder));
          if (m) out(`  → ${scenario} ${people}${RECORDER.length > 1 ? ` (recorder ${recorder ? 'on' : 'off'})` : ''}: ${fmt(m.cpuUsPerPersonS)} CPU-µs per person-second, ${fmt(m.cpuUsPerPacketOut, 1)} per packet out: ${fmt(m.peoplePerCore)} people per core; delay p50 ${fmt(m.delayMs.p50, 1)} / p99 ${fmt(m.delayMs.p99, 1)} ms (audio ${fmt(m.audioDelayMs.p50, 1)} / ${fmt(m.audioDelayMs.p99, 1)})`);
        }
      }
    }
    if (SEARCH) {
      out(`saturation search: ${SEARCH}${workers !== null ? `, ${workers} workers` : ''} (worst subscriber loss < ${LOSS_MAX * 100}%, p99 delay < ${DELAY_MAX_MS} ms)`);
      const s = await search(SEARCH, workers);
      saturation.push({ workers, scenario: SEARCH, ...s });
    }
  } catch (e) {
    if (!(e instanceof WorkersUnavailable) || workers === null) throw e;
    out(`workers not available: the server refused media.workers = ${workers} (${e.message})`);
    unavailable.push({ workers, reason: e.message });
  }
}

/** The run with the median CPU per person-second (so its other figures belong to the same run). */
function medianTrial(runs: Trial[]): Trial | null {
  if (runs.length === 0) return null;
  const m = median(runs.map((r) => r.cpuUsPerPersonS));
  return runs.reduce((a, b) => (Math.abs(b.cpuUsPerPersonS - m) < Math.abs(a.cpuUsPerPersonS - m) ? b : a));
}

const wl = (w: number | null) => (w === null ? 'default' : String(w));
const figureRows: Array<{ scenario: string; people: number; workers: number | null; recorder: boolean; t: Trial; runs: number }> = [];
for (const workers of WORKERS)
  for (const scenario of SCENARIO_NAMES)
    for (const people of PEOPLE)
      for (const recorder of RECORDER) {
        const runs = trials.filter((t) => t.workers === workers && t.scenario === scenario && t.people === people && t.recorder === recorder);
        const t = medianTrial(runs);
        if (t) figureRows.push({ scenario, people, workers, recorder, t, runs: runs.length });
      }
const lossPct = (x: number) => fmt(x * 100, 2);
printTable(
  `Capacity per scenario (server as its own process; ${SECONDS} s window; median of ${RUNS} run(s) by CPU per person-second)`,
  ['scenario', 'workers', 'recorder', 'people', 'server CPU', 'CPU-µs/person-s', 'CPU-µs/pkt out', 'pkt out/s', 'people/core', 'loss p95 / max %', 'delay p50 / p99 ms', 'load CPU', 'load µs/pkt in'],
  figureRows.map(({ scenario, people, workers, recorder, t }) => [
    scenario,
    wl(workers),
    recorder ? 'on' : 'off',
    people,
    `${fmt(t.serverCpuShare * 100)}%`,
    fmt(t.cpuUsPerPersonS),
    fmt(t.cpuUsPerPacketOut, 1),
    fmt(t.packetsOut / t.windowS),
    fmt(t.peoplePerCore),
    `${lossPct(t.loss.p95)} / ${lossPct(t.loss.max)}`,
    `${fmt(t.delayMs.p50, 1)} / ${fmt(t.delayMs.p99, 1)}`,
    `${fmt(t.loadCpuShare * 100)}%`,
    fmt(t.loadUsPerPacketReceived, 1),
  ]),
);
if (RECORDER.includes(true)) {
  const rows = figureRows.filter((r) => r.recorder);
  printTable(
    'Flight recorder: what it stores per person-hour (median run)',
    ['scenario', 'workers', 'people', 'events/person-h', 'KB/person-h'],
    rows.map(({ scenario, people, workers, t }) => [scenario, wl(workers), people, fmt(t.recorderEventsPerPersonH), fmt(t.recorderBytesPerPersonH / 1024)]),
  );
  if (RECORDER.length > 1) {
    for (const on of rows) {
      const off = figureRows.find((r) => !r.recorder && r.scenario === on.scenario && r.people === on.people && r.workers === on.workers);
      if (off) out(`recorder cost, ${on.scenario} ${on.people}: ${fmt(on.t.cpuUsPerPacketOut, 2)} CPU-µs per packet out with it, ${fmt(off.t.cpuUsPerPacketOut, 2)} without (×${fmt(on.t.cpuUsPerPacketOut / off.t.cpuUsPerPacketOut, 3)})`);
    }
  }
}
for (const s of saturation) {
  const lossOnly = s.trials.filter((t) => t.errors.length === 0 && t.loss.max < LOSS_MAX).reduce((a, t) => Math.max(a, t.people), 0);
  out(`largest ${s.scenario} tried with every subscriber's loss < ${LOSS_MAX * 100}% (delay aside): ${lossOnly || 'none'}`);
  printTable(
    `Saturation search, ${s.scenario}, workers ${wl(s.workers)}: largest holding ${s.people ?? 'none'} people${s.firstFail !== null ? ` (${s.firstFail} did not)` : ` (none failed up to ${SEARCH_MAX})`}`,
    ['people', 'holds', 'server CPU', 'loss max %', 'delay p50 ms', 'delay p99 ms', 'audio p99 ms', 'load CPU', 'load lag max ms', 'load avg', 'errors'],
    s.trials.map((t) => [t.people, t.pass ? 'yes' : 'no', `${fmt(t.serverCpuShare * 100)}%`, lossPct(t.loss.max), fmt(t.delayMs.p50, 1), fmt(t.delayMs.p99, 1), fmt(t.audioDelayMs.p99, 1), `${fmt(t.loadCpuShare * 100)}%`, fmt(t.loadLagMaxMs), fmt(t.loadAverage, 1), t.errors.length]),
  );
}
const all = [...trials, ...saturation.flatMap((s) => s.trials)];
const serverCpuS = all.reduce((a, t) => a + t.serverCpuS, 0);
const loadCpuS = all.reduce((a, t) => a + t.loadCpuS, 0);
const windowS = all.reduce((a, t) => a + t.windowS, 0);
const authChecked = all.reduce((a, t) => a + t.auth.checked, 0);
const authFailed = all.reduce((a, t) => a + Object.values(t.auth.failures).reduce((x, y) => x + y, 0), 0);
if (all.length > 0) {
  out(
    `Load side over all measured windows: ${fmt(loadCpuS, 1)} CPU-s against the server's ${fmt(serverCpuS, 1)} (${fmt((loadCpuS / windowS) * 100)}% and ${fmt((serverCpuS / windowS) * 100)}% of one core on average, ` +
      `of ${cpus().length} cores); SRTP authentication checked on ${fmt(authChecked)} packets, ${fmt(authFailed)} failed.`,
  );
}
for (const u of unavailable) out(`workers not available: media.workers = ${u.workers} was refused by this server build`);
const path = writeResults('capacity', {
  config: { scenarios: SCENARIO_NAMES, people: PEOPLE, workers: WORKERS, recorder: RECORDER, seconds: SECONDS, warmupS: WARMUP, runs: RUNS, shards: SHARDS, search: SEARCH, searchStart: SEARCH_START, searchMax: SEARCH_MAX, authEvery: AUTH_EVERY, lossMax: LOSS_MAX, delayMaxMs: DELAY_MAX_MS, seed: SEED },
  figures: figureRows.map(({ scenario, people, workers, recorder, t, runs }) => ({ scenario, people, workers, recorder, runs, cpuUsPerPersonS: t.cpuUsPerPersonS, cpuUsPerPacketOut: t.cpuUsPerPacketOut, peoplePerCore: t.peoplePerCore, recorderEventsPerPersonH: t.recorderEventsPerPersonH, recorderBytesPerPersonH: t.recorderBytesPerPersonH })),
  saturation: saturation.map(({ trials: ts, ...s }) => ({
    ...s,
    largestWithLossOnly: ts.filter((t) => t.errors.length === 0 && t.loss.max < LOSS_MAX).reduce((a, t) => Math.max(a, t.people), 0) || null,
    trials: ts.map((t) => t.people),
  })),
  workersUnavailable: unavailable,
  loadSide: { loadCpuS: round(loadCpuS, 1), serverCpuS: round(serverCpuS, 1), windowS: round(windowS, 1), authChecked, authFailed },
  trials: all,
});
out(`wrote ${path}`);
process.exit(exitCode);
