import type { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { startWorker } from '../../util/ts-worker.ts';
import { Doorbell } from '../../transport/workers/doorbell.ts';
import { linkWorkers } from '../../transport/workers/worker-relay-link.ts';
import { addDropSource } from '../../metrics/drop-reasons.ts';
import { setRemoteHistogramReader, setRemoteStatReader } from '../../metrics/registry.ts';
import type { Logger } from '../../util/logger.ts';
import type { DtlsLimits } from '../../transport/dtls/handshake-guard.ts';
import type { IngressLimits } from '../../media/ingress-gate.ts';
import type { MediaEvent, WorkerInit, WorkerMessage, WorkerRequest, WorkerStatsReport } from './worker-protocol.ts';

/** A request without its id (the pool numbers them). */
export type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/**
 * Ring bytes per ordered pair of workers: 2 MiB holds ~1,700 packets of 1,200 bytes (~0.2 s of 100 Mbit/s
 * crossing one way). N workers have N·(N−1) rings, so beyond 4 workers each is smaller (16 workers: 240
 * rings of 512 KiB = 120 MiB, resident only as far as they have been written).
 */
const ringBytes = (workers: number) => (workers <= 4 ? 2 << 20 : 512 << 10);
/** A worker with the newcomer's neighbours is chosen while it is at most this much busier (share of a core). */
export const AFFINITY_HEADROOM = 0.15;

/**
 * Pure placement: the least busy live worker, unless the one with most of the newcomer's neighbours is at
 * most AFFINITY_HEADROOM busier. -1 when none is alive.
 */
export function choosePlacement(workers: ReadonlyArray<{ alive: boolean; score: number; near: number }>): number {
  let least = -1;
  let nearest = -1;
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i]!;
    if (!w.alive) continue;
    if (least < 0 || w.score < workers[least]!.score) least = i;
    if (w.near > 0 && (nearest < 0 || w.near > workers[nearest]!.near || (w.near === workers[nearest]!.near && w.score < workers[nearest]!.score))) nearest = i;
  }
  if (nearest >= 0 && workers[nearest]!.score <= workers[least]!.score + AFFINITY_HEADROOM) return nearest;
  return least;
}

/** Placement reads each worker's busy share over about this window. */
const LOAD_WINDOW_MS = 1000;

export interface WorkerPoolOptions {
  workers: number;
  bindIp: string;
  /** The first worker's UDP port; worker i binds port + i (0: each any free port). */
  port: number;
  announcedIp: string;
  candidateIps?: string[];
  /** The first worker's ICE-TCP port; worker i listens on tcpPort + i (0: any free one; null: off). */
  tcpPort?: number | null;
  publishDtlsRole: 'client' | 'server';
  dtls?: DtlsLimits;
  ingress?: { publisher: IngressLimits; subscriber: IngressLimits };
  logLevel: string;
  log: Logger;
  statsEveryMs?: number;
  /** Placement reads each worker's busy share over windows of this length (default 1 s). */
  loadWindowMs?: number;
  /** Tests: where the next placements go (worker indexes, taken in order), whatever the load. */
  forcePlacement?: number[];
}

interface Member {
  index: number;
  worker: Worker;
  port: number;
  tcpPort: number | null;
  alive: boolean;
  bell: SharedArrayBuffer;
  /** Busy share over the last window (0..1), and the sample it was measured from. */
  load: number;
  elu: EventLoopUtilization;
  eluAtMs: number;
  /** Transports placed here since the last load sample: each counts as a little load until measured. */
  placedSinceSample: number;
  stats: WorkerStatsReport | null;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}

/**
 * The media workers of this node (docs/workers.md): starts them, links every pair with shared-memory rings,
 * places new transports on the least busy one (measured event-loop utilisation, not a count), and when one
 * dies, unlinks it from the others (the tracks they took from it end) and reports it so the control plane
 * closes its participants, who reconnect as after a node failure. Its counters are summed into /metrics.
 */
export class WorkerPool {
  private readonly members: Member[] = [];
  private nextReq = 1;
  private readonly forced: number[];
  private closed = false;
  private readonly removeDropSource: () => void;
  /** A worker died (not by close()): its transports are gone. */
  onWorkerDied: ((index: number, reason: string) => void) | null = null;
  /** A participant's media half on a worker reports (worker-protocol.ts MediaEvent). */
  onMediaEvent: ((index: number, participantId: string, e: MediaEvent) => void) | null = null;

