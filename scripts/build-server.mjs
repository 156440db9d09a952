#!/usr/bin/env node
// Compiles the server (src/, tests left out) to JavaScript in build/ with tsc, only when a source is newer
// than the last build, so `npm start` runs plain JavaScript without a loader. The maps the server reads
// beside its modules are copied along. `--force` rebuilds anyway.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const out = join(root, 'build');
const stamp = join(out, '.built');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const sources = Math.max(newest(join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) => statSync(join(root, f)).mtimeMs));
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (built >= sources && !process.argv.includes('--force')) process.exit(0);

process.stderr.write('proxima: compiling the server to build/…\n');
// The stamp carries the time the compile started: a source saved while tsc runs is newer, so it builds again.
const startedAt = new Date();
// A stale module from a deleted source must not linger.
rmSync(out, { recursive: true, force: true });
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  process.stderr.write('proxima: typescript (a devDependency) is missing: install with `npm ci` (not --omit=dev), or run the sources with `npm run dev`\n');
  process.exit(1);
}
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
mkdirSync(join(out, 'proximity', 'maps'), { recursive: true });
cpSync(join(root, 'src', 'proximity', 'maps'), join(out, 'proximity', 'maps'), { recursive: true });
writeFileSync(stamp, `${startedAt.toISOString()}\n`);
utimesSync(stamp, startedAt, startedAt);
