/**
 * H.264 simulcast from Chromium (`codec=h264`: Constrained Baseline, three rid layers): the server ranks the
 * layers by the picture size their keyframes' SPS declares, and a subscriber moved between layers by its
 * device limits (capped to the lowest layer's rows, then the middle's, then lifted) switches at keyframes —
 * each switch shows as a new decoded size and a key frame decoded — while frames decode throughout (no gap
 * over 1 s). On a busy machine Chrome may stop its top layer (CPU): the layers it sends are used.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, serverDiagnostics } from '../testkit/proxima.ts';
import { TestBrowser, waitFor, type Page } from '../testkit/browser.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import { asProducer } from '../../src/server/local-media.ts';

const SPACE = 'h264';

describe('H.264 simulcast from Chromium', () => {
  let server: ProximaServer;
  let browser: TestBrowser;
  before(async () => {
    server = await startTestServer();
    browser = await TestBrowser.launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('layers ranked by their SPS size; a subscriber switches between them at keyframes and keeps decoding', async () => {
    const pub: Page = await browser.page(`${server.url}/?space=${SPACE}&name=P&x=20&y=21&codec=h264&video=1280x720`);
    const pubId = (await pub.evaluate(() => (window as any).proxima.ready)) as string;
    const sub: Page = await browser.page(`${server.url}/?space=${SPACE}&name=S&x=21&y=21&publish=0`);
    const subId = (await sub.evaluate(() => (window as any).proxima.ready)) as string;
    const space = server.spaces.get(SPACE)!;
    const videoTrack = await waitFor('P publishes a video', () => [...space.participants.get(pubId)!.producers.values()].find((t) => t.kind === 'video'), 20_000);
    const producer = asProducer(videoTrack)!;
    assert.equal(producer.params.codec, 'h264', 'negotiated as H.264');
    // Ranked by SPS picture size: heights rise with rank. A busy machine makes Chrome drop its top layer (CPU
    // limitation), so two sending layers are enough; the third is used when it comes.
    const sized = () => [...producer.layers].filter((l) => l.height > 0).sort((a, b) => a.spatial - b.spatial);
    await waitFor('at least two layers with sizes from their SPS', () => sized().length >= 2, 20_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(producer.layers.map((l) => [l.rid, l.spatial, l.width, l.height]))}; ${serverDiagnostics()}`);
    });
    await waitFor('the third layer (else two will do)', () => sized().length === 3, 5_000).catch(() => null);
    const ranked = sized().map((l) => ({ rid: l.rid, spatial: l.spatial, height: l.height }));
    for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1]!.height < ranked[i]!.height, `ranks follow picture size: ${JSON.stringify(ranked)}`);

    const person = space.participants.get(subId)!;
    const consumer = await waitFor('S receives P’s video', () => person.consumerOf(videoTrack.id), 20_000);
    const video = async () =>
      (await sub.evaluate(async () => {
        const st = await (window as any).proxima.stats();
        const v = st.inbound.find((s: any) => s.kind === 'video' && (s.framesDecoded ?? 0) > 0);
        return v ? { frames: v.framesDecoded as number, keys: (v.keyFramesDecoded ?? 0) as number, height: (v.frameHeight ?? 0) as number } : null;
      })) as { frames: number; keys: number; height: number } | null;
    // Frames keep coming: sampled every 100 ms from here on, the longest stretch without a new one is kept.
    let last = { at: Date.now(), frames: 0 };
    let longestGapMs = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const v = await video().catch(() => null);
        const now = Date.now();
        if (v && v.frames > last.frames) {
          if (last.frames > 0) longestGapMs = Math.max(longestGapMs, now - last.at);
          last = { at: now, frames: v.frames };
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const heightOf = (rank: number) => producer.layers.find((l) => l.spatial === rank)?.height ?? 0;
    const atLayer = async (rank: number, why: string) => {
      const keysBefore = (await video())?.keys ?? 0;
      await waitFor(`S decodes layer ${rank} (${why})`, async () => {
        const v = await video();
        return consumer.current?.spatial === rank && v !== null && Math.abs(v.height - heightOf(rank)) <= 8 && v.keys > keysBefore;
      }, 15_000).catch(async (e: Error) => {
        throw new Error(`${e.message}: consumer ${JSON.stringify(consumer.current)}, S decodes ${JSON.stringify(await video())}, layers ${JSON.stringify(ranked)}; ${serverDiagnostics()}`);
      });
    };
    try {
      await waitFor('S decodes P', async () => ((await video())?.frames ?? 0) > 10, 20_000);
      const [low, ...rest] = ranked;
      const top = rest.at(-1)!;
      person.onReport({ limits: { maxHeight: low!.height } });
      await atLayer(low!.spatial, `capped to ${low!.height} rows`);
      if (rest.length > 1) {
        person.onReport({ limits: { maxHeight: rest[0]!.height } });
        await atLayer(rest[0]!.spatial, `capped to ${rest[0]!.height} rows`);
      }
      person.onReport({ limits: {} });
      await atLayer(top.spatial, 'limits lifted');
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      sampling = false;
      await sampler;
    }
    process.stdout.write(`# H.264 simulcast: layers ${JSON.stringify(ranked)}; longest gap between decoded frames ${longestGapMs} ms; switches ${consumer.switchCount}\n`);
    assert.ok(longestGapMs <= 1000, `frames decode throughout: longest gap ${longestGapMs} ms`);
  });
});
