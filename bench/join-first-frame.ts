/**
 * Join → first frame with real Chromium, in a proximity space: A publishes its (fake) camera at (30, 20);
 * B (publish=0) navigates to the page at (32, 20), two tiles away. Joining puts B within A's connect radius,
 * so the server links them and offers A's tracks to B on its own; B answers and shows A's video. The page is
 * instrumented before its own scripts run (bench/lib/page-marks.ts), so no automation round trip sits inside
 * a measured interval. Times are B's performance.now(), whose origin is B's navigation start.
 *
 * Run: node --import tsx bench/join-first-frame.ts [--runs 10]
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
const FIRST_FRAME_TIMEOUT_MS = 20_000;
const A_AT = { x: 30, y: 20 };
const B_AT = { x: 32, y: 20 };

interface Sample extends PageMarks {
  run: number;
  /** Server side, during the run: PLIs sent to A (after throttling), packets for B dropped before its SRTP keys existed. */
  keyframeRequestsSent: number;
  sentBeforeConnected: number;
}

async function oneRun(browser: TestBrowser, url: string, publisherId: string, run: number): Promise<Sample> {
  const page: Page = await browser.page('about:blank');
  const pli0 = packetStats.keyframeRequestsSent;
  const early0 = dropCount('srtp_not_ready');
  try {
    await page.addInitScript(instrumentScript({ publisherId, publisherAt: A_AT, radius: CONNECT_RADIUS }));
    await page.goto(url);
    const marks = await firstFrame(page, FIRST_FRAME_TIMEOUT_MS).catch(async (e: Error) => {
      throw new Error(`run ${run}: ${e.message}; marks ${JSON.stringify(await currentMarks(page))}`);
    });
    return { run, ...marks, keyframeRequestsSent: packetStats.keyframeRequestsSent - pli0, sentBeforeConnected: dropCount('srtp_not_ready') - early0 };
  } finally {
    await page.close();
  }
}

const intervals: [string, string, (s: Sample) => number][] = [
  ['navigation → first frame', 'navigationToFirstFrameMs', (s) => s.firstFramePresented],
  ['joined → first frame', 'joinedToFirstFrameMs', (s) => between(s.joined, s.firstFramePresented)],
  ['navigation → WebSocket open (page, token)', 'navigationToWsOpenMs', (s) => s.wsOpen],
  ['WebSocket open → joined', 'wsOpenToJoinedMs', (s) => between(s.wsOpen, s.joined)],
  ['joined → subscribe offer', 'joinedToOfferMs', (s) => between(s.joined, s.offer)],
  ['joined → links with A', 'joinedToLinksMs', (s) => between(s.joined, s.linksWithPublisher)],
  ['offer → answer sent', 'offerToAnswerMs', (s) => between(s.offer, s.answerSent)],
  ['answer sent → connected (ICE+DTLS)', 'answerToConnectedMs', (s) => between(s.answerSent, s.pcConnected)],
  ['connected → first frame received', 'connectedToFirstReceiveMs', (s) => between(s.pcConnected, s.firstFrameReceived)],
  ['first frame received → presented', 'receiveToPresentMs', (s) => between(s.firstFrameReceived, s.firstFramePresented)],
];
await runFirstFrameBench<Sample>({
  name: 'join-first-frame',
  title: (n) => `Join → first frame in a proximity space, real Chromium on loopback, ms (${n} runs after 1 warm-up)`,
  runs: RUNS,
  publisherAt: A_AT,
  url: (serverUrl, space, i) => `${serverUrl}/?space=${space}&name=B${i}&publish=0&x=${B_AT.x}&y=${B_AT.y}`,
  oneRun,
  describe: (s) =>
    `first frame at ${s.firstFramePresented.toFixed(0)} ms, ${(s.firstFramePresented - s.joined).toFixed(0)} ms after joined (PLIs ${s.keyframeRequestsSent}, packets before connected ${s.sentBeforeConnected}, presentedFrames ${s.presentedFrames}, long tasks ${JSON.stringify(s.longTasks)})`,
  intervals,
  config: { browser: 'chromium (headless, fake camera 640×480)', map: 'office', publisherAt: A_AT, subscriberAt: B_AT, connectRadius: CONNECT_RADIUS },
});
