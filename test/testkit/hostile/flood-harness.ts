/**
 * Runs issue 15's floods against a server and measures what a neighbour keeps (used by
 * test/integration/hostile-floods.test.ts and bench/floods.ts). The publisher A and its neighbour B run in
 * one child process (neighbour.ts), each flooder in another (flooder.ts), as they would on their own
 * machines: only the server's work shares the server's thread. Times are Date.now(), one clock for all.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dropCount, type DropReason } from '../../../src/metrics/drop-reasons.ts';

export type FloodKind = 'twcc' | 'sdp' | 'publish50' | 'hello';
export const FLOOD_MS = 8000;
export const BASELINE_MS = 2000;
const FLOODER = fileURLToPath(new URL('./flooder.ts', import.meta.url));
const NEIGHBOUR = fileURLToPath(new URL('./neighbour.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Measured {
  packets: number;
  maxGapMs: number;
  perStream: string;
}

export interface FlooderReport {
  closes: Array<{ code: number; reason: string; atMs: number }>;
  stats: Record<string, number>;
  ms: number;
}

export interface FloodResult {
  kind: FloodKind;
  report: FlooderReport;
  /** B's packet rate from A during the flood (until the flooder was cut off) over its rate just before. */
  ratio: number;
  baselinePps: number;
  /** Longest silence of any of A's streams at B during the flood. */
  maxGapMs: number;
  floodMs: number;
  perStream: string;
  drops: Record<string, number>;
}

/** Runs one flooder to its end; `onStart` is called when its flood begins. */
function runFlooder(url: string, space: string, kind: FloodKind, x: number, y: number, lowPriority: boolean, onStart: () => void): Promise<FlooderReport> {
  return new Promise((resolve, reject) => {
    const child = fork(FLOODER, [url, space, kind, String(x), String(y), String(FLOOD_MS)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // An attacker floods from its own machine: here its process shares our two cores, so it runs at the lowest
    // priority, taking what the server and the neighbour leave. Its sent count says whether it kept its rate.
    if (lowPriority && child.pid !== undefined) setPriority(child.pid, 19);
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`flooder ${kind} did not finish`));
    }, FLOOD_MS + 30_000);
    child.on('message', (m: { event: string } & Partial<FlooderReport> & { message?: string }) => {
      if (m.event === 'ready') onStart();
      else if (m.event === 'done') {
        clearTimeout(timer);
        resolve(m as FlooderReport);
      } else if (m.event === 'error') {
        clearTimeout(timer);
        reject(new Error(`flooder ${kind}: ${m.message}`));
      }
    });
    child.on('exit', (code) => {
      if (code !== 0) {
        clearTimeout(timer);
        reject(new Error(`flooder ${kind} exited with ${code}`));
      }
    });
  });
}

export class FloodHarness {
  private measured: ((m: Measured) => void) | null = null;
  private constructor(
    private readonly url: string,
    private readonly space: string,
    private readonly neighbour: ChildProcess,
    /** Flooders at the lowest CPU priority (default): their CPU is not the server's in the world. */
    readonly lowPriorityFlooders = true,
  ) {}

  /** Starts A and B (A at 4, B at 6 along y = 16 of the office map) and waits for a baseline. */
  static async start(url: string, space: string, lowPriorityFlooders = true): Promise<FloodHarness> {
    const neighbour = fork(NEIGHBOUR, [url, space], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const h = new FloodHarness(url, space, neighbour, lowPriorityFlooders);
    await new Promise<void>((resolve, reject) => {
      neighbour.on('message', (m: { event: string; message?: string } & Measured) => {
        if (m.event === 'ready') resolve();
        else if (m.event === 'error') reject(new Error(`neighbour: ${m.message}`));
        else if (m.event === 'measured') h.measured?.(m);
      });
      neighbour.on('exit', (code) => code !== 0 && reject(new Error(`neighbour exited with ${code}`)));
    });
    await sleep(BASELINE_MS);
    return h;
  }

  /** B's packets from A in [from, to) (Date.now() ms), and the longest silence of any of A's streams there. */
  measure(from: number, to: number): Promise<Measured> {
    return new Promise((resolve) => {
      this.measured = resolve;
      this.neighbour.send({ cmd: 'measure', from, to });
    });
  }

  /** One flood from (x, y); counts `reasons` in this process's drop counters (the server's). */
  async flood(kind: FloodKind, x: number, y: number, reasons: DropReason[] = []): Promise<FloodResult> {
    const dropsBefore = reasons.map((r) => dropCount(r));
    // The baseline ends before the flooder's process starts (its start-up is CPU too, and not the flood).
    const baseEnd = Date.now();
    let start = 0;
    const report = await runFlooder(this.url, this.space, kind, x, y, this.lowPriorityFlooders, () => (start = Date.now()));
    const end = Date.now();
    const lastClose = Math.max(0, ...report.closes.map((c) => c.atMs));
    const floodEnd = Math.min(end, start + (report.closes.length > 0 ? lastClose : FLOOD_MS));
    const base = await this.measure(baseEnd - BASELINE_MS, baseEnd);
    const during = await this.measure(start, floodEnd);
    const baselinePps = (base.packets / BASELINE_MS) * 1000;
    const ratio = during.packets / Math.max(1, floodEnd - start) / (base.packets / BASELINE_MS);
    const drops = Object.fromEntries(reasons.map((r, i) => [r, dropCount(r) - dropsBefore[i]!]));
    await sleep(BASELINE_MS); // the next flood's baseline
    return { kind, report, ratio, baselinePps, maxGapMs: during.maxGapMs, floodMs: floodEnd - start, perStream: during.perStream, drops };
  }

  async stop(): Promise<void> {
    this.neighbour.send({ cmd: 'stop' });
    await sleep(300);
    this.neighbour.kill();
  }
}

/** What the flooder sent per second of its flood (until it was cut off): packets, and Mbit/s for publish50. */
export function floodRate(r: FloodResult): string {
  const pps = ((r.report.stats.sent ?? 0) / Math.max(1, r.floodMs)) * 1000;
  return r.kind === 'publish50' ? `${((pps * 1200 * 8) / 1e6).toFixed(1)} Mbit/s` : `${pps.toFixed(0)}/s`;
}

export function describeFlood(r: FloodResult): string {
  return `${r.kind} (sent ${floodRate(r)}): neighbour rate ${(r.ratio * 100).toFixed(1)} % of baseline (${r.baselinePps.toFixed(0)} pkt/s), max gap ${r.maxGapMs.toFixed(0)} ms over ${r.floodMs.toFixed(0)} ms (${r.perStream}); flooder ${JSON.stringify(r.report.stats)}, closed ${JSON.stringify(r.report.closes)}, drops ${JSON.stringify(r.drops)}`;
}
