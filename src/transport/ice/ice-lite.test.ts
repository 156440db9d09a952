import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../util/clock.ts';
import { dropCount, type DropReason } from '../../metrics/drop-reasons.ts';
import { IceLiteAgent, generateIceCredentials, type IceLiteEndpoint, type TransportAddress } from './ice-lite.ts';
import {
  buildBindingRequest,
  encodeStunMessage,
  parseStun,
  verifyFingerprint,
  verifyMessageIntegrity,
  type StunMessage,
} from './stun-message.ts';

interface TestEndpoint extends IceLiteEndpoint {
  selections: Array<[TransportAddress, TransportAddress | null]>;
  validated: TransportAddress[];
}

function endpoint(remoteUfrag: string | null = 'peer'): TestEndpoint {
  const selections: TestEndpoint['selections'] = [];
  const validated: TransportAddress[] = [];
  return {
    local: generateIceCredentials(),
    remoteUfrag,
    selections,
    validated,
    onSelected(remote, previous) {
      selections.push([remote, previous]);
    },
    onPathValidated(remote) {
      validated.push(remote);
    },
  };
}

function setup(remoteUfrag: string | null = 'peer') {
  const clock = new FakeClock();
  const agent = new IceLiteAgent(clock);
  const ep = endpoint(remoteUfrag);
  agent.register(ep);
  return { clock, agent, ep };
}

interface ReqOpts {
  useCandidate?: boolean;
  controlling?: boolean;
  username?: string;
  password?: string;
  priority?: number;
}
function request(ep: IceLiteEndpoint, o: ReqOpts = {}): Buffer {
  return buildBindingRequest({
    username: o.username ?? `${ep.local.ufrag}:peer`,
    password: o.password ?? ep.local.pwd,
    priority: o.priority ?? 0x6e0001ff,
    controlling: o.controlling ?? true,
    tieBreaker: 42n,
    useCandidate: o.useCandidate ?? false,
  });
}

function parseOk(b: Buffer | null): StunMessage {
  assert.ok(b);
  const m = parseStun(b);
  assert.ok(typeof m !== 'string');
  return m;
}

const A: TransportAddress = { address: '198.51.100.7', port: 50000, family: 4 };
const B: TransportAddress = { address: '203.0.113.9', port: 40000, family: 4 };
const C: TransportAddress = { address: '2001:db8::5', port: 40001, family: 6 };

test('generateIceCredentials uses ice-chars with enough length and entropy', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const c = generateIceCredentials();
    assert.match(c.ufrag, /^[A-Za-z0-9+/]{4,256}$/);
    assert.match(c.pwd, /^[A-Za-z0-9+/]{22,256}$/);
    seen.add(c.ufrag);
  }
  assert.equal(seen.size, 200);
});

test('a valid Binding request is answered with XOR-MAPPED-ADDRESS = source', () => {
  for (const src of [A, C, { address: '::ffff:198.51.100.7', port: 1, family: 6 as const }]) {
    const { agent, ep } = setup();
    const req = request(ep);
    const r = agent.handle(req, src.address, src.port, src.family);
    assert.equal(r.drop, null);
    assert.equal(r.endpoint, ep);
    const m = parseOk(r.response);
    assert.equal(m.cls, 'success');
    assert.deepEqual(m.transactionId, req.subarray(8, 20));
    const want = src.address.startsWith('::ffff:') ? { address: '198.51.100.7', port: 1, family: 4 } : src;
    assert.deepEqual(m.xorMappedAddress, want);
    assert.equal(verifyMessageIntegrity(r.response!, m, ep.local.pwd), true);
    assert.equal(verifyFingerprint(r.response!, m), true);
    assert.deepEqual(ep.selections, [[src, null]]);
    assert.deepEqual(agent.selectedAddress(ep), src);
  }
});

