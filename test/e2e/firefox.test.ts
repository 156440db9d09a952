/**
 * A second browser engine: stock Firefox ESR (WebDriver BiDi through puppeteer-core) and stock Chromium
 * (no loopback or mDNS switches) meet through the page the server serves. Media crosses both ways, Firefox's
 * rid simulcast reaches the server as several layers, and two people far apart receive nothing until one
 * walks over. Neither browser may use loopback for WebRTC, so the server announces an interface address.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverDiagnostics, startTestServer } from '../testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor } from '../testkit/browser.ts';
import { FirefoxBrowser, chromiumPage, interfaceIPv4, type E2EPage } from '../testkit/firefox.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import { systemClock } from '../../src/util/clock.ts';

interface Received {
  samples: number;
  framesDecoded: number;
  frameHeight: number;
}

/** What `page` receives from `publisherId`, from window.proxima.peers() (the SDK's getStats() per person). */
async function receivedFrom(page: E2EPage, publisherId: string): Promise<Received> {
  const peers = (await page.evaluate(() => (window as any).proxima.peers())) as any[];
  const p = peers.find((x) => x.id === publisherId);
  return { samples: p?.audio.totalSamplesReceived ?? 0, framesDecoded: p?.video.framesDecoded ?? 0, frameHeight: p?.video.frameHeight ?? 0 };
}

/** RTP packets a page's subscribe connection received, from whoever (inbound-rtp sums). */
async function packetsReceived(page: E2EPage): Promise<number> {
  return page.evaluate(async () => {
    const st = await (window as any).proxima.stats();
    let n = 0;
    for (const s of st.inbound) n += s.packetsReceived ?? 0;
    return n;
  });
}

