/**
 * Moves per second through the ProximityEngine with 1,000 and 10,000 people in one space, and how many
 * link changes each move causes. The map is open floor sized for a constant density (default 0.1 people per
 * tile: 1,000 → 102×102, 10,000 → 318×318), people start at distinct random tiles; 3% quiet, 2% ghost,
 * 1% DND, 10% speaking, 2 spotlit. Each move is one random person stepping to a random walkable neighbour
 * tile (8 directions). Simulated time advances as if everyone stepped every 200 ms on average; tick() runs
 * every 100 ms of it, so held drops end as they would live. Ticks are inside the timed loop. On a shared
 * machine the CPU figures (moves per CPU-second) are the steadier ones.
 *
 * Run: node --import tsx bench/proximity.ts [--runs 5] [--moves 200000] [--people 1000,10000] [--density 0.1]
 */
import { parseArgs } from 'node:util';
import { FakeClock } from '../src/util/clock.ts';
import { parseSpaceMap, type SpaceMap } from '../src/proximity/map.ts';
import { ProximityEngine, type PersonInit } from '../src/proximity/proximity-engine.ts';
import type { Mode } from '../src/proximity/rules.ts';
import { median, percentile } from './lib/stats.ts';
import { fmt, printTable } from './lib/table.ts';
import { writeResults } from './lib/results.ts';
import { seededRandom as prng } from '../src/util/prng.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    moves: { type: 'string', default: '200000' },
    people: { type: 'string', default: '1000,10000' },
    density: { type: 'string', default: '0.1' },
  },
});
const RUNS = Number(args.runs);
const MOVES = Number(args.moves);
const SIZES = args.people!.split(',').map(Number);
const DENSITY = Number(args.density);
const WARMUP_MOVES = 20_000;
const STEP_EVERY_MS = 200;
const TICK_EVERY_MS = 100;

const DX = [1, -1, 0, 0, 1, 1, -1, -1];
const DY = [0, 0, 1, -1, 1, -1, 1, -1];


function openMap(side: number): SpaceMap {
  const wall = '#'.repeat(side);
  const inner = '#' + '.'.repeat(side - 2) + '#';
  const tiles = Array.from({ length: side }, (_, y) => (y === 0 || y === side - 1 ? wall : inner));
  return parseSpaceMap({ name: `open ${side}×${side}`, width: side, height: side, tiles, spawn: { x: 1, y: 1 } });
}

interface RunResult {
  movesPerSec: number;
  cpuUsPerMove: number;
  changesMean: number;
  changesP99: number;
  changesMax: number;
  tickChangesPerMove: number;
  linksPerPerson: number;
  joinsPerSec: number;
}

