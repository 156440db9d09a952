/**
 * Two Chromium people whose media the server placed on different media workers (media.workers 2, placement
 * forced) against the same scenario with the media in one thread: each sees and hears the other, the
 * viewer's layer follows its limits down and back up, and 3 % loss each way leaves no freeze over 500 ms,
 * repaired by retransmissions. And a Firefox person on one worker with a Chromium person on the other.
 * Browsers run as users' do (no loopback or mDNS test flags).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testConfig, USER_MEDIA, serverDiagnostics } from '../testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor, type Page } from '../testkit/browser.ts';
import { SIMULCAST_TRIAL } from '../testkit/adaptation.ts';
import { FirefoxBrowser, chromiumPage, interfaceIPv4, type E2EPage } from '../testkit/firefox.ts';
import { inbound } from '../testkit/page-stats.ts';
import { ProximaServer } from '../../src/server/proxima-server.ts';
import { dropCounts } from '../../src/metrics/drop-reasons.ts';
import { createLogger } from '../../src/util/logger.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dropped = (reason: string) => dropCounts().find(([r]) => r === reason)?.[1] ?? 0;

/** The height at which `page` decodes `publisherId`'s video (0: none). */
async function heightOf(page: Page, publisherId: string): Promise<number> {
  const peers = (await page.evaluate(() => (window as any).proxima.peers())) as Array<{ id: string; video?: { frameHeight?: number } }>;
  return peers.find((p) => p.id === publisherId)?.video?.frameHeight ?? 0;
}

interface Outcome {
  down: number;
  up: number;
  lost: number;
  framesInLoss: number;
  maxGapMs: number;
  rtx: number;
}

/** The scenario, on a server with `workers` media workers; returns what it measured. */
async function scenario(workers: 1 | 2, pubBrowser: TestBrowser, viewBrowser: TestBrowser): Promise<Outcome> {
  const space = `workers${workers}`;
  // A's media on worker 0, B's on worker 1 (ignored in one thread).
  const server = await ProximaServer.start(testConfig({ media: { ...USER_MEDIA, workers } }), { workerPlacement: [0, 1], log: createLogger('warn') });
  try {
    const a = await pubBrowser.page(`${server.url}/?space=${space}&name=A&x=20&y=21&video=640x360`);
    const aId = (await a.evaluate(() => (window as any).proxima.ready)) as string;
    const b = await viewBrowser.page(`${server.url}/?space=${space}&name=B&x=21&y=21`);
    const bId = (await b.evaluate(() => (window as any).proxima.ready)) as string;
    await waitFor('both publishing', () => server.spaces.get(space)?.participants.get(bId)?.producers.size === 2 && server.spaces.get(space)?.participants.get(aId)?.producers.size === 2, 20_000);
    if (workers === 2) {
      assert.equal(server.mediaWorkerOf(aId), 0, 'A on worker 0');
      assert.equal(server.mediaWorkerOf(bId), 1, 'B on worker 1');
    }

    // They see and hear each other.
    for (const [who, page] of [['A', a], ['B', b]] as const) {
      await waitFor(`${who} decodes video and plays audio`, async () => {
        const s = await inbound(page);
        return s.framesDecoded > 20 && s.samples > 0;
      }, 20_000).catch((e: Error) => {
        throw new Error(`${e.message} (workers ${workers}); server ${serverDiagnostics()}`);
      });
    }
    await waitFor('B receives A’s top layer (360p)', async () => (await heightOf(b, aId)) === 360, 20_000);

    // Layer switches follow the viewer's limits, down and back up.
    let t0 = Date.now();
    await b.evaluate(() => (window as any).proxima.client.setReceiveLimits({ maxHeight: 180 }));
    await waitFor('B switched down to ≤ 180p', async () => {
      const h = await heightOf(b, aId);
      return h > 0 && h <= 180;
    }, 10_000);
    const down = Date.now() - t0;
    t0 = Date.now();
    await b.evaluate(() => (window as any).proxima.client.setReceiveLimits({}));
    await waitFor('B back on 360p', async () => (await heightOf(b, aId)) === 360, 15_000);
    const up = Date.now() - t0;

    // 3 % loss on every media socket, both ways.
    const lossBefore = dropped('impairment_loss');
    await server.setMediaImpairment({ receiveLoss: 0.03, sendLoss: 0.03, seed: 7 });
    let start;
    let end;
    let gaps: Array<{ frames: number; maxGapMs: number }>;
    try {
      await sleep(1000); // the first losses happen before the measuring window
      await b.evaluate(() => (window as any).proxima.frameGaps(true));
      start = await inbound(b);
      await sleep(8000);
      end = await inbound(b);
      gaps = (await b.evaluate(() => (window as any).proxima.frameGaps())) as typeof gaps;
    } finally {
      await server.setMediaImpairment(null);
    }
    await sleep(1100); // workers report their counters every second
    const outcome: Outcome = {
      down,
      up,
      lost: dropped('impairment_loss') - lossBefore,
      framesInLoss: end.framesDecoded - start.framesDecoded,
      maxGapMs: Math.max(0, ...gaps.map((g) => g.maxGapMs)),
      rtx: end.retransmitted - start.retransmitted,
    };
    process.stdout.write(`# workers ${workers}: layer down ${down} ms, up ${up} ms; 3% loss: ${outcome.lost} dropped, ${outcome.framesInLoss} frames in 8 s, max gap ${outcome.maxGapMs.toFixed(0)} ms, ${outcome.rtx} retransmissions\n`);
    const diag = `; workers ${workers}; server ${serverDiagnostics()}`;
    assert.ok(outcome.lost > 30, `the impairment really dropped packets${diag}`);
    assert.ok(outcome.framesInLoss > 8 * 5, `B kept decoding (≥ 5 fps on a loaded 2-core machine)${diag}`);
    assert.ok(gaps.length > 0 && gaps.every((g) => g.frames > 0), `frames were shown${diag}`);
    assert.ok(outcome.maxGapMs <= 500, `no freeze longer than 500 ms (max gap ${outcome.maxGapMs.toFixed(0)} ms)${diag}`);
    assert.ok(outcome.rtx > 0, `B received retransmitted packets${diag}`);
    await a.close();
    await b.close();
    return outcome;
  } finally {
    await server.close();
  }
}

