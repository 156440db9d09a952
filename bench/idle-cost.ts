/**
 * Fixed costs of the server as its own process: CPU and resident memory with nobody connected, with N idle
 * people (joined, publishing audio + video but sending nothing, all in range so each also has a subscribe
 * transport with the others' consumers), and with the load generator's 1 → N fan-out. Per variant: the
 * TypeScript sources through tsx (as `npm test` runs them) or the compiled JavaScript (`npm run build`), of
 * this checkout or another one (`--root`, e.g. a work tree of the commit before, for a before/after in the
 * same run). Each measurement is a fresh server process; CPU is user + system from /proc over a window.
 *
 * Run: node --import tsx bench/idle-cost.ts [--runs 3] [--seconds 10] [--people 10] [--fanout 10]
 *        [--variants tsx,compiled] [--root /path/to/other/checkout] [--root-label before]
 * Prints a table; writes bench/results/idle-cost.json.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runLoad } from '../tools/loadgen/run.ts';
import { sampleProcess } from '../tools/loadgen/proc-stats.ts';
import { ensureBuilt, startProximaProcess, type ServerProcess } from '../tools/loadgen/server-process.ts';
import { NodeClient } from '../tools/client/node-client.ts';
import { createDtlsCertificate } from '../src/transport/dtls/certificate.ts';
import { median } from './lib/stats.ts';
import { fmt, printTable } from './lib/table.ts';
import { writeResults } from './lib/results.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    people: { type: 'string', default: '10' },
    fanout: { type: 'string', default: '10' },
    variants: { type: 'string', default: 'tsx,compiled' },
    root: { type: 'string' },
    'root-label': { type: 'string', default: 'other' },
    'settle-seconds': { type: 'string', default: '3' },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const PEOPLE = Number(args.people);
const FANOUT = Number(args.fanout);
const SETTLE_MS = Number(args['settle-seconds']) * 1000;
const HERE = fileURLToPath(new URL('../', import.meta.url));

interface Variant {
  label: string;
  root: string;
  runtime: 'tsx' | 'compiled';
}
const variants: Variant[] = [];
for (const runtime of args.variants!.split(',') as Array<'tsx' | 'compiled'>) {
  variants.push({ label: `this ${runtime}`, root: HERE, runtime });
  if (args.root) variants.push({ label: `${args['root-label']} ${runtime}`, root: args.root, runtime });
}
// Compile before measuring (each checkout's own build script), not inside a measured window.
for (const v of variants) if (v.runtime === 'compiled') ensureBuilt(v.root);

interface Sample {
  variant: string;
  run: number;
  /** Right after /healthz answered, MB. */
  rssStartMb: number;
  /** Nobody connected, after settling: CPU µs per second, RSS MB. */
  emptyCpuUsPerS: number;
  emptyRssMb: number;
  /** N idle people joined and connected. */
  transports: number;
  idleCpuUsPerS: number;
  idleRssMb: number;
  /** (idle − empty) / transports. */
  cpuUsPerTransportS: number;
  rssMbPerPerson: number;
  /** Fan-out 1 → FANOUT (load generator): server CPU share, packets out per CPU-second, RSS at the end. */
  fanoutCpu: number;
  fanoutPktsPerCpuS: number;
  fanoutRssMb: number;
  fanoutLoss: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

/** CPU µs per wall second and RSS of the server over `ms`. */
async function window(pid: number, ms: number): Promise<{ cpuUsPerS: number; rssMb: number }> {
  const a = sampleProcess(pid)!;
  const t0 = performance.now();
  await sleep(ms);
  const b = sampleProcess(pid)!;
  const wall = performance.now() - t0;
  return { cpuUsPerS: ((b.cpuMs - a.cpuMs) * 1000 * 1000) / wall, rssMb: b.rssBytes / 2 ** 20 };
}