  private constructor(private readonly o: WorkerPoolOptions) {
    this.forced = [...(o.forcePlacement ?? [])];
    this.removeDropSource = addDropSource(() => this.sumDrops());
    setRemoteStatReader((group, key) => {
      let n = 0;
      for (const m of this.members) n += m.stats?.[group][key] ?? 0;
      return n;
    });
    setRemoteHistogramReader((name) => this.members.flatMap((m) => (m.stats?.histograms[name] ? [m.stats.histograms[name]] : [])));
  }

  static async start(o: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(o);
    await Promise.all(Array.from({ length: o.workers }, (_, i) => pool.startMember(i)));
    // Every pair shares two rings, one each way.
    const links: Promise<unknown>[] = [];
    for (const a of pool.members) {
      for (const b of pool.members) {
        if (b.index <= a.index) continue;
        const rings = linkWorkers(a.bell, b.bell, ringBytes(o.workers));
        links.push(pool.request(a, { t: 'link', peer: b.index, rings: rings.a }));
        links.push(pool.request(b, { t: 'link', peer: a.index, rings: rings.b }));
      }
    }
    await Promise.all(links);
    return pool;
  }

  get size(): number {
    return this.members.length;
  }

  /** Each worker's UDP port (announced in the candidates of the transports placed there). */
  get ports(): number[] {
    return this.members.map((m) => m.port);
  }

  isAlive(index: number): boolean {
    return this.members[index]?.alive ?? false;
  }

  /** Busy share of each worker over the last window (0..1); dead workers read 1. */
  loads(): number[] {
    const now = performance.now();
    for (const m of this.members) this.sample(m, now);
    return this.members.map((m) => (m.alive ? m.load : 1));
  }

  /**
   * Where a new participant's media goes: the forced list first (tests), else the live worker with the least
   * measured busy time (placements since the last sample weigh a little, so a burst of joins spreads out).
   * `affinity` (worker → people linked with the newcomer there) pulls it to the worker with most of them
   * while that one is at most AFFINITY_HEADROOM busier: their tracks then cross no ring.
   */
  place(affinity?: ReadonlyMap<number, number>): number {
    const f = this.forced.shift();
    if (f !== undefined && this.isAlive(f)) return f;
    const best = choosePlacement(
      this.loads().map((load, i) => ({ alive: this.members[i]!.alive, score: load + this.members[i]!.placedSinceSample * 0.01, near: affinity?.get(i) ?? 0 })),
    );
    if (best < 0) throw new Error('no media worker alive');
    this.members[best]!.placedSinceSample++;
    return best;
  }

  /** Tests: keep a worker busy for `ms` (its loop is blocked meanwhile). */
  busy(index: number, ms: number): Promise<unknown> {
    return this.request(this.members[index]!, { t: 'busy', ms });
  }

  /** Tests: make a worker fail as a crash would. */
  crash(index: number): void {
    this.members[index]!.worker.postMessage({ id: 0, t: 'crash' } satisfies WorkerRequest);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.removeDropSource();
    setRemoteStatReader(null);
    setRemoteHistogramReader(null);
    await Promise.all(
      this.members.map(async (m) => {
        if (!m.alive) return;
        m.alive = false;
        const exited = new Promise((r) => m.worker.once('exit', r));
        await Promise.race([this.request(m, { t: 'close' }).catch(() => {}), exited, new Promise((r) => setTimeout(r, 2000))]);
        await m.worker.terminate();
      }),
    );
  }

