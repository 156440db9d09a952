/**
 * The flight recorder's storage, measured: one synthetic hour of a 100-person space in the recorder's own
 * event kinds (a `second` per person per second, moves of the walkers at 4/s, allocations, layer switches,
 * links, speaking), written in the recorder's 250 ms batches, then read as the API and the replay read it.
 * SQLite runs through the recorder's own store (src/recorder/store/sqlite-store.ts); DuckDB
 * (`@duckdb/node-api`, not a dependency: pass the folder of an install with --duckdb) with the same schema
 * and reads, for the choice docs/recorder.md explains. Each engine and run in a fresh process.
 *
 * Run: node --import tsx bench/recorder-storage.ts [--runs 3] [--minutes 60] [--duckdb /path/node_modules/@duckdb/node-api]
 * Prints a table; writes bench/results/recorder-storage.json.
 */
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteEventStore } from '../src/recorder/store/sqlite-store.ts';
import type { RecorderEvent } from '../src/recorder/events.ts';
import { median, percentile } from './lib/stats.ts';
import { fmt, printTable } from './lib/table.ts';
import { writeResults } from './lib/results.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    minutes: { type: 'string', default: '60' },
    duckdb: { type: 'string' },
    child: { type: 'string' },
  },
});
const MINUTES = Number(args.minutes);
const PEOPLE = 100;
const T0 = 1_765_000_000_000;
const SPACE = 'bench-space';

/** Seeded, so every engine and run stores the same events. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 250 ms batches of one hour (or --minutes) of the space, in time order. */
function* batches(): Generator<RecorderEvent[]> {
  const rnd = rng(42);
  const ids = Array.from({ length: PEOPLE }, (_, i) => `p${i.toString(16).padStart(12, '0')}`);
  const tracks = ids.map((id) => [`${id}a`, `${id}v`]);
  const pos = ids.map(() => ({ x: Math.floor(rnd() * 40), y: Math.floor(rnd() * 30) }));
  const ev = (ts: number, participant: string, e: Pick<RecorderEvent, 'kind' | 'data'>) => ({ v: 1, ts, node: 'n1', space: SPACE, participant, ...e }) as RecorderEvent;
  for (let q = 0; q < MINUTES * 240; q++) {
    const t = T0 + q * 250;
    const out: RecorderEvent[] = [];
    for (let i = 0; i < PEOPLE; i++) {
      const id = ids[i]!;
      const at = t + Math.floor(rnd() * 250);
      // A fifth of the people walk at any time: a move every 250 ms.
      if (i % 5 === q % 5) {
        pos[i]!.x = Math.max(0, Math.min(39, pos[i]!.x + Math.round(rnd() * 2 - 1)));
        out.push(ev(at, id, { kind: 'move', data: { x: pos[i]!.x, y: pos[i]!.y } }));
      }
      // Once a second: the person's sample, receiving ~8 neighbours' tracks.
      if (q % 4 === i % 4) {
        const perTrack: Record<string, number> = {};
        for (let k = 1; k <= 4; k++) {
          const [a, v] = tracks[(i + k) % PEOPLE]!;
          perTrack[a!] = 32_000 + Math.round(rnd() * 4000);
          perTrack[v!] = Math.round(rnd() * 1_200_000);
        }
        const dir = () => ({ score: Math.round((3 + rnd() * 2) * 10) / 10, level: 'good' as const, cause: null, lossPct: Math.round(rnd() * 30) / 10, rttMs: Math.round(20 + rnd() * 80), delayMs: Math.round(rnd() * 20) });
        out.push(ev(at, id, { kind: 'second', data: { estimateBps: Math.round(1e6 + rnd() * 3e6), sentBps: Math.round(2e6 * rnd()), perTrack, down: dir(), up: dir(), nacks: Math.floor(rnd() * 5), plis: 0, rtx: Math.floor(rnd() * 5) } }));
      }
      const r = rnd();
      if (r < 0.025) {
        const list = Array.from({ length: 8 }, (_, k) => ({ trackId: tracks[(i + 1 + (k >> 1)) % PEOPLE]![k & 1]!, kind: (k & 1 ? 'video' : 'audio') as 'audio' | 'video', layer: [Math.floor(rnd() * 3), 2] as [number, number], bps: Math.round(rnd() * 1e6), reason: 'optimal' }));
        out.push(ev(at, id, { kind: 'allocation', data: { estimateBps: Math.round(1e6 + rnd() * 3e6), wantedBps: 4e6, totalBps: 3e6, tracks: list } }));
      } else if (r < 0.035) out.push(ev(at, id, { kind: 'layer', data: { trackId: tracks[(i + 1) % PEOPLE]![1]!, layer: [Math.floor(rnd() * 3), 2], switches: q } }));
      else if (r < 0.045) out.push(ev(at, id, { kind: 'links', data: { links: Array.from({ length: 4 }, (_, k) => ({ speaker: ids[(i + k + 1) % PEOPLE]!, gain: 1, priority: 10 - k })) } }));
      else if (r < 0.06) out.push(ev(at, id, { kind: 'speaking', data: { on: rnd() < 0.5 } }));
    }
    out.sort((a, b) => a.ts - b.ts);
    yield out;
  }
}

