/**
 * Shared by the real-Chromium benches (join-first-frame, walk-in-first-frame): a publisher page, and an init
 * script that instruments a receiving page before the app's own scripts run (WebSocket traffic, the
 * subscribe RTCPeerConnection, requestVideoFrameCallback on the video showing the publisher). Every mark is
 * the receiving page's performance.now(), whose origin is that page's navigation start, so no automation
 * round trip sits inside a measured interval.
 */
import { TestBrowser, waitFor, type Page } from '../../test/testkit/browser.ts';
import { median, percentile } from './stats.ts';
import { fmt } from './table.ts';

/** Marks in ms since the page's navigation start; -1 until seen. */
export interface PageMarks {
  wsOpen: number;
  /** The `joined` response arrived. */
  joined: number;
  /** The first `move` request left the page. */
  moveSent: number;
  /** The `moved` response arrived (a goTo walk: when the server says the walk is over). */
  moved: number;
  /** The first `peopleChanged` push placing this page's person within the connect radius of the publisher. */
  selfInRange: number;
  /** The first `links` push whose link set contains the publisher: the server decided we receive it. */
  linksWithPublisher: number;
  /** The first `subscriberOffer` push (the page does not publish: every offer is for the publisher). */
  offer: number;
  /** The page's `subscriberAnswer` to it left. */
  answerSent: number;
  /** The subscribe RTCPeerConnection reached 'connected' (ICE and DTLS done). */
  pcConnected: number;
  /** The `<video data-publisher=…>` showing the publisher appeared in the document. */
  videoElement: number;
  /** requestVideoFrameCallback metadata of the publisher's first frame. */
  firstFrameReceived: number;
  firstFramePresented: number;
  /** metadata.presentedFrames of that callback (1 = it really was the first frame the element showed). */
  presentedFrames: number;
  /** The page's long tasks (main thread busy ≥ 50 ms) until the first frame: [start, duration] in ms. */
  longTasks: Array<[number, number]>;
}

export interface InstrumentOptions {
  /** Participant id of the publisher whose first frame is awaited. */
  publisherId: string;
  /** Where the publisher stands, and the connect radius, for `selfInRange`. */
  publisherAt: { x: number; y: number };
  radius: number;
}

/**
 * The init script (page.addInitScript). A string, not a function: tsx's transform decorates named functions
 * with a helper that does not exist in the page. Sets `window.__marks` and `window.__firstFrame`.
 */
export function instrumentScript(o: InstrumentOptions): string {
  return `(() => {
  const cfg = ${JSON.stringify(o)};
  const marks = { wsOpen: -1, joined: -1, moveSent: -1, moved: -1, selfInRange: -1, linksWithPublisher: -1, offer: -1, answerSent: -1, pcConnected: -1, videoElement: -1, firstFrameReceived: -1, firstFramePresented: -1, presentedFrames: -1, longTasks: [] };
  window.__marks = marks;
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) marks.longTasks.push([Math.round(e.startTime), Math.round(e.duration)]); }).observe({ type: 'longtask', buffered: true });
  } catch {}
  let selfId = null;
  const once = (k) => { if (marks[k] < 0) marks[k] = performance.now(); };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data === 'string') {
      if (data.includes('"type":"move"')) once('moveSent');
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
        if (typeof ev.data !== 'string') return;
        const t = performance.now();
        const m = /"type":"(\\w+)"/.exec(ev.data);
        const type = m ? m[1] : '';
        if (type === 'subscriberOffer') { once('offer'); return; }
        if (type !== 'joined' && type !== 'moved' && type !== 'links' && type !== 'peopleChanged') return;
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        if (type === 'joined') { once('joined'); selfId = msg.participantId; }
        else if (type === 'moved') once('moved');
        else if (type === 'links') {
          if (marks.linksWithPublisher < 0 && msg.links.some((l) => l.participantId === cfg.publisherId)) marks.linksWithPublisher = t;
        } else if (marks.selfInRange < 0) {
          for (const p of msg.upserts) {
            if (p.id !== selfId) continue;
            if (Math.hypot(p.x - cfg.publisherAt.x, p.y - cfg.publisherAt.y) <= cfg.radius) marks.selfInRange = t;
          }
        }
      });
    }
  };
  // The page does not publish, so its only RTCPeerConnection is the subscribe one.
  const NativePc = RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePc {
    constructor(config) {
      super(config);
      this.addEventListener('connectionstatechange', () => { if (this.connectionState === 'connected') once('pcConnected'); });
    }
  };
  window.__firstFrame = new Promise((resolve) => {
    // The video strip creates <video data-publisher=id> (in .bubble[data-participant=id]) when the link or the
    // track appears; watch it from then on, before it can present a frame.
    const selector = 'video[data-publisher="' + CSS.escape(cfg.publisherId) + '"]';
    const mo = new MutationObserver(() => {
      const v = document.querySelector(selector);
      if (!v) return;
      mo.disconnect();
      once('videoElement');
      v.requestVideoFrameCallback((now, meta) => {
        marks.firstFramePresented = meta.presentationTime;
        marks.firstFrameReceived = meta.receiveTime ?? -1;
        marks.presentedFrames = meta.presentedFrames;
        resolve(marks);
      });
    });
    mo.observe(document, { childList: true, subtree: true });
  });
})();`;
}

