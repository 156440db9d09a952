/**
 * Issue 15's floods against a real server (this process), with A and its neighbour B in one child process
 * and each flooder in another (test/testkit/hostile/flood-harness.ts): per flood, B's packet rate from A
 * during the flood as a share of its rate just before, and the longest silence of A's streams at B; medians
 * over --runs. The acceptance is ≥ 95 % and no gap over 200 ms. Writes bench/results/floods.json.
 *
 *   node --import tsx bench/floods.ts [--runs 5] [--verbose] [--flooder-priority low|normal]
 *
 * Flooders run at the lowest CPU priority by default (an attacker's CPU is its own machine's, not ours); the
 * table says what each one sent, so a starved flooder shows.
 */
import { parseArgs } from 'node:util';
import { startWatchedServer } from '../test/testkit/hostile/watched-server.ts';
import { describeFlood, floodRate, FloodHarness, type FloodKind, type FloodResult } from '../test/testkit/hostile/flood-harness.ts';
import { median } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { writeResults } from './lib/results.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, verbose: { type: 'boolean', default: false }, 'flooder-priority': { type: 'string', default: 'low' } },
});
if (values['flooder-priority'] !== 'low' && values['flooder-priority'] !== 'normal') throw new Error('--flooder-priority is low or normal');
const lowPriorityFlooders = values['flooder-priority'] === 'low';
const runs = Number(values.runs);
const floods: Array<[FloodKind, number, number, string]> = [
  ['twcc', 8, 16, 'transport-cc feedback, 4,000/s × 65,535 claimed statuses'],
  ['sdp', 8, 17, 'SDP offers, 2 sockets × 40/s × 64 KiB (3,885 a=rtcp-fb)'],
  ['publish50', 8, 16, 'publisher at 50 Mbit/s, received by the neighbour too'],
  ['hello', 8, 16, 'replayed ClientHello, 1,000/s'],
];
const results: Record<string, FloodResult[]> = {};
for (let run = 0; run < runs; run++) {
  const { server, watch } = await startWatchedServer();
  const h = await FloodHarness.start(server.url, `bench-floods-${run}`, lowPriorityFlooders);
  for (const [kind, x, y] of floods) {
    const r = await h.flood(kind, x, y);
    (results[kind] ??= []).push(r);
    if (values.verbose) process.stdout.write(`run ${run + 1}: ${describeFlood(r)}\n`);
  }
  await h.stop();
  await server.close();
  watch.dispose();
  process.stdout.write(`run ${run + 1}/${runs} done\n`);
}
const rows = floods.map(([kind, , , what]) => {
  const rs = results[kind]!;
  const closedMs = rs.map((r) => Math.max(0, ...r.report.closes.map((c) => c.atMs)));
  return [
    what,
    (median(rs.map((r) => r.ratio)) * 100).toFixed(1),
    (Math.min(...rs.map((r) => r.ratio)) * 100).toFixed(1),
    median(rs.map((r) => r.maxGapMs)).toFixed(0),
    Math.max(...rs.map((r) => r.maxGapMs)).toFixed(0),
    median(closedMs).toFixed(0),
    rs.map((r) => r.report.closes.map((c) => c.code).join('+')).join(' '),
    rs.map((r) => floodRate(r)).join(' '),
  ];
});
printTable(`Floods: the neighbour's packet rate (% of its rate before) and longest gap, ${runs} runs`, ['flood', 'rate % median', 'rate % worst', 'gap ms median', 'gap ms worst', 'flooder cut off after ms (median)', 'close codes', 'flooder sent'], rows);
writeResults('floods', {
  runs,
  flooderPriority: values['flooder-priority'],
  floods: Object.fromEntries(
    Object.entries(results).map(([k, rs]) => [k, rs.map((r) => ({ ratio: r.ratio, baselinePps: r.baselinePps, maxGapMs: r.maxGapMs, floodMs: r.floodMs, closes: r.report.closes, stats: r.report.stats }))]),
  ),
});
