// The NATS control plane against a real nats-server (Debian's 2.9, JetStream in a temp dir), one server per
// test so buckets never leak between tests. Timings are shortened except where the defaults are the claim.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { startNatsServer, type NatsServerHandle } from '../testkit/nats.ts';
import { ControlBus } from '../../src/cascade/control/control-bus.ts';
import { NodeRegistry, type DownReason, type NodeRegistryOptions } from '../../src/cascade/control/node-registry.ts';
import { RttRows } from '../../src/cascade/control/rtt-rows.ts';
import { SpaceLeases } from '../../src/cascade/control/space-lease.ts';
import { Directory, type TrackEvent } from '../../src/cascade/control/directory.ts';
import type { NodeInfo, TrackEntry } from '../../src/cascade/control/messages.ts';
import { BUCKETS, SUBJECTS } from '../../src/cascade/control/subjects.ts';
import { controlInvalidCount } from '../../src/metrics/registry.ts';
import { createLogger } from '../../src/util/logger.ts';

// Short, but with room for a loaded two-core machine: three heartbeats and change before a peer is down.
const FAST: NodeRegistryOptions = { heartbeatMs: 100, deadAfterMs: 400 };
const quiet = createLogger((process.env.PROXIMA_TEST_LOG as 'debug' | undefined) ?? 'silent');

function info(id: string, num: number): NodeInfo {
  return {
    v: 1,
    id,
    num,
    region: 'test',
    relay: { host: '127.0.0.1', port: 40000 + num },
    signalingUrl: `ws://127.0.0.1:${8000 + num}/ws`,
    publicKey: Buffer.from(`key-${id}`).toString('base64'),
    load: { people: 0, tracks: 0, cpu: 0 },
    draining: false,
    startedAt: Date.now(),
  };
}

interface TestNode {
  id: string;
  bus: ControlBus;
  registry: NodeRegistry;
  ups: string[];
  downs: Array<{ id: string; reason: DownReason; at: number }>;
}

async function server(t: TestContext): Promise<NatsServerHandle> {
  const s = await startNatsServer();
  t.after(() => s.stop());
  return s;
}

/** A bus + registry, not started (so the caller can register listeners or expect start to fail). */
async function bare(t: TestContext, url: string, id: string, opts: NodeRegistryOptions = FAST): Promise<TestNode> {
  const bus = await ControlBus.connect(url, { name: id, log: quiet });
  t.after(() => bus.close());
  const registry = new NodeRegistry(bus, { ...opts, log: quiet });
  const n: TestNode = { id, bus, registry, ups: [], downs: [] };
  registry.onUp((node) => n.ups.push(node.id));
  registry.onDown((nodeId, reason) => n.downs.push({ id: nodeId, reason, at: performance.now() }));
  return n;
}

async function node(t: TestContext, url: string, id: string, num: number, opts: NodeRegistryOptions = FAST): Promise<TestNode> {
  const n = await bare(t, url, id, opts);
  await n.registry.start(info(id, num));
  return n;
}

