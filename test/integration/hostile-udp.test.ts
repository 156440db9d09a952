import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestBrowser, waitFor, type Page } from '../testkit/browser.ts';
import { startWatchedServer, scrapeMetrics, dropSeries, type ServerWatch } from '../testkit/hostile/watched-server.ts';
import { WsProbe } from '../testkit/hostile/ws-probe.ts';
import { frameGaps, inbound, joinPage, sleep, watch } from '../testkit/hostile/pages.ts';
import { xorshift } from '../testkit/hostile/sdp-mutations.ts';
import {
  UdpPeer,
  dtlsRecordLike,
  garbage,
  isStunSuccess,
  rtcpLike,
  rtpLike,
  stunCheck,
  stunHugeUsername,
  stunUnsolicitedSuccess,
  stunWithoutCredentials,
  withBadFingerprint,
} from '../testkit/hostile/datagrams.ts';
import { UdpRelay } from '../testkit/hostile/udp-relay.ts';
import { CHROME_PLAIN_OFFER } from '../../src/signaling/sdp/test-fixtures.ts';
import { parseStun } from '../../src/transport/ice/stun-message.ts';
import { dropCount, type DropReason } from '../../src/metrics/drop-reasons.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

const SPACE = 'hostile-udp';
const SEED = Number(process.env.PROXIMA_HOSTILE_SEED ?? 0x5eed);
const BLAST_MS = 6000;

const attr = (sdp: string, name: string) => new RegExp(`a=${name}:(\\S+)`).exec(sdp)?.[1] ?? assert.fail(`no a=${name} in SDP`);
const ssrcs = (sdp: string) => [...new Set([...sdp.matchAll(/a=ssrc:(\d+) /g)].map((m) => Number(m[1])))];

/** Local and remote SDP of one of the page's two connections. */
async function descriptions(page: Page, which: 'publishPc' | 'subscribePc'): Promise<{ local: string; remote: string }> {
  return page.evaluate((w) => {
    const pc = (window as any).proxima.client[w] as RTCPeerConnection;
    return { local: pc.localDescription!.sdp, remote: pc.remoteDescription!.sdp };
  }, which);
}