test('bad datagrams are dropped, counted and mostly unanswered', () => {
  const { agent, ep } = setup();
  const other = endpoint();
  const good = request(ep);
  const flipped = (at: number): Buffer => {
    const b = Buffer.from(good);
    b[at] ^= 1;
    return b;
  };
  const noFp = encodeStunMessage(1, 'request', Buffer.alloc(12), [[0x0006, Buffer.from(`${ep.local.ufrag}:peer`)]], {
    integrityKey: ep.local.pwd,
    fingerprint: false,
  });
  const noMi = encodeStunMessage(1, 'request', Buffer.alloc(12), [[0x0006, Buffer.from(`${ep.local.ufrag}:peer`)]]);
  const noUser = encodeStunMessage(1, 'request', Buffer.alloc(12), [], { integrityKey: ep.local.pwd });
  const cases: Array<[string, Buffer, DropReason, number | null]> = [
    ['garbage', Buffer.from('hello world, not stun'), 'stun_malformed', null],
    ['truncated', good.subarray(0, good.length - 4), 'stun_malformed', null],
    ['not Binding (Allocate)', encodeStunMessage(3, 'request', Buffer.alloc(12), []), 'stun_unsupported', null],
    ['Binding success (unsolicited)', encodeStunMessage(1, 'success', Buffer.alloc(12), []), 'stun_unsupported', null],
    ['Binding error (unsolicited)', encodeStunMessage(1, 'error', Buffer.alloc(12), [[0x0009, Buffer.from('00000400', 'hex')]]), 'stun_unsupported', null],
    ['no FINGERPRINT', noFp, 'stun_bad_fingerprint', null],
    ['corrupted FINGERPRINT', flipped(good.length - 1), 'stun_bad_fingerprint', null],
    // No 400 either: answering would reflect from a spoofable source (ice-lite.ts).
    ['no MESSAGE-INTEGRITY', noMi, 'stun_malformed', null],
    ['no USERNAME', noUser, 'stun_malformed', null],
    ['unknown ufrag', request(other), 'stun_unknown_ufrag', null],
    ['USERNAME without colon', request(ep, { username: ep.local.ufrag }), 'stun_unknown_ufrag', null],
    ['wrong remote ufrag', request(ep, { username: `${ep.local.ufrag}:other` }), 'stun_unknown_ufrag', null],
    ['wrong password', request(ep, { password: other.local.pwd }), 'stun_bad_integrity', null],
  ];
  for (const [name, buf, reason, code] of cases) {
    const before = dropCount(reason);
    const r = agent.handle(buf, A.address, A.port, A.family);
    assert.equal(r.drop, reason, name);
    assert.equal(dropCount(reason), before + 1, `${name}: counted once`);
    assert.equal(r.endpoint, null, name);
    if (code === null) assert.equal(r.response, null, name);
    else assert.equal(parseOk(r.response).errorCode, code, name);
  }
  assert.deepEqual(ep.selections, [], 'nothing selected');
  assert.equal(agent.lastConsentAt(ep), null);
});

test('remote ufrag is not checked while unknown', () => {
  const { agent, ep } = setup(null);
  const r = agent.handle(request(ep, { username: `${ep.local.ufrag}:anything` }), A.address, A.port, 4);
  assert.equal(r.drop, null);
  assert.equal(parseOk(r.response).cls, 'success');
});

test('Binding indication is a silent keepalive', () => {
  const { agent } = setup();
  const r = agent.handle(encodeStunMessage(1, 'indication', Buffer.alloc(12), []), A.address, A.port, 4);
  assert.deepEqual(r, { response: null, endpoint: null, drop: null });
});

test('peer claiming the controlled role gets 487 and changes nothing', () => {
  const { agent, ep } = setup();
  const r = agent.handle(request(ep, { controlling: false }), A.address, A.port, 4);
  assert.equal(r.drop, null);
  assert.equal(r.endpoint, ep);
  const m = parseOk(r.response);
  assert.equal(m.errorCode, 487);
  assert.equal(verifyMessageIntegrity(r.response!, m, ep.local.pwd), true);
  assert.deepEqual(ep.selections, []);
  assert.equal(agent.lastConsentAt(ep), null);
});

