/**
 * The recorder's storage on the embedded default: one SQLite file (better-sqlite3), written in batches and
 * read by space and time. Synchronous: it runs on the recorder's own thread (store-worker.ts), never on the
 * thread that moves media. Why SQLite and not DuckDB: bench/recorder-storage.ts and docs/recorder.md.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { NODE_SPACE, type RecorderEvent } from '../events.ts';

const SCHEMA_VERSION = '1';

export interface TimelineQuery {
  space: string;
  /** ms since the epoch, inclusive. */
  from: number;
  /** ms since the epoch, exclusive. */
  to: number;
  /** Only these participants' events (and the space- and node-wide ones). */
  participants?: readonly string[];
  kinds?: readonly string[];
  /** At most this many events; the answer says where to go on. */
  limit: number;
  /** Resume after this event (the `next` of a previous answer). */
  after?: { ts: number; id: number };
}

/** An answer as JSON text, built from the stored JSON without parsing it again. */
export interface TimelinePage {
  json: string;
  count: number;
  next: { ts: number; id: number } | null;
}

export interface SpaceSummary {
  space: string;
  firstTs: number;
  lastTs: number;
  events: number;
}

export class SqliteEventStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly upsertSpace: Database.Statement;
  private readonly appendTx: (events: readonly RecorderEvent[], streamSeq: number | undefined) => void;
  private readonly setMeta: Database.Statement;
  private readonly getMeta: Database.Statement;

  /** `path`: a file (its folder is made), or ':memory:'. */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // WAL: readers never wait for the writer; NORMAL is durable across a process crash (not a power cut),
    // which is what a flight recorder of a media server needs, at a fraction of FULL's fsyncs.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('cache_size = -32768');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        node TEXT NOT NULL,
        space TEXT NOT NULL,
        participant TEXT,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS events_space_ts ON events (space, ts);
      CREATE TABLE IF NOT EXISTS spaces (space TEXT PRIMARY KEY, first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL, events INTEGER NOT NULL);
    `);
    this.setMeta = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.getMeta = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    const version = this.getMeta.get('schema') as string | undefined;
    if (version === undefined) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) throw new Error(`recorder: ${path} has schema version ${version}, this server writes ${SCHEMA_VERSION}: move the file away or point recorder.path elsewhere`);
    this.insert = this.db.prepare('INSERT INTO events (ts, node, space, participant, kind, data) VALUES (?, ?, ?, ?, ?, ?)');
    this.upsertSpace = this.db.prepare(
      `INSERT INTO spaces (space, first_ts, last_ts, events) VALUES (?, ?, ?, ?)
       ON CONFLICT (space) DO UPDATE SET first_ts = MIN(first_ts, excluded.first_ts), last_ts = MAX(last_ts, excluded.last_ts), events = events + excluded.events`,
    );
    this.appendTx = this.db.transaction((events: readonly RecorderEvent[], streamSeq: number | undefined) => {
      const spans = new Map<string, { first: number; last: number; n: number }>();
      for (const e of events) {
        this.insert.run(e.ts, e.node, e.space, e.participant, e.kind, JSON.stringify(e.data));
        const s = spans.get(e.space);
        if (s) {
          s.first = Math.min(s.first, e.ts);
          s.last = Math.max(s.last, e.ts);
          s.n++;
        } else spans.set(e.space, { first: e.ts, last: e.ts, n: 1 });
      }
      for (const [space, s] of spans) this.upsertSpace.run(space, s.first, s.last, s.n);
      if (streamSeq !== undefined) this.setMeta.run('stream_seq', String(streamSeq));
    });
  }

  /**
   * One transaction per batch: a batch is stored whole or not at all. `streamSeq`: the cluster stream's
   * sequence of the message it came in (kept with it, so a restart resumes after it: no event twice).
   */
  append(events: readonly RecorderEvent[], streamSeq?: number): void {
    if (events.length > 0 || streamSeq !== undefined) this.appendTx(events, streamSeq);
  }

  /** The last cluster stream sequence stored (0: none). */
  streamSeq(): number {
    return Number(this.getMeta.get('stream_seq') ?? 0);
  }

  query(q: TimelineQuery): TimelinePage {
    const where = ['space IN (?, ?)', 'ts >= ?', 'ts < ?'];
    const args: Array<string | number> = [q.space, NODE_SPACE, q.from, q.to];
    if (q.after) {
      where.push('(ts > ? OR (ts = ? AND id > ?))');
      args.push(q.after.ts, q.after.ts, q.after.id);
    }
    if (q.participants && q.participants.length > 0) {
      where.push(`(participant IS NULL OR participant IN (${q.participants.map(() => '?').join(', ')}))`);
      args.push(...q.participants);
    }
    if (q.kinds && q.kinds.length > 0) {
      where.push(`kind IN (${q.kinds.map(() => '?').join(', ')})`);
      args.push(...q.kinds);
    }
    args.push(q.limit + 1);
    const rows = this.db
      .prepare(`SELECT id, ts, node, space, participant, kind, data FROM events WHERE ${where.join(' AND ')} ORDER BY ts, id LIMIT ?`)
      .raw()
      .all(...args) as Array<[number, number, string, string, string | null, string, string]>;
    const more = rows.length > q.limit;
    if (more) rows.length = q.limit;
    const parts: string[] = [];
    for (const [, ts, node, space, participant, kind, data] of rows) {
      parts.push(`{"v":1,"ts":${ts},"node":${JSON.stringify(node)},"space":${JSON.stringify(space)},"participant":${participant === null ? 'null' : JSON.stringify(participant)},"kind":${JSON.stringify(kind)},"data":${data}}`);
    }
    const last = rows[rows.length - 1];
    return { json: `[${parts.join(',')}]`, count: rows.length, next: more && last ? { ts: last[1], id: last[0] } : null };
  }

  spaces(): SpaceSummary[] {
    return (this.db.prepare('SELECT space, first_ts, last_ts, events FROM spaces WHERE space != ? ORDER BY last_ts DESC').all(NODE_SPACE) as Array<{ space: string; first_ts: number; last_ts: number; events: number }>).map((r) => ({
      space: r.space,
      firstTs: r.first_ts,
      lastTs: r.last_ts,
      events: r.events,
    }));
  }

  /** Deletes events older than `beforeTs`, at most `max` per call (the caller repeats: no long lock). */
  prune(beforeTs: number, max = 20_000): number {
    const n = this.db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ? LIMIT ?)').run(beforeTs, max).changes;
    if (n > 0) {
      this.db.prepare('DELETE FROM spaces WHERE last_ts < ?').run(beforeTs);
      this.db.prepare('UPDATE spaces SET first_ts = ? WHERE first_ts < ?').run(beforeTs, beforeTs);
    }
    return n;
  }

  /** File size in bytes (main file and WAL), for the metrics. */
  sizeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return pages * size;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