interface Figures {
  engine: string;
  events: number;
  ingestPerS: number;
  batchP50Ms: number;
  batchP99Ms: number;
  batchMaxMs: number;
  bytesPerEvent: number;
  /** The whole hour of the space, in pages of 100,000 (as the API serves it). */
  hourMs: number;
  /** The replay's default window: 10 minutes of the space. */
  window10Ms: number;
  /** One person over the hour. */
  personMs: number;
  rssMb: number;
}

/** The figures of one engine's run from its batch write times, event count, file size and read times. */
function figures(engine: string, lat: number[], n: number, size: number, reads: Pick<Figures, 'hourMs' | 'window10Ms' | 'personMs'>): Figures {
  return {
    engine,
    events: n,
    ingestPerS: n / (lat.reduce((a, b) => a + b, 0) / 1000),
    batchP50Ms: percentile(lat, 50),
    batchP99Ms: percentile(lat, 99),
    batchMaxMs: Math.max(...lat),
    bytesPerEvent: size / n,
    ...reads,
    rssMb: process.memoryUsage().rss / 2 ** 20,
  };
}

async function measureSqlite(dir: string): Promise<Figures> {
  const file = join(dir, 'r.sqlite');
  const store = new SqliteEventStore(file);
  const lat: number[] = [];
  let n = 0;
  for (const b of batches()) {
    const t = performance.now();
    store.append(b);
    lat.push(performance.now() - t);
    n += b.length;
  }
  const size = ['', '-wal'].reduce((s, x) => s + (existsSync(file + x) ? statSync(file + x).size : 0), 0);
  const end = T0 + MINUTES * 60_000;
  const timed = (f: () => void) => {
    const ts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      f();
      ts.push(performance.now() - t);
    }
    return median(ts);
  };
  const all = () => {
    let after: { ts: number; id: number } | undefined;
    for (;;) {
      const p = store.query({ space: SPACE, from: T0, to: end, limit: 100_000, ...(after ? { after } : {}) });
      if (!p.next) return;
      after = p.next;
    }
  };
  const mid = T0 + (MINUTES * 60_000) / 2;
  const f = figures('sqlite', lat, n, size, {
    hourMs: timed(all),
    window10Ms: timed(() => store.query({ space: SPACE, from: mid, to: mid + 600_000, limit: 100_000 })),
    personMs: timed(() => store.query({ space: SPACE, from: T0, to: end, limit: 100_000, participants: ['p000000000007'] })),
  });
  store.close();
  return f;
}

