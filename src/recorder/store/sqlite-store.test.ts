import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from './sqlite-store.ts';
import type { RecorderEvent } from '../events.ts';

const ev = (ts: number, space: string, participant: string | null, kind: 'move' | 'node' = 'move'): RecorderEvent =>
  kind === 'node' ? { v: 1, ts, node: 'n', space, participant, kind: 'node', data: { state: 'up' } } : { v: 1, ts, node: 'n', space, participant, kind: 'move', data: { x: ts % 40, y: 1 } };

describe('SqliteEventStore', () => {
  it('answers a space and time range in time order, with node-wide events, as JSON of the stored events', () => {
    const s = new SqliteEventStore(':memory:');
    s.append([ev(30, 'a', 'p1'), ev(10, 'a', 'p2'), ev(20, 'b', 'p3'), ev(15, '*', null, 'node'), ev(50, 'a', 'p1')]);
    const page = s.query({ space: 'a', from: 0, to: 50, limit: 100 });
    const got = JSON.parse(page.json) as RecorderEvent[];
    assert.deepEqual(got.map((e) => `${e.ts}:${e.space}`), ['10:a', '15:*', '30:a']);
    assert.deepEqual(got[0], ev(10, 'a', 'p2'));
    assert.equal(page.next, null);
    s.close();
  });

  it('pages through equal timestamps without losing or repeating an event', () => {
    const s = new SqliteEventStore(':memory:');
    const all = Array.from({ length: 25 }, (_, i) => ev(100 + Math.floor(i / 10), 'a', `p${i}`));
    s.append(all);
    const seen: string[] = [];
    let after: { ts: number; id: number } | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = s.query({ space: 'a', from: 0, to: 1000, limit: 7, ...(after ? { after } : {}) });
      seen.push(...(JSON.parse(page.json) as RecorderEvent[]).map((e) => e.participant!));
      if (!page.next) break;
      after = page.next;
    }
    assert.deepEqual(seen, all.map((e) => e.participant));
  });

  it('filters by participant (keeping space- and node-wide events) and by kind', () => {
    const s = new SqliteEventStore(':memory:');
    s.append([ev(1, 'a', 'p1'), ev(2, 'a', 'p2'), ev(3, 'a', null, 'node'), ev(4, 'a', 'p3')]);
    const byP = JSON.parse(s.query({ space: 'a', from: 0, to: 10, limit: 10, participants: ['p1', 'p3'] }).json) as RecorderEvent[];
    assert.deepEqual(byP.map((e) => e.ts), [1, 3, 4]);
    const byKind = JSON.parse(s.query({ space: 'a', from: 0, to: 10, limit: 10, kinds: ['node'] }).json) as RecorderEvent[];
    assert.deepEqual(byKind.map((e) => e.ts), [3]);
  });

  it('lists spaces with their span, prunes by age, and keeps its data in a file across reopening', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxima-rec-'));
    try {
      const path = join(dir, 'sub', 'r.sqlite');
      let s = new SqliteEventStore(path);
      s.append([ev(10, 'a', 'p'), ev(20, 'a', 'p'), ev(5, 'b', 'q'), ev(7, '*', null, 'node')]);
      s.append([ev(30, 'a', 'p')]);
      assert.deepEqual(s.spaces(), [
        { space: 'a', firstTs: 10, lastTs: 30, events: 3 },
        { space: 'b', firstTs: 5, lastTs: 5, events: 1 },
      ]);
      s.close();
      s = new SqliteEventStore(path);
      assert.equal(s.prune(15, 1), 1, 'at most max per call');
      let n = 0;
      for (let k = s.prune(15); k > 0; k = s.prune(15)) n += k;
      assert.equal(n, 2);
      assert.deepEqual(s.spaces(), [{ space: 'a', firstTs: 15, lastTs: 30, events: 3 }]);
      assert.equal((JSON.parse(s.query({ space: 'a', from: 0, to: 100, limit: 10 }).json) as unknown[]).length, 2);
      assert.ok(s.sizeBytes() > 0);
      s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores a batch whole or not at all', () => {
    const s = new SqliteEventStore(':memory:');
    const bad = { ...ev(2, 'a', 'p'), space: null } as unknown as RecorderEvent;
    assert.throws(() => s.append([ev(1, 'a', 'p'), bad]));
    assert.equal(JSON.parse(s.query({ space: 'a', from: 0, to: 10, limit: 10 }).json).length, 0);
  });
});
