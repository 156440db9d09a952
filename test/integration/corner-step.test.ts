import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer } from '../testkit/proxima.ts';
import { WsProbe } from '../testkit/hostile/ws-probe.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

/**
 * A private room whose only contact with the rest of the map is one wall corner: (3,2) inside, (4,3)
 * outside, walls at (4,2) and (3,3). Walking never goes through it; a hand step may not either.
 */
const MAP = {
  name: 'corner',
  width: 8,
  height: 6,
  tiles: ['########', '#...#..#', '#...#..#', '####...#', '#......#', '########'],
  spawn: { x: 5, y: 4 },
  areas: [{ id: 'room', name: 'Room', kind: 'private', rects: [{ x: 1, y: 1, w: 3, h: 2 }] }],
};

describe('a step through a wall corner', () => {
  let server: ProximaServer;
  let dir: string;
  const probes: WsProbe[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'proxima-corner-'));
    const file = join(dir, 'corner.json');
    writeFileSync(file, JSON.stringify(MAP));
    server = await startTestServer({ space: { map: file } });
  });
  after(async () => {
    for (const p of probes) p.terminate();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const join2 = async (name: string, x: number, y: number) => {
    const p = await WsProbe.open(server.url);
    probes.push(p);
    const j = await p.request('join', { space: 'corner', name, x, y });
    assert.equal(j.type, 'joined', JSON.stringify(j));
    return { p, id: String(j.participantId) };
  };

  it('is refused like the walk that would not take it: the outsider stays out and never enters the room', async () => {
    const inside = await join2('I', 3, 2);
    const outside = await join2('O', 4, 3);
    const step = await outside.p.request('move', { x: 3, y: 2 });
    assert.equal(step.type, 'error');
    assert.equal(step.code, 'bad_move');
    assert.match(String(step.message), /corner/);
    const walk = await outside.p.request('move', { x: 3, y: 2, goTo: true });
    assert.deepEqual([walk.type, walk.code], ['error', 'bad_move']);
    const space = server.spaces.get('corner')!;
    const o = space.participants.get(outside.id)!;
    assert.deepEqual([o.x, o.y], [4, 3], 'still outside');
    assert.equal(space.subscriptions.linksOf(outside.id).some((l) => l.participantId === inside.id), false, 'no link into the private room');
    // The legal steps around the corner still work.
    assert.equal((await outside.p.request('move', { x: 5, y: 3 })).type, 'moved');
    assert.equal((await inside.p.request('move', { x: 2, y: 1 })).type, 'moved');
  });
});
