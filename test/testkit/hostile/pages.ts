import type { ProximaServer } from '../../../src/server/proxima-server.ts';
import { waitFor, type Page, type TestBrowser } from '../browser.ts';

import { inbound } from '../page-stats.ts';
export { inbound, type InboundSums } from '../page-stats.ts';

/** Open the web client in a fresh context and wait until it joined (and published, when asked). */
export async function joinPage(
  browser: TestBrowser,
  server: ProximaServer,
  space: string,
  name: string,
  publish: boolean,
  at?: { x: number; y: number },
  /** More URL parameters, e.g. `&reconnect=0` for a page whose disconnection is what is tested. */
  query = '',
): Promise<{ page: Page; id: string }> {
  const where = at ? `&x=${at.x}&y=${at.y}` : '';
  const page = await browser.page(`${server.url}/?space=${space}&name=${name}&publish=${publish ? 1 : 0}${where}${query}`);
  const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
  return { page, id };
}

/** `watcher` subscribes to every track of `publisher` once it sees two, then decodes `frames` frames. */
export async function watch(watcher: Page, publisherId: string, frames = 10): Promise<void> {
  await waitFor('the publisher’s two tracks to be announced', () =>
    watcher.evaluate((id) => (window as any).proxima.publishers().find((p: any) => p.participantId === id)?.tracks.length === 2, publisherId),
  );
  await watcher.evaluate((id) => (window as any).proxima.subscribe(id), publisherId);
  await waitFor(`${frames} decoded frames`, async () => (await inbound(watcher)).framesDecoded >= frames, 20_000);
}

/** Longest gap between two shown frames per received video since the last reset (the current stall included). */
export async function frameGaps(page: Page, reset = false): Promise<Array<{ publisherId: string; frames: number; maxGapMs: number }>> {
  return page.evaluate((r) => (window as any).proxima.frameGaps(r), reset);
}

/** Record how the page's signaling socket closed (code, reason), readable with `closedWith`. */
export async function recordClose(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as any).proxima.client.on('closed', (e: { code: number; reason: string }) => ((window as any).__closed = e));
  });
}

export async function closedWith(page: Page): Promise<{ code: number; reason: string } | null> {
  return page.evaluate(() => (window as any).__closed ?? null);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
