/**
 * Real browsers through a node failure: Chromium A on n2 and Chromium B on n3 stand together; n2 is
 * killed (-9). A's page notices its signaling drop, joins another node of the cluster at the same place
 * and publishes again (web/sdk failover); B decodes A again, and A decodes B again, within 3 s.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProcessCluster, type ProcessCluster } from '../testkit/cluster-processes.ts';
import { MIDDLE_OF_THREE } from '../testkit/regions.ts';
import { TestBrowser, waitFor, type Page } from '../testkit/browser.ts';
import { inbound } from '../testkit/page-stats.ts';

const SPACE = 'fobrowser';

/** Decoded frames per inbound video stream (by SSRC) of the page's current connections. */
async function videoStreams(page: Page): Promise<Map<number, number>> {
  const list = (await page.evaluate(async () => {
    const st = await (window as any).proxima.stats();
    return st.inbound.filter((s: any) => s.kind === 'video').map((s: any) => [s.ssrc, s.framesDecoded ?? 0]);
  })) as Array<[number, number]>;
  return new Map(list);
}

/** ms after `t0` when the page decodes ≥ 5 frames on a video stream it did not have before. */
async function decodesNewVideo(page: Page, what: string, before: ReadonlySet<number>, t0: number): Promise<number> {
  return waitFor(
    what,
    async () => {
      for (const [ssrc, frames] of await videoStreams(page)) if (!before.has(ssrc) && frames >= 5) return Date.now() - t0;
      return 0;
    },
    10_000,
    50,
  );
}

async function open(browser: TestBrowser, url: string, name: string, at: { x: number; y: number }): Promise<Page> {
  const page = await browser.page(`${url}/?space=${SPACE}&name=${name}&publish=1&x=${at.x}&y=${at.y}`);
  await page.evaluate(() => (window as any).proxima.ready);
  return page;
}

describe('browsers through a node failure', () => {
  let cluster: ProcessCluster;
  let browser: TestBrowser;
  before(async () => {
    cluster = await startProcessCluster(MIDDLE_OF_THREE.nodes, { rtt: MIDDLE_OF_THREE.rtt });
    // Loopback flags: the cluster's nodes run on 127.0.0.1 with per-node media ports (one machine, many nodes).
    browser = await TestBrowser.launch();
  });
  after(async () => {
    await browser?.close();
    await cluster?.close();
  });

  it('the page on the dead node moves to another node; both decode each other again within 3 s', async () => {
    const a = await open(browser, cluster.node('n2').url, 'A', { x: 30, y: 20 });
    const b = await open(browser, cluster.node('n3').url, 'B', { x: 32, y: 20 });
    const decoding = async (p: Page) => {
      const s = await inbound(p);
      return s.framesDecoded > 10 && s.samples > 0 ? s : null;
    };
    await waitFor('A and B decode each other across n2 → n3', async () => (await decoding(a)) && (await decoding(b)), 30_000);
    const reconnected = a.evaluate(
      () =>
        new Promise<{ url: string; ms: number }>((resolve) => {
          (window as any).proxima.client.on('reconnected', (e: { url: string; ms: number }) => resolve(e));
        }),
    );
    // The streams each page decodes now: after the failover A's tracks (and A's connections) are new.
    const beforeA = new Set((await videoStreams(a)).keys());
    const beforeB = new Set((await videoStreams(b)).keys());
    const killedAt = Date.now();
    await cluster.node('n2').kill();
    const [bBack, aBack] = await Promise.all([decodesNewVideo(b, 'B decodes A again', beforeB, killedAt), decodesNewVideo(a, 'A decodes B again', beforeA, killedAt)]);
    const moved = await reconnected;
    process.stdout.write(`# browser failover: A rejoined ${moved.url} after ${Math.round(moved.ms)} ms; B decodes A again at ${bBack} ms, A decodes B at ${aBack} ms after the kill\n`);
    assert.notEqual(moved.url.replace(/^ws/, 'http').replace(/\/ws$/, ''), cluster.node('n2').url, 'A moved off the dead node');
    assert.ok(bBack <= 3000, `B decodes A again within 3 s (${bBack} ms)`);
    assert.ok(aBack <= 3000, `A decodes B again within 3 s (${aBack} ms)`);
  });
});