async function until(cond: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ids = (n: TestNode) => [...n.registry.nodes().keys()].sort();

test('three registries see each other; a newcomer knows the live nodes as soon as start() resolves', async (t) => {
  const s = await server(t);
  const a = await node(t, s.url, 'a', 1);
  const b = await node(t, s.url, 'b', 2);
  assert.deepEqual(ids(b), ['a', 'b'], 'b learned a during start');
  const c = await node(t, s.url, 'c', 3);
  assert.deepEqual(ids(c), ['a', 'b', 'c'], 'c learned a and b during start (bucket + probe)');
  await until(() => ids(a).length === 3 && ids(b).length === 3, 2000, 'a and b to see c');
  assert.deepEqual(a.ups.sort(), ['b', 'c']);
  assert.equal(c.registry.node('a')?.relay.port, 40001, 'NodeInfo travels');
  // Heartbeats carry load and draining.
  a.registry.setLoad({ people: 7, tracks: 3, cpu: 0.5 });
  a.registry.setDraining(true);
  await until(() => c.registry.node('a')?.draining === true && c.registry.node('a')?.load.people === 7, 1000, 'load and draining at c');
  // Nobody went down while everyone was heartbeating.
  await sleep(FAST.deadAfterMs! * 2);
  assert.deepEqual([...a.downs, ...b.downs, ...c.downs], []);
});

test('a node whose connection dies without Leave is reported down within deadAfterMs + heartbeatMs (defaults)', async (t) => {
  const s = await server(t);
  const a = await node(t, s.url, 'a', 1, {});
  const b = await node(t, s.url, 'b', 2, {});
  const c = await node(t, s.url, 'c', 3, {});
  await until(() => ids(a).length === 3 && ids(b).length === 3, 3000, 'all three up');
  assert.equal(a.registry.heartbeatMs, 500);
  assert.equal(a.registry.deadAfterMs, 1500);
  const killedAt = performance.now();
  await c.bus.close(); // a crash as the others see it: no Leave, the key stays
  await until(() => a.downs.length > 0 && b.downs.length > 0, 3000, 'a and b to report c down');
  for (const n of [a, b]) {
    const d = n.downs[0];
    assert.equal(d.id, 'c');
    assert.equal(d.reason, 'expired');
    const took = d.at - killedAt;
    assert.ok(took <= 1500 + 500 + 150, `${n.id} took ${took.toFixed(0)} ms (allowed: deadAfterMs + heartbeatMs + 150 ms scheduling)`);
    assert.ok(took >= 1500 - 500 - 100, `${n.id} reported c down too early (${took.toFixed(0)} ms)`);
  }
  assert.deepEqual(ids(a), ['a', 'b']);
});

test('probeAlive: a live node answers; one whose connection ended is "gone" at once, long before heartbeats expire', async (t) => {
  const s = await server(t);
  const a = await node(t, s.url, 'a', 1, {});
  const b = await node(t, s.url, 'b', 2, {});
  await until(() => ids(a).length === 2, 3000, 'both up');
  assert.equal(await a.registry.probeAlive('b'), 'alive');
  assert.equal(await b.registry.probeAlive('a'), 'alive');
  assert.equal(await a.registry.probeAlive('nobody'), 'unknown', 'a node not known as up is never judged');
  const closedAt = performance.now();
  await b.bus.close(); // no Leave: to the others this is a crash
  assert.equal(a.registry.isUp('b'), true, 'heartbeats have not expired yet');
  assert.equal(await a.registry.probeAlive('b'), 'gone');
  const took = performance.now() - closedAt;
  assert.ok(took < 1000, `gone after ${took.toFixed(0)} ms`);
  assert.equal(a.registry.isUp('b'), true, 'probing changes nothing by itself: heartbeats still decide "down"');
  assert.deepEqual(a.downs, []);
});

test('a clean leave is reported at once, and its key and number are free again', async (t) => {
  const s = await server(t);
  const a = await node(t, s.url, 'a', 1);
  const b = await node(t, s.url, 'b', 2);
  await until(() => ids(a).length === 2, 1000, 'a to see b');
  const leftAt = performance.now();
  await b.registry.leave();
  await until(() => a.downs.length > 0, 1000, 'a to report b down');
  assert.equal(a.downs[0].reason, 'leave');
  assert.ok(a.downs[0].at - leftAt < 300, `leave took ${(a.downs[0].at - leftAt).toFixed(0)} ms`);
  await b.registry.leave(); // idempotent
  const kv = await a.bus.kv(BUCKETS.nodes);
  assert.equal((await kv.get('b'))?.operation, 'DEL', 'b deleted its key');
  // Heartbeats that b could still send must not bring it back: none come (it stopped), and nothing expires.
  await sleep(FAST.deadAfterMs!);
  assert.equal(a.downs.length, 1);
  // Its number can be taken at once by a new node.
  const c = await node(t, s.url, 'c', 2);
  assert.deepEqual(ids(c), ['a', 'c']);
});

test('a node number held by a live node is refused; one held by a dead node is taken over', async (t) => {
  const s = await server(t);
  const a = await node(t, s.url, 'a', 7);
  const b = await bare(t, s.url, 'b');
  await assert.rejects(b.registry.start(info('b', 7)), /node number 7 is already used by live node a/);
  assert.equal(ids(a).length, 1, 'the refused node never appeared');
  // The same id as a live node is refused too.
  const a2 = await bare(t, s.url, 'a');
  await assert.rejects(a2.registry.start(info('a', 8)), /node id a is already used/);
  // a crashes: its claim stays in the bucket, but a new node proves a dead (no heartbeat) and takes 7.
  await a.bus.close();
  const c = await node(t, s.url, 'c', 7);
  assert.deepEqual(ids(c), ['c'], 'the dead node a is not reported up');
  assert.deepEqual(c.ups, []);
  // a restarts after its crash under its old id: its leftover key is not mistaken for a live twin.
  const again = await node(t, s.url, 'a', 8);
  assert.deepEqual(ids(again), ['a', 'c']);
  await until(() => ids(c).length === 2, 1000, 'c to see a again');
});

test('two nodes starting at once with the same number: exactly one starts', async (t) => {
  const s = await server(t);
  const x = await bare(t, s.url, 'x');
  const y = await bare(t, s.url, 'y');
  const results = await Promise.allSettled([x.registry.start(info('x', 5)), y.registry.start(info('y', 5))]);
  const ok = results.filter((r) => r.status === 'fulfilled');
  assert.equal(ok.length, 1, `results: ${results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'started')).join(' | ')}`);
  const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.match(String(rejected.reason), /node number 5 is already used by live node/);
});

/** Runs `around` instead of `method` on `bus`'s handle of `bucket`: to make one interleaving of two starters exact. */
function hookKv(bus: ControlBus, bucket: string, method: 'create' | 'update' | 'put', around: (call: () => Promise<number>) => Promise<number>): void {
  const open = bus.kv.bind(bus);
  bus.kv = async (name, opts) => {
    const kv = await open(name, opts);
    if (name !== bucket) return kv;
    return new Proxy(kv, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        const bound = (v as (...a: unknown[]) => Promise<number>).bind(target);
        return prop === method ? (...args: unknown[]) => around(() => bound(...args)) : bound;
      },
    });
  };
}

