/**
 * Join → first frame with real Chromium: A publishes its (fake) camera; B navigates to the page with
 * autosubscribe=1, joins, subscribes to A and shows A's video. The page is instrumented before its own
 * scripts run (WebSocket messages, and requestVideoFrameCallback on the first <video> showing A), so no
 * automation round trip sits inside the measured interval. Times are the page's performance.now(),
 * whose origin is B's navigation start.
 *
 * Run: node --import tsx bench/join-first-frame.ts [--runs 10]
 */
import { parseArgs } from 'node:util';
import { startTestServer } from '../test/testkit/proxima.ts';
import { TestBrowser, waitFor, type Page } from '../test/testkit/browser.ts';
import { median, percentile } from './lib/stats.ts';
import { fmt, printTable } from './lib/table.ts';
import { writeResults } from './lib/results.ts';
import { dropCount } from '../src/metrics/drop-reasons.ts';
import { packetStats } from '../src/metrics/registry.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const RUNS = Number(args.runs);
const FIRST_FRAME_TIMEOUT_MS = 20_000;

/** Marks in ms since B's navigation start; -1 until seen. */
interface Marks {
  wsOpen: number;
  joined: number;
  subscribeSent: number;
  subscribed: number;
  offer: number;
  answerSent: number;
  /** The subscribe RTCPeerConnection reached 'connected' (ICE and DTLS done). */
  pcConnected: number;
  /** requestVideoFrameCallback metadata of A's first frame at B. */
  firstFrameReceived: number;
  firstFramePresented: number;
}

/**
 * Runs in B's page before any of its scripts (page.addInitScript). A string, not a function: tsx's
 * transform decorates named functions with a helper that does not exist in the page.
 */
const INSTRUMENT = `(() => {
  const marks = { wsOpen: -1, joined: -1, subscribeSent: -1, subscribed: -1, offer: -1, answerSent: -1, pcConnected: -1, firstFrameReceived: -1, firstFramePresented: -1 };
  window.__marks = marks;
  const once = (k) => { if (marks[k] < 0) marks[k] = performance.now(); };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data === 'string') {
      if (data.includes('"type":"subscribe"')) once('subscribeSent');
      else if (data.includes('"type":"subscriberAnswer"')) once('answerSent');
    }
    return send.call(this, data);
  };
  const Native = WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('open', () => once('wsOpen'));
      this.addEventListener('message', (ev) => {
        const m = typeof ev.data === 'string' ? /"type":"(\\w+)"/.exec(ev.data) : null;
        const type = m ? m[1] : '';
        if (type === 'joined') once('joined');
        else if (type === 'subscribed') once('subscribed');
        else if (type === 'subscriberOffer') once('offer');
      });
    }
  };
  // B does not publish, so its only RTCPeerConnection is the subscribe one: ICE + DTLS done = connected.
  const NativePc = RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePc {
    constructor(config) {
      super(config);
      this.addEventListener('connectionstatechange', () => { if (this.connectionState === 'connected') once('pcConnected'); });
    }
  };
  window.__firstFrame = new Promise((resolve) => {
    // The app appends <video data-publisher> in its track handler; catch it before it can present a frame.
    const mo = new MutationObserver(() => {
      const v = document.querySelector('video[data-publisher]');
      if (!v) return;
      mo.disconnect();
      v.requestVideoFrameCallback((now, meta) => {
        marks.firstFramePresented = meta.presentationTime;
        marks.firstFrameReceived = meta.receiveTime ?? -1;
        resolve(marks);
      });
    });
    mo.observe(document, { childList: true, subtree: true });
  });
})();`;

interface Sample extends Marks {
  run: number;
  /** Server side, during the run: PLIs sent to A (after throttling), packets for B dropped before its SRTP keys existed. */
  keyframeRequestsSent: number;
  sentBeforeConnected: number;
}

