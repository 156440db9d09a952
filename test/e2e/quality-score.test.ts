/**
 * The connection-quality score as a person meets it (docs/quality.md): three Chromium pages next to each
 * other; one person's access link is capped at 300 kbit/s. Their own score drops to poor within 3 s and
 * blames their side, the others' own scores stay good (their side is not blamed), and when the cap lifts
 * the score is back within 5 s.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverDiagnostics } from '../testkit/proxima.ts';
import { TestBrowser, waitFor, type Page } from '../testkit/browser.ts';
import type { WeatherProxy } from '../../tools/weather/udp-proxy.ts';
import { startServerBehindWeather } from '../testkit/weather-server.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

const CAP_KBPS = 300;
/** A household link's drop-tail buffer of 250 ms at the cap. */
const CAP = { rateKbps: CAP_KBPS, queueBytes: (CAP_KBPS * 1000 * 0.25) / 8 };
type Score = { score: number; level: string; cause: string | null };
type Quality = { down: Score | null; up: Score | null; peers: Record<string, string> } | null;

describe('connection quality on the page', () => {
  let proxy: WeatherProxy;
  let server: ProximaServer;
  let browser: TestBrowser;
  let stop: (() => Promise<void>) | undefined;
  before(async () => {
    ({ proxy, server, close: stop } = await startServerBehindWeather(5));
    // Loopback flags: media goes through the weather proxy on 127.0.0.1 (announcedPort), the impaired path.
    browser = await TestBrowser.launch();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
  });

  it(`a ${CAP_KBPS} kbit/s cap on one person's link: poor within 3 s naming their side, back within 5 s of the lift`, async () => {
    // One video layer: under the cap it cannot fit, so what the capped person receives is held back.
    const a: Page = await browser.page(`${server.url}/?space=q&name=A&x=20&y=21&video=640x360&simulcast=0`);
    const aId = (await a.evaluate(() => (window as any).proxima.ready)) as string;
    const b: Page = await browser.page(`${server.url}/?space=q&name=B&x=21&y=21&video=640x360&simulcast=0`);
    await b.evaluate(() => (window as any).proxima.ready);
    // A second neighbour: what A wants to receive is then well over the cap (Chrome's fake camera compresses well).
    const c: Page = await browser.page(`${server.url}/?space=q&name=C&x=20&y=22&video=640x360&simulcast=0`);
    await c.evaluate(() => (window as any).proxima.ready);
    // The server's answer to a failed request reaches the page as an SDK error (main.ts logs it): none may come.
    const failed: string[] = [];
    for (const p of [a, b, c]) p.on('console', (m) => void (m.type() === 'error' && m.text().startsWith('proxima:') && failed.push(m.text())));
    const quality = async (p: Page) => (await p.evaluate(() => (window as any).proxima.quality())) as Quality;
    const good = (s: Score | null | undefined) => s?.level === 'excellent' || s?.level === 'good';
    await waitFor('both pages score both directions good', async () => {
      const [qa, qb] = [await quality(a), await quality(b)];
      return good(qa?.down) && good(qa?.up) && good(qb?.down) && good(qb?.up);
    }, 30_000, 250).catch(async (e: Error) => {
      throw new Error(`${e.message}: A ${JSON.stringify(await quality(a))} B ${JSON.stringify(await quality(b))}`);
    });

    const person = server.spaces.get('q')!.participants.get(aId)!;
    const wanted = () => person.subscribeSession?.downlink.allocation?.wantedBitrate ?? 0;
    await waitFor(`A wants more than twice the cap`, () => wanted() > 2 * CAP_KBPS * 1000, 30_000, 250).catch((e: Error) => {
      throw new Error(`${e.message}: wanted ${wanted()} bps`);
    });
    const down = proxy.linkOf(person.subscribeTransport!.remotePort);
    const up = proxy.linkOf(person.publishTransport!.remotePort);
    assert.ok(down && up, 'both of A\'s connections cross the proxy');
    const t0 = Date.now();
    down.down.setConfig(CAP);
    up.up.setConfig(CAP);
    let poor: Quality = null;
    await waitFor('A\'s receiving scored poor, blaming A\'s downlink', async () => {
      const q = await quality(a);
      if (q?.down?.level === 'poor' && q.down.cause === 'your_downlink') poor = q;
      return poor !== null;
    }, 10_000, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}: A ${JSON.stringify(await quality(a))}; ${serverDiagnostics()}`);
    });
    const toPoorMs = Date.now() - t0;
    const onB = await quality(b);
    const onA = await quality(a);
    const label = (await a.evaluate(() => document.querySelector('.bubble.self .score')?.textContent ?? '')) as string;

    down.down.setConfig({});
    up.up.setConfig({});
    const t1 = Date.now();
    await waitFor('A\'s receiving back to good', async () => good((await quality(a))?.down), 20_000, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}: A ${JSON.stringify(await quality(a))}; ${serverDiagnostics()}`);
    });
    const backMs = Date.now() - t1;
    console.log(`quality-score: capped → A poor after ${toPoorMs} ms (${JSON.stringify(poor)}); A then ${JSON.stringify(onA)}, label "${label}"; B ${JSON.stringify(onB)}; lifted → good after ${backMs} ms`);
    assert.ok(toPoorMs <= 3000, `poor within 3 s of the cap (took ${toPoorMs} ms)`);
    assert.match(label, /poor/, 'A\'s own tile says poor');
    assert.ok(good(onB?.down) && good(onB?.up), `B's own connection is not blamed (${JSON.stringify(onB)})`);
    assert.ok(backMs <= 5000, `back within 5 s of the lift (took ${backMs} ms)`);
    assert.deepEqual(failed, [], 'no request of the pages failed (reports included)');
    for (const p of [a, b, c]) await p.close();
  });
});
