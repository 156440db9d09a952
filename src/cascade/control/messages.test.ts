import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROL_SCHEMAS, MAX_CONTROL_BYTES, decodeControl, encodeControl, type ControlKind, type NodeInfo, type TrackEntry } from './messages.ts';
import { controlInvalidCount, createMetricsRegistry } from '../../metrics/registry.ts';
import { seededRandom } from '../../util/prng.ts';

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const nodeInfo: NodeInfo = {
  v: 1,
  id: 'eu-1',
  num: 4_000_000_000,
  region: 'eu-west',
  relay: { host: 'relay.example.net', port: 7000 },
  signalingUrl: 'wss://eu-1.example.net/ws',
  publicKey: 'MCowBQYDK2VwAyEA1a2b3c4d5e6f7g8h9i0jKLMNOPQRSTUVWXYZ0123456=',
  load: { people: 10, tracks: 20, cpu: 0.25 },
  draining: false,
  startedAt: 1_700_000_000_000,
};
const track: TrackEntry = {
  v: 1,
  trackId: 'video-a1b2c3',
  personId: 'pa1b2c3',
  spaceId: 'lobby',
  originNode: 'eu-1',
  originNum: 3,
  kind: 'video',
  streams: [{ streamId: 0, rid: 'q', ssrc: 0xffff_ffff, rtxSsrc: null }],
  codec: { name: 'VP8', clockRate: 90000, payloadType: 96 },
};

test('valid messages round-trip through encode and decode', () => {
  // The control plane's own kinds (other modules add theirs to CONTROL_SCHEMAS and test them there).
  const samples: Partial<Record<ControlKind, unknown>> = {
    nodeInfo,
    heartbeat: { v: 1, id: 'eu-1', at: 1, load: nodeInfo.load, draining: true },
    leave: { v: 1, id: 'eu-1' },
    probe: { v: 1, id: 'eu-1' },
    rttRow: { v: 1, from: 'eu-1', at: 2, rtts: { 'us-1': 80.5, 'eu-2': 3 } },
    person: { v: 1, personId: 'pa1', spaceId: 'lobby', nodeId: 'eu-1' },
    track,
    spaceLease: { v: 1, node: 'eu-1', term: 3, expiresAt: 5 },
    numClaim: { v: 1, id: 'eu-1' },
  };
  for (const kind of Object.keys(samples) as ControlKind[]) {
    const r = decodeControl(kind, encodeControl(kind, samples[kind] as never));
    assert.ok(r.ok, `${kind}: ${r.ok ? '' : r.detail}`);
    assert.deepEqual(r.value, samples[kind]);
  }
});