async function measureDuckdb(dir: string, modulePath: string): Promise<Figures> {
  const { DuckDBInstance } = (await import(join(modulePath, 'lib', 'index.js'))) as { DuckDBInstance: { create(path: string): Promise<any> } };
  const file = join(dir, 'r.duckdb');
  const inst = await DuckDBInstance.create(file);
  const con = await inst.connect();
  await con.run('CREATE TABLE events (ts BIGINT NOT NULL, node VARCHAR NOT NULL, space VARCHAR NOT NULL, participant VARCHAR, kind VARCHAR NOT NULL, data VARCHAR NOT NULL)');
  const app = await con.createAppender('events');
  const lat: number[] = [];
  let n = 0;
  for (const b of batches()) {
    const t = performance.now();
    for (const e of b) {
      app.appendBigInt(BigInt(e.ts));
      app.appendVarchar(e.node);
      app.appendVarchar(e.space);
      app.appendVarchar(e.participant ?? '');
      app.appendVarchar(e.kind);
      app.appendVarchar(JSON.stringify(e.data));
      app.endRow();
    }
    app.flushSync();
    lat.push(performance.now() - t);
    n += b.length;
  }
  app.closeSync();
  await con.run('CHECKPOINT');
  const size = ['', '.wal'].reduce((s, x) => s + (existsSync(file + x) ? statSync(file + x).size : 0), 0);
  const end = T0 + MINUTES * 60_000;
  const mid = T0 + (MINUTES * 60_000) / 2;
  const sql = 'SELECT ts, node, space, participant, kind, data FROM events WHERE space = $1 AND ts >= $2 AND ts < $3';
  const timed = async (q: string, p: unknown[]) => {
    const ts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      (await con.runAndReadAll(q + ' ORDER BY ts', p)).getRows();
      ts.push(performance.now() - t);
    }
    return median(ts);
  };
  const f = figures('duckdb', lat, n, size, {
    hourMs: await timed(sql, [SPACE, BigInt(T0), BigInt(end)]),
    window10Ms: await timed(sql, [SPACE, BigInt(mid), BigInt(mid + 600_000)]),
    personMs: await timed(sql + ' AND participant = $4', [SPACE, BigInt(T0), BigInt(end), 'p000000000007']),
  });
  con.closeSync();
  inst.closeSync();
  return f;
}

if (args.child) {
  const dir = mkdtempSync(join(tmpdir(), 'proxima-recbench-'));
  try {
    const f = args.child === 'sqlite' ? await measureSqlite(dir) : await measureDuckdb(dir, args.duckdb!);
    process.stdout.write(JSON.stringify(f) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const engines = ['sqlite', ...(args.duckdb ? ['duckdb'] : [])];
const runs: Record<string, Figures[]> = {};
const self = fileURLToPath(import.meta.url);
for (let r = 0; r < Number(args.runs); r++) {
  for (const engine of engines) {
    process.stderr.write(`run ${r + 1}: ${engine}…\n`);
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', engine, '--minutes', String(MINUTES), ...(args.duckdb ? ['--duckdb', args.duckdb] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    (runs[engine] ??= []).push(JSON.parse(out.trim().split('\n').at(-1)!) as Figures);
  }
}
const med = (engine: string, k: keyof Omit<Figures, 'engine'>) => median(runs[engine]!.map((f) => f[k]));
const rows = engines.map((e) => [
  e,
  fmt(med(e, 'events')),
  fmt(med(e, 'ingestPerS')),
  fmt(med(e, 'batchP50Ms'), 2),
  fmt(med(e, 'batchP99Ms'), 1),
  fmt(med(e, 'batchMaxMs'), 0),
  fmt(med(e, 'bytesPerEvent'), 0),
  fmt(med(e, 'hourMs'), 0),
  fmt(med(e, 'window10Ms'), 0),
  fmt(med(e, 'personMs'), 0),
  fmt(med(e, 'rssMb'), 0),
]);
printTable(`Recorder storage: ${MINUTES} min of a ${PEOPLE}-person space, 250 ms batches (medians of ${args.runs} runs)`, ['engine', 'events', 'ingest/s', 'batch p50 ms', 'p99 ms', 'max ms', 'B/event', 'hour read ms', '10 min ms', 'person ms', 'RSS MB'], rows);
const path = writeResults('recorder-storage', { minutes: MINUTES, people: PEOPLE, runs });
process.stdout.write(`wrote ${path}\n`);