test('unknown comprehension-required attribute gets 420 listing it', () => {
  const { agent, ep } = setup();
  const req = encodeStunMessage(
    1,
    'request',
    Buffer.alloc(12, 3),
    [
      [0x0006, Buffer.from(`${ep.local.ufrag}:peer`)],
      [0x7777, Buffer.alloc(4)],
      [0xc057, Buffer.alloc(4)], // comprehension-optional: ignored
    ],
    { integrityKey: ep.local.pwd },
  );
  const r = agent.handle(req, A.address, A.port, 4);
  assert.equal(r.drop, 'stun_unsupported');
  assert.equal(r.endpoint, ep);
  const m = parseOk(r.response);
  assert.equal(m.errorCode, 420);
  assert.ok(r.response!.includes(Buffer.from('000a00027777', 'hex')));
  assert.deepEqual(ep.selections, []);
});

test('selection follows the latest valid check until nomination, then only nominations', () => {
  const { agent, ep } = setup();
  const steps: Array<[TransportAddress, boolean, TransportAddress, boolean]> = [
    // [source, USE-CANDIDATE, selected after, onSelected fired]
    [A, false, A, true],
    [A, false, A, false],
    [B, false, B, true], // nothing nominated yet: latest valid wins
    [A, true, A, true], // nominated
    [B, false, A, false], // a plain check cannot move a nomination
    [C, true, C, true], // client changed network and re-nominated
    [C, true, C, false],
  ];
  let prev: TransportAddress | null = null;
  let fired = 0;
  for (const [i, [src, uc, want, fires]] of steps.entries()) {
    const r = agent.handle(request(ep, { useCandidate: uc }), src.address, src.port, src.family);
    assert.equal(r.drop, null, `step ${i}`);
    assert.deepEqual(parseOk(r.response).xorMappedAddress, src, `step ${i}: answered to source`);
    assert.deepEqual(agent.selectedAddress(ep), want, `step ${i}`);
    if (fires) {
      fired++;
      assert.deepEqual(ep.selections.at(-1), [want, prev], `step ${i}: callback args`);
      prev = want;
    }
    assert.equal(ep.selections.length, fired, `step ${i}: callback count`);
  }
});

test('of several nominated pairs the highest priority stays selected; a lower one takes over only from a quiet path (RFC 8445 §8.1.1)', () => {
  const { clock, agent, ep } = setup();
  // Firefox against a lite agent nominates every pair that works: its UDP pair (peer-reflexive type
  // preference 110), then 50 ms later its ICE-TCP pair (109), while it keeps using the UDP one.
  const udp = 1853751551;
  const tcp = 1837007103;
  const T: TransportAddress = { address: A.address, port: 62610, family: 4, protocol: 'tcp' };
  assert.equal(agent.handle(request(ep, { useCandidate: true, priority: udp }), A.address, A.port, 4).drop, null);
  clock.advance(50);
  const r = agent.handle(request(ep, { useCandidate: true, priority: tcp }), T.address, T.port, 4, 'tcp');
  assert.equal(r.drop, null);
  assert.ok(r.response, 'the lower pair’s check is still answered');
  assert.deepEqual(agent.selectedAddress(ep), A, 'the higher-priority nomination keeps the path');
  assert.equal(ep.selections.length, 1);
  // A nomination of higher priority moves it.
  assert.equal(agent.handle(request(ep, { useCandidate: true, priority: udp + 256 }), B.address, B.port, 4).drop, null);
  assert.deepEqual(agent.selectedAddress(ep), B);
  // The selected path stays quiet past a consent interval (the client left that network): a lower one takes over.
  clock.advance(5000);
  agent.handle(request(ep, { useCandidate: true, priority: tcp }), T.address, T.port, 4, 'tcp');
  assert.deepEqual(agent.selectedAddress(ep), B, 'B checked 5 s ago: still live');
  clock.advance(1001);
  agent.handle(request(ep, { useCandidate: true, priority: tcp }), T.address, T.port, 4, 'tcp');
  assert.deepEqual(agent.selectedAddress(ep), T);
  assert.deepEqual(ep.selections.at(-1), [T, B]);
});

