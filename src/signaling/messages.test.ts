import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MESSAGE_BYTES, ServerMessageSchema, parseClientMessage, serverMessage } from './messages.ts';
import type { ErrorCode, ServerMessage } from './messages.ts';

const ok = (o: unknown) => {
  const r = parseClientMessage(JSON.stringify(o));
  assert.ok(r.ok, `expected ok for ${JSON.stringify(o).slice(0, 80)}: ${r.ok ? '' : r.error.message}`);
  return r.msg;
};

test('valid client messages parse, keeping the request id', () => {
  const cases: { in: Record<string, unknown>; type: string }[] = [
    { in: { v: 1, id: 1, type: 'join', space: 'room_A-1', name: 'Ada Lovelace', token: 'jwt.x.y' }, type: 'join' },
    { in: { v: 1, id: 'r2', type: 'join', space: 'x', name: 'Zoë 👋' }, type: 'join' },
    { in: { v: 1, id: 3, type: 'publish', sdp: 'v=0\r\n' }, type: 'publish' },
    { in: { v: 1, id: 4, type: 'subscribe', publisherId: 'p1' }, type: 'subscribe' },
    { in: { v: 1, id: 5, type: 'subscribe', publisherId: 'p1', trackIds: ['a', 'b'] }, type: 'subscribe' },
    { in: { v: 1, id: 6, type: 'unsubscribe', publisherId: 'p1', trackIds: ['a'] }, type: 'unsubscribe' },
    { in: { v: 1, type: 'subscriberAnswer', offerId: 7, sdp: 'v=0\r\n' }, type: 'subscriberAnswer' },
    { in: { v: 1, id: 8, type: 'leave' }, type: 'leave' },
    { in: { v: 1, id: 0, type: 'ping' }, type: 'ping' },
    // Unknown extra fields are dropped, not rejected, so additive v1 changes stay compatible.
    { in: { v: 1, id: 9, type: 'ping', extra: { nested: true } }, type: 'ping' },
  ];
  for (const c of cases) {
    const msg = ok(c.in);
    assert.equal(msg.type, c.type);
    assert.equal(msg.id, c.in.id);
    assert.equal('extra' in msg, false);
  }
  const fromBuffer = parseClientMessage(Buffer.from(JSON.stringify({ v: 1, id: 'b', type: 'ping' })));
  assert.ok(fromBuffer.ok && fromBuffer.msg.type === 'ping');
});

