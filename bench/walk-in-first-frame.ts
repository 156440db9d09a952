/**
 * Walk in → first frame with real Chromium: A publishes its (fake) camera at (30, 20). B (publish=0) joins
 * far away at (3, 27), out of A's range, and waits until joined; then B walks (a server-side goTo, at the
 * server's walking speed) to (33, 21), ~3 tiles from A. On the way B's position enters A's connect radius:
 * the server links them, offers A's tracks to B and pushes B's new link set; B answers and shows A's video.
 * The interval measured is from that `links` push (A in B's links) to A's first decoded frame presented at B.
 * A fresh page per run; the page is instrumented before its own scripts run (bench/lib/page-marks.ts), so no
 * automation round trip sits inside a measured interval except the start of the walk, which is marked in
 * the page when the `move` request leaves it. Times are B's performance.now().
 *
 * Run: node --import tsx bench/walk-in-first-frame.ts [--runs 10]
 */
import { parseArgs } from 'node:util';
import type { TestBrowser, Page } from '../test/testkit/browser.ts';
import { between, currentMarks, firstFrame, instrumentScript, type PageMarks } from './lib/page-marks.ts';
import { runFirstFrameBench } from './lib/first-frame-bench.ts';
import { dropCount } from '../src/metrics/drop-reasons.ts';
import { packetStats } from '../src/metrics/registry.ts';
import { CONNECT_RADIUS } from '../src/proximity/rules.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const RUNS = Number(args.runs);
const FIRST_FRAME_TIMEOUT_MS = 30_000;
const A_AT = { x: 30, y: 20 };
const B_START = { x: 3, y: 27 };
const B_TARGET = { x: 33, y: 21 };

type Proxima = {
  ready: Promise<string>;
  move(x: number, y: number): Promise<{ x: number; y: number }>;
  self(): { x: number; y: number } | null;
  links(): Array<{ participantId: string }>;
};

interface Sample extends PageMarks {
  run: number;
  /** Where B stood when the page read its position right after the first frame (the walk may still be going on). */
  atFirstFrame: { x: number; y: number } | null;
  /** Server side, during the run: PLIs sent to A (after throttling), packets for B dropped before its SRTP keys existed. */
  keyframeRequestsSent: number;
  sentBeforeConnected: number;
}

async function oneRun(browser: TestBrowser, url: string, publisherId: string, run: number): Promise<Sample> {
  const page: Page = await browser.page('about:blank');
  try {
    await page.addInitScript(instrumentScript({ publisherId, publisherAt: A_AT, radius: CONNECT_RADIUS }));
    await page.goto(url);
    await page.evaluate(() => (window as unknown as { proxima: Proxima }).proxima.ready);
    const start = await page.evaluate(() => ({ self: (window as unknown as { proxima: Proxima }).proxima.self(), links: (window as unknown as { proxima: Proxima }).proxima.links().length }));
    if (!start.self || start.self.x !== B_START.x || start.self.y !== B_START.y || start.links !== 0) throw new Error(`run ${run}: B should start alone at ${B_START.x},${B_START.y}: ${JSON.stringify(start)}`);
    // Let the join settle (people, links, map drawing) so the walk starts from an idle page.
    await new Promise((r) => setTimeout(r, 300));
    const pli0 = packetStats.keyframeRequestsSent;
    const early0 = dropCount('srtp_not_ready');
    // Not awaited here: the walk resolves on arrival, which may come before or after the first frame.
    const walk = page.evaluate(([x, y]) => (window as unknown as { proxima: Proxima }).proxima.move(x!, y!), [B_TARGET.x, B_TARGET.y]);
    walk.catch(() => undefined);
    const marks = await firstFrame(page, FIRST_FRAME_TIMEOUT_MS).catch(async (e: Error) => {
      throw new Error(`run ${run}: ${e.message}; marks ${JSON.stringify(await currentMarks(page))}`);
    });
    const atFirstFrame = await page.evaluate(() => (window as unknown as { proxima: Proxima }).proxima.self());
    const arrived = await walk;
    if (arrived.x !== B_TARGET.x || arrived.y !== B_TARGET.y) throw new Error(`run ${run}: walk ended at ${JSON.stringify(arrived)}`);
    const moved = (await currentMarks(page))?.moved ?? -1;
    return { run, ...marks, moved, atFirstFrame, keyframeRequestsSent: packetStats.keyframeRequestsSent - pli0, sentBeforeConnected: dropCount('srtp_not_ready') - early0 };
  } finally {
    await page.close();
  }
}

const intervals: [string, string, (s: Sample) => number][] = [
  ['in range (subscribe offer) → first frame', 'offerToFirstFrameMs', (s) => between(s.offer, s.firstFramePresented)],
  ['links push → first frame', 'inRangeToFirstFrameMs', (s) => between(s.linksWithPublisher, s.firstFramePresented)],
  ['walk start (move sent) → first frame', 'walkStartToFirstFrameMs', (s) => between(s.moveSent, s.firstFramePresented)],
  ['walk start → in range', 'walkStartToInRangeMs', (s) => between(s.moveSent, s.linksWithPublisher)],
  ['offer → links push (same server turn)', 'offerToLinksMs', (s) => between(s.offer, s.linksWithPublisher)],
  ['links push → own position in range', 'linksToSelfInRangeMs', (s) => between(s.linksWithPublisher, s.selfInRange)],
  ['offer → answer sent', 'offerToAnswerMs', (s) => between(s.offer, s.answerSent)],
  ['answer sent → connected (ICE+DTLS)', 'answerToConnectedMs', (s) => between(s.answerSent, s.pcConnected)],
  ['connected → first frame received', 'connectedToFirstReceiveMs', (s) => between(s.pcConnected, s.firstFrameReceived)],
  ['first frame received → presented', 'receiveToPresentMs', (s) => between(s.firstFrameReceived, s.firstFramePresented)],
  ['walk start → arrived (moved)', 'walkStartToArrivedMs', (s) => between(s.moveSent, s.moved)],
];
await runFirstFrameBench<Sample>({
  name: 'walk-in-first-frame',
  title: (n) => `Walk in → first frame in a proximity space, real Chromium on loopback, ms (${n} runs after 1 warm-up)`,
  runs: RUNS,
  publisherAt: A_AT,
  url: (serverUrl, space, i) => `${serverUrl}/?space=${space}&name=B${i}&publish=0&x=${B_START.x}&y=${B_START.y}`,
  oneRun,
  describe: (s) =>
    `in range ${(s.linksWithPublisher - s.moveSent).toFixed(0)} ms into the walk, first frame ${(s.firstFramePresented - s.linksWithPublisher).toFixed(0)} ms later (PLIs ${s.keyframeRequestsSent}, packets before connected ${s.sentBeforeConnected}, presentedFrames ${s.presentedFrames}, long tasks ${JSON.stringify(s.longTasks.filter(([t]) => t >= s.moveSent))})`,
  intervals,
  config: { browser: 'chromium (headless, fake camera 640×480)', map: 'office', publisherAt: A_AT, subscriberStart: B_START, subscriberTarget: B_TARGET, connectRadius: CONNECT_RADIUS, walk: 'goTo (server walking speed, default 8 tiles/s)' },
});