test('consent time moves only for checks from the selected address', () => {
  const { clock, agent, ep } = setup();
  assert.equal(agent.lastConsentAt(ep), null);
  clock.advance(1000);
  agent.handle(request(ep, { useCandidate: true }), A.address, A.port, 4);
  assert.equal(agent.lastConsentAt(ep), 1000);
  clock.advance(5000);
  agent.handle(request(ep), B.address, B.port, 4); // not selected: no consent for A
  assert.equal(agent.lastConsentAt(ep), 1000);
  agent.handle(request(ep, { password: 'wrong-password-wrong-pw' }), A.address, A.port, 4);
  assert.equal(agent.lastConsentAt(ep), 1000, 'unauthenticated checks do not refresh');
  clock.advance(2500);
  agent.handle(request(ep), A.address, A.port, 4);
  assert.equal(agent.lastConsentAt(ep), 8500);
  // The owner times out after 30 s of silence.
  clock.advance(30_001);
  assert.ok(clock.now() - agent.lastConsentAt(ep)! > 30_000);
});

test('register / unregister', () => {
  const { agent, ep } = setup();
  assert.throws(() => agent.register({ ...endpoint(), local: { ufrag: ep.local.ufrag, pwd: 'x'.repeat(22) } }));
  agent.register(ep); // idempotent
  const two = endpoint();
  agent.register(two);
  assert.equal(agent.handle(request(two), A.address, A.port, 4).endpoint, two);
  agent.unregister(ep);
  assert.equal(agent.handle(request(ep), A.address, A.port, 4).drop, 'stun_unknown_ufrag');
  assert.equal(agent.lastConsentAt(ep), null);
  assert.equal(agent.selectedAddress(ep), null);
  assert.equal(agent.handle(request(two), B.address, B.port, 4).drop, null, 'others unaffected');
  agent.unregister(ep); // no-op
});

test('a check replayed from another address is dropped and moves nothing; retransmits from the same address are answered', () => {
  const { agent, ep } = setup();
  const nominate = request(ep, { useCandidate: true });
  assert.equal(agent.handle(nominate, A.address, A.port, 4).drop, null);
  assert.deepEqual(agent.selectedAddress(ep), A);
  const retransmit = agent.handle(Buffer.from(nominate), A.address, A.port, 4);
  assert.equal(retransmit.drop, null, 'the same transaction from the same address is a retransmission');
  assert.ok(retransmit.response);
  const replay = agent.handle(Buffer.from(nominate), B.address, B.port, 4);
  assert.equal(replay.drop, 'stun_replayed');
  assert.equal(replay.response, null, 'the replayer learns nothing');
  assert.deepEqual(agent.selectedAddress(ep), A, 'the path stays');
  // A genuinely new nomination from B (the client moved) still switches.
  assert.equal(agent.handle(request(ep, { useCandidate: true }), B.address, B.port, 4).drop, null);
  assert.deepEqual(agent.selectedAddress(ep), B);
});

/** The endpoint's owner swaps credentials (and learns the peer's new ufrag), then tells the agent. */
function restartEndpoint(agent: IceLiteAgent, ep: TestEndpoint, remoteUfrag: string | null = 'peer2'): { ufrag: string; pwd: string } {
  const old = ep.local;
  (ep as { local: { ufrag: string; pwd: string } }).local = generateIceCredentials();
  ep.remoteUfrag = remoteUfrag;
  agent.restart(ep, old.ufrag);
  return old;
}