  private startMember(index: number): Promise<void> {
    const bell = new Doorbell().sab;
    const init: WorkerInit = {
      index,
      bindIp: this.o.bindIp,
      port: this.o.port === 0 ? 0 : this.o.port + index,
      tcpPort: this.o.tcpPort === undefined || this.o.tcpPort === null ? null : this.o.tcpPort === 0 ? 0 : this.o.tcpPort + index,
      ...(this.o.dtls ? { dtls: this.o.dtls } : {}),
      ...(this.o.ingress ? { ingress: this.o.ingress } : {}),
      announcedIp: this.o.announcedIp,
      ...(this.o.candidateIps ? { candidateIps: this.o.candidateIps } : {}),
      publishDtlsRole: this.o.publishDtlsRole,
      bell,
      logLevel: this.o.logLevel,
      statsEveryMs: this.o.statsEveryMs ?? 1000,
    };
    // The entry beside this module: .ts from the sources, .js from the compiled build (npm start).
    const worker = startWorker(new URL(`./media-worker-main${import.meta.url.endsWith('.js') ? '.js' : '.ts'}`, import.meta.url), { workerData: init });
    const m: Member = {
      index,
      worker,
      port: 0,
      tcpPort: null,
      alive: false,
      bell,
      load: 0,
      elu: worker.performance.eventLoopUtilization(),
      eluAtMs: performance.now(),
      placedSinceSample: 0,
      stats: null,
      pending: new Map(),
    };
    this.members[index] = m;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.t === 'media') return this.onMediaEvent?.(index, msg.pid, msg.e);
        if (msg.t === 'ready') {
          m.port = msg.port;
          m.tcpPort = msg.tcpPort;
          m.alive = true;
          return resolve();
        }
        if (msg.t === 'stats') return void (m.stats = msg);
        const p = m.pending.get(msg.id);
        if (!p) return;
        m.pending.delete(msg.id);
        if (msg.t === 'ok') p.resolve(msg.value);
        else p.reject(Object.assign(new Error(msg.message), msg.code !== undefined ? { code: msg.code } : {}));
      });
      worker.on('error', (e) => {
        if (!m.alive) return reject(e);
        this.died(m, e.message);
      });
      worker.on('exit', (code) => {
        if (!m.alive) return reject(new Error(`media worker ${index} exited (${code}) before it was ready`));
        this.died(m, `exited with code ${code}`);
      });
    });
  }

  private died(m: Member, reason: string): void {
    if (!m.alive || this.closed) return;
    m.alive = false;
    // Its objects are gone with it; its counters stay counted.
    if (m.stats) m.stats.objects = {};
    this.o.log.error('media worker died: its transports are gone', { worker: m.index, reason });
    for (const p of m.pending.values()) p.reject(new Error(`media worker ${m.index} died`));
    m.pending.clear();
    // The others stop taking tracks from it and stop sending it theirs.
    for (const other of this.members) if (other.alive) void this.request(other, { t: 'unlink', peer: m.index }).catch(() => {});
    this.onWorkerDied?.(m.index, reason);
  }

  /** A request to worker `index`; rejects with its error (a `code` property carries a RequestError's code). */
  ask(index: number, req: RequestBody): Promise<unknown> {
    const m = this.members[index];
    if (!m) return Promise.reject(new Error(`no media worker ${index}`));
    return this.request(m, req);
  }

  /** A request that wants no reply (its failure is logged by the worker); dropped when the worker is gone. */
  tell(index: number, req: RequestBody): void {
    const m = this.members[index];
    if (m?.alive) m.worker.postMessage({ ...req, id: 0 });
  }

  /** `tell` every live worker. */
  tellAll(req: RequestBody): void {
    for (const m of this.members) if (m.alive) m.worker.postMessage({ ...req, id: 0 });
  }

  /** Each worker's ICE-TCP port (null: off). */
  get tcpPorts(): Array<number | null> {
    return this.members.map((m) => m.tcpPort);
  }

  private request(m: Member, req: RequestBody): Promise<unknown> {
    if (!m.alive && req.t !== 'link') return Promise.reject(new Error(`media worker ${m.index} is not running`));
    const id = this.nextReq++;
    return new Promise((resolve, reject) => {
      m.pending.set(id, { resolve, reject });
      m.worker.postMessage({ ...req, id });
    });
  }

  private sample(m: Member, now: number): void {
    if (now - m.eluAtMs < (this.o.loadWindowMs ?? LOAD_WINDOW_MS)) return;
    const next = m.worker.performance.eventLoopUtilization();
    const d = m.worker.performance.eventLoopUtilization(next, m.elu);
    if (d.idle + d.active > 0) m.load = d.utilization;
    m.elu = next;
    m.eluAtMs = now;
    m.placedSinceSample = 0;
  }

  private sumDrops(): number[] {
    const out: number[] = [];
    for (const m of this.members) m.stats?.drops.forEach((n, i) => (out[i] = (out[i] ?? 0) + n));
    return out;
  }
}