test('malformed and hostile frames yield typed errors, echoing a readable id', () => {
  const big = 'x'.repeat(MAX_MESSAGE_BYTES);
  const cases: { name: string; raw: string | Buffer; code: ErrorCode; id?: string | number; msg?: RegExp }[] = [
    { name: 'not JSON', raw: '{v:1', code: 'bad_request', msg: /JSON/ },
    { name: 'empty', raw: '', code: 'bad_request' },
    { name: 'binary garbage', raw: Buffer.from([0xff, 0xfe, 0x00, 0x7b]), code: 'bad_request' },
    { name: 'array', raw: '[1,2]', code: 'bad_request', msg: /object/ },
    { name: 'null', raw: 'null', code: 'bad_request' },
    { name: 'string', raw: '"ping"', code: 'bad_request' },
    { name: 'oversize string', raw: JSON.stringify({ v: 1, id: 1, type: 'publish', sdp: big }), code: 'bad_request', msg: /exceeds/ },
    { name: 'oversize buffer', raw: Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20), code: 'bad_request', msg: /exceeds/ },
    // 50k 3-byte chars: under the cap in length, over it in bytes.
    { name: 'oversize multibyte', raw: JSON.stringify({ s: '€'.repeat(50_000) }), code: 'bad_request', msg: /exceeds/ },
    { name: 'missing v', raw: '{"id":1,"type":"ping"}', code: 'bad_request', id: 1, msg: /version/ },
    { name: 'v 2', raw: '{"v":2,"id":"a","type":"ping"}', code: 'unsupported_version', id: 'a' },
    { name: 'v as string', raw: '{"v":"1","id":1,"type":"ping"}', code: 'unsupported_version', id: 1 },
    { name: 'unknown type', raw: '{"v":1,"id":1,"type":"hack"}', code: 'bad_request', id: 1, msg: /unknown message type/ },
    { name: 'type not string', raw: '{"v":1,"id":1,"type":7}', code: 'bad_request', id: 1 },
    { name: 'missing id', raw: '{"v":1,"type":"ping"}', code: 'bad_request', msg: /id/ },
    { name: 'object id', raw: '{"v":1,"id":{},"type":"ping"}', code: 'bad_request', id: undefined },
    { name: 'negative id', raw: '{"v":1,"id":-1,"type":"ping"}', code: 'bad_request', id: undefined },
    { name: 'space with slash', raw: '{"v":1,"id":1,"type":"join","space":"a/b","name":"n"}', code: 'bad_request', id: 1, msg: /space/ },
    { name: 'space too long', raw: JSON.stringify({ v: 1, id: 1, type: 'join', space: 'a'.repeat(65), name: 'n' }), code: 'bad_request', id: 1 },
    { name: 'empty name', raw: '{"v":1,"id":1,"type":"join","space":"a","name":""}', code: 'bad_request', id: 1, msg: /name/ },
    { name: 'control char name', raw: '{"v":1,"id":1,"type":"join","space":"a","name":"a\\u0000b"}', code: 'bad_request', id: 1 },
    { name: 'sdp number', raw: '{"v":1,"id":1,"type":"publish","sdp":5}', code: 'bad_request', id: 1, msg: /sdp/ },
    { name: 'sdp over 64KiB', raw: JSON.stringify({ v: 1, id: 1, type: 'publish', sdp: 'a'.repeat(70_000) }), code: 'bad_request', id: 1, msg: /sdp/ },
    { name: 'trackIds not array', raw: '{"v":1,"id":1,"type":"subscribe","publisherId":"p","trackIds":"t"}', code: 'bad_request', id: 1 },
    { name: 'trackId with newline', raw: '{"v":1,"id":1,"type":"subscribe","publisherId":"p","trackIds":["a\\r\\nb"]}', code: 'bad_request', id: 1 },
    { name: 'offerId negative', raw: '{"v":1,"type":"subscriberAnswer","offerId":-1,"sdp":"v=0"}', code: 'bad_request' },
    { name: '__proto__ top level', raw: '{"v":1,"id":1,"type":"ping","__proto__":{"polluted":1}}', code: 'bad_request', id: 1, msg: /__proto__/ },
    { name: '__proto__ nested', raw: '{"v":1,"id":1,"type":"join","space":"a","name":"n","x":{"__proto__":{"isAdmin":true}}}', code: 'bad_request', id: 1 },
    { name: 'constructor key', raw: '{"v":1,"id":1,"type":"ping","constructor":{"prototype":{}}}', code: 'bad_request', id: 1 },
    { name: 'deep nesting', raw: '['.repeat(60_000) + ']'.repeat(60_000), code: 'bad_request' },
  ];
  for (const c of cases) {
    const r = parseClientMessage(c.raw);
    assert.equal(r.ok, false, c.name);
    if (r.ok) continue;
    assert.equal(r.error.type, 'error', c.name);
    assert.equal(r.error.code, c.code, `${c.name}: ${r.error.message}`);
    assert.equal(r.error.id, c.id, c.name);
    if (c.msg) assert.match(r.error.message, c.msg, c.name);
    assert.ok(r.error.message.length <= 200, c.name);
    assert.ok(ServerMessageSchema.safeParse(r.error).success, c.name);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
});

test('frames deeper or with more values than any message of ours are refused before parsing', () => {
  // Found by npm run fuzz: within the 128 KiB cap these cost the JSON reviver and the schemas 10–35 ms each.
  const deep = `{"v":1,"id":7,"type":"restartIce","x":${'['.repeat(36_000)}${']'.repeat(36_000)}}`;
  const wide = `{"v":1,"id":7,"type":"ping","x":[${'0,'.repeat(60_000)}0]}`;
  const objects = `{"v":1,"id":7,"type":"ping","x":[${'{},'.repeat(40_000)}{}]}`;
  for (const raw of [deep, wide, objects, `{"v":1,"id":7,"type":"ping","x":${'['.repeat(33)}${']'.repeat(33)}}`]) {
    const r = parseClientMessage(raw);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error.message, /nests deeper than 32 or holds more than 4096 values/);
  }
  // Brackets, quotes and escapes inside strings are text, not structure.
  const sdp = `v=0\r\n${'a=x:[{"\\",}]\r\n'.repeat(3000)}`;
  const publish = JSON.stringify({ v: 1, id: 1, type: 'publish', sdp, sources: Array.from({ length: 64 }, (_, i) => ({ mid: String(i), source: 'camera' })) });
  const r = parseClientMessage(publish);
  assert.equal(r.ok, true, r.ok ? '' : r.error.message);
  const nested = parseClientMessage(`{"v":1,"id":7,"type":"ping","x":${'['.repeat(31)}${']'.repeat(31)}}`);
  assert.equal(nested.ok, true);
});

test('random byte frames never throw', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = '{}[]":,1v idtypeq\\u0000__proto__';
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(rnd() * 64);
    let s = '';
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    const r = parseClientMessage(i % 2 ? s : Buffer.from(s));
    assert.equal(typeof r.ok, 'boolean');
  }
});

