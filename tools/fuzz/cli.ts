/**
 * npm run fuzz [-- --full] [--seed N] [--target name …] [--resume] [--inputs N]
 *
 * Fuzzes every target (tools/fuzz/targets.ts): 20k inputs each by default, 1M with --full. Prints progress
 * on long runs, a summary table, writes bench/results/fuzz.json, and exits non-zero on any escaped
 * exception or any call of 10 ms or more (saved under test/fuzz/regressions/<target>/). --resume continues
 * the last run from .fuzz-state/state.json (written every few seconds and on Ctrl-C).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { DEFAULT_LIMIT_MS, ROOT, fuzzTarget, type TargetState } from './runner.ts';
import { TARGET_NAMES, makeTarget } from './targets.ts';

const SHORT = 20_000;
const FULL = 1_000_000;
const STATE_DIR = join(ROOT, '.fuzz-state');
/** One state file per set of targets, so runs of different targets (in parallel) keep apart. */
const stateFile = (targets: readonly string[]) => join(STATE_DIR, `${targets.length === TARGET_NAMES.length ? 'all' : [...targets].sort().join('+')}.json`);

interface RunState {
  seed: number;
  goal: number;
  targets: string[];
  done: Record<string, TargetState>;
  current: TargetState | null;
}

const usage = `usage: npm run fuzz -- [--full] [--seed N] [--target name]… [--inputs N] [--resume] [--report]
  --report: the summary of every finished target in .fuzz-state/ with the same seed and goal (runs of
            target sets in parallel processes), written to bench/results/fuzz.json when all are there
  results of some targets go to .fuzz-state/fuzz-partial.json
targets: ${TARGET_NAMES.join(', ')}`;

const fmt = (n: number) => n.toLocaleString('en-US');
const tty = process.stdout.isTTY === true;
let lastLine = 0;

