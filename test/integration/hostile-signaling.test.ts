import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { TestBrowser, waitFor, type Page } from '../testkit/browser.ts';
import { startWatchedServer, scrapeMetrics, type ServerWatch } from '../testkit/hostile/watched-server.ts';
import { WsProbe, type Msg } from '../testkit/hostile/ws-probe.ts';
import { frameGaps, inbound, joinPage, sleep, watch } from '../testkit/hostile/pages.ts';
import { mutateSdp, xorshift } from '../testkit/hostile/sdp-mutations.ts';
import { CHROME_PLAIN_OFFER, CHROME_SIMULCAST_OFFER, CHROME_SUBSCRIBE_ANSWER } from '../../src/signaling/sdp/test-fixtures.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

const SPACE = 'hostile-sig';

/** A frame the server must answer with exactly one typed error. */
interface BadFrame {
  what: string;
  raw: string;
  code: string;
  /** The id the error must echo; undefined when the frame had no readable id. */
  id?: string | number;
}

describe('hostile signaling never crashes the server and gets typed errors', () => {
  let server: ProximaServer;
  let watchSrv: ServerWatch;
  let browser: TestBrowser;
  let a: { page: Page; id: string };
  const probes: WsProbe[] = [];
  const probe = async () => {
    const p = await WsProbe.open(server.url);
    probes.push(p);
    return p;
  };
  /** Subscriber to someone who publishes nothing, and when it did that (checked by the last test). */
  let idleSubscriber: WsProbe;
  let idleSince = 0;

  before(async () => {
    // These tests feed the SDP parsers hundreds of offers and answers from a few sockets; the offer rate
    // limits (limits.signaling, tested in hostile-floods.test.ts) would answer most of them rate_limited.
    ({ server, watch: watchSrv } = await startWatchedServer({ limits: { signaling: { offersPerS: 1000, offersBurst: 1000, perIpOffersPerS: 1000 } } }));
    browser = await TestBrowser.launch();
    a = await joinPage(browser, server, SPACE, 'A', true);

    const idle = await probe();
    const idleJoined = await idle.request('join', { space: 'idle', name: 'nobody' });
    idleSubscriber = await probe();
    await idleSubscriber.request('join', { space: 'idle', name: 'watcher' });
    const r = await idleSubscriber.request('subscribe', { publisherId: idleJoined.participantId });
    assert.equal(r.type, 'subscribed');
    assert.deepEqual(r.trackIds, []);
    idleSince = Date.now();
  });

  after(async () => {
    for (const p of probes) p.terminate();
    await browser?.close();
    await server?.close();
    watchSrv?.dispose();
  });

  async function expectErrors(p: WsProbe, frames: BadFrame[]): Promise<void> {
    for (const f of frames) {
      p.sendRaw(f.raw);
      const m = await p.next(`error for ${f.what}`, () => true);
      assert.equal(m.type, 'error', `${f.what}: got ${JSON.stringify(m)}`);
      assert.equal(m.code, f.code, `${f.what}: code (${m.message})`);
      assert.equal(m.id, f.id, `${f.what}: echoed id`);
    }
  }

  it('malformed, wrong-version and unknown-type frames each get one typed error echoing a readable id', async () => {
    const p = await probe();
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    await expectErrors(p, [
      { what: 'non-JSON', raw: 'hello {', code: 'bad_request' },
      { what: 'empty frame', raw: '', code: 'bad_request' },
      { what: 'JSON array', raw: '[1,2]', code: 'bad_request' },
      { what: 'JSON number', raw: '42', code: 'bad_request' },
      { what: 'JSON null', raw: 'null', code: 'bad_request' },
      { what: 'JSON string', raw: '"join"', code: 'bad_request' },
      { what: '100k-deep nesting', raw: deep, code: 'bad_request' },
      { what: 'missing version', raw: JSON.stringify({ id: 1, type: 'ping' }), code: 'bad_request', id: 1 },
      { what: 'version 2', raw: JSON.stringify({ v: 2, id: 'x', type: 'ping' }), code: 'unsupported_version', id: 'x' },
      { what: 'version "1" as a string', raw: JSON.stringify({ v: '1', id: 3, type: 'ping' }), code: 'unsupported_version', id: 3 },
      { what: 'unknown type', raw: JSON.stringify({ v: 1, id: 'u', type: 'hack' }), code: 'bad_request', id: 'u' },
      { what: 'type not a string', raw: JSON.stringify({ v: 1, id: 'u2', type: ['join'] }), code: 'bad_request', id: 'u2' },
      { what: 'missing id on a request', raw: JSON.stringify({ v: 1, type: 'ping' }), code: 'bad_request' },
      { what: 'negative id (not echoable)', raw: JSON.stringify({ v: 1, id: -1, type: 'ping' }), code: 'bad_request' },
      { what: '65-char id (not echoable)', raw: JSON.stringify({ v: 1, id: 'i'.repeat(65), type: 'ping' }), code: 'bad_request' },
      { what: 'extra junk field types', raw: JSON.stringify({ v: 1, id: 7, type: 'subscribe', publisherId: { $gt: '' } }), code: 'bad_request', id: 7 },
    ]);
    assert.equal((await p.request('ping')).type, 'pong', 'the same connection still works');
  });

  it('prototype-pollution keys are refused and pollute nothing; such words as values are harmless', async () => {
    const p = await probe();
    await expectErrors(p, [
      { what: '__proto__ key', raw: '{"v":1,"id":"p1","type":"join","space":"s","name":"n","__proto__":{"polluted":true}}', code: 'bad_request', id: 'p1' },
      { what: 'nested constructor.prototype', raw: '{"v":1,"id":"p2","type":"ping","x":{"constructor":{"prototype":{"polluted":true}}}}', code: 'bad_request', id: 'p2' },
      { what: 'prototype key', raw: '{"v":1,"id":"p3","type":"ping","prototype":{}}', code: 'bad_request', id: 'p3' },
    ]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    const joined = await p.request('join', { space: '__proto__', name: 'constructor' });
    assert.equal(joined.type, 'joined', 'a space named __proto__ is just a name');
    assert.equal(server.spaces.get('__proto__')?.participants.size, 1);
    const other = await probe();
    const j2 = await other.request('join', { space: '__proto__', name: 'hasOwnProperty' });
    assert.equal(j2.type, 'joined');
    p.close();
    other.close();
  });

  it('a frame over 128 KiB gets bad_request; over 256 KiB the socket is closed (1009); binary and invalid UTF-8 are refused', async () => {
    const p = await probe();
    await expectErrors(p, [{ what: '200 KiB text frame', raw: JSON.stringify({ v: 1, id: 'big', type: 'ping', pad: 'x'.repeat(200 * 1024) }), code: 'bad_request' }]);
    p.sendRaw(Buffer.from(JSON.stringify({ v: 1, id: 'b', type: 'ping' })), true);
    const bin = await p.next('error for a binary frame', () => true);
    assert.equal(bin.code, 'bad_request');

    const huge = await probe();
    huge.sendRaw('x'.repeat(300 * 1024));
    assert.equal((await huge.closed).code, 1009, 'ws maxPayload closes the connection');

    const utf = await probe();
    utf.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false); // a text frame that is not UTF-8
    assert.equal((await utf.closed).code, 1007);

    assert.equal((await p.request('ping')).type, 'pong', 'other connections are unaffected');
    assert.equal((await (await probe()).request('ping')).type, 'pong', 'new connections are accepted');
  });

  it('every request before join gets not_joined with its id; a double join gets already_joined; leave ends the session', async () => {
    const p = await probe();
    await expectErrors(p, [
      { what: 'publish', raw: JSON.stringify({ v: 1, id: 'a1', type: 'publish', sdp: CHROME_PLAIN_OFFER }), code: 'not_joined', id: 'a1' },
      { what: 'subscribe', raw: JSON.stringify({ v: 1, id: 'a2', type: 'subscribe', publisherId: a.id }), code: 'not_joined', id: 'a2' },
      { what: 'unsubscribe', raw: JSON.stringify({ v: 1, id: 'a3', type: 'unsubscribe', publisherId: a.id }), code: 'not_joined', id: 'a3' },
      { what: 'leave', raw: JSON.stringify({ v: 1, id: 'a4', type: 'leave' }), code: 'not_joined', id: 'a4' },
      { what: 'subscriberAnswer with id', raw: JSON.stringify({ v: 1, id: 'a5', type: 'subscriberAnswer', offerId: 1, sdp: 'v=0' }), code: 'not_joined', id: 'a5' },
      { what: 'subscriberAnswer without id', raw: JSON.stringify({ v: 1, type: 'subscriberAnswer', offerId: 1, sdp: 'v=0' }), code: 'not_joined' },
      { what: 'join with a bad space', raw: JSON.stringify({ v: 1, id: 'j1', type: 'join', space: '../etc', name: 'x' }), code: 'bad_request', id: 'j1' },
      { what: 'join with a control character in the name', raw: JSON.stringify({ v: 1, id: 'j2', type: 'join', space: 's', name: 'a\u0007b' }), code: 'bad_request', id: 'j2' },
      { what: 'join with a 65-char name', raw: JSON.stringify({ v: 1, id: 'j3', type: 'join', space: 's', name: 'n'.repeat(65) }), code: 'bad_request', id: 'j3' },
    ]);
    assert.equal((await p.request('join', { space: SPACE, name: 'probe' })).type, 'joined');
    const again = await p.request('join', { space: 'elsewhere', name: 'probe' });
    assert.equal(again.code, 'already_joined');
    assert.equal(server.spaces.get('elsewhere'), undefined, 'the refused join created no space');
    assert.equal((await p.request('leave')).type, 'left');
    const after = await p.request('subscribe', { publisherId: a.id });
    assert.equal(after.code, 'not_joined');
  });

  it('subscribe to self, to an unknown publisher or to an unknown track gets the matching error', async () => {
    const p = await probe();
    const me = await p.request('join', { space: SPACE, name: 'probe', x: 3, y: 27 });
    assert.equal((await p.request('subscribe', { publisherId: me.participantId })).code, 'unknown_publisher');
    assert.equal((await p.request('subscribe', { publisherId: 'pdeadbeef0000' })).code, 'unknown_publisher');
    assert.equal((await p.request('subscribe', { publisherId: a.id, trackIds: ['tnope'] })).code, 'unknown_track');
    assert.equal((await p.request('unsubscribe', { publisherId: 'pdeadbeef0000' })).code, 'unknown_publisher');
    // A publisher in another space is unknown here, even with its real id.
    const elsewhere = await probe();
    const other = await elsewhere.request('join', { space: 'other-space', name: 'far' });
    assert.equal((await p.request('subscribe', { publisherId: other.participantId })).code, 'unknown_publisher');
    assert.equal(p.received.filter((m) => m.type === 'subscriberOffer').length, 0, 'no offer for a refused subscribe');
    p.close();
    elsewhere.close();
  });

  it('publish with garbage SDP, no fingerprint, Plan B or 300 seeded mutations gets sdp_rejected or an answer, never internal', async () => {
    const p = await probe();
    await p.request('join', { space: 'sdp-fuzz', name: 'fuzzer' });
    const noFingerprint = CHROME_PLAIN_OFFER.replace(/a=fingerprint:[^\r]*\r\n/g, '');
    const planB = CHROME_PLAIN_OFFER.replace('a=msid:stream-1 track-video\r\n', 'a=msid:stream-1 track-video\r\na=msid:stream-1 track-video-2\r\n');
    const cases: Array<[string, string, RegExp]> = [
      ['garbage', 'hello', /v=0/],
      ['garbage after v=0', 'v=0\r\n\u0001\u0002\u00ff junk\r\nm=', /./],
      ['NUL byte', CHROME_PLAIN_OFFER.replace('s=-', 's=\0'), /NUL/],
      ['no fingerprint', noFingerprint, /fingerprint/],
      ['sha-1 fingerprint', CHROME_PLAIN_OFFER.replace(/a=fingerprint:sha-256/g, 'a=fingerprint:sha-1'), /sha-256/],
      ['Plan B (two tracks in one m-line)', planB, /Plan B|unified plan/i],
      ['Plan B (SIM group)', CHROME_PLAIN_OFFER.replace('a=ssrc-group:FID', 'a=ssrc-group:SIM'), /unified plan|rid-based|SIM/i],
      ['no BUNDLE', CHROME_PLAIN_OFFER.replace('a=group:BUNDLE 0 1 2\r\n', ''), /BUNDLE/],
    ];
    for (const [what, sdp, message] of cases) {
      const r = await p.request('publish', { sdp });
      assert.equal(r.type, 'error', what);
      assert.equal(r.code, 'sdp_rejected', `${what}: ${r.message}`);
      assert.match(String(r.message), message, what);
    }
    // Mutations of real offers, over 4 connections so the rate limit does not interfere.
    const rnd = xorshift(20_251_127);
    const tally = new Map<string, number>();
    for (let c = 0; c < 4; c++) {
      const f = await probe();
      await f.request('join', { space: 'sdp-fuzz', name: `fuzz${c}` });
      const replies = await Promise.all(
        Array.from({ length: 75 }, () => f.request('publish', { sdp: mutateSdp(rnd() < 0.5 ? CHROME_PLAIN_OFFER : CHROME_SIMULCAST_OFFER, rnd) }, 10_000)),
      );
      for (const r of replies) {
        const k = r.type === 'error' ? `error:${r.code}` : r.type;
        tally.set(k, (tally.get(k) ?? 0) + 1);
      }
      f.close();
    }
    process.stdout.write(`# publish fuzz: ${JSON.stringify(Object.fromEntries(tally))}\n`);
    assert.deepEqual([...tally.keys()].filter((k) => k !== 'publishAnswer' && k !== 'error:sdp_rejected'), [], 'only answers and sdp_rejected');
    assert.ok((tally.get('error:sdp_rejected') ?? 0) > 30, 'the fuzz did produce invalid offers');
    p.close();
  });

  it('subscriberAnswer with a wrong offerId, garbage SDP or mismatched m-lines is refused, and the offer stays answerable', async () => {
    const p = await probe();
    await p.request('join', { space: SPACE, name: 'answerer' });
    const sub = await p.request('subscribe', { publisherId: a.id });
    assert.equal((sub.trackIds as string[]).length, 2);
    const offer = await p.next('subscriberOffer', (m) => m.type === 'subscriberOffer');
    const offerId = offer.offerId as number;
    const answer = (body: Record<string, unknown>) => p.send({ v: 1, type: 'subscriberAnswer', ...body });
    const nextError = () => p.next('error', (m) => m.type === 'error');

    answer({ id: 'w1', offerId: offerId + 1, sdp: CHROME_SUBSCRIBE_ANSWER });
    assert.deepEqual(pick(await nextError()), { code: 'bad_request', id: 'w1' });
    answer({ offerId: offerId + 7, sdp: CHROME_SUBSCRIBE_ANSWER });
    assert.deepEqual(pick(await nextError()), { code: 'bad_request', id: undefined }, 'no id to echo');
    answer({ id: 'w2', offerId, sdp: 'v=0\r\ngarbage' });
    assert.deepEqual(pick(await nextError()), { code: 'sdp_rejected', id: 'w2' });
    answer({ id: 'w3', offerId, sdp: CHROME_SUBSCRIBE_ANSWER }); // three m-lines for a two m-line offer
    assert.deepEqual(pick(await nextError()), { code: 'sdp_rejected', id: 'w3' });
    answer({ id: 'w4', offerId, sdp: CHROME_SUBSCRIBE_ANSWER.replace(/a=fingerprint:[^\r]*\r\n/g, '') });
    assert.deepEqual(pick(await nextError()), { code: 'sdp_rejected', id: 'w4' });
    // The refused answers did not consume the offer: a well-formed one is accepted silently.
    const twoLines = CHROME_SUBSCRIBE_ANSWER.split('m=video 0')[0]!;
    answer({ id: 'ok', offerId, sdp: twoLines });
    assert.equal((await p.request('ping')).type, 'pong');
    assert.equal(p.received.filter((m) => m.id === 'ok').length, 0, 'an accepted answer gets no reply');
    answer({ id: 'again', offerId, sdp: twoLines });
    assert.deepEqual(pick(await nextError()), { code: 'bad_request', id: 'again' }, 'an answered offer cannot be answered twice');
    p.close();
  });

  it('a flood of 500 messages gets rate_limited errors, every frame gets one reply, and the connection recovers', async () => {
    const p = await probe();
    for (let i = 0; i < 500; i++) p.send({ v: 1, id: i, type: 'ping' });
    await waitFor('500 replies', () => p.received.length >= 500, 15_000, 50);
    const pongs = p.received.filter((m) => m.type === 'pong').length;
    const limited = p.received.filter((m) => m.type === 'error' && m.code === 'rate_limited').length;
    process.stdout.write(`# flood: ${pongs} pongs, ${limited} rate_limited\n`);
    assert.equal(pongs + limited, 500, 'one reply per frame, nothing else');
    assert.ok(pongs >= 100 && pongs < 400, `the burst was served (${pongs} pongs)`);
    assert.ok(limited >= 100, 'the rest was rate limited');
    const ids = new Set(p.received.map((m) => m.id));
    assert.equal(ids.size, 500, 'every reply, rate_limited ones included, echoes its request id');
    await sleep(2500); // the bucket refills at 50/s
    assert.equal((await p.request('ping')).type, 'pong', 'the connection works again');
    assert.equal(p.isClosed, false);
  });

  it('a sustained flood (over 1000 rate-limited messages within 10 s) is cut off with 1008', async () => {
    const p = await probe();
    for (let i = 0; i < 1300; i++) p.send({ v: 1, id: i, type: 'ping' });
    const closed = await Promise.race([p.closed, sleep(10_000).then(() => null)]);
    assert.ok(closed, 'the connection was closed');
    assert.equal(closed.code, 1008);
  });

  it('abrupt disconnects mid-negotiation and raw TCP garbage leave no participant or transport behind', async () => {
    const gauges = async () => {
      const m = await scrapeMetrics(server);
      return { transports: m.get('proxima_transports'), participants: m.get('proxima_participants'), consumers: m.get('proxima_consumers') };
    };
    for (const p of probes) if (p !== idleSubscriber && !p.isClosed && p.received.length > 0) p.close();
    // Earlier probes' closes are processed asynchronously: take the baseline once it holds still.
    let baseline = await gauges();
    await waitFor('a steady baseline', async () => {
      await sleep(300);
      const g = await gauges();
      const steady = JSON.stringify(g) === JSON.stringify(baseline);
      baseline = g;
      return steady;
    });

    // 1: publish, then vanish before reading the answer.
    const pub = await probe();
    // Far from A, so A does not start receiving the vanisher (that would rightly open A's subscribe transport).
    await pub.request('join', { space: SPACE, name: 'vanisher', x: 3, y: 27 });
    pub.send({ v: 1, id: 'x', type: 'publish', sdp: CHROME_PLAIN_OFFER });
    pub.terminate();
    // 2: subscribe to A, get the offer, vanish without answering.
    const sub = await probe();
    await sub.request('join', { space: SPACE, name: 'ghost' });
    await sub.request('subscribe', { publisherId: a.id });
    await sub.next('subscriberOffer', (m) => m.type === 'subscriberOffer');
    sub.terminate();
    // 3: join and vanish in the same breath.
    const quick = await probe();
    quick.send({ v: 1, id: 'j', type: 'join', space: SPACE, name: 'blink' });
    quick.terminate();
    // 4: raw TCP: garbage instead of HTTP, an upgrade to the wrong path, half a WebSocket frame.
    await rawTcp(server.httpPort, Buffer.from('\x16\x03\x01\x02\x00garbage\r\n\r\n'));
    await rawTcp(server.httpPort, Buffer.from('GET /nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    await rawTcp(
      server.httpPort,
      Buffer.concat([
        Buffer.from('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'),
        Buffer.from([0x81, 0xfe, 0x10, 0x00, 1, 2, 3, 4, 0x41]), // masked text frame announcing 4096 bytes, 1 sent
      ]),
    );

    const end = await waitFor('gauges back at the baseline', async () => {
      const g = await gauges();
      return g.transports === baseline.transports && g.participants === baseline.participants && g.consumers === baseline.consumers ? g : null;
    });
    assert.deepEqual(end, baseline);
    assert.deepEqual([...server.spaces.get(SPACE)!.participants.keys()], [a.id], 'only A is left in the space');
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
  });

  it('afterwards a real browser in the same space receives A’s media without a freeze, and the server logged no error', async () => {
    const b = await joinPage(browser, server, SPACE, 'B', false);
    await watch(b.page, a.id, 10);
    await frameGaps(b.page, true);
    const start = await inbound(b.page);
    await sleep(3000);
    const end = await inbound(b.page);
    assert.ok(end.framesDecoded - start.framesDecoded > 30, `B keeps decoding (${start.framesDecoded} → ${end.framesDecoded})`);
    for (const g of await frameGaps(b.page)) assert.ok(g.maxGapMs < 1000, `no freeze over 1 s (${g.maxGapMs.toFixed(0)} ms)`);
    await b.page.close();

    assert.deepEqual(watchSrv.errors(), [], 'no error was logged');
    assert.deepEqual(watchSrv.uncaught, [], 'no uncaught exception or unhandled rejection');
    const malformed = probes.flatMap((p) => p.malformed);
    assert.deepEqual(malformed, [], 'every server frame matched the protocol schema');
    const internal = probes.flatMap((p) => p.received).filter((m: Msg) => m.code === 'internal');
    assert.deepEqual(internal, [], 'no internal errors');
  });

  it(
    'subscribing to a participant who publishes nothing does not get the subscriber kicked when the consent timer runs out',
    async () => {
      await sleep(Math.max(0, idleSince + 37_000 - Date.now()));
      assert.equal(idleSubscriber.isClosed, false, `still connected after 37 s (closed: ${JSON.stringify(idleSubscriber.isClosed ? await idleSubscriber.closed : null)})`);
      assert.equal((await idleSubscriber.request('ping')).type, 'pong');
    },
  );
});

function pick(m: Msg): { code: unknown; id: unknown } {
  return { code: m.code, id: m.id };
}

/** Write bytes to a fresh TCP connection, wait a little for the server to react, then reset it. */
function rawTcp(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(bytes);
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 150);
    });
    s.on('error', () => resolve());
  });
}