async function measure(v: Variant, run: number): Promise<Sample> {
  let server: ServerProcess | null = null;
  const people: NodeClient[] = [];
  try {
    server = await startProximaProcess({ root: v.root, runtime: v.runtime });
    const rssStartMb = sampleProcess(server.pid)!.rssBytes / 2 ** 20;
    await sleep(SETTLE_MS);
    const empty = await window(server.pid, SECONDS * 1000);

    const certificate = await createDtlsCertificate();
    for (let i = 0; i < PEOPLE; i++) {
      const c = await NodeClient.join(server.url, 'idle', `idle-${i}`, { certificate });
      c.retainPushes = false;
      await c.publish({ audio: true, video: true });
      people.push(c);
    }
    // Everyone is in range of everyone: wait for every subscribe transport (N publish + N subscribe).
    const end = Date.now() + 30_000;
    while ((await metric(server.url, 'proxima_transports')) < 2 * PEOPLE || people.some((p) => p.subscriber === null || p.offersAnswered === 0)) {
      if (Date.now() > end) throw new Error('idle people did not all connect within 30 s');
      await sleep(200);
    }
    await Promise.all(people.map((p) => p.subscriberReady()));
    await sleep(SETTLE_MS);
    const transports = await metric(server.url, 'proxima_transports');
    const idle = await window(server.pid, SECONDS * 1000);
    for (const p of people.splice(0)) p.close();
    await sleep(1000);

    const r = await runLoad({
      scenario: 'fanout',
      people: FANOUT + 1,
      durationS: SECONDS,
      warmupS: 3,
      url: server.url,
      serverPid: server.pid,
      space: `fanout-${run}`,
      seed: run,
      joinConcurrency: 4,
      freezeMs: 200,
      print: () => undefined,
    });
    const cpuS = (r.server?.cpu ?? NaN) * r.durationS;
    return {
      variant: v.label,
      run,
      rssStartMb,
      emptyCpuUsPerS: empty.cpuUsPerS,
      emptyRssMb: empty.rssMb,
      transports,
      idleCpuUsPerS: idle.cpuUsPerS,
      idleRssMb: idle.rssMb,
      cpuUsPerTransportS: (idle.cpuUsPerS - empty.cpuUsPerS) / transports,
      rssMbPerPerson: (idle.rssMb - empty.rssMb) / PEOPLE,
      fanoutCpu: r.server?.cpu ?? NaN,
      fanoutPktsPerCpuS: cpuS > 0 ? r.packetsReceived / cpuS : NaN,
      fanoutRssMb: r.server?.rssMb ?? NaN,
      fanoutLoss: r.video.lossAfterRtx,
    };
  } finally {
    for (const p of people) p.close();
    await server?.close();
  }
}

const samples: Sample[] = [];
for (let run = 1; run <= RUNS; run++) {
  // Alternate the order between runs so no variant always runs on a warmer (or busier) machine.
  const order = run % 2 === 1 ? variants : [...variants].reverse();
  for (const v of order) {
    const s = await measure(v, run);
    samples.push(s);
    process.stdout.write(
      `run ${run} ${v.label}: start ${fmt(s.rssStartMb)} MB; empty ${fmt(s.emptyCpuUsPerS)} µs/s, ${fmt(s.emptyRssMb)} MB; ` +
        `${s.transports} idle transports ${fmt(s.idleCpuUsPerS)} µs/s (${fmt(s.cpuUsPerTransportS, 1)} µs per transport-s), ${fmt(s.idleRssMb)} MB (${fmt(s.rssMbPerPerson, 2)} MB/person); ` +
        `fan-out ${FANOUT}: ${Math.round(s.fanoutCpu * 100)}% cpu, ${fmt(s.fanoutPktsPerCpuS)} pkts/CPU-s, ${fmt(s.fanoutRssMb)} MB, loss ${(s.fanoutLoss * 100).toFixed(2)}%\n`,
    );
  }
}

const rows = variants.map((v) => {
  const mine = samples.filter((s) => s.variant === v.label);
  const m = (f: (s: Sample) => number) => median(mine.map(f));
  return [v.label, fmt(m((s) => s.rssStartMb)), fmt(m((s) => s.emptyRssMb)), fmt(m((s) => s.emptyCpuUsPerS)), fmt(m((s) => s.idleRssMb)), fmt(m((s) => s.rssMbPerPerson), 2), fmt(m((s) => s.cpuUsPerTransportS), 1), `${Math.round(m((s) => s.fanoutCpu) * 100)}%`, fmt(m((s) => s.fanoutPktsPerCpuS)), fmt(m((s) => s.fanoutRssMb))];
});
printTable(
  `Fixed costs of the server process (median of ${RUNS} runs; windows of ${SECONDS} s; ${PEOPLE} idle people; fan-out 1 → ${FANOUT})`,
  ['variant', 'RSS start MB', 'RSS empty MB', 'empty CPU µs/s', `RSS ${PEOPLE} idle MB`, 'MB/person', 'CPU µs/transport-s', 'fan-out cpu', 'fan-out pkts/CPU-s', 'fan-out RSS MB'],
  rows,
);
const path = writeResults('idle-cost', { config: { runs: RUNS, seconds: SECONDS, people: PEOPLE, fanout: FANOUT, variants, settleMs: SETTLE_MS }, samples });
process.stdout.write(`\nwrote ${path}\n`);
