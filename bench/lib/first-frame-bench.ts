import { startTestServer } from '../../test/testkit/proxima.ts';
import { TestBrowser } from '../../test/testkit/browser.ts';
import { printTable } from './table.ts';
import { writeResults } from './results.ts';
import { startPublisher, summarize } from './page-marks.ts';

/** One first-frame bench: A publishes; each run a fresh page B does something that ends in A's first frame. */
export interface FirstFrameBench<S> {
  name: string;
  title: (runs: number) => string;
  runs: number;
  publisherAt: { x: number; y: number };
  /** B's URL for run `i` in `space` (the page at `/` with its parameters). */
  url: (serverUrl: string, space: string, i: number) => string;
  oneRun: (browser: TestBrowser, url: string, publisherId: string, run: number) => Promise<S>;
  /** One stderr line per run. */
  describe: (s: S) => string;
  intervals: ReadonlyArray<readonly [string, string, (s: S) => number]>;
  config: Record<string, unknown>;
}

/** Server, browser and publisher up; 1 warm-up run + `runs`; a table and bench/results/<name>.json. */
export async function runFirstFrameBench<S>(b: FirstFrameBench<S>): Promise<void> {
  const server = await startTestServer();
  const browser = await TestBrowser.launch();
  const samples: S[] = [];
  try {
    const space = `${b.name}-${Date.now()}`;
    const a = await startPublisher(browser, server.url, space, 'A', b.publisherAt);
    process.stderr.write(`${b.name}: A=${a.id} publishing at (${b.publisherAt.x}, ${b.publisherAt.y}); 1 warm-up + ${b.runs} runs\n`);
    for (let i = 0; i <= b.runs; i++) {
      const s = await b.oneRun(browser, b.url(server.url, space, i), a.id, i);
      if (i > 0) samples.push(s); // run 0 warms the browser's and the server's caches
      process.stderr.write(`  run ${i}${i === 0 ? ' (warm-up)' : ''}: ${b.describe(s)}\n`);
      await new Promise((r) => setTimeout(r, 1000)); // B's departure settles; A's keyframe throttle window (500 ms) passes
    }
    await a.page.close();
  } finally {
    await browser.close();
    await server.close();
  }
  const { rows, summary } = summarize(samples, b.intervals);
  printTable(b.title(samples.length), ['interval', 'median', 'p90', 'min', 'max', 'n'], rows);
  const path = writeResults(b.name, { config: { runs: b.runs, warmupRuns: 1, ...b.config }, summary, samples });
  process.stdout.write(`wrote ${path}\n`);
}
