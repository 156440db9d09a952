// Runs every benchmark in turn (each prints its table and writes bench/results/<name>.json).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = ['forwarding.ts', 'join-first-frame.ts', 'walk-in-first-frame.ts', 'proximity.ts'];
const dir = fileURLToPath(new URL('.', import.meta.url));
let failed = 0;
for (const b of benches) {
  process.stdout.write(`\n=== ${b} ===\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', dir + b, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