test('a number claim its holder confirms while we wait for it gets a new window: no takeover of a node about to announce', async (t) => {
  const s = await server(t);
  const x = await bare(t, s.url, 'x');
  const y = await bare(t, s.url, 'y');
  // What a loaded machine did once, made exact: x claims 5 and stalls before confirming; y hears nothing from
  // x for deadAfterMs and tries to take 5 over; x's confirm lands just before y's CAS (so that fails), and x
  // announces 150 ms after its confirm (a slow bucket put). y reads the confirmed claim when its first
  // window is over: taking it over then made two live nodes with number 5.
  let created!: () => void;
  const xCreated = new Promise<void>((r) => (created = r));
  let tried!: () => void;
  const yTried = new Promise<void>((r) => (tried = r));
  let confirmed!: () => void;
  const xConfirmed = new Promise<void>((r) => (confirmed = r));
  hookKv(x.bus, BUCKETS.nodeNums, 'create', async (call) => {
    const rev = await call();
    created();
    return rev;
  });
  hookKv(x.bus, BUCKETS.nodeNums, 'update', async (call) => {
    await yTried;
    const rev = await call();
    confirmed();
    return rev;
  });
  hookKv(x.bus, BUCKETS.nodes, 'put', async (call) => {
    await sleep(150);
    return call();
  });
  let yUpdates = 0;
  hookKv(y.bus, BUCKETS.nodeNums, 'update', async (call) => {
    if (yUpdates++ === 0) {
      tried();
      await xConfirmed;
    }
    return call();
  });
  const xs = x.registry.start(info('x', 5));
  await xCreated;
  const results = await Promise.allSettled([xs, y.registry.start(info('y', 5))]);
  assert.deepEqual(
    results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'started')),
    ['started', 'Error: node number 5 is already used by live node x; give node y another number'],
  );
  assert.equal(yUpdates, 1, 'y tried once to take the silent claim over, and not again once x confirmed it');
  assert.deepEqual(ids(x), ['x']);
});

