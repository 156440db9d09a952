import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../util/ts-worker.ts';
import type { RecorderEvent } from '../events.ts';
import type { SpaceSummary, TimelinePage, TimelineQuery } from './sqlite-store.ts';
import type { StoreReply, StoreRequest } from './store-protocol.ts';

/** What became of one flush (the recorder counts it). */
export interface AppendOutcome {
  stored: number;
  invalid: number;
  firstInvalid?: string;
  bytes: number;
  failed?: string;
}

/**
 * The recorder's storage as the main thread sees it: a SQLite file owned by a worker thread. Appends are
 * posted and never awaited; queries are promises. If the thread dies, every pending query fails with why.
 */
export class StoreClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead: Error | null = null;
  private closing = false;
  /** Called after each append was stored (or failed). */
  onAppended: ((o: AppendOutcome) => void) | null = null;
  /** The thread failed: nothing more is stored. */
  onFailed: ((e: Error) => void) | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: StoreReply) => {
      if (m.t === 'appended') this.onAppended?.(m);
      else if (m.t === 'ok' || m.t === 'error') {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.t === 'ok') p.resolve(m.value);
        else p.reject(new Error(m.message));
      }
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`recorder storage thread exited (code ${code})`)));
  }

  /** Opens `path` (a file, or ':memory:') on a new thread; rejects with the reason it cannot. */
  static open(path: string): Promise<StoreClient> {
    const ext = import.meta.url.endsWith('.js') ? '.js' : '.ts';
    const worker = startWorker(new URL(`./store-worker${ext}`, import.meta.url), { workerData: { path } });
    return new Promise((resolve, reject) => {
      const onMessage = (m: StoreReply) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        if (m.t === 'ready') resolve(new StoreClient(worker));
        else reject(new Error(m.t === 'fatal' ? `recorder storage: ${m.message}` : `recorder storage: unexpected ${m.t}`));
      };
      const onError = (e: Error) => {
        worker.off('message', onMessage);
        reject(new Error(`recorder storage: ${e.message}`));
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
  }

  /** `streamSeq`: these came from the cluster stream's message of that sequence (stored with them). */
  append(events: RecorderEvent[], streamSeq?: number): boolean {
    if (this.dead) return false;
    this.post({ t: 'append', events, ...(streamSeq !== undefined ? { streamSeq } : {}) });
    return true;
  }

  /** The last cluster stream sequence stored (0: none). */
  streamSeq(): Promise<number> {
    return this.request((id) => ({ t: 'streamSeq', id }));
  }

  query(q: TimelineQuery): Promise<TimelinePage> {
    return this.request((id) => ({ t: 'query', id, q }));
  }

  spaces(): Promise<SpaceSummary[]> {
    return this.request((id) => ({ t: 'spaces', id }));
  }

  /** Deletes what is older than `beforeTs`; resolves with how many events went. */
  prune(beforeTs: number): Promise<number> {
    return this.request((id) => ({ t: 'prune', id, beforeTs }));
  }

  /** Stores what was appended, closes the file, ends the thread. */
  async close(): Promise<void> {
    if (this.dead) return;
    this.closing = true;
    await this.request((id) => ({ t: 'close', id }));
    await this.worker.terminate();
  }

  private request<T>(make: (id: number) => StoreRequest): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post(make(id));
    });
  }

  private post(m: StoreRequest): void {
    this.worker.postMessage(m);
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    if (!this.closing) this.onFailed?.(e);
  }
}
