/**
 * The load generator's command line:
 *   npm run loadgen -- <scenario> [--people N] [--duration S] [--warmup S] [--url URL] [--out FILE] …
 * Prints a live progress table, a summary table at the end, and writes the JSON report.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad } from './run.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { printSummary } from './summary.ts';

const USAGE = `usage: npm run loadgen -- <scenario> [options]

scenarios:
${Object.values(SCENARIOS)
  .map((s) => `  ${s.name.padEnd(9)} ${s.summary} (default ${s.defaultPeople} people)`)
  .join('\n')}

options:
  --people N        people in the run (default: the scenario's)
  --subscribers N   fanout/pair: viewers (people = N + 1)
  --duration S      measured seconds (default 20)
  --warmup S        seconds between the last join and measuring (default 5)
  --url URL         load a running server (default: start the embedded one as a child process)
  --janus URL       load a Janus VideoRoom (HTTP API URL, e.g. http://127.0.0.1:8088/janus) instead; pair and fanout
  --server-pid PID  with --url or --janus: measure this server process's CPU and memory
  --space NAME      space to join (default loadgen)
  --runtime R       the embedded server: compiled (default, what npm start runs) or tsx (the sources)
  --map FILE        map for the embedded server (default: the scenario's; crowds use tools/loadgen/maps/plaza.json)
  --secret S        sign join tokens with the server's secret instead of asking for guest tokens
  --simulcast       publishers send three layers (320x180/640x360/1280x720) as rid simulcast, like Chrome
  --seed N          random seed for positions and walks (default 1)
  --concurrency N   joins in flight at once (default 4)
  --freeze-ms N     a frame gap longer than this is a freeze (default 200)
  --out FILE        JSON report (default loadgen-reports/<scenario>-<time>.json)
`;

function fail(msg: string): never {
  process.stderr.write(`loadgen: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      people: { type: 'string' },
      subscribers: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      url: { type: 'string' },
      janus: { type: 'string' },
      'server-pid': { type: 'string' },
      space: { type: 'string' },
      map: { type: 'string' },
      runtime: { type: 'string' },
      secret: { type: 'string' },
      seed: { type: 'string' },
      simulcast: { type: 'boolean' },
      concurrency: { type: 'string' },
      'freeze-ms': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (e) {
  fail((e as Error).message);
}
const { values: v, positionals } = parsed;
if (v.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const scenario = positionals[0];
if (!scenario) fail('name a scenario');
if (!SCENARIOS[scenario]) fail(`unknown scenario "${scenario}"`);
if (positionals.length > 1) fail(`unexpected argument "${positionals[1]}"`);
const subscribers = int('subscribers', v.subscribers, 1);
if (subscribers !== undefined && v.people !== undefined) fail('give --people or --subscribers, not both');
const people = subscribers !== undefined ? subscribers + 1 : int('people', v.people, 2);
if (v.runtime !== undefined && v.runtime !== 'compiled' && v.runtime !== 'tsx') fail(`--runtime takes compiled or tsx, got "${v.runtime}"`);
const root = fileURLToPath(new URL('../../', import.meta.url));
const out = v.out ?? join(root, 'loadgen-reports', `${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);

try {
  const report = await runLoad({
    scenario,
    ...(people !== undefined ? { people } : {}),
    durationS: int('duration', v.duration, 1) ?? 20,
    warmupS: int('warmup', v.warmup, 0) ?? 5,
    ...(v.url ? { url: v.url } : {}),
    ...(v.janus ? { janusUrl: v.janus } : {}),
    ...(v['server-pid'] ? { serverPid: int('server-pid', v['server-pid'], 1)! } : {}),
    space: v.space ?? 'loadgen',
    ...(v.map ? { map: v.map } : {}),
    serverRuntime: v.runtime === 'tsx' ? 'tsx' : 'compiled',
    ...(v.secret ? { secret: v.secret } : {}),
    seed: int('seed', v.seed, 0) ?? 1,
    ...(v.simulcast ? { simulcast: true } : {}),
    joinConcurrency: int('concurrency', v.concurrency, 1) ?? 4,
    freezeMs: int('freeze-ms', v['freeze-ms'], 1) ?? 200,
    out,
  });
  printSummary([report]);
  process.stdout.write(`report: ${out}\n`);
  process.exit(report.errors.length > 0 ? 1 : 0);
} catch (e) {
  process.stderr.write(`loadgen: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
}