test('a slow starter whose number was taken meanwhile does not announce (claim confirmed by CAS)', async (t) => {
  const s = await server(t);
  // A leftover key of a crashed node makes x wait a whole (long) deadAfterMs before announcing.
  const raw = await connect({ servers: s.url });
  t.after(() => raw.close());
  const kvm = new Kvm(raw);
  await (await kvm.create(BUCKETS.nodes)).put('ghost', new TextEncoder().encode(JSON.stringify(info('ghost', 99))));
  const x = await bare(t, s.url, 'x', { heartbeatMs: 100, deadAfterMs: 700 });
  const y = await bare(t, s.url, 'y', { heartbeatMs: 50, deadAfterMs: 200 });
  const xs = x.registry.start(info('x', 5));
  await sleep(50);
  // y finds x's claim, hears nothing from x (still starting) for 200 ms, and takes the number over.
  await y.registry.start(info('y', 5));
  await assert.rejects(xs, /node number 5 is already used by live node y/);
  assert.deepEqual(ids(y), ['y']);
  assert.deepEqual(y.ups, [], 'neither x nor the ghost ever came up');
});

test('RTT rows assemble into a matrix of live nodes', async (t) => {
  const s = await server(t);
  const nodes = [await node(t, s.url, 'a', 1), await node(t, s.url, 'b', 2), await node(t, s.url, 'c', 3)];
  await until(() => nodes.every((n) => ids(n).length === 3), 2000, 'all up');
  const rtt = (from: string, to: string) => (from.charCodeAt(0) - 96) * 10 + (to.charCodeAt(0) - 96);
  const rows = nodes.map((n) => {
    const r = new RttRows(n.bus, n.registry, {
      intervalMs: 100,
      staleAfterMs: 1500,
      measure: () => new Map(['a', 'b', 'c'].filter((p) => p !== n.id).map((p) => [p, rtt(n.id, p)])),
    });
    r.start();
    t.after(() => r.close());
    return r;
  });
  const full = (m: ReturnType<RttRows['matrix']>) => m.size === 3 && [...m.values()].every((row) => row.size === 2);
  const dump = () => rows.map((r, i) => `${nodes[i].id}: ${JSON.stringify([...r.matrix()].map(([f, row]) => [f, [...row]]))}`).join('; ');
  await until(() => rows.every((r) => full(r.matrix())), 3000, () => `full matrices everywhere (${dump()})`);
  const m = rows[0].matrix();
  assert.equal(m.get('b')?.get('c'), 23);
  assert.equal(m.get('c')?.get('a'), 31);
  assert.equal(m.get('a')?.get('b'), 12);
  // c dies: its row and the columns towards it disappear.
  await nodes[2].bus.close();
  await until(() => !rows[0].matrix().has('c'), 3000, () => `c dropped from a’s matrix (${dump()})`);
  const after = rows[0].matrix();
  assert.deepEqual([...after.keys()].sort(), ['a', 'b']);
  assert.equal(after.get('b')?.has('c'), false);
  assert.equal(after.get('a')?.get('b'), 12);
});

async function leases(t: TestContext, n: TestNode, ttlMs = 600): Promise<SpaceLeases> {
  const l = new SpaceLeases(n.bus, n.registry, { ttlMs, log: quiet });
  await l.start();
  t.after(() => l.close());
  return l;
}

test('space lease: of two racing nodes exactly one wins; renewals keep it; it is taken over when the owner dies', async (t) => {
  const s = await server(t);
  const a = await node(t, s.url, 'a', 1);
  const b = await node(t, s.url, 'b', 2);
  await until(() => ids(a).length === 2 && ids(b).length === 2, 1000, 'both up');
  const la = await leases(t, a);
  const lb = await leases(t, b);
  const changes: string[] = [];
  const seenA: string[] = [];
  lb.onOwnerChange((space, owner, term) => changes.push(`${space}:${owner}:${term}`));
  la.onOwnerChange((space, owner, term) => seenA.push(`${space}:${owner}:${term}`));
  const [ra, rb] = await Promise.all([la.acquire('lobby'), lb.acquire('lobby')]);
  assert.ok(ra && rb);
  // The loser never believed, even for a moment, that it had won: both acquires report the same owner.
  assert.deepEqual(ra, rb);
  await until(() => la.ownerOf('lobby')?.node === lb.ownerOf('lobby')?.node, 1000, 'agreement');
  const winner = la.ownerOf('lobby')!.node;
  assert.deepEqual(seenA, [`lobby:${winner}:1`]);
  assert.deepEqual(changes, [`lobby:${winner}:1`]);
  assert.ok(winner === 'a' || winner === 'b');
  assert.equal(la.isOwner('lobby') !== lb.isOwner('lobby'), true, 'exactly one thinks it owns the space');
  assert.equal(la.ownerOf('lobby')!.term, 1);
  // Renewals: several ttls later, same owner, same term.
  await sleep(3 * la.ttlMs);
  assert.equal(la.ownerOf('lobby')?.node, winner);
  assert.equal(lb.ownerOf('lobby')?.term, 1);
  assert.equal(winner === 'a' ? la.isOwner('lobby') : lb.isOwner('lobby'), true);
  // The owner dies (no release): the other takes over with term 2.
  const [owner, other, otherLeases] = winner === 'a' ? [a, b, lb] : [b, a, la];
  const diedAt = performance.now();
  await owner.bus.close();
  await until(() => otherLeases.ownerOf('lobby')?.node === other.id, 3000, 'takeover');
  const took = performance.now() - diedAt;
  assert.equal(otherLeases.ownerOf('lobby')?.term, 2);
  assert.ok(otherLeases.isOwner('lobby'));
  assert.ok(took < FAST.deadAfterMs! + 500, `takeover took ${took.toFixed(0)} ms`);
  if (other === b) assert.ok(changes.includes(`lobby:b:2`), changes.join(' '));
});

