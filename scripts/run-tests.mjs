// Runs every test file through node's built-in runner (with tsx for TypeScript).
// Unit tests live beside the code (src/, tools/, web/, bench/); integration and browser tests under test/.
// Usage: node scripts/run-tests.mjs [--repeat N] [--load] [path-filter ...]
//   --repeat N  run the matched files N times, one run after another, and print a summary per file
//               (how many runs passed); exits non-zero unless every run of every file passed.
//   --load      keep one core busy with a CPU hog (a child process spinning) while the tests run:
//               a test that asserts a time or a rate must hold on a busy machine.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { repeat: { type: 'string' }, load: { type: 'boolean', default: false } } });
} catch (e) {
  console.error(`${e.message}\nusage: node scripts/run-tests.mjs [--repeat N] [--load] [path-filter ...]`);
  process.exit(2);
}
const repeat = parsed.values.repeat === undefined ? 1 : Number(parsed.values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) {
  console.error(`--repeat needs a whole number ≥ 1 (got ${parsed.values.repeat})`);
  process.exit(2);
}
const filters = parsed.positionals;
let files = ['src', 'test', 'tools', 'web', 'bench'].filter((d) => existsSync(join(root, d))).flatMap((d) => walk(join(root, d), [])).sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Types first: a strict typecheck failure fails the suite.
if (!filters.length) {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('typecheck failed');
    process.exit(tsc.status ?? 1);
  }
}

/** One core kept busy: a child process spinning until it is killed (a separate process, so our own loop stays free). */
function startHog() {
  return spawn(process.execPath, ['-e', 'for (;;) { Math.sqrt(Math.random()); }'], { stdio: 'ignore' });
}

// Browser and socket tests share two cores: run files one at a time so timings stay honest.
const runnerArgs = (fs) => ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=180000', ...fs];
const hog = parsed.values.load ? startHog() : null;
if (hog) console.log(`[run-tests] --load: one core kept busy by a CPU hog (pid ${hog.pid})`);

/**
 * The test runner in a process group of its own (its browsers and servers with it), awaited rather than
 * run synchronously: a blocked loop would hold a stop signal until the file ended, and a runner told to stop
 * went on to the next file, its hog still spinning, under the next run's feet.
 */
let current = null;
function stopAll() {
  hog?.kill('SIGKILL');
  if (current?.pid) {
    try {
      process.kill(-current.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    stopAll();
    process.exit(130);
  });
}
function runFiles(fs) {
  return new Promise((resolve) => {
    current = spawn(process.execPath, runnerArgs(fs), { cwd: root, stdio: 'inherit', detached: true });
    current.on('error', () => resolve(1));
    current.on('exit', (code) => {
      current = null;
      resolve(code ?? 1);
    });
  });
}

if (repeat === 1) {
  const status = await runFiles(files);
  process.exit(status);
}

// Repeat: each file on its own, N times, so one file's failure is counted against it alone.
const passed = new Map(files.map((f) => [f, 0]));
const failedRuns = new Map(files.map((f) => [f, []]));
const t0 = Date.now();
for (let run = 1; run <= repeat; run++) {
  for (const f of files) {
    const started = Date.now();
    const ok = (await runFiles([f])) === 0;
    if (ok) passed.set(f, passed.get(f) + 1);
    else failedRuns.get(f).push(run);
    console.log(`[run-tests] run ${run}/${repeat} ${f}: ${ok ? 'pass' : 'FAIL'} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
}
hog?.kill('SIGKILL');
console.log(`\n[run-tests] summary: ${repeat} runs${hog ? ' with one core busy' : ''}, ${((Date.now() - t0) / 60000).toFixed(1)} min`);
for (const f of files) {
  const fails = failedRuns.get(f);
  console.log(`  ${passed.get(f)}/${repeat} passed  ${f}${fails.length ? `  (failed runs: ${fails.join(', ')})` : ''}`);
}
const allPassed = files.every((f) => passed.get(f) === repeat);
const totalRuns = files.length * repeat;
const totalPassed = [...passed.values()].reduce((a, b) => a + b, 0);
console.log(`${totalPassed} passed, ${totalRuns - totalPassed} failed`);
process.exit(allPassed ? 0 : 1);