test('invalid input is a counted error with a reason, never an exception', () => {
  const cases: Array<[ControlKind, Uint8Array, string]> = [
    ['heartbeat', new Uint8Array([0xc3, 0x28]), 'utf8'],
    ['heartbeat', new TextEncoder().encode('{"v":1'), 'json'],
    ['heartbeat', new Uint8Array(MAX_CONTROL_BYTES + 1).fill(0x20), 'too_large'],
    ['nodeInfo', enc({ ...nodeInfo, v: 2 }), 'version'],
    ['nodeInfo', enc({ ...nodeInfo, v: '1' }), 'version'],
    ['nodeInfo', enc({ ...nodeInfo, v: undefined }), 'schema'],
    ['nodeInfo', enc({ ...nodeInfo, id: 'a.b' }), 'schema'], // a subject/KV token separator
    ['nodeInfo', enc({ ...nodeInfo, id: '__proto__' }), 'schema'],
    ['nodeInfo', enc({ ...nodeInfo, num: 2 ** 32 }), 'schema'],
    ['nodeInfo', enc({ ...nodeInfo, num: 1.5 }), 'schema'],
    ['nodeInfo', enc({ ...nodeInfo, load: { ...nodeInfo.load, cpu: 1.01 } }), 'schema'],
    ['nodeInfo', enc({ ...nodeInfo, signalingUrl: 'javascript:alert(1)' }), 'schema'],
    ['nodeInfo', enc({ ...nodeInfo, publicKey: 'not base64!' }), 'schema'],
    ['nodeInfo', enc({ ...nodeInfo, relay: { host: 'a b', port: 1 } }), 'schema'],
    ['rttRow', enc({ v: 1, from: 'a', at: 0, rtts: { b: -1 } }), 'schema'],
    ['rttRow', enc({ v: 1, from: 'a', at: 0, rtts: { 'b.c': 1 } }), 'schema'],
    ['rttRow', enc({ v: 1, from: 'a', at: 0, rtts: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`n${i}`, 1])) }), 'schema'],
    ['track', enc({ ...track, kind: 'data' }), 'schema'],
    ['track', enc({ ...track, streams: [] }), 'schema'],
    ['track', enc({ ...track, codec: { ...track.codec, payloadType: 128 } }), 'schema'],
    ['track', enc({ ...track, trackId: 'x\u0000y' }), 'schema'],
    ['spaceLease', enc({ v: 1, node: 'a', term: 0, expiresAt: 0 }), 'schema'],
    ['leave', enc(null), 'schema'],
    ['leave', enc('leave'), 'schema'],
    ['leave', enc([{ v: 1, id: 'a' }]), 'schema'],
  ];
  for (const [kind, data, reason] of cases) {
    const before = controlInvalidCount(kind, reason as never);
    const r = decodeControl(kind, data);
    assert.equal(r.ok, false, `${kind} ${new TextDecoder().decode(data.subarray(0, 80))} should be rejected`);
    assert.equal(r.ok ? '' : r.reason, reason, `${kind}: ${r.ok ? '' : r.detail}`);
    assert.equal(controlInvalidCount(kind, reason as never), before + 1, 'counted once');
  }
});

test('prototype keys never reach the decoded value', () => {
  const r = decodeControl('rttRow', new TextEncoder().encode('{"v":1,"from":"a","at":0,"rtts":{"__proto__":{"polluted":1},"b":2},"__proto__":{"x":1}}'));
  // Either rejected or stripped: never a polluted prototype.
  if (r.ok) {
    assert.equal(Object.getPrototypeOf(r.value.rtts), Object.prototype);
    assert.deepEqual(Object.keys(r.value.rtts), ['b']);
    assert.equal((r.value as unknown as { x?: number }).x, undefined);
  }
  assert.equal(({} as { polluted?: number }).polluted, undefined);
});

test('random bytes and mutated messages never throw', () => {
  const rnd = seededRandom(7);
  const base = encodeControl('track', track);
  for (let i = 0; i < 3000; i++) {
    const data = i % 2 ? Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)) : base.map((b) => (rnd() < 0.02 ? Math.floor(rnd() * 256) : b));
    for (const kind of Object.keys(CONTROL_SCHEMAS) as ControlKind[]) decodeControl(kind, data);
  }
});

test('our own invalid messages throw at encode (a bug here would look like an attack everywhere else)', () => {
  assert.throws(() => encodeControl('nodeInfo', { ...nodeInfo, num: -1 }), /invalid outgoing nodeInfo: num/);
  assert.throws(() => encodeControl('heartbeat', { v: 1, id: 'a', at: 0, load: { people: 0, tracks: 0, cpu: NaN }, draining: false }), /cpu/);
});

test('rejects show up on /metrics as proxima_control_messages_invalid_total{kind,reason}', async () => {
  decodeControl('probe', enc({ v: 9, id: 'a' }));
  const text = await createMetricsRegistry().metrics();
  const line = text.split('\n').find((l) => l.startsWith('proxima_control_messages_invalid_total{kind="probe",reason="version"}'));
  assert.ok(line, text.split('\n').filter((l) => l.includes('control')).join('\n'));
  assert.ok(Number(line.split(' ').at(-1)) >= 1);
});
