/**
 * A page recovers by itself (issue 14). Browsers without test flags (no loopback in WebRTC, host addresses
 * behind mDNS) against a server that announces this machine's interface addresses:
 * - the server is stopped and started again on the same ports under two open pages: both say
 *   "reconnecting…", then rejoin (a new guest token: the embedded secret is new), with the same name, place
 *   and mode, publish again, and decode each other within 5 s of the server listening again;
 * - one page's network changes address (a network namespace): it resumes its session on a new signaling
 *   socket and restarts ICE on both connections (same participant, same transports, DTLS kept); both pages
 *   decode each other again within 5 s, on the restarted ICE within 10 s.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { startTestServer } from '../testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor, type Page } from '../testkit/browser.ts';
import { NetnsHost } from '../testkit/netns-host.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import type { Participant } from '../../src/server/participant.ts';
import type { ConfigInput } from '../../src/config/config.ts';

/** A port free for TCP and UDP on every interface now (the restarted server must get the same ones). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '0.0.0.0', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '0.0.0.0', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** Frames decoded per inbound video stream (by SSRC) of the page's current connections. */
async function videoFrames(page: Page): Promise<Map<number, number>> {
  const list = (await page.evaluate(async () => {
    const st = await (window as any).proxima.stats();
    return st.inbound.filter((s: any) => s.kind === 'video').map((s: any) => [s.ssrc, s.framesDecoded ?? 0]);
  })) as Array<[number, number]>;
  return new Map(list);
}

/** Resolves with Date.now() once the page decodes `frames` more on some video stream than `baseline` had (new streams from 0). */
async function decodesAgain(page: Page, what: string, baseline: ReadonlyMap<number, number>, frames = 5, timeoutMs = 20_000): Promise<number> {
  return waitFor(
    what,
    async () => {
      for (const [ssrc, n] of await videoFrames(page).catch(() => new Map<number, number>())) if (n >= (baseline.get(ssrc) ?? 0) + frames) return Date.now();
      return 0;
    },
    timeoutMs,
    50,
  );
}

/** The ICE ufrag each of the page's connections uses now (RTCTransportStats): a new one after an ICE restart. */
async function localUfrags(page: Page): Promise<{ publish: string | null; subscribe: string | null }> {
  return page.evaluate(async () => {
    const c = (window as any).proxima.client;
    const out: Record<string, string | null> = { publish: null, subscribe: null };
    for (const [k, pc] of [['publish', c.publishPc], ['subscribe', c.subscribePc]] as Array<[string, RTCPeerConnection | null]>) {
      if (!pc) continue;
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'transport' && s.iceLocalUsernameFragment) out[k] = s.iceLocalUsernameFragment;
      });
    }
    return out as { publish: string | null; subscribe: string | null };
  });
}

const connectionText = (page: Page) => page.evaluate(() => `${document.getElementById('status')?.textContent} | ${document.getElementById('connection')?.textContent ?? ''}`);

/** The page SDK's recovery events (and its connections' states), with their times, kept for the test. */
async function recordEvents(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as any;
    w.__reconnects = [];
    w.__log = [];
    const c = w.proxima.client;
    c.on('reconnected', (e: any) => (w.__reconnects.push(e), w.__log.push([Date.now(), `reconnected ${JSON.stringify(e)}`])));
    for (const ev of ['reconnecting', 'closed', 'iceRestart', 'mediaFailed', 'mediaRecovered', 'joined', 'tokenNeeded']) c.on(ev, (e: any) => w.__log.push([Date.now(), `${ev} ${ev === 'joined' ? e.participantId : JSON.stringify(e)}`]));
    c.on('track', (e: any) => w.__log.push([Date.now(), `track ${e.track.kind} from ${e.publisherId}`]));
    c.on('links', (l: Map<string, unknown>) => w.__log.push([Date.now(), `links ${[...l.keys()].join(',')}`]));
    for (const [n, pc] of [['publish', c.publishPc], ['subscribe', c.subscribePc]] as Array<[string, RTCPeerConnection | null]>) {
      pc?.addEventListener('iceconnectionstatechange', () => w.__log.push([Date.now(), `${n} ice ${pc.iceConnectionState}`]));
      pc?.addEventListener('signalingstatechange', () => w.__log.push([Date.now(), `${n} signaling ${pc.signalingState}`]));
    }
  });
}
/** The page's SDK events with their times relative to `t0`, for a failure message or the log. */
const pageLog = async (page: Page, t0: number) =>
  ((await page.evaluate(() => (window as any).__log)) as Array<[number, string]>).filter(([t]) => t >= t0 - 1000).map(([t, m]) => `${t - t0} ${m}`).join('\n  ');
const reconnects = (page: Page) => page.evaluate(() => (window as any).__reconnects as Array<{ resumed: boolean; ms: number; participantId: string }>);