test('space lease: release hands over at once; a stale owner is taken over after ttl; many racers, one winner', async (t) => {
  const s = await server(t);
  const a = await node(t, s.url, 'a', 1);
  const b = await node(t, s.url, 'b', 2);
  const c = await node(t, s.url, 'c', 3);
  await until(() => [a, b, c].every((n) => ids(n).length === 3), 1000, 'all up');
  const [la, lb, lc] = [await leases(t, a), await leases(t, b), await leases(t, c)];
  await la.acquire('hall');
  assert.ok(la.isOwner('hall'));
  await lb.acquire('hall');
  assert.equal(lb.ownerOf('hall')?.node, 'a', 'b is a candidate only');
  const releasedAt = performance.now();
  await la.release('hall');
  await until(() => lb.ownerOf('hall')?.node === 'b', 1000, 'b to take the released space');
  assert.ok(performance.now() - releasedAt < 500, 'handover after release is immediate, not a ttl');
  assert.equal(lb.ownerOf('hall')?.term, 2, 'terms continue across a release');
  // A lease whose owner stops renewing (closed leases, node alive) is taken after ttl.
  lb.close();
  await lc.acquire('hall');
  assert.equal(lc.ownerOf('hall')?.node, 'b');
  await until(() => lc.ownerOf('hall')?.node === 'c', lc.ttlMs + 800, 'c to take the unrenewed space');
  assert.equal(lc.ownerOf('hall')?.term, 3);
  // Twenty racing acquires of a fresh space across three nodes: one owner, everyone agrees.
  const all = [la, lc];
  await Promise.all(Array.from({ length: 10 }, (_, i) => all[i % 2].acquire(`room${i}`)));
  await Promise.all(Array.from({ length: 10 }, (_, i) => all[(i + 1) % 2].acquire(`room${i}`)));
  for (let i = 0; i < 10; i++) {
    await until(() => la.ownerOf(`room${i}`)?.node === lc.ownerOf(`room${i}`)?.node, 1000, `agreement on room${i}`);
    assert.equal(Number(la.isOwner(`room${i}`)) + Number(lc.isOwner(`room${i}`)), 1, `room${i} has exactly one owner`);
  }
});

function trackEntry(trackId: string, personId: string, node: string, num: number): Omit<TrackEntry, 'v'> {
  return {
    trackId,
    personId,
    spaceId: 'lobby',
    originNode: node,
    originNum: num,
    kind: 'video',
    streams: [
      { streamId: 0, rid: 'q', ssrc: 1111, rtxSsrc: 1112 },
      { streamId: 1, rid: 'f', ssrc: 2222, rtxSsrc: null },
    ],
    codec: { name: 'VP8', clockRate: 90000, payloadType: 96 },
  };
}