async function oneRun(browser: TestBrowser, url: string, run: number): Promise<Sample> {
  const page: Page = await browser.page('about:blank');
  const pli0 = packetStats.keyframeRequestsSent;
  const early0 = dropCount('srtp_not_ready');
  try {
    await page.addInitScript(INSTRUMENT);
    await page.goto(url);
    const marks = await Promise.race([
      page.evaluate(() => (window as unknown as { __firstFrame: Promise<Marks> }).__firstFrame),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no first frame within ${FIRST_FRAME_TIMEOUT_MS} ms`)), FIRST_FRAME_TIMEOUT_MS)),
    ]);
    if (!marks || !(marks.firstFramePresented > 0)) throw new Error(`run ${run}: page instrumentation failed (${JSON.stringify(marks)})`);
    return { run, ...marks, keyframeRequestsSent: packetStats.keyframeRequestsSent - pli0, sentBeforeConnected: dropCount('srtp_not_ready') - early0 };
  } finally {
    await page.close();
  }
}

const server = await startTestServer();
const browser = await TestBrowser.launch();
const samples: Sample[] = [];
try {
  const space = `jff${Date.now()}`;
  const a = await browser.page(`${server.url}/?space=${space}&name=A&publish=1`);
  const aId = (await a.evaluate(() => (window as unknown as { proxima: { ready: Promise<string> } }).proxima.ready)) as string;
  // "A already publishing": its video is being encoded and sent, not just negotiated.
  await waitFor('A to send video', async () => {
    const st = (await a.evaluate(() => (window as unknown as { proxima: { stats(): Promise<{ outbound: { kind: string; framesEncoded?: number }[] }> } }).proxima.stats())) as { outbound: { kind: string; framesEncoded?: number }[] };
    return st.outbound.some((s) => s.kind === 'video' && (s.framesEncoded ?? 0) > 30);
  });
  process.stderr.write(`join-first-frame: A=${aId} publishing; 1 warm-up + ${RUNS} runs\n`);
  for (let i = 0; i <= RUNS; i++) {
    const s = await oneRun(browser, `${server.url}/?space=${space}&name=B${i}&publish=0&autosubscribe=1`, i);
    if (i > 0) samples.push(s); // run 0 warms the browser's and the server's caches
    process.stderr.write(`  run ${i}${i === 0 ? ' (warm-up)' : ''}: first frame at ${s.firstFramePresented.toFixed(0)} ms, ${(s.firstFramePresented - s.subscribeSent).toFixed(0)} ms after subscribe (PLIs ${s.keyframeRequestsSent}, packets before connected ${s.sentBeforeConnected})\n`);
    await new Promise((r) => setTimeout(r, 1000)); // B's departure settles; A's keyframe throttle window (500 ms) passes
  }
  await a.close();
} finally {
  await browser.close();
  await server.close();
}

const metrics: [string, string, (s: Sample) => number][] = [
  ['navigation (join) → first frame', 'joinToFirstFrameMs', (s) => s.firstFramePresented],
  ['subscribe sent → first frame', 'subscribeToFirstFrameMs', (s) => s.firstFramePresented - s.subscribeSent],
  ['navigation → joined', 'navigationToJoinedMs', (s) => s.joined],
  ['subscribe sent → subscribe offer', 'subscribeToOfferMs', (s) => s.offer - s.subscribeSent],
  ['offer → answer sent', 'offerToAnswerMs', (s) => s.answerSent - s.offer],
  ['answer sent → connected (ICE+DTLS)', 'answerToConnectedMs', (s) => s.pcConnected - s.answerSent],
  ['connected → first frame received', 'connectedToFirstReceiveMs', (s) => (s.firstFrameReceived < 0 ? NaN : s.firstFrameReceived - s.pcConnected)],
  ['first frame received → presented', 'receiveToPresentMs', (s) => (s.firstFrameReceived < 0 ? NaN : s.firstFramePresented - s.firstFrameReceived)],
];
const summary: Record<string, { median: number; p90: number; min: number; max: number }> = {};
const rows = metrics.map(([label, key, f]) => {
  const xs = samples.map(f).filter((x) => Number.isFinite(x));
  const r = { median: median(xs), p90: percentile(xs, 90), min: Math.min(...xs), max: Math.max(...xs) };
  summary[key] = r;
  return [label, fmt(r.median, 0), fmt(r.p90, 0), fmt(r.min, 0), fmt(r.max, 0)];
});
printTable(`Join → first frame, real Chromium on loopback, ms (${samples.length} runs after 1 warm-up)`, ['interval', 'median', 'p90', 'min', 'max'], rows);
const path = writeResults('join-first-frame', { config: { runs: RUNS, warmupRuns: 1, browser: 'chromium (headless, fake camera 640×480)' }, summary, samples });
process.stdout.write(`wrote ${path}\n`);