let args;
try {
  args = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      seed: { type: 'string' },
      target: { type: 'string', multiple: true },
      inputs: { type: 'string' },
      resume: { type: 'boolean', default: false },
      report: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
} catch (e) {
  console.error(`${(e as Error).message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}

const requested = args.target?.length ? args.target : [...TARGET_NAMES];
const unknown = requested.filter((t) => !TARGET_NAMES.includes(t));
if (unknown.length) {
  console.error(`unknown target ${unknown.join(', ')}\n${usage}`);
  process.exit(2);
}
const STATE_FILE = stateFile(requested);
let state: RunState;
if (args.report) {
  const seed = args.seed === undefined ? 1 : Number(args.seed);
  const goal = args.inputs !== undefined ? Number(args.inputs) : args.full ? FULL : SHORT;
  const done: Record<string, TargetState> = {};
  for (const f of existsSync(STATE_DIR) ? readdirSync(STATE_DIR).filter((n) => n.endsWith('.json')) : []) {
    const s = JSON.parse(readFileSync(join(STATE_DIR, f), 'utf8')) as RunState;
    if (!s.done || s.seed !== seed || s.goal !== goal) continue;
    for (const [n, t] of Object.entries(s.done)) if (!done[n] || done[n].elapsedMs < t.elapsedMs) done[n] = t;
  }
  state = { seed, goal, targets: TARGET_NAMES.filter((n) => done[n]), done, current: null };
  if (state.targets.length < TARGET_NAMES.length) console.log(`[fuzz] report: missing ${TARGET_NAMES.filter((n) => !done[n]).join(', ')}`);
  summarize(state, 0, state.targets.length === TARGET_NAMES.length);
  process.exit(0);
}
if (args.resume) {
  if (!existsSync(STATE_FILE)) {
    console.error(`nothing to resume: ${STATE_FILE.replace(ROOT, '')} does not exist`);
    process.exit(2);
  }
  state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as RunState;
  console.log(`[fuzz] resuming seed ${state.seed}, ${state.goal} inputs per target, ${Object.keys(state.done).length}/${state.targets.length} targets done`);
} else {
  const seed = args.seed === undefined ? 1 : Number(args.seed);
  const goal = args.inputs !== undefined ? Number(args.inputs) : args.full ? FULL : SHORT;
  if (!Number.isInteger(seed) || seed < 0 || !Number.isInteger(goal) || goal < 1) {
    console.error(`--seed and --inputs take whole numbers\n${usage}`);
    process.exit(2);
  }
  state = { seed, goal, targets: requested, done: {}, current: null };
}

function save(): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify(state));
}

let stopping = false;
process.on('SIGINT', () => {
  if (stopping) process.exit(130);
  stopping = true;
  console.log('\n[fuzz] stopping after this batch; --resume continues');
});

const t0 = Date.now();
console.log(`[fuzz] seed ${state.seed}, ${fmt(state.goal)} inputs per target, ${state.targets.length} targets, limit ${DEFAULT_LIMIT_MS} ms per call`);
for (const name of state.targets) {
  if (state.done[name]) continue;
  if (stopping) break;
  const resume = state.current?.target === name ? state.current : undefined;
  const target = makeTarget(name);
  const st = await fuzzTarget(target, {
    seed: state.seed,
    goal: state.goal,
    writeRegressions: true,
    resume,
    onProgress: (s) => {
      // A line rewritten in place on a terminal; one line every 10 s into a log.
      const now = Date.now();
      if (!tty && now - lastLine < 10_000) return;
      lastLine = now;
      const rate = s.inputs / (s.elapsedMs / 1000);
      const left = (state.goal - s.inputs) / rate;
      const msg = `[fuzz] ${name}: ${fmt(s.inputs)}/${fmt(state.goal)} (${((100 * s.inputs) / state.goal).toFixed(1)} %), ${fmt(Math.round(rate))}/s, escapes ${s.escapes}, slowest ${fmt(s.slowestUs)} µs, ~${Math.ceil(left)} s left`;
      process.stdout.write(tty ? `\r${msg}\x1b[K` : `${msg}\n`);
    },
    onCheckpoint: (s) => {
      state.current = s;
      save();
    },
    shouldStop: () => stopping,
  });
  if (tty) process.stdout.write('\r\x1b[K');
  if (st.inputs >= state.goal) {
    state.done[name] = st;
    state.current = null;
  } else state.current = st;
  save();
  const f = st.findings.length ? `, ${st.findings.length} finding(s)` : '';
  console.log(`[fuzz] ${name}: ${fmt(st.inputs)} inputs in ${(st.elapsedMs / 1000).toFixed(1)} s, escapes ${st.escapes}, slowest ${fmt(st.slowestUs)} µs${f}`);
  for (const x of st.findings) console.log(`         ${x.kind}: ${x.what}${x.file ? ` → ${x.file}` : ''}`);
}

const code = summarize(state, t0, state.targets.length === TARGET_NAMES.length);
// Timers inside libraries (werift's retransmissions) must not hold the process.
process.exit(code);

/** Table on stdout and the JSON result; returns the exit code (1: an escape or a slow call, 3: unfinished). */
function summarize(state: RunState, t0: number, whole: boolean): number {
  const rows = state.targets.map((n) => state.done[n] ?? (state.current?.target === n ? state.current : null)).filter((s): s is TargetState => s !== null);
  const header = ['target', 'inputs', 'escapes', 'slow calls', 'slowest µs', 'inputs/s', 'outcomes'];
  const table = rows.map((s) => [s.target, fmt(s.inputs), String(s.escapes), String(s.slowCalls), fmt(s.slowestUs), fmt(Math.round(s.inputs / (s.elapsedMs / 1000))), String(s.labels)]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of table) console.log(line(r));

  const incomplete = state.targets.filter((n) => !state.done[n]);
  const escapes = rows.reduce((a, s) => a + s.escapes, 0);
  const slow = rows.reduce((a, s) => a + s.slowCalls, 0);
  const wall = (Date.now() - t0) / 1000;
  for (const s of rows) {
    const t = makeTarget(s.target);
    if (t.known && s.slowCalls > 0) console.log(`  ${s.target}: known finding, fixed by other work: ${t.known.note}`);
    t.close?.();
  }
  console.log(`\n${fmt(rows.reduce((a, s) => a + s.inputs, 0))} inputs, ${escapes} escapes, ${slow} calls ≥ ${DEFAULT_LIMIT_MS} ms${t0 ? `, ${wall.toFixed(0)} s wall` : ''}${incomplete.length ? `; unfinished: ${incomplete.join(', ')} (--resume)` : ''}`);

  // bench/results/fuzz.json holds whole runs (every target); a run of some targets writes beside its state.
  const resultFile = whole ? join(ROOT, 'bench/results/fuzz.json') : join(STATE_DIR, 'fuzz-partial.json');
  mkdirSync(join(resultFile, '..'), { recursive: true });
  writeFileSync(
    resultFile,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        seed: state.seed,
        goal: state.goal,
        limitMs: DEFAULT_LIMIT_MS,
        complete: incomplete.length === 0,
        targets: rows.map((s) => ({
          target: s.target,
          inputs: s.inputs,
          escapes: s.escapes,
          slowCalls: s.slowCalls,
          slowestUs: s.slowestUs,
          slowestInputB64: s.slowestInputB64.length <= 4096 ? s.slowestInputB64 : `${s.slowestInputB64.slice(0, 4096)}…`,
          inputsPerS: Math.round(s.inputs / (s.elapsedMs / 1000)),
          outcomes: s.labels,
          regressionsReplayed: s.replayed,
          findings: s.findings.map((f) => ({ kind: f.kind, what: f.what, file: f.file })),
        })),
      },
      null,
      2,
    ) + '\n',
  );
  return escapes > 0 || slow > 0 ? 1 : incomplete.length > 0 ? 3 : 0;
}