test('directory: people and tracks, watched by every node; entries of a dead node vanish and are cleaned', async (t) => {
  const s = await server(t);
  const a = await node(t, s.url, 'a', 1);
  const b = await node(t, s.url, 'b', 2);
  await until(() => ids(a).length === 2 && ids(b).length === 2, 1000, 'both up');
  const mk = async (n: TestNode) => {
    const d = new Directory(n.bus, n.registry, { cleanupDelayMs: 200, log: quiet });
    await d.start();
    t.after(() => d.close());
    return d;
  };
  const [da, db] = [await mk(a), await mk(b)];
  const seenAtB: string[] = [];
  db.onTrack((e: TrackEvent) => seenAtB.push(`${e.kind}:${e.track.trackId}`));
  // An id with characters KV keys cannot hold goes through escaping.
  const odd = 'video-{x}+y/z#1.2';
  await da.putPerson({ personId: 'pa', spaceId: 'lobby', nodeId: 'a' });
  await da.putTrack(trackEntry(odd, 'pa', 'a', 1));
  await da.putTrack(trackEntry('audio-1', 'pa', 'a', 1));
  assert.equal(da.track(odd)?.streams.length, 2, 'own writes are visible at once');
  await until(() => db.track(odd) !== undefined && db.track('audio-1') !== undefined, 1000, 'b to see a’s tracks');
  assert.equal(db.nodeOf('pa'), 'a');
  assert.deepEqual(db.tracks({ personId: 'pa' }).map((x) => x.trackId).sort(), ['audio-1', odd].sort());
  assert.deepEqual(seenAtB.sort(), [`added:audio-1`, `added:${odd}`].sort());
  // Update and remove.
  await da.putTrack({ ...trackEntry(odd, 'pa', 'a', 1), streams: [{ streamId: 0, rid: null, ssrc: 5, rtxSsrc: null }] });
  await until(() => db.track(odd)?.streams.length === 1, 1000, 'update at b');
  await da.removeTrack('audio-1');
  await until(() => db.track('audio-1') === undefined, 1000, 'removal at b');
  assert.deepEqual(seenAtB.slice(2), [`updated:${odd}`, 'removed:audio-1']);
  // A newcomer reads the current state from the bucket.
  const c = await node(t, s.url, 'c', 3);
  const dc = await mk(c);
  assert.equal(dc.track(odd)?.originNode, 'a');
  assert.equal(dc.person('pa')?.spaceId, 'lobby');
  // a dies: its entries vanish from a node's lookups as soon as that node's registry reports a down (with
  // 'removed' events), then the cleaner deletes them. Every registry times a's heartbeats on its own, so c
  // may report a down some milliseconds after b (its copy of a's last heartbeat was read later): b hiding
  // the entries says nothing yet about c.
  await a.bus.close();
  await until(() => db.track(odd) === undefined, 2000, 'a’s track hidden at b');
  assert.equal(seenAtB.at(-1), `removed:${odd}`);
  assert.equal(db.nodeOf('pa'), undefined);
  await until(() => !c.registry.isUp('a'), 2000, 'c to report a down');
  assert.deepEqual(dc.tracks(), [], 'hidden at c the moment its registry says a is down');
  assert.equal(dc.person('pa'), undefined);
  const kv = await b.bus.kv(BUCKETS.directory);
  const liveKeys = async () => {
    const out: string[] = [];
    for await (const k of await kv.keys()) out.push(k);
    return out;
  };
  const deadline = performance.now() + 2000;
  while ((await liveKeys()).length > 0 && performance.now() < deadline) await sleep(50);
  assert.deepEqual(await liveKeys(), [], 'the cleaner deleted the dead node’s entries');
});