test('server builders produce schema-valid messages', () => {
  const pub = { participantId: 'p1', name: 'Ada', tracks: [{ trackId: 't1', kind: 'video' as const, mid: '1' }] };
  const person = { id: 'p1', name: 'Ada', x: 1, y: 2, mode: 'normal' as const, spotlit: false };
  const msgs: [ServerMessage, string][] = [
    [
      serverMessage.joined(1, {
        participantId: 'p1',
        publishers: [pub],
        self: person,
        people: [person],
        map: { name: 'm', width: 2, height: 1, blocked: ['01'], areas: [{ id: 'a', name: 'A', kind: 'private', rects: [{ x: 0, y: 0, w: 1, h: 1 }] }], spawn: { x: 0, y: 0 } },
        grants: { publish: true, spotlight: false, moderator: false },
      }),
      'joined',
    ],
    [serverMessage.moved(7, 3, 4), 'moved'],
    [serverMessage.modeSet(8, 'quiet'), 'modeSet'],
    [serverMessage.spotlightSet(9, 'p1', true), 'spotlightSet'],
    [serverMessage.peopleChanged([person], ['p2']), 'peopleChanged'],
    [serverMessage.links([{ participantId: 'p2', gain: 0.5, priority: 10 }]), 'links'],
    [serverMessage.publishAnswer('a', { sdp: 'v=0', tracks: pub.tracks }), 'publishAnswer'],
    [serverMessage.subscribed(2, { publisherId: 'p1', trackIds: ['t1'] }), 'subscribed'],
    [serverMessage.unsubscribed(3, { publisherId: 'p1', trackIds: [] }), 'unsubscribed'],
    [serverMessage.left(4), 'left'],
    [serverMessage.pong(5), 'pong'],
    [serverMessage.subscriberOffer(6, 'v=0'), 'subscriberOffer'],
    [serverMessage.publisherJoined(pub), 'publisherJoined'],
    [serverMessage.publisherLeft('p1'), 'publisherLeft'],
    [serverMessage.tracksChanged(pub), 'tracksChanged'],
    [serverMessage.error('not_joined', 'join first', 7), 'error'],
  ];
  for (const [m, type] of msgs) {
    assert.equal(m.type, type);
    assert.equal(m.v, 1);
    const r = ServerMessageSchema.safeParse(JSON.parse(JSON.stringify(m)));
    assert.ok(r.success, type);
  }
  assert.equal('id' in serverMessage.error('internal', 'x'), false);
  assert.equal(ServerMessageSchema.safeParse({ v: 1, type: 'error', code: 'nope', message: 'x' }).success, false);
});

test('setMuted, publish sources and track state: valid forms parse, bad ones name the field', () => {
  const m = ok({ v: 1, id: 1, type: 'setMuted', trackId: 't1', muted: true });
  assert.ok(m.type === 'setMuted' && m.trackId === 't1' && m.muted === true);
  const p = ok({ v: 1, id: 2, type: 'publish', sdp: 'v=0\r\n', sources: [{ mid: '2', source: 'screen' }] });
  assert.ok(p.type === 'publish' && p.sources?.[0]?.source === 'screen');
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ v: 1, id: 3, type: 'setMuted', trackId: 't1' }, /muted/],
    [{ v: 1, id: 3, type: 'setMuted', trackId: 't1', muted: 'yes' }, /muted/],
    [{ v: 1, id: 3, type: 'setMuted', trackId: 'a b', muted: true }, /trackId/],
    [{ v: 1, id: 3, type: 'setMuted', muted: false }, /trackId/],
    [{ v: 1, id: 4, type: 'publish', sdp: 'v=0', sources: [{ mid: '0', source: 'window' }] }, /sources\.0\.source/],
    [{ v: 1, id: 4, type: 'publish', sdp: 'v=0', sources: [{ source: 'screen' }] }, /sources\.0\.mid/],
  ];
  for (const [msg, field] of bad) {
    const r = parseClientMessage(JSON.stringify(msg));
    assert.ok(!r.ok, JSON.stringify(msg));
    assert.equal(r.error.code, 'bad_request');
    assert.match(r.error.message, field);
    assert.equal(r.error.id, msg.id);
  }
  // The new server messages and track fields are schema-valid; a wrong source is not.
  const tracks = [
    { trackId: 'a1', kind: 'audio' as const, mid: '0', source: 'microphone' as const, muted: true },
    { trackId: 'v2', kind: 'video' as const, mid: '2', source: 'screen' as const, muted: false },
  ];
  for (const msg of [serverMessage.mutedSet(5, 'a1', true), serverMessage.speaking('p1', true), serverMessage.tracksChanged({ participantId: 'p1', name: 'Ada', tracks })]) {
    assert.ok(ServerMessageSchema.safeParse(JSON.parse(JSON.stringify(msg))).success, msg.type);
  }
  assert.equal(ServerMessageSchema.safeParse({ v: 1, type: 'speaking', participantId: 'p1' }).success, false);
  const badSource = { v: 1, type: 'tracksChanged', publisher: { participantId: 'p1', name: 'A', tracks: [{ trackId: 't', kind: 'video', source: 'window' }] } };
  assert.equal(ServerMessageSchema.safeParse(badSource).success, false);
});
