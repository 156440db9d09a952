/**
 * Pictures of the web client for the README: five people in the office, seen by one of them at 1024×640 and
 * at 1920×1080. Grace shares her screen, Linus is muted, Margaret has her camera off, Ken stands out of
 * reach; Chromium's fake microphones beep, so the speaking rings come and go.
 *
 *   node --import tsx tools/screenshots.ts [--out docs]
 *
 * Writes <out>/screenshot-1024x640.png and <out>/screenshot-1920x1080.png.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startTestServer } from '../test/testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor, type Page } from '../test/testkit/browser.ts';

const outArg = process.argv.indexOf('--out');
const outDir = resolve(outArg > 0 ? process.argv[outArg + 1]! : 'docs');
const SPACE = 'office';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const server = await startTestServer({ media: { bindIp: '0.0.0.0', announcedIp: 'auto' } });
const browser = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
try {
  const enter = async (name: string, x: number, y: number): Promise<{ page: Page; id: string }> => {
    const page = await browser.page(`${server.url}/?space=${SPACE}&name=${encodeURIComponent(name)}&x=${x}&y=${y}&video=640x360`);
    const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
    return { page, id };
  };
  const grace = await enter('Grace Hopper', 32, 20);
  const linus = await enter('Linus', 31, 21);
  const margaret = await enter('Margaret Hamilton', 29, 21);
  await enter('Ken', 37, 25);
  const ada = await enter('Ada Lovelace', 30, 20);
  await grace.page.evaluate(() => (window as any).proxima.shareScreen());
  await linus.page.evaluate(() => (window as any).proxima.setMuted('audio', true));
  await margaret.page.evaluate(() => (window as any).proxima.setMuted('video', true));
  await waitFor('Ada to see Grace’s screen and Linus’s camera', () =>
    ada.page.evaluate(
      ([g, l]) => {
        const screen = document.querySelector<HTMLVideoElement>(`.bubble.screen[data-participant="${g}"] video`);
        const cam = document.querySelector<HTMLVideoElement>(`.bubble:not(.screen)[data-participant="${l}"] video`);
        return (screen?.videoWidth ?? 0) > 0 && (cam?.videoWidth ?? 0) > 0;
      },
      [grace.id, linus.id],
    ),
    30_000,
  );
  mkdirSync(outDir, { recursive: true });
  await ada.page.bringToFront();
  for (const [w, h] of [
    [1024, 640],
    [1920, 1080],
  ] as const) {
    await ada.page.setViewportSize({ width: w, height: h });
    // The overlays refresh once a second; let the layout and a couple of stats rounds settle.
    await sleep(2500);
    const path = join(outDir, `screenshot-${w}x${h}.png`);
    await ada.page.screenshot({ path });
    process.stdout.write(`wrote ${path}\n`);
  }
} finally {
  await browser.close();
  await server.close();
}