test('hostile messages on the subjects and in the buckets are counted and dropped; nothing crashes', async (t) => {
  const s = await server(t);
  const a = await node(t, s.url, 'a', 1);
  const b = await node(t, s.url, 'b', 2);
  await until(() => ids(a).length === 2 && ids(b).length === 2, 1000, 'both up');
  const la = await leases(t, a);
  const da = new Directory(a.bus, a.registry, { log: quiet });
  await da.start();
  t.after(() => da.close());
  const rows = new RttRows(a.bus, a.registry, { intervalMs: 100, measure: () => new Map([['b', 5]]) });
  rows.start();
  t.after(() => rows.close());

  const raw: NatsConnection = await connect({ servers: s.url, name: 'attacker' });
  t.after(() => raw.close());
  const before = {
    heartbeat: controlInvalidCount('heartbeat'),
    nodeInfo: controlInvalidCount('nodeInfo'),
    leave: controlInvalidCount('leave'),
    rttRow: controlInvalidCount('rttRow'),
    probe: controlInvalidCount('probe'),
    track: controlInvalidCount('track'),
    spaceLease: controlInvalidCount('spaceLease'),
  };
  const beforeHb = Object.fromEntries((['version', 'too_large', 'utf8', 'json', 'schema'] as const).map((r) => [r, controlInvalidCount('heartbeat', r)])) as Record<string, number>;
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const hb = { v: 1, id: 'b', at: Date.now(), load: { people: 0, tracks: 0, cpu: 0 }, draining: false };
  const hostile: Array<[string, Uint8Array]> = [];
  for (const subject of Object.values(SUBJECTS)) {
    hostile.push(
      [subject, new Uint8Array([0xff, 0x00, 0xfe, 0x80])], // not UTF-8
      [subject, enc('{"v":1,').subarray(0, 6)], // truncated JSON
      [subject, new TextEncoder().encode('{"v":1,"id":"b"'.padEnd(70_000, ' '))], // too large
      [subject, enc({ ...hb, v: 2 })], // another version
      [subject, enc([1, 2, 3])], // wrong shape
      [subject, new TextEncoder().encode('{"v":1,"id":{"$gt":""},"from":7,"at":"now","rtts":{"__proto__":5,"b":-1}}')], // wrong types
    );
  }
  hostile.push([SUBJECTS.leave, enc({ v: 1, id: '../../etc' })], [SUBJECTS.heartbeat, enc({ ...hb, load: { people: -1, tracks: 0, cpu: 2 } })]);
  for (const [subject, data] of hostile) raw.publish(subject, data);
  // Bucket values too: garbage under every bucket's keys.
  const kvm = new Kvm(raw);
  await (await kvm.open(BUCKETS.nodes)).put('evil', new Uint8Array([1, 2, 3]));
  await (await kvm.open(BUCKETS.nodes)).put('b2', enc({ ...hb, v: 1 }));
  await (await kvm.open(BUCKETS.directory)).put('track.t1', enc({ v: 1, trackId: 't1' }));
  await (await kvm.open(BUCKETS.directory)).put('track.t2', enc({ ...trackEntry('other', 'p', 'b', 2), v: 1 })); // key ≠ id
  await (await kvm.open(BUCKETS.directory)).put('bogus', enc({}));
  await (await kvm.open(BUCKETS.spaceOwners)).put('lobby', enc({ v: 1, node: 'b', term: -3, expiresAt: 0 }));
  await raw.flush();

  // 6 bad messages per subject reach a (heartbeat, announce, leave, probe, rtt subjects), plus the two extras.
  await until(() => controlInvalidCount('heartbeat') - before.heartbeat >= 7, 2000, 'heartbeat rejects counted');
  await until(() => controlInvalidCount('rttRow') - before.rttRow >= 6, 2000, 'rtt rejects counted');
  await until(() => controlInvalidCount('spaceLease') - before.spaceLease >= 1, 2000, 'lease reject counted');
  await until(() => controlInvalidCount('track') - before.track >= 3, 2000, 'track rejects counted');
  // Each subscriber counts what it receives: a and b both subscribe to the node subjects.
  assert.ok(controlInvalidCount('nodeInfo') - before.nodeInfo >= 12 + 2, `nodeInfo: ${controlInvalidCount('nodeInfo') - before.nodeInfo}`);
  assert.ok(controlInvalidCount('leave') - before.leave >= 2 * 7, `leave: ${controlInvalidCount('leave') - before.leave}`);
  assert.ok(controlInvalidCount('probe') - before.probe >= 12);
  for (const reason of ['version', 'too_large', 'utf8', 'json', 'schema'] as const) {
    assert.ok(controlInvalidCount('heartbeat', reason) - beforeHb[reason] >= 2, `heartbeat ${reason}`);
  }

  // Everyone is still fine: nobody went down, the hostile node ids never appeared, the lease still works.
  await sleep(FAST.deadAfterMs! + 100);
  assert.deepEqual(ids(a), ['a', 'b']);
  assert.deepEqual(ids(b), ['a', 'b']);
  assert.deepEqual([...a.downs, ...b.downs], []);
  assert.deepEqual(da.tracks(), []);
  await la.acquire('lobby');
  await until(() => la.ownerOf('lobby')?.node === 'a', 1000, 'a to overwrite the unreadable lease');
  assert.ok(rows.matrix().get('a')?.get('b') === 5);
});
