/**
 * Soak: the embedded server as its own process under waves of the load generator's mingle (people join, walk
 * between groups, leave; the next wave joins), for a long time. After each wave, with everyone gone, the
 * server's resident memory, open file descriptors, active handles and timers are read: what a leak would
 * grow. A person who received no frame in a wave is a lost person.
 *
 * Run: node --import tsx bench/soak.ts [--minutes 60] [--people 60] [--wave 60] [--warmup-waves 2]
 * Prints a line per wave and a table; writes bench/results/soak.json.
 */
import { parseArgs } from 'node:util';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '../tools/loadgen/run.ts';
import { sampleProcess } from '../tools/loadgen/proc-stats.ts';
import { startProximaProcess } from '../tools/loadgen/server-process.ts';
import { SCENARIOS } from '../tools/loadgen/scenarios/index.ts';
import { printTable, fmt } from './lib/table.ts';
import { writeResults } from './lib/results.ts';
import { rssTrend } from './lib/rss-trend.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    people: { type: 'string', default: '60' },
    wave: { type: 'string', default: '60' },
    'warmup-waves': { type: 'string', default: '2' },
  },
});
const MINUTES = Number(args.minutes);
const PEOPLE = Number(args.people);
const WAVE_S = Number(args.wave);
const WARMUP_WAVES = Number(args['warmup-waves']);
for (const [k, v] of [['minutes', MINUTES], ['people', PEOPLE], ['wave', WAVE_S], ['warmup-waves', WARMUP_WAVES]] as const) {
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${k} must be a number ≥ 0, got ${String(v)}`);
}

interface Sample {
  wave: number;
  atS: number;
  rssMb: number;
  fds: number;
  handles: number;
  timers: number;
  /** Every active resource (sockets, timers, immediates) of the server's event loop. */
  resources: number;
  participants: number;
  joined: number;
  lost: number;
  errors: number;
  freezes: number;
  serverCpu: number;
}

/** A gauge of the server's /metrics, summed over its label sets (null if absent). */
function metric(text: string, name: string, label?: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (label !== undefined && !line.includes(label)) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const server = await startProximaProcess({ env: { PROXIMA_MAP: SCENARIOS.mingle!.map ?? '' }, runtime: 'compiled' });
process.stdout.write(`soak: server ${server.url} (pid ${server.pid}, log ${server.logFile}); ${PEOPLE} people per wave of ${WAVE_S} s for ${MINUTES} min\n`);
const samples: Sample[] = [];
const failedWaves: Array<{ wave: number; error: string }> = [];
const t0 = Date.now();
let exitCode = 0;
try {
  for (let wave = 1; Date.now() - t0 < MINUTES * 60_000 || wave <= WARMUP_WAVES + 1; wave++) {
    let report: Awaited<ReturnType<typeof runLoad>>;
    try {
      report = await runLoad({
      scenario: 'mingle',
      people: PEOPLE,
      durationS: WAVE_S,
      warmupS: 3,
      url: server.url,
      serverPid: server.pid,
      space: 'soak',
      seed: wave,
      joinConcurrency: 4,
      freezeMs: 200,
      out: join(tmpdir(), `proxima-soak-${process.pid}-${wave}.json`),
      print: () => undefined,
      });
    } catch (e) {
      // A join that failed ends the wave (the load generator closes everyone it opened): counted, and on.
      failedWaves.push({ wave, error: (e as Error).message });
      process.stdout.write(`wave ${wave}: failed: ${(e as Error).message}\n`);
      await new Promise((r) => setTimeout(r, 3000));
      continue;
    }
    // Everyone of the wave has left: let the server release what they held.
    await new Promise((r) => setTimeout(r, 3000));
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const proc = sampleProcess(server.pid);
    const s: Sample = {
      wave,
      atS: Math.round((Date.now() - t0) / 1000),
      rssMb: (proc?.rssBytes ?? 0) / 2 ** 20,
      fds: readdirSync(`/proc/${server.pid}/fd`).length,
      handles: metric(text, 'nodejs_active_handles_total') ?? NaN,
      // Timers keeping the loop alive (an unref'd timer is not listed; none listed is 0).
      timers: metric(text, 'nodejs_active_resources', 'type="Timeout"') ?? (text.includes('nodejs_active_resources{') ? 0 : NaN),
      resources: metric(text, 'nodejs_active_resources_total') ?? NaN,
      participants: metric(text, 'proxima_participants') ?? NaN,
      joined: report.perPerson.length,
      lost: report.perPerson.filter((p) => p.frames === 0).length,
      errors: report.errors.length,
      freezes: report.video.freezes,
      serverCpu: report.server?.cpu ?? NaN,
    };
    samples.push(s);
    process.stdout.write(
      `wave ${wave} at ${s.atS} s: ${s.joined} joined, ${s.lost} lost, ${s.errors} errors, ${s.freezes} freezes, server ${fmt(s.serverCpu * 100)}% CPU; ` +
        `after leaving: ${s.participants} participants, RSS ${fmt(s.rssMb, 1)} MB, ${s.fds} fds, ${s.handles} handles, ${s.resources} resources (${s.timers} timers)\n`,
    );
  }
} catch (e) {
  process.stderr.write(`soak: ${(e as Error).stack ?? String(e)}\n`);
  exitCode = 1;
} finally {
  await server.close();
}

const baseIdx = Math.min(WARMUP_WAVES, samples.length - 1);
const base = samples[baseIdx];
const last = samples.at(-1);
if (base && last) {
  // Judged on window medians: single samples swing ~10 % with no trend and flagged a flat hour.
  const trend = rssTrend(samples.slice(baseIdx).map((s) => s.rssMb));
  const growth = trend.growth;
  const summary = {
    waves: samples.length,
    minutes: Math.round((Date.now() - t0) / 600) / 100,
    peoplePerWave: PEOPLE,
    joinedTotal: samples.reduce((a, s) => a + s.joined, 0),
    lostTotal: samples.reduce((a, s) => a + s.lost, 0),
    errorsTotal: samples.reduce((a, s) => a + s.errors, 0),
    rssAfterWarmupMb: base.rssMb,
    rssEndMb: last.rssMb,
    /** Waves in each median window. */
    rssMedianWaves: trend.k,
    rssMedianFirstMb: trend.firstMedianMb,
    rssMedianLastMb: trend.lastMedianMb,
    /** What the check uses: rssMedianLastMb against rssMedianFirstMb. */
    rssGrowth: growth,
    fds: [base.fds, last.fds],
    handles: [base.handles, last.handles],
    timers: [base.timers, last.timers],
    resources: [base.resources, last.resources],
    participantsLeft: last.participants,
    failedWaves,
  };
  printTable(
    `soak: ${summary.waves} waves of ${PEOPLE} people over ${summary.minutes} min (after wave ${base.wave} = after warm-up)`,
    ['figure', 'after warm-up', 'end'],
    [
      ['RSS MB (everyone gone), one sample', fmt(base.rssMb, 1), fmt(last.rssMb, 1)],
      [`RSS MB, median of ${trend.k} waves (checked)`, fmt(trend.firstMedianMb, 1), `${fmt(trend.lastMedianMb, 1)} (${fmt(growth * 100, 1)}%)`],
      ['open fds', base.fds, last.fds],
      ['active handles', base.handles, last.handles],
      ['timers', base.timers, last.timers],
      ['active resources', base.resources, last.resources],
      ['participants left', base.participants, last.participants],
      ['people joined / lost', '', `${summary.joinedTotal} / ${summary.lostTotal}`],
      ['waves failed (a join that did not complete)', '', `${failedWaves.length} of ${samples.length + failedWaves.length}`],
    ],
  );
  const path = writeResults('soak', { summary, samples });
  process.stdout.write(`wrote ${path}\n`);
  if (summary.lostTotal > 0 || failedWaves.length > 0 || growth > 0.05 || last.fds > base.fds || last.timers > base.timers || last.resources > base.resources || last.participants > 0) exitCode = exitCode || 3;
}
process.exit(exitCode);