describe('hostile UDP at the shared media port', () => {
  let server: ProximaServer;
  let watchSrv: ServerWatch;
  let browser: TestBrowser;
  let a: { page: Page; id: string };
  let b: { page: Page; id: string };
  /** A signaling participant whose own transport path we validate from a Node socket, to reach the per-transport demux. */
  let m: WsProbe;
  let mPeer: UdpPeer;
  const attackers: UdpPeer[] = [];

  before(async () => {
    ({ server, watch: watchSrv } = await startWatchedServer());
    browser = await TestBrowser.launch();
    a = await joinPage(browser, server, SPACE, 'A', true);
    b = await joinPage(browser, server, SPACE, 'B', false);
    await watch(b.page, a.id, 10);

    m = await WsProbe.open(server.url);
    await m.request('join', { space: SPACE, name: 'M' });
    const answer = await m.request('publish', { sdp: CHROME_PLAIN_OFFER });
    assert.equal(answer.type, 'publishAnswer');
    mPeer = await UdpPeer.open();
    // Valid credentials: M is a participant validating its own path, as its browser would.
    mPeer.send(stunCheck(`${attr(String(answer.sdp), 'ice-ufrag')}:${attr(CHROME_PLAIN_OFFER, 'ice-ufrag')}`, attr(String(answer.sdp), 'ice-pwd')), server.media.port);
    await waitFor('M’s path to be validated', () => mPeer.received.some(isStunSuccess));
    for (let i = 0; i < 4; i++) attackers.push(await UdpPeer.open());
  });

  after(async () => {
    for (const p of [...attackers, mPeer]) p?.close();
    m?.terminate();
    await browser?.close();
    await server?.close();
    watchSrv?.dispose();
  });

  it('garbage, forged STUN and spoofed SRTP from everywhere: B never freezes, every datagram is dropped under its named reason', async () => {
    const port = server.media.port;
    const bSdp = await descriptions(b.page, 'subscribePc');
    const aSdp = await descriptions(a.page, 'publishPc');
    const bUser = `${attr(bSdp.remote, 'ice-ufrag')}:${attr(bSdp.local, 'ice-ufrag')}`;
    const aUser = `${attr(aSdp.remote, 'ice-ufrag')}:${attr(aSdp.local, 'ice-ufrag')}`;
    const wrongPwd = 'AAAAAAAAAAAAAAAAAAAAAAAA';
    const mediaSsrcs = [...ssrcs(aSdp.local), ...ssrcs(bSdp.remote)];
    assert.ok(mediaSsrcs.length >= 4, 'A’s and B’s SSRCs are known');

    const expected = new Map<DropReason, number>();
    const expect = (r: DropReason) => () => expected.set(r, (expected.get(r) ?? 0) + 1);
    const before = new Map<DropReason, number>();
    const reasons: DropReason[] = ['packet_too_short', 'stun_malformed', 'stun_unknown_ufrag', 'stun_bad_integrity', 'stun_bad_fingerprint', 'stun_unsupported', 'unknown_remote_address', 'unknown_first_byte', 'srtp_not_ready'];
    for (const r of reasons) before.set(r, dropCount(r));
    let noCredentials = 0;

    const rnd = xorshift(SEED);
    let round = 0;
    const blastRound = () => {
      const atk = attackers[round % attackers.length]!;
      const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
      // One random datagram per first-byte class (RFC 7983: STUN, unassigned, DTLS, 64–127, RTP/RTCP, 192–255).
      for (const [lo, hi] of [[0, 3], [4, 19], [20, 63], [64, 127], [128, 191], [192, 255]] as const) {
        const first = lo + Math.floor(rnd() * (hi - lo + 1));
        atk.send(garbage(rnd, first, 1 + Math.floor(rnd() * 1200)), port, expect(first <= 3 ? 'stun_malformed' : 'unknown_remote_address'));
      }
      const forged = stunCheck(pick([bUser, aUser]), wrongPwd);
      atk.send(forged.subarray(0, 1 + Math.floor(rnd() * (forged.length - 1))), port, expect('stun_malformed'));
      atk.send(forged, port, expect('stun_bad_integrity'));
      atk.send(withBadFingerprint(stunCheck(bUser, wrongPwd)), port, expect('stun_bad_fingerprint'));
      atk.send(stunCheck(`zzzzzzzz:${attr(bSdp.local, 'ice-ufrag')}`, wrongPwd), port, expect('stun_unknown_ufrag'));
      atk.send(stunCheck(`${attr(bSdp.remote, 'ice-ufrag')}:notB`, wrongPwd), port, expect('stun_unknown_ufrag'));
      atk.send(stunCheck(attr(bSdp.remote, 'ice-ufrag'), wrongPwd), port, expect('stun_unknown_ufrag'));
      atk.send(stunWithoutCredentials(), port, () => {
        noCredentials++;
        expect('stun_malformed')();
      });
      atk.send(stunHugeUsername(), port, expect('stun_malformed'));
      atk.send(stunUnsolicitedSuccess(), port, expect('stun_unsupported'));
      atk.send(Buffer.alloc(0), port, expect('packet_too_short'));
      // SRTP/SRTCP naming A's and B's real SSRCs, from an address no transport validated.
      atk.send(rtpLike(rnd, pick(mediaSsrcs), pick([96, 111, 96 | 0x80])), port, expect('unknown_remote_address'));
      atk.send(rtcpLike(rnd, pick([200, 203, 206]), pick(mediaSsrcs)), port, expect('unknown_remote_address'));
      if (round % 10 === 0 && round < 100) {
        const big = round % 20 === 0;
        atk.send(garbage(rnd, big ? 0x00 : 0x80, 65_507), port, expect(big ? 'stun_malformed' : 'unknown_remote_address'));
      }
      // From M's validated address: the per-transport demux, before any DTLS.
      const odd = pick([4 + Math.floor(rnd() * 16), 64 + Math.floor(rnd() * 64), 192 + Math.floor(rnd() * 64)]);
      mPeer.send(garbage(rnd, odd, 1 + Math.floor(rnd() * 1200)), port, expect('unknown_first_byte'));
      mPeer.send(rtpLike(rnd, pick(mediaSsrcs), 96), port, expect('srtp_not_ready'));
      mPeer.send(rtcpLike(rnd, 200, pick(mediaSsrcs)), port, expect('srtp_not_ready'));
      round++;
    };

    await frameGaps(b.page, true);
    const samples = [(await inbound(b.page)).framesDecoded];
    const timer = setInterval(blastRound, 10);
    const t0 = Date.now();
    try {
      while (Date.now() - t0 < BLAST_MS) {
        await sleep(1000);
        samples.push((await inbound(b.page)).framesDecoded);
      }
    } finally {
      clearInterval(timer);
    }
    await sleep(500); // what is in flight arrives
    const gaps = await frameGaps(b.page);
    const delta = new Map(reasons.map((r) => [r, dropCount(r) - before.get(r)!]));
    process.stdout.write(`# ${round} rounds; sent ${JSON.stringify(Object.fromEntries(expected))}; dropped ${JSON.stringify(Object.fromEntries(delta))}; B frames ${samples.join(',')}; max gap ${gaps.map((g) => g.maxGapMs.toFixed(0))} ms\n`);

    assert.deepEqual(attackers.flatMap((p) => p.sendErrors).concat(mPeer.sendErrors), [], 'every datagram was sent');
    assert.ok(round > 200, `the blast ran (${round} rounds)`);
    for (let i = 1; i < samples.length; i++) assert.ok(samples[i]! > samples[i - 1]!, `B decoded frames in every second of the blast (${samples.join(', ')})`);
    assert.ok(gaps.length > 0);
    for (const g of gaps) assert.ok(g.maxGapMs < 1000, `no freeze over 1 s (${g.maxGapMs.toFixed(0)} ms)`);

    for (const r of reasons) {
      const want = expected.get(r) ?? 0;
      const got = delta.get(r)!;
      // Loopback may lose a datagram under load; nothing may be counted twice or under another name.
      assert.ok(got >= Math.floor(want * 0.9) && got <= want + (r === 'unknown_remote_address' ? 20 : 0), `${r}: ${got} dropped for ${want} sent`);
    }

    const toAttackers = attackers.flatMap((p) => p.received);
    assert.equal(toAttackers.filter(isStunSuccess).length, 0, 'no forged check was answered');
    // Not even a 400 for a request without credentials: from a spoofable source that would be reflection.
    assert.equal(noCredentials > 0, true);
    assert.deepEqual(toAttackers, [], 'attackers got nothing at all: no answer, no media, no DTLS');
    assert.deepEqual(mPeer.received.filter((x) => x[0]! >= 128 && x[0]! <= 191), [], 'M received no SRTP');

    const metrics = await scrapeMetrics(server);
    for (const r of reasons) assert.equal(metrics.get(dropSeries(r)), dropCount(r), `/metrics exposes ${r}`);
    assert.ok(metrics.get(dropSeries('stun_bad_integrity'))! > 0);
  });

  it('DTLS-shaped garbage from a validated address ends at most that transport, and it is released', async () => {
    const rnd = xorshift(SEED + 1);
    const port = server.media.port;
    const transportsBefore = (await scrapeMetrics(server)).get('proxima_transports')!;
    // We are the DTLS client's peer here: feed it every record type, bad lengths, then an alert.
    const dtlsErrorsBefore = dropCount('dtls_error');
    let badFraming = 0;
    for (let i = 0; i < 400; i++) {
      const type = [20, 22, 22, 23, 24, 25, 63][i % 7]!;
      const rec = dtlsRecordLike(rnd, type, Math.floor(rnd() * 300));
      if (i % 5 === 0) rec.writeUInt16BE(0xffff, 11); // length beyond the datagram
      if (type > 23 || i % 5 === 0) badFraming++;
      if (i % 11 === 0 && rec.length > 13) rec[13] = 2; // handshake body that claims to be a ServerHello
      mPeer.send(rec, port);
      if (i % 50 === 0) await sleep(20);
    }
    mPeer.send(garbage(rnd, 21, 15), port); // alert
    await sleep(500);
    // Records with an unknown content type or a length past the datagram never reach werift: counted.
    assert.equal(dropCount('dtls_error') - dtlsErrorsBefore, badFraming + 1, 'each badly framed record (and the bad alert) is a counted dtls_error');
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200, 'the server still answers');

    // Whatever the garbage did to M's transport, leaving releases it.
    m.close();
    await m.closed;
    await waitFor('M’s transport to be released', async () => (await scrapeMetrics(server)).get('proxima_transports')! < transportsBefore);
    assert.equal(server.spaces.get(SPACE)?.participants.size, 2, 'A and B remain');
    assert.deepEqual(watchSrv.uncaught, [], 'werift threw nothing out of band');
  });

  it('afterwards B still receives, /metrics names the drops, a fresh participant can join and receive, and no error was logged', async () => {
    const s0 = await inbound(b.page);
    await sleep(1000);
    assert.ok((await inbound(b.page)).framesDecoded > s0.framesDecoded, 'B still decodes');

    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const r of ['stun_bad_integrity', 'stun_bad_fingerprint', 'stun_malformed', 'stun_unknown_ufrag', 'unknown_remote_address', 'unknown_first_byte', 'packet_too_short']) {
      assert.match(text, new RegExp(`^proxima_packets_dropped_total\\{reason="${r}"\\} [1-9]\\d*$`, 'm'), `${r} is exposed and non-zero`);
    }

    const c = await joinPage(browser, server, SPACE, 'C', false);
    await watch(c.page, a.id, 10);
    await c.page.close();

    assert.deepEqual(watchSrv.errors(), [], 'no error was logged');
    assert.deepEqual(watchSrv.uncaught, [], 'no uncaught exception or unhandled rejection');
  });
});