/** The page's first frame of the publisher (its marks), or an error after `timeoutMs`. */
export async function firstFrame(page: Page, timeoutMs: number): Promise<PageMarks> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const marks = await Promise.race([
      page.evaluate(() => (window as unknown as { __firstFrame: Promise<PageMarks> }).__firstFrame),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no first frame within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    if (!marks || !(marks.firstFramePresented > 0)) throw new Error(`page instrumentation failed (${JSON.stringify(marks)})`);
    // Long-task entries are delivered asynchronously: collect the ones up to the first frame a moment later.
    await new Promise((r) => setTimeout(r, 100));
    const later = await currentMarks(page);
    marks.longTasks = (later?.longTasks ?? marks.longTasks).filter(([start]) => start <= marks.firstFramePresented);
    return marks;
  } finally {
    clearTimeout(timer);
  }
}

/** The page's marks as they are now (for a failed run's message). */
export function currentMarks(page: Page): Promise<PageMarks | undefined> {
  return page.evaluate(() => (window as unknown as { __marks?: PageMarks }).__marks).catch(() => undefined);
}

/**
 * Publisher A: a page with the fake camera at (x, y); resolves once its video is being encoded and sent,
 * not just negotiated.
 */
export async function startPublisher(browser: TestBrowser, serverUrl: string, space: string, name: string, at: { x: number; y: number }): Promise<{ page: Page; id: string }> {
  const page = await browser.page(`${serverUrl}/?space=${encodeURIComponent(space)}&name=${encodeURIComponent(name)}&publish=1&x=${at.x}&y=${at.y}`);
  const id = (await page.evaluate(() => (window as unknown as { proxima: { ready: Promise<string> } }).proxima.ready)) as string;
  const self = (await page.evaluate(() => (window as unknown as { proxima: { self(): { x: number; y: number } | null } }).proxima.self())) as { x: number; y: number } | null;
  if (!self || self.x !== at.x || self.y !== at.y) throw new Error(`publisher placed at ${JSON.stringify(self)}, asked for ${at.x},${at.y}`);
  await waitFor(`${name} to send video`, async () => {
    const st = (await page.evaluate(() => (window as unknown as { proxima: { stats(): Promise<{ outbound: { kind: string; framesEncoded?: number }[] }> } }).proxima.stats())) as {
      outbound: { kind: string; framesEncoded?: number }[];
    };
    return st.outbound.some((s) => s.kind === 'video' && (s.framesEncoded ?? 0) > 30);
  });
  return { page, id };
}

export interface Summary {
  median: number;
  p90: number;
  min: number;
  max: number;
  n: number;
}

/** One table row and one summary entry per interval: [label, JSON key, value of a sample (NaN = not seen)]. */
export function summarize<S>(samples: readonly S[], intervals: ReadonlyArray<readonly [string, string, (s: S) => number]>): { rows: string[][]; summary: Record<string, Summary> } {
  const summary: Record<string, Summary> = {};
  const rows = intervals.map(([label, key, f]) => {
    const xs = samples.map(f).filter((x) => Number.isFinite(x));
    const r: Summary = { median: median(xs), p90: percentile(xs, 90), min: xs.length ? Math.min(...xs) : NaN, max: xs.length ? Math.max(...xs) : NaN, n: xs.length };
    summary[key] = r;
    return [label, fmt(r.median, 0), fmt(r.p90, 0), fmt(r.min, 0), fmt(r.max, 0), String(r.n)];
  });
  return { rows, summary };
}

/** b − a when both marks were seen, else NaN. */
export const between = (a: number, b: number): number => (a >= 0 && b >= 0 ? b - a : NaN);
