import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serverDiagnostics, startTestServer, USER_MEDIA } from '../testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor, type Page } from '../testkit/browser.ts';
import { inbound } from '../testkit/page-stats.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import { dropCount } from '../../src/metrics/drop-reasons.ts';


async function join(browser: TestBrowser, server: ProximaServer, space: string, name: string, publish: boolean, at: { x: number; y: number }): Promise<{ page: Page; id: string }> {
  const page = await browser.page(`${server.url}/?space=${space}&name=${name}&publish=${publish ? 1 : 0}&x=${at.x}&y=${at.y}`);
  const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
  return { page, id };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('browser publish and subscribe through the SFU', () => {
  let server: ProximaServer;
  let browser: TestBrowser;
  before(async () => {
    server = await startTestServer({ media: USER_MEDIA });
    browser = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  // Positions on the office map: A and B two tiles apart on the open floor, C far away in a corner.
  it('B receives A’s audio and video, C far away receives nothing, and unsubscribe stops the media', async () => {
    const a = await join(browser, server, 'e2e1', 'A', true, { x: 30, y: 20 });
    const b = await join(browser, server, 'e2e1', 'B', false, { x: 32, y: 20 });
    const c = await join(browser, server, 'e2e1', 'C', false, { x: 3, y: 27 });
    await waitFor('A to publish two tracks', () => b.page.evaluate((id) => (window as any).proxima.publishers().find((p: any) => p.participantId === id)?.tracks.length === 2, a.id));
    const trackIds = (await b.page.evaluate((id) => (window as any).proxima.subscribe(id), a.id)) as string[];
    assert.equal(trackIds.length, 2);

    const first = await waitFor('B to decode video and play audio', async () => {
      const s = await inbound(b.page);
      return s.framesDecoded > 5 && s.samples > 0 ? s : null;
    });
    assert.ok(first.frameWidth > 0, 'decoded frames have a width');
    await sleep(1500);
    const later = await inbound(b.page);
    assert.ok(later.framesDecoded > first.framesDecoded, `framesDecoded grows (${first.framesDecoded} → ${later.framesDecoded})`);
    assert.ok(later.samples > first.samples, 'audio samples grow');

    const cStats = await inbound(c.page);
    assert.equal(cStats.audioPackets + cStats.videoPackets, 0, 'C received no media');
    assert.equal(await c.page.evaluate(() => (window as any).proxima.client.subscribePc), null, 'C has no subscribe connection');

    await b.page.evaluate((id) => (window as any).proxima.unsubscribe(id), a.id);
    await sleep(700); // what was in flight arrives
    const stopped = await inbound(b.page);
    await sleep(2000);
    const after2s = await inbound(b.page);
    assert.equal(after2s.audioPackets, stopped.audioPackets, 'audio packets stop growing');
    assert.equal(after2s.videoPackets, stopped.videoPackets, 'video packets stop growing');
    for (const p of [a, b, c]) await p.page.close();
  });

  it('A’s uplink estimate climbs above 2 Mbps within 10 s of publishing', async () => {
    const a = await join(browser, server, 'e2e2', 'A', true, { x: 30, y: 20 });
    const t0 = Date.now();
    const bitrate = await waitFor(
      'availableOutgoingBitrate > 2 Mbps',
      async () => {
        const st = await a.page.evaluate(() => (window as any).proxima.stats());
        return st.availableOutgoingBitrate > 2_000_000 ? st.availableOutgoingBitrate : 0;
      },
      10_000,
      250,
    );
    process.stdout.write(`# uplink estimate ${(bitrate / 1e6).toFixed(2)} Mbps after ${Date.now() - t0} ms\n`);
    await a.page.close();
  });

  it('with 3% loss on the SFU’s receive and send paths, B keeps decoding with no freeze over 500 ms and receives retransmissions', async () => {
    const a = await join(browser, server, 'e2e3', 'A', true, { x: 30, y: 20 });
    const b = await join(browser, server, 'e2e3', 'B', false, { x: 32, y: 20 });
    await b.page.evaluate((id) => (window as any).proxima.subscribe(id), a.id);
    await waitFor('B to decode', async () => (await inbound(b.page)).framesDecoded > 10);
    const lossBefore = dropCount('impairment_loss');
    server.media.mux.setImpairment({ receiveLoss: 0.03, sendLoss: 0.03, seed: 7 });
    try {
      await sleep(1000); // let the first losses happen before the measuring window
      await b.page.evaluate(() => (window as any).proxima.frameGaps(true));
      const start = await inbound(b.page);
      await sleep(12_000);
      const end = await inbound(b.page);
      const gaps = (await b.page.evaluate(() => (window as any).proxima.frameGaps())) as Array<{ frames: number; maxGapMs: number }>;
      const lost = dropCount('impairment_loss') - lossBefore;
      process.stdout.write(`# 3% loss: ${lost} packets dropped, frames ${start.framesDecoded}→${end.framesDecoded}, max frame gap ${gaps.map((g) => g.maxGapMs.toFixed(0)).join(',')} ms, rtx received ${end.retransmitted}\n`);
      assert.ok(lost > 50, 'the impairment really dropped packets');
      const diag = () => `; server ${serverDiagnostics()}`;
      assert.ok(end.framesDecoded - start.framesDecoded > 12 * 5, `B kept decoding (≥ 5 fps on a loaded 2-core machine)${diag()}`);
      assert.ok(gaps.length > 0 && gaps[0].frames > 0, `frames were shown${diag()}`);
      for (const g of gaps) assert.ok(g.maxGapMs <= 500, `no freeze longer than 500 ms (max gap ${g.maxGapMs.toFixed(0)} ms)${diag()}`);
      assert.ok(end.retransmitted > 0, `B received retransmitted packets${diag()}`);
    } finally {
      server.media.mux.setImpairment(null);
    }
    for (const p of [a, b]) await p.page.close();
  });
});