describe('a page recovers by itself', () => {
  let browser: TestBrowser;
  before(async () => {
    browser = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
  });
  after(async () => {
    await browser?.close();
  });

  it('server restarted on the same ports: both pages say reconnecting…, rejoin as before and decode each other within 5 s', async () => {
    const [httpPort, mediaPort, tcpPort] = [await freePort(), await freePort(), await freePort()];
    const config: ConfigInput = { http: { port: httpPort }, media: { bindIp: '0.0.0.0', announcedIp: 'auto', port: mediaPort, tcpPort } };
    let server: ProximaServer | null = await startTestServer(config);
    const url = server.url;
    const pages: Page[] = [];
    const open = async (name: string, x: number): Promise<Page> => {
      const page = await browser.page(`${url}/?space=recovery&name=${name}&x=${x}&y=20`);
      pages.push(page);
      await page.evaluate(() => (window as any).proxima.ready);
      await recordEvents(page);
      return page;
    };
    try {
      const a = await open('A', 30);
      const b = await open('B', 33);
      // Where B stands and how, changed after joining: the rejoin must bring back these, not the URL's.
      await b.evaluate(() => (window as any).proxima.move(31, 20));
      await b.evaluate(() => (window as any).proxima.setMode('quiet'));
      await decodesAgain(a, 'A decodes B', new Map());
      await decodesAgain(b, 'B decodes A', new Map());
      const before = { a: await videoFrames(a), b: await videoFrames(b) };
      const ids = { a: await a.evaluate(() => (window as any).proxima.self().id), b: await b.evaluate(() => (window as any).proxima.self().id) };

      await server.close();
      server = null;
      const down = await waitFor(
        'both pages to say reconnecting… (status and toolbar)',
        async () => {
          const t = [await connectionText(a), await connectionText(b)];
          return t.every((x) => /^reconnecting… \| reconnecting…$/.test(x)) ? t : null;
        },
        5000,
        50,
      );
      server = await startTestServer(config);
      const listening = Date.now();
      const logs = async () => `A:\n  ${await pageLog(a, listening)}\nB:\n  ${await pageLog(b, listening)}\n`;
      const [aBack, bBack] = await Promise.all([decodesAgain(a, 'A decodes B again', before.a), decodesAgain(b, 'B decodes A again', before.b)]).catch(async (e: Error) => {
        throw new Error(`${e.message}\n${await logs()}`);
      });
      const [ra, rb] = [await reconnects(a), await reconnects(b)];
      if (process.env.RECOVERY_LOG) process.stdout.write(await logs());
      process.stdout.write(
        `# server restart: pages said "${down[0]}"; back after listening: A rejoined in ${Math.round(ra[0]?.ms ?? -1)} ms after its drop, decodes B at ${aBack - listening} ms; B decodes A at ${bBack - listening} ms\n`,
      );
      assert.ok(aBack - listening <= 5000, `A decodes B within 5 s of the server listening (${aBack - listening} ms)`);
      assert.ok(bBack - listening <= 5000, `B decodes A within 5 s of the server listening (${bBack - listening} ms)`);
      assert.deepEqual([ra.length, ra[0]?.resumed, rb.length, rb[0]?.resumed], [1, false, 1, false], 'one fresh join each (the new server knew no session)');

      // Same identity and place; the participant ids are the new server's.
      const people = [...server.spaces.get('recovery')!.participants.values()].map((p) => ({ name: p.name, x: p.x, y: p.y, mode: p.mode }));
      assert.deepEqual(
        people.sort((p, q) => p.name.localeCompare(q.name)),
        [
          { name: 'A', x: 30, y: 20, mode: 'normal' },
          { name: 'B', x: 31, y: 20, mode: 'quiet' },
        ],
      );
      const now = { a: await a.evaluate(() => (window as any).proxima.self()), b: await b.evaluate(() => (window as any).proxima.self()) };
      assert.notEqual(now.a.id, ids.a);
      assert.notEqual(now.b.id, ids.b);
      assert.equal(await a.evaluate(() => document.getElementById('connection')?.hidden), true, 'the toolbar badge is gone');
    } finally {
      // Pages first, even after a failure: left open they would go on reconnecting into the next test's run.
      for (const p of pages) await p.close().catch(() => undefined);
      await server?.close();
    }
  });

  it('an address change under a live page: both decode again within 5 s, and on restarted ICE of the same transports within 10 s', async () => {
    // The namespace first: its host-side address is one of the interfaces the server then announces.
    const net = await NetnsHost.create('recovery');
    let server: ProximaServer | null = null;
    let inside: TestBrowser | null = null;
    let pageA: Page | null = null;
    try {
      server = await startTestServer({ http: { host: '0.0.0.0' }, media: { bindIp: '0.0.0.0', announcedIp: 'auto' } });
      // The page inside reaches the server at the namespace's gateway: not a secure origin, so the camera needs this
      // switch (it leaves WebRTC's own networking as a user's Chromium has it).
      const origin = `http://${net.hostIp}:${server.httpPort}`;
      inside = await TestBrowser.launch([`--unsafely-treat-insecure-origin-as-secure=${origin}`], USER_CHROMIUM_FLAGS, { executablePath: net.chromiumPath });
      const a = (pageA = await browser.page(`${server.url}/?space=moving&name=A&x=30&y=20`));
      const b = await inside.page(`${origin}/?space=moving&name=B&x=32&y=20`);
      const bId = (await b.evaluate(() => (window as any).proxima.ready)) as string;
      await a.evaluate(() => (window as any).proxima.ready);
      await recordEvents(b);
      await decodesAgain(a, 'A decodes B', new Map());
      await decodesAgain(b, 'B decodes A', new Map());
      const p = server.spaces.get('moving')!.participants.get(bId) as Participant;
      const [pub, sub] = [p.publishTransport!, p.subscribeTransport!];
      assert.equal(pub.remoteAddress, net.ip);
      const before = { a: await videoFrames(a), b: await videoFrames(b), ufrags: await localUfrags(b) };
      assert.ok(before.ufrags.publish && before.ufrags.subscribe, JSON.stringify(before.ufrags));

      const changed = Date.now();
      const newIp = await net.replaceAddress();
      const failWithLog = async (e: Error): Promise<never> => {
        throw new Error(`${e.message}\nB:\n  ${await pageLog(b, changed)}`);
      };
      // Media back by whichever way comes first: Chromium may find the new address itself (continual gathering
      // and a new nomination, which the ICE-lite agent follows), or our ICE restart brings it.
      const [aBack, bBack] = await Promise.all([decodesAgain(a, 'A decodes B again', before.a), decodesAgain(b, 'B decodes A again', before.b)]).catch(failWithLog);
      // Through ICE restarts: both of B's connections on new ICE credentials (RTCTransportStats), and media decoded after that.
      const restarted = await waitFor(
        'both of B’s connections on new ICE credentials',
        async () => {
          const u = await localUfrags(b);
          return u.publish && u.subscribe && u.publish !== before.ufrags.publish && u.subscribe !== before.ufrags.subscribe ? Date.now() : 0;
        },
        10_000,
        50,
      ).catch(failWithLog);
      const afterRestart = { a: await videoFrames(a), b: await videoFrames(b) };
      const [aOn, bOn] = await Promise.all([decodesAgain(a, 'A decodes B after the restart', afterRestart.a), decodesAgain(b, 'B decodes A after the restart', afterRestart.b)]).catch(failWithLog);
      if (process.env.RECOVERY_LOG) process.stdout.write(`B:\n  ${await pageLog(b, changed)}\n`);
      const rb = await reconnects(b);
      process.stdout.write(
        `# address change of B: decoding again at ${aBack - changed} ms (A) and ${bBack - changed} ms (B); signaling resumed after ${Math.round(rb[0]?.ms ?? -1)} ms; ` +
          `both connections on restarted ICE at ${restarted - changed} ms, decoding on it at ${aOn - changed} ms (A) and ${bOn - changed} ms (B)\n`,
      );
      assert.ok(Math.max(aBack, bBack) - changed <= 5000, `both decode again within 5 s of the change (A ${aBack - changed} ms, B ${bBack - changed} ms)`);
      // The restart waits for the keepalive to call the socket dead (1.5–2.5 s), then a keyframe after the new path:
      // 2.8–5.5 s here, so the bound is on the mechanism, not the figure (media is already back by the first bound).
      assert.ok(Math.max(aOn, bOn) - changed <= 10_000, `both decode on restarted ICE within 10 s of the change (A ${aOn - changed} ms, B ${bOn - changed} ms)`);
      // The same session on the same transports, moved by ICE restarts: DTLS kept (one handshake per transport).
      assert.deepEqual(rb.map((r) => [r.resumed, r.participantId]), [[true, bId]], 'the session resumed on a new signaling socket');
      assert.equal(server.spaces.get('moving')!.participants.get(bId), p, 'the same participant');
      assert.equal(p.publishTransport, pub, 'the same publish transport');
      assert.equal(p.subscribeTransport, sub, 'the same subscribe transport');
      assert.ok(pub.iceRestarts >= 1 && sub.iceRestarts >= 1, `ICE restarted on both (${pub.iceRestarts}, ${sub.iceRestarts})`);
      assert.deepEqual([pub.state, pub.remoteAddress, sub.state, sub.remoteAddress], ['connected', newIp, 'connected', newIp]);
    } finally {
      await pageA?.close().catch(() => undefined);
      await inside?.close();
      await server?.close();
      await net.destroy();
    }
  });
});