/** Waits until `page` decodes `publisherId`'s video and plays its audio, then checks both keep coming. */
async function assertReceives(page: E2EPage, publisherId: string, what: string): Promise<Received> {
  const first = await waitFor(
    what,
    async () => {
      const r = await receivedFrom(page, publisherId);
      return r.framesDecoded > 10 && r.samples > 0 ? r : null;
    },
    30_000,
    250,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; server ${serverDiagnostics()}`);
  });
  // Still flowing a moment later: not a burst that stopped.
  const later = await waitFor(`${what}, still flowing`, async () => {
    const r = await receivedFrom(page, publisherId);
    return r.framesDecoded > first.framesDecoded + 10 && r.samples > first.samples ? r : null;
  });
  assert.ok(later.frameHeight > 0, `${what}: decoded frames have a size`);
  return later;
}

/** The DTLS role and SRTP cipher a page reports for its publish and subscribe connections (for the log). */
async function dtlsOf(page: E2EPage): Promise<string> {
  return page.evaluate(async () => {
    const c = (window as any).proxima.client;
    const out: string[] = [];
    for (const [name, pc] of [['publish', c.publishPc], ['subscribe', c.subscribePc]] as Array<[string, RTCPeerConnection | null]>) {
      if (!pc) continue;
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'transport' && s.dtlsState === 'connected') out.push(`${name} ${s.dtlsRole} ${s.srtpCipher}`);
      });
    }
    return out.join(', ');
  });
}

/** Per connection of a Firefox page: the pair it selected (its local candidate) and how many pairs it nominated. */
async function firefoxPaths(page: E2EPage): Promise<Record<'publish' | 'subscribe', { protocol: string; port: number; nominated: number } | null>> {
  return page.evaluate(async () => {
    const c = (window as any).proxima.client;
    const out: Record<string, { protocol: string; port: number; nominated: number } | null> = {};
    for (const [name, pc] of [['publish', c.publishPc], ['subscribe', c.subscribePc]] as Array<[string, RTCPeerConnection | null]>) {
      out[name] = null;
      if (!pc) continue;
      const all = new Map<string, any>();
      (await pc.getStats()).forEach((s: any) => all.set(s.id, s));
      const pairs = [...all.values()].filter((s) => s.type === 'candidate-pair');
      const sel = pairs.find((p) => p.selected);
      const local = sel && all.get(sel.localCandidateId);
      if (local) out[name] = { protocol: local.protocol, port: local.port, nominated: pairs.filter((p) => p.nominated).length };
    }
    return out as Record<'publish' | 'subscribe', { protocol: string; port: number; nominated: number } | null>;
  });
}

describe('Firefox ESR and Chromium, both as users run them, through the SFU', () => {
  let server: ProximaServer;
  let firefox: FirefoxBrowser;
  let chromium: TestBrowser;
  before(async () => {
    // As a server with one public address runs: that address announced, UDP and ICE-TCP. (With every
    // interface announced, the default, Firefox takes IPv6 first and rarely checks the TCP pair at all.)
    server = await startTestServer({ media: { bindIp: '0.0.0.0', announcedIp: interfaceIPv4() } });
    [firefox, chromium] = await Promise.all([FirefoxBrowser.launch(), TestBrowser.launch([], USER_CHROMIUM_FLAGS)]);
    process.stdout.write(`# ${await firefox.version()}; candidates ${server.media.candidates.map((c) => `${c.protocol} ${c.ip}:${c.port}`).join(', ')}\n`);
  });
  after(async () => {
    await firefox?.close();
    await chromium?.close();
    await server?.close();
  });

  const open = async (engine: 'firefox' | 'chromium', query: string): Promise<{ page: E2EPage; id: string }> => {
    const url = `${server.url}/?${query}`;
    const page = engine === 'firefox' ? await firefox.page(url) : chromiumPage(await chromium.page(url));
    const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
    return { page, id };
  };

  it('Firefox publishes and Chromium decodes it; Chromium publishes and Firefox decodes it', async () => {
    // Side by side on the office map's open floor; 640×360 keeps two encoders within two cores.
    const f = await open('firefox', 'space=ff1&name=F&x=30&y=20&video=640x360');
    const c = await open('chromium', 'space=ff1&name=C&x=32&y=20&video=640x360');
    try {
      const cGets = await assertReceives(c.page, f.id, 'Chromium to decode Firefox’s video and play its audio');
      const fGets = await assertReceives(f.page, c.id, 'Firefox to decode Chromium’s video and play its audio');
      // Firefox nominates every pair that works against our lite agent (UDP and ICE-TCP) and uses the
      // highest; the server must send on that same one (RFC 8445 §8.1.1).
      const paths = await firefoxPaths(f.page);
      const participant = server.spaces.get('ff1')!.participants.get(f.id)!;
      for (const [name, t] of [['publish', participant.publishTransport], ['subscribe', participant.subscribeTransport]] as const) {
        const ff = paths[name];
        assert.ok(ff && t, `${name}: Firefox selected a pair and the server has a transport`);
        assert.deepEqual({ protocol: t.remoteProtocol, port: t.remotePort }, { protocol: ff.protocol, port: ff.port }, `${name}: the server sends where Firefox's selected pair is`);
      }
      process.stdout.write(
        `# Chromium ← Firefox: ${cGets.framesDecoded} frames at ${cGets.frameHeight}p; Firefox ← Chromium: ${fGets.framesDecoded} frames at ${fGets.frameHeight}p; ` +
          `Firefox DTLS: ${await dtlsOf(f.page)}; pairs Firefox nominated: publish ${paths.publish?.nominated}, subscribe ${paths.subscribe?.nominated}\n`,
      );
    } finally {
      await f.page.close();
      await c.page.close();
    }
  });

  it('Firefox sends rid simulcast: the server receives several of its layers, and a viewer is moved between them', async () => {
    const f = await open('firefox', 'space=ff2&name=F&x=20&y=21&video=640x360');
    const c = await open('chromium', 'space=ff2&name=C&x=21&y=21&publish=0');
    try {
      const producer = () => [...(server.spaces.get('ff2')?.participants.get(f.id)?.localProducers.values() ?? [])].find((p) => p.kind === 'video');
      // Layers that sent within the last moment, with the size their key frames announced.
      const live = () => {
        const p = producer();
        const now = systemClock.now();
        return (p?.layers ?? []).filter((l) => l.ssrc !== 0 && l.height > 0 && l.isFresh(now)).map((l) => ({ rid: l.rid, height: l.height }));
      };
      const layers = await waitFor('the server to receive two or more of Firefox’s layers at once', () => {
        const l = live();
        return new Set(l.map((x) => x.height)).size >= 2 ? l : null;
      }, 30_000, 250).catch((e: Error) => {
        const p = producer();
        throw new Error(`${e.message}; layers ${JSON.stringify(p?.layers.map((l) => ({ rid: l.rid, ssrc: l.ssrc, height: l.height, lastPacketMs: l.lastPacketMs })))}; server ${serverDiagnostics()}`);
      });
      assert.deepEqual(producer()!.layers.map((l) => l.rid), ['q', 'h', 'f'], 'one layer per rid the offer listed');
      const heights = layers.map((l) => l.height).sort((a, b) => a - b);
      const low = heights[0]!;
      const high = heights[heights.length - 1]!;

      // The viewer's tiles limited to the lowest layer: it is moved there (a keyframe of that rid's SSRC)…
      const height = async () => (await receivedFrom(c.page, f.id)).frameHeight;
      await c.page.evaluate((h) => (window as any).proxima.client.setReceiveLimits({ maxHeight: h }), low);
      await waitFor(`the viewer on Firefox’s ${low}p layer`, async () => (await height()) === low, 20_000, 250);
      // …and lifted, onto a higher one again.
      await c.page.evaluate(() => (window as any).proxima.client.setReceiveLimits({}));
      const back = await waitFor(`the viewer above ${low}p again`, async () => {
        const h = await height();
        return h > low ? h : 0;
      }, 20_000, 250);
      process.stdout.write(`# Firefox layers live at once: ${layers.map((l) => `${l.rid}=${l.height}p`).join(' ')}; viewer ${low}p when limited, ${back}p after (top ${high}p)\n`);
    } finally {
      await f.page.close();
      await c.page.close();
    }
  });

  it('walk-in: out of range nothing flows; Firefox walks next to Chromium and media starts both ways, and stops when it walks away', async () => {
    const f = await open('firefox', 'space=ff3&name=F&x=3&y=27&video=640x360');
    const c = await open('chromium', 'space=ff3&name=C&x=30&y=20&video=640x360');
    try {
      const space = () => server.spaces.get('ff3')!;
      // Both publish for real (the server receives their video) while out of range of each other…
      await waitFor('both publishers’ video at the server', () => {
        const now = systemClock.now();
        return [f.id, c.id].every((id) => [...(space().participants.get(id)?.localProducers.values() ?? [])].some((p) => p.kind === 'video' && p.layers.some((l) => l.isFresh(now))));
      }, 30_000);
      // …and for two seconds of that, neither receives a packet.
      const quietUntil = Date.now() + 2000;
      while (Date.now() < quietUntil) {
        for (const [who, p] of [['Firefox', f.page], ['Chromium', c.page]] as const) {
          assert.equal(await packetsReceived(p), 0, `${who} receives nothing while out of range`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }

      await f.page.evaluate(() => (window as any).proxima.move(29, 20));
      await assertReceives(c.page, f.id, 'Chromium to receive Firefox once it walked over');
      await assertReceives(f.page, c.id, 'Firefox to receive Chromium once it walked over');

      // Walking away ends the subscriptions (the m-lines go inactive); back again, media resumes on them.
      await f.page.evaluate(() => (window as any).proxima.move(3, 27));
      for (const [who, p, from] of [['Chromium', c.page, f.id], ['Firefox', f.page, c.id]] as const) {
        await waitFor(`${who} to stop receiving after the walk away`, async () => {
          const tracks = await p.evaluate((id) => (window as any).proxima.client.tracksOf(id).length, from);
          return tracks === 0;
        }, 20_000);
      }
      // Nobody else is in range: nothing arrives on either page any more (stats of ended streams may vanish).
      for (const [who, p] of [['Firefox', f.page], ['Chromium', c.page]] as const) {
        let before = await packetsReceived(p);
        await waitFor(`${who}'s packets to stop growing`, async () => {
          await new Promise((r) => setTimeout(r, 1000));
          const now = await packetsReceived(p);
          const still = now <= before;
          before = now;
          return still;
        }, 15_000, 0);
      }
      await f.page.evaluate(() => (window as any).proxima.move(29, 20));
      const again = await assertReceives(c.page, f.id, 'Chromium to receive Firefox after it walked back');
      const againF = await assertReceives(f.page, c.id, 'Firefox to receive Chromium after it walked back');
      process.stdout.write(`# walked back: Chromium ← Firefox ${again.framesDecoded} frames, Firefox ← Chromium ${againF.framesDecoded} frames\n`);
    } finally {
      await f.page.close();
      await c.page.close();
    }
  });
});