test('ICE restart: the old credentials stop authenticating, the new ones select a new address at once', () => {
  const { clock, agent, ep } = setup();
  assert.equal(agent.handle(request(ep, { useCandidate: true }), A.address, A.port, 4).drop, null);
  assert.deepEqual(agent.selectedAddress(ep), A);
  clock.advance(1000);
  const old = restartEndpoint(agent, ep);
  // Until a check with the new credentials arrives, media keeps going to A and consent is not reset.
  assert.deepEqual(agent.selectedAddress(ep), A);
  assert.equal(agent.lastConsentAt(ep), 0);
  const stale = request({ ...ep, local: old }, { useCandidate: true });
  assert.equal(agent.handle(stale, B.address, B.port, 4).drop, 'stun_unknown_ufrag', 'the old ufrag is gone');
  assert.equal(agent.handle(request(ep, { username: `${ep.local.ufrag}:peer` }), B.address, B.port, 4).drop, 'stun_unknown_ufrag', 'the old remote ufrag too');
  // A plain (unnominated) check with the new credentials moves the path: the old nomination no longer holds.
  const r = agent.handle(request(ep, { username: `${ep.local.ufrag}:peer2` }), B.address, B.port, 4);
  assert.equal(r.drop, null);
  assert.equal(verifyMessageIntegrity(r.response!, parseOk(r.response), ep.local.pwd), true, 'answered with the new password');
  assert.deepEqual(agent.selectedAddress(ep), B);
  assert.deepEqual(ep.selections.at(-1), [B, A]);
  assert.equal(agent.lastConsentAt(ep), 1000, 'consent from the new path');
  // Nomination works as on a fresh start.
  assert.equal(agent.handle(request(ep, { username: `${ep.local.ufrag}:peer2`, useCandidate: true }), C.address, C.port, 6).drop, null);
  assert.equal(agent.handle(request(ep, { username: `${ep.local.ufrag}:peer2` }), A.address, A.port, 4).drop, null);
  assert.deepEqual(agent.selectedAddress(ep), C, 'nominated again: a plain check cannot move it');
});

test('ICE restart on the same path selects nothing new; a restart before the peer answers takes any remote ufrag', () => {
  const { agent, ep } = setup();
  agent.handle(request(ep, { useCandidate: true }), A.address, A.port, 4);
  restartEndpoint(agent, ep, null);
  assert.equal(agent.handle(request(ep, { username: `${ep.local.ufrag}:whatever`, useCandidate: true }), A.address, A.port, 4).drop, null);
  assert.deepEqual(ep.selections, [[A, null]], 'same address: no new selection');
});

test('ICE restart refuses a ufrag another endpoint holds and leaves other endpoints alone', () => {
  const { agent, ep } = setup();
  agent.handle(request(ep, { useCandidate: true }), A.address, A.port, 4);
  const other = endpoint();
  agent.register(other);
  const old = ep.local;
  (ep as { local: { ufrag: string; pwd: string } }).local = { ufrag: other.local.ufrag, pwd: 'p'.repeat(24) };
  assert.throws(() => agent.restart(ep, old.ufrag), /already registered/);
  (ep as { local: { ufrag: string; pwd: string } }).local = old;
  assert.equal(agent.handle(request(ep), A.address, A.port, 4).drop, null, 'a refused restart leaves the endpoint as it was');
  assert.throws(() => agent.restart(endpoint(), 'nope'), /unregistered/);
  restartEndpoint(agent, ep);
  assert.equal(agent.handle(request(other), B.address, B.port, 4).endpoint, other, 'others unaffected');
});