function run(n: number, map: SpaceMap, seed: number): RunResult {
  const rnd = prng(seed);
  const clock = new FakeClock();
  const engine = new ProximityEngine(map, clock);
  const pos: { x: number; y: number }[] = [];
  const ids: string[] = [];
  const taken = new Set<number>();
  const inits: PersonInit[] = [];
  for (let i = 0; i < n; i++) {
    let x: number;
    let y: number;
    do {
      x = 1 + Math.floor(rnd() * (map.width - 2));
      y = 1 + Math.floor(rnd() * (map.height - 2));
    } while (taken.has(y * map.width + x));
    taken.add(y * map.width + x);
    const r = rnd();
    const mode: Mode = r < 0.03 ? 'quiet' : r < 0.05 ? 'ghost' : r < 0.06 ? 'dnd' : 'normal';
    const id = `p${i}`;
    ids.push(id);
    pos.push({ x, y });
    inits.push({ id, x, y, mode, spotlit: i < 2, speaking: rnd() < 0.1 });
  }
  const j0 = performance.now();
  for (const p of inits) engine.join(p);
  const joinMs = performance.now() - j0;

  const dt = STEP_EVERY_MS / n;
  let nextTick = TICK_EVERY_MS;
  let tickChanges = 0;
  const step = (): number => {
    const i = Math.floor(rnd() * n);
    const p = pos[i]!;
    const k0 = Math.floor(rnd() * 8);
    for (let k = 0; k < 8; k++) {
      const d = (k0 + k) & 7;
      const x = p.x + DX[d]!;
      const y = p.y + DY[d]!;
      if (!map.isWalkable(x, y)) continue;
      p.x = x;
      p.y = y;
      return engine.move(ids[i]!, x, y).length;
    }
    return 0;
  };
  const advance = () => {
    clock.advance(dt);
    if (clock.now() >= nextTick) {
      nextTick += TICK_EVERY_MS;
      tickChanges += engine.tick().length;
    }
  };
  for (let m = 0; m < WARMUP_MOVES; m++) {
    step();
    advance();
  }
  tickChanges = 0;
  const perMove = new Uint16Array(MOVES);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let m = 0; m < MOVES; m++) {
    perMove[m] = step();
    advance();
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  let links = 0;
  for (const id of ids) links += engine.linksOf(id).size;
  const counts = Array.from(perMove);
  return {
    movesPerSec: MOVES / (wallMs / 1000),
    cpuUsPerMove: (cpu.user + cpu.system) / MOVES,
    changesMean: counts.reduce((a, b) => a + b, 0) / MOVES,
    changesP99: percentile(counts, 99),
    changesMax: counts.reduce((a, b) => Math.max(a, b), 0),
    tickChangesPerMove: tickChanges / MOVES,
    linksPerPerson: links / n,
    joinsPerSec: n / (joinMs / 1000),
  };
}

const results: Record<string, unknown>[] = [];
const rows: (string | number)[][] = [];
for (const n of SIZES) {
  const side = Math.ceil(Math.sqrt(n / DENSITY)) + 2;
  const map = openMap(side);
  const samples: RunResult[] = [];
  for (let r = 0; r < RUNS; r++) samples.push(run(n, map, 1000 + r));
  const med = (f: (x: RunResult) => number) => median(samples.map(f));
  const summary = {
    people: n,
    map: `${side}×${side}`,
    movesPerSec: med((s) => s.movesPerSec),
    cpuUsPerMove: med((s) => s.cpuUsPerMove),
    changesPerMoveMean: med((s) => s.changesMean),
    changesPerMoveP99: med((s) => s.changesP99),
    changesPerMoveMax: Math.max(...samples.map((s) => s.changesMax)),
    tickChangesPerMove: med((s) => s.tickChangesPerMove),
    linksPerPerson: med((s) => s.linksPerPerson),
    joinsPerSec: med((s) => s.joinsPerSec),
  };
  results.push({ ...summary, samples });
  rows.push([
    n,
    summary.map,
    Math.round(summary.movesPerSec),
    Math.round(1e6 / summary.cpuUsPerMove),
    fmt(summary.cpuUsPerMove, 2),
    fmt(summary.changesPerMoveMean, 2),
    fmt(summary.changesPerMoveP99, 0),
    summary.changesPerMoveMax,
    fmt(summary.tickChangesPerMove, 2),
    fmt(summary.linksPerPerson, 1),
    Math.round(summary.joinsPerSec),
  ]);
}

printTable(
  `ProximityEngine: ${fmt(MOVES)} one-tile moves per run, median of ${RUNS} runs, density ${DENSITY}/tile`,
  ['people', 'map', 'moves/s (wall)', 'moves/CPU-s', 'CPU µs/move', 'changes/move', 'p99', 'max', 'hold ends/move', 'links/person', 'joins/s'],
  rows,
);
const path = writeResults('proximity', {
  config: { runs: RUNS, moves: MOVES, warmupMoves: WARMUP_MOVES, density: DENSITY, stepEveryMs: STEP_EVERY_MS, tickEveryMs: TICK_EVERY_MS, mix: '3% quiet, 2% ghost, 1% dnd, 10% speaking, 2 spotlit' },
  results,
});
process.stdout.write(`wrote ${path}\n`);