describe('media workers with real browsers', () => {
  let pubBrowser: TestBrowser;
  let viewBrowser: TestBrowser;
  before(async () => {
    pubBrowser = await TestBrowser.launch([SIMULCAST_TRIAL], USER_CHROMIUM_FLAGS);
    viewBrowser = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
  });
  after(async () => {
    await viewBrowser?.close();
    await pubBrowser?.close();
  });

  it('two people on different workers see and hear each other, switch layers and ride out 3 % loss as on one worker', async () => {
    const one = await scenario(1, pubBrowser, viewBrowser);
    const two = await scenario(2, pubBrowser, viewBrowser);
    // As on one worker: the layer switches within the same bounds (keyframe-gated either way).
    for (const [what, o] of [['one worker', one], ['two workers', two]] as const) {
      assert.ok(o.down <= 5000, `${what}: down-switch within 5 s (${o.down} ms)`);
      assert.ok(o.up <= 10_000, `${what}: up-switch within 10 s (${o.up} ms)`);
    }
  });
});

describe('media workers with Firefox and Chromium', () => {
  it('Firefox on one worker and Chromium on the other decode each other', async () => {
    // An interface address announced, as in firefox.test.ts: with every interface, Firefox takes IPv6 first.
    const server = await ProximaServer.start(testConfig({ media: { bindIp: '0.0.0.0', announcedIp: interfaceIPv4(), workers: 2 } }), { workerPlacement: [0, 1], log: createLogger('warn') });
    const [firefox, chromium] = await Promise.all([FirefoxBrowser.launch(), TestBrowser.launch([], USER_CHROMIUM_FLAGS)]);
    try {
      const open = async (page: E2EPage) => ({ page, id: (await page.evaluate(() => (window as any).proxima.ready)) as string });
      const f = await open(await firefox.page(`${server.url}/?space=wff&name=F&x=30&y=20&video=640x360`));
      const c = await open(chromiumPage(await chromium.page(`${server.url}/?space=wff&name=C&x=32&y=20&video=640x360`)));
      await waitFor('both publishing', () => [f.id, c.id].every((id) => server.spaces.get('wff')?.participants.get(id)?.producers.size === 2), 30_000);
      assert.deepEqual([server.mediaWorkerOf(f.id), server.mediaWorkerOf(c.id)], [0, 1], 'Firefox on worker 0, Chromium on worker 1');
      for (const [who, page, from] of [['Chromium decodes Firefox', c.page, f.id], ['Firefox decodes Chromium', f.page, c.id]] as const) {
        await waitFor(who, async () => {
          const peers = (await page.evaluate(() => (window as any).proxima.peers())) as any[];
          const p = peers.find((x) => x.id === from);
          return (p?.video.framesDecoded ?? 0) > 20 && (p?.audio.totalSamplesReceived ?? 0) > 0;
        }, 30_000).catch((e: Error) => {
          throw new Error(`${e.message}; server ${serverDiagnostics()}`);
        });
      }
    } finally {
      await firefox.close();
      await chromium.close();
      await server.close();
    }
  });
});