test('media decides between nominated paths: mediaFrom follows a nominated path, never an unnominated or unknown one', () => {
  const { agent, ep } = setup();
  const T: TransportAddress = { address: A.address, port: 62611, family: 4, protocol: 'tcp' };
  agent.handle(request(ep, { useCandidate: true, priority: 1000 }), A.address, A.port, 4);
  agent.handle(request(ep, { useCandidate: true, priority: 10 }), B.address, B.port, 4);
  agent.handle(request(ep, { useCandidate: false }), C.address, C.port, 6);
  agent.handle(request(ep, { useCandidate: true, priority: 5 }), T.address, T.port, 4, 'tcp');
  agent.handle(request(ep, { useCandidate: false }), A.address, A.port, 4);
  assert.deepEqual(ep.validated, [A, B, C, T], 'each new authenticated source announced once');
  assert.deepEqual(agent.selectedAddress(ep), A);
  // [source, moves, selected after]
  const steps: Array<[string, number, 'udp' | 'tcp', boolean, TransportAddress]> = [
    [C.address, C.port, 'udp', false, A], // validated, never nominated
    ['203.0.113.77', 4000, 'udp', false, A], // unknown
    [B.address, B.port, 'tcp', false, A], // right address, wrong protocol
    [B.address, B.port, 'udp', true, B],
    [B.address, B.port, 'udp', false, B],
    [T.address, T.port, 'tcp', true, T],
    [A.address, A.port, 'udp', true, A],
  ];
  for (const [i, [address, port, protocol, moves, after]] of steps.entries()) {
    assert.equal(agent.mediaFrom(ep, address, port, protocol), moves, `step ${i}`);
    assert.deepEqual(agent.selectedAddress(ep), after, `step ${i}`);
  }
  assert.deepEqual(ep.selections.slice(1), [[B, A], [T, B], [A, T]]);
});

test('validated paths are bounded (newest kept) and start over at an ICE restart', () => {
  const { agent, ep } = setup();
  for (let i = 0; i < 6; i++) agent.handle(request(ep, { useCandidate: true, priority: 100 - i }), `198.51.100.${i}`, 5000, 4);
  assert.equal(ep.validated.length, 6);
  assert.equal(agent.mediaFrom(ep, '198.51.100.1', 5000, 'udp'), false, 'an evicted path no longer moves anything');
  assert.equal(agent.mediaFrom(ep, '198.51.100.5', 5000, 'udp'), true);
  const previous = ep.local.ufrag;
  (ep as { local: ReturnType<typeof generateIceCredentials> }).local = generateIceCredentials();
  agent.restart(ep, previous);
  assert.equal(agent.mediaFrom(ep, '198.51.100.4', 5000, 'udp'), false, 'nominations before the restart count no more');
});

test('a check replayed from another address is refused however many newer checks came since, for the whole window', () => {
  const { clock, agent, ep } = setup();
  const nominating = request(ep, { useCandidate: true });
  assert.equal(agent.handle(nominating, A.address, A.port, 4).drop, null);
  for (let i = 0; i < 300; i++) {
    clock.advance(500);
    assert.equal(agent.handle(request(ep), A.address, A.port, 4).drop, null);
  }
  assert.equal(agent.handle(nominating, B.address, B.port, 4).drop, 'stun_replayed', 'refused after 300 newer checks and 150 s');
  assert.deepEqual(agent.selectedAddress(ep), A);
  assert.equal(agent.handle(nominating, A.address, A.port, 4).drop, null, 'a retransmission from the same address is answered');
});

test('after media only media moves the path: a nomination from elsewhere (any priority, a quiet path) selects nothing', () => {
  const { clock, agent, ep } = setup();
  assert.equal(agent.handle(request(ep, { useCandidate: true, priority: 100 }), A.address, A.port, 4).drop, null);
  (ep as { mediaReceived?: boolean }).mediaReceived = true;
  // An older check of the peer's, recorded and replayed from B after the replay memory forgot it.
  clock.advance(10 * 60_000);
  assert.equal(agent.handle(request(ep, { useCandidate: true, priority: 1000 }), B.address, B.port, 4).drop, null, 'answered (it authenticates)');
  assert.deepEqual(agent.selectedAddress(ep), A, 'but it moves nothing, though A was quiet for 10 minutes');
  assert.equal(ep.selections.length, 1);
  // The peer really moved to B: its media from there moves the path.
  assert.equal(agent.mediaFrom(ep, B.address, B.port, 'udp'), true);
  assert.deepEqual(agent.selectedAddress(ep), B);
});
