import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serverDiagnostics, startTestServer } from '../testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor, type Page } from '../testkit/browser.ts';
import { FirefoxBrowser, chromiumPage, type E2EPage } from '../testkit/firefox.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

/** The page's own account of its media (`window.proxima.live()`) and what its toolbar says. */
async function liveState(page: E2EPage): Promise<{ publishing: boolean; receiving: boolean; toolbar: string | undefined }> {
  const l = (await page.evaluate(() => (window as any).proxima.live())) as { publishing: boolean; receiving: boolean };
  return { ...l, toolbar: (await page.evaluate(() => document.getElementById('live')?.dataset.state)) as string | undefined };
}

/** Media flows both ways, and the page says so (a flow that just began may need a moment to show in getStats). */
async function saysLive(page: E2EPage, who: string): Promise<void> {
  await waitFor(`${who} to say live (publishing and receiving)`, async () => {
    const l = await liveState(page);
    return l.publishing && l.receiving && l.toolbar === 'live';
  }, 5000);
}

async function decodesOne(page: E2EPage): Promise<boolean> {
  const peers = (await page.evaluate(() => (window as any).proxima.peers())) as Array<{ audio: { totalSamplesReceived: number }; video: { framesDecoded: number } }>;
  return peers.length === 1 && peers[0].video.framesDecoded > 10 && peers[0].audio.totalSamplesReceived > 0;
}

/**
 * A newcomer's browser with no test flags (no loopback in WebRTC, host addresses hidden behind mDNS) against
 * the server's default candidates: every interface address of this machine, UDP and ICE-TCP.
 */
describe('stock Chromium against the default candidates', () => {
  let server: ProximaServer;
  let browser: TestBrowser;
  let firefox: FirefoxBrowser | null = null;
  before(async () => {
    // Free ports, but the addresses and candidates of a default start (bind on every interface, announcedIp auto).
    server = await startTestServer({ media: { bindIp: '0.0.0.0', announcedIp: 'auto' } });
    browser = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
  });
  after(async () => {
    await firefox?.close();
    await browser?.close();
    await server?.close();
  });

  it('announces no loopback candidate when the machine has another address', () => {
    const ips = server.media.candidates.map((c) => c.ip);
    assert.ok(ips.length > 0);
    assert.ok(!ips.some((ip) => ip.startsWith('127.') || ip === '::1'), `candidates: ${ips.join(', ')}`);
    assert.ok(server.media.candidates.some((c) => c.protocol === 'tcp'), 'ICE-TCP candidates on by default');
  });

  it('two pages side by side see and hear each other in both directions', async () => {
    const open = async (name: string, x: number): Promise<Page> => {
      const page = await browser.page(`${server.url}/?space=reach&name=${name}&x=${x}&y=20`);
      await page.evaluate(() => (window as any).proxima.ready);
      return page;
    };
    const a = await open('A', 30);
    const b = await open('B', 32);
    const decodes = async (page: Page) => {
      const peers = (await page.evaluate(() => (window as any).proxima.peers())) as Array<{ audio: { totalSamplesReceived: number }; video: { framesDecoded: number } }>;
      return peers.length === 1 && peers[0].video.framesDecoded > 10 && peers[0].audio.totalSamplesReceived > 0 ? peers[0] : null;
    };
    try {
      await waitFor('A to decode B and B to decode A', async () => (await decodes(a)) && (await decodes(b)), 20_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}; ${serverDiagnostics()}`);
    }
    await saysLive(chromiumPage(a), 'A');
    await saysLive(chromiumPage(b), 'B');
    await a.close();
    await b.close();
  });

  it('stock Firefox and stock Chromium side by side see and hear each other', async () => {
    firefox = await FirefoxBrowser.launch();
    const f = await firefox.page(`${server.url}/?space=reach-ff&name=F&x=30&y=20&video=640x360`);
    await f.evaluate(() => (window as any).proxima.ready);
    const c = chromiumPage(await browser.page(`${server.url}/?space=reach-ff&name=C&x=32&y=20&video=640x360`));
    await c.evaluate(() => (window as any).proxima.ready);
    try {
      await waitFor('Firefox to decode Chromium and Chromium to decode Firefox', async () => (await decodesOne(f)) && (await decodesOne(c)), 30_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}; ${serverDiagnostics()}`);
    }
    await saysLive(f, 'Firefox');
    await saysLive(c, 'Chromium');
    await f.close();
    await c.close();
  });
});

describe('a page whose media cannot reach the server', () => {
  let server: ProximaServer;
  let browser: TestBrowser;
  before(async () => {
    // The only candidate is an address nobody answers on (TEST-NET-1, RFC 5737), as on a server behind a NAT
    // announced wrongly: signaling works, media never connects.
    server = await startTestServer({ media: { bindIp: '0.0.0.0', announcedIp: '192.0.2.1', iceTcp: false } });
    browser = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('never says live: neither publishing nor receiving, and the toolbar says so', async () => {
    const a = chromiumPage(await browser.page(`${server.url}/?space=unreachable&name=A&x=30&y=20`));
    const b = chromiumPage(await browser.page(`${server.url}/?space=unreachable&name=B&x=32&y=20`));
    await a.evaluate(() => (window as any).proxima.ready);
    await b.evaluate(() => (window as any).proxima.ready);
    const seen = new Set<string>();
    // Long enough for a connection that could work to have worked (the reach tests connect within ~2 s).
    for (const until = Date.now() + 6000; Date.now() < until; ) {
      for (const p of [a, b]) {
        const l = await liveState(p);
        seen.add(l.toolbar ?? 'none');
        assert.deepEqual([l.publishing, l.receiving], [false, false], 'no media flows, so the page does not claim it');
        assert.notEqual(l.toolbar, 'live');
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(!seen.has('live'), `toolbar states seen: ${[...seen].join(', ')}`);
    await a.close();
    await b.close();
  });
});