describe('a replayed ICE check cannot steal a participant’s media path', () => {
  let server: ProximaServer;
  let watchSrv: ServerWatch;
  let browser: TestBrowser;
  let relay: UdpRelay;
  let attacker: UdpPeer;

  before(async () => {
    // Browsers reach the server through a relay, which sees their STUN like anyone on the path could.
    relay = await UdpRelay.open();
    ({ server, watch: watchSrv } = await startWatchedServer({ media: { announcedPort: relay.port } }));
    relay.connect(server.media.port);
    browser = await TestBrowser.launch();
    attacker = await UdpPeer.open();
  });

  after(async () => {
    attacker?.close();
    await browser?.close();
    await server?.close();
    relay?.close();
    watchSrv?.dispose();
  });

  it(
    'B’s nominating check, replayed from another address, moves nothing: B keeps decoding and the replayer gets no media',
    async () => {
      const a = await joinPage(browser, server, 'replay', 'A', true);
      const b = await joinPage(browser, server, 'replay', 'B', false);
      await watch(b.page, a.id, 10);
      const bDesc = await descriptions(b.page, 'subscribePc');
      const serverUfrag = attr(bDesc.remote, 'ice-ufrag');
      const nominating = relay.stunFromClients.filter((d) => {
        const msg = parseStun(d);
        return typeof msg !== 'string' && msg.cls === 'request' && msg.useCandidate && msg.username?.startsWith(`${serverUfrag}:`) === true;
      });
      assert.ok(nominating.length > 0, 'the relay saw B nominate');

      await frameGaps(b.page, true);
      const s0 = (await inbound(b.page)).framesDecoded;
      // 70 newer authenticated checks (as from another candidate of B's, not nominating): a memory of the
      // last 64 transaction ids forgot B's nominating check after these, and the replay below moved B's media.
      const other = await UdpPeer.open();
      try {
        for (let i = 0; i < 70; i++) other.send(stunCheck(`${serverUfrag}:${attr(bDesc.local, 'ice-ufrag')}`, attr(bDesc.remote, 'ice-pwd'), false), server.media.port);
        await waitFor('the 70 checks answered', () => other.received.filter(isStunSuccess).length >= 63, 5000);
      } finally {
        other.close();
      }
      // An observer replays B's own check, byte for byte, from its own address.
      for (let i = 0; i < 3; i++) {
        attacker.send(nominating.at(-1)!, server.media.port);
        await sleep(300);
      }
      await sleep(2000);
      const s1 = (await inbound(b.page)).framesDecoded;
      const stolen = attacker.received.filter((x) => x[0]! >= 128 && x[0]! <= 191).length;
      assert.equal(stolen, 0, `the replayer received ${stolen} SRTP packets meant for B`);
      assert.ok(s1 - s0 > 20, `B kept decoding (${s0} → ${s1})`);
      for (const g of await frameGaps(b.page)) assert.ok(g.maxGapMs < 1000, `no freeze over 1 s (${g.maxGapMs.toFixed(0)} ms)`);
    },
  );
});
