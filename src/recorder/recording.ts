/**
 * A node's recording on the embedded default: the Recorder, its SQLite store on a thread of its own, the
 * node's own events (up, down, drops per second) and retention. The server holds one; the HTTP API reads
 * through `store`.
 */
import { hostname } from 'node:os';
import { Recorder } from './recorder.ts';
import { StoreClient } from './store/store-client.ts';
import { NODE_SPACE, type RecorderEvent } from './events.ts';
import { ClusterRecorderStream } from './cluster-stream.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import { dropCounts } from '../metrics/drop-reasons.ts';
import { recorderStats } from '../metrics/registry.ts';
import type { Config } from '../config/config.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

const PRUNE_EVERY_MS = 10 * 60_000;

export class Recording {
  private readonly timers: TimerHandle[] = [];
  private dropsBefore: number[] = [];
  private closed = false;

  private setCluster: (c: ClusterRecorderStream | null) => void = () => {};
  private cluster: ClusterRecorderStream | null = null;
  private stopWatchingNodes: (() => void) | null = null;

  private constructor(
    readonly recorder: Recorder,
    /** Null when recording is off or its storage could not open (`unavailable` says why). */
    readonly store: StoreClient | null,
    readonly unavailable: string | null,
    private readonly retentionMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Opens the store (never throws: a store that cannot open leaves the server running unrecorded, and says why). */
  static async open(config: Config['recorder'], node: string | undefined, clock: Clock, log: Logger): Promise<Recording> {
    const nodeId = node ?? hostname().slice(0, 64);
    const off = (why: string) => new Recording(new Recorder({ node: nodeId, clock, log, sink: null }), null, why, 0, clock, log);
    if (!config.enabled) return off('the recorder is off (recorder.enabled)');
    let store: StoreClient;
    try {
      store = await StoreClient.open(config.path);
    } catch (e) {
      log.error('the recorder could not open its storage: running without it', { path: config.path, err: e as Error });
      return off(`the recorder could not open ${config.path}: ${(e as Error).message}`);
    }
    // Stored here, and in cluster mode published for the other nodes too (joinCluster).
    let cluster: ClusterRecorderStream | null = null;
    const sink = { append: (events: RecorderEvent[]) => (cluster?.publish(events), store.append(events)) };
    const recorder = new Recorder({ node: nodeId, clock, log, sink });
    const r = new Recording(recorder, store, null, config.retentionHours * 3600_000, clock, log);
    r.setCluster = (c) => (cluster = c);
    store.onAppended = (o) => {
      recorderStats.stored += o.stored;
      recorderStats.invalid += o.invalid;
      if (o.bytes > 0) recorderStats.fileBytes = o.bytes;
      if (o.firstInvalid) log.error('recorder events refused by validation', { events: o.invalid, first: o.firstInvalid });
      if (o.failed) recorder.lose(o.stored + o.invalid, `write failed: ${o.failed}`);
    };
    store.onFailed = (e) => log.error('the recorder storage thread failed: events are no longer stored', { err: e });
    r.start();
    log.info('recording', { path: config.path, retentionHours: config.retentionHours, node: nodeId });
    return r;
  }

  private start(): void {
    this.recorder.record({ space: NODE_SPACE, participant: null, kind: 'node', data: { state: 'up' } });
    this.dropsBefore = dropCounts().map(([, n]) => n);
    this.timers.push(this.clock.setInterval(() => this.recordDrops(), 1000));
    this.timers.push(this.clock.setInterval(() => this.prune(), PRUNE_EVERY_MS));
    this.prune();
  }

  /** Drops of the last second by reason, when there were any (node-wide). */
  private recordDrops(): void {
    const now = dropCounts();
    const reasons: Record<string, number> = {};
    let any = false;
    now.forEach(([reason, n], i) => {
      const d = n - (this.dropsBefore[i] ?? 0);
      if (d > 0) {
        reasons[reason] = d;
        any = true;
      }
    });
    this.dropsBefore = now.map(([, n]) => n);
    if (any) this.recorder.record({ space: NODE_SPACE, participant: null, kind: 'drops', data: { reasons } });
  }

  private prune(): void {
    if (!this.store) return;
    const before = Math.round(this.clock.wallNow() - this.retentionMs);
    this.store.prune(before).then(
      (n) => n > 0 && this.log.info('recorder retention: old events deleted', { events: n }),
      (e: unknown) => this.closed || this.log.warn('recorder retention failed', { err: e as Error }),
    );
  }

  /**
   * Cluster mode: publish to the cluster's recorder stream and read the other nodes' events into this
   * store; a peer that dies is recorded (by the lowest live node, once). A stream that cannot start leaves
   * this node recording alone, and says so.
   */
  async joinCluster(nc: NatsConnection, nodes: { onDown(fn: (id: string, reason: string) => void): () => void; nodes(): ReadonlyMap<string, unknown> }): Promise<void> {
    if (!this.store || this.closed) return;
    try {
      this.cluster = await ClusterRecorderStream.start({
        nc,
        node: this.recorder.node,
        store: this.store,
        retentionMs: this.retentionMs,
        log: this.log,
        onPublishFailed: (n, why) => this.log.warn('recorder events not published to the cluster', { events: n, why }),
      });
    } catch (e) {
      this.log.error('recorder: cannot use the cluster stream: this node records alone', { err: e as Error });
      return;
    }
    this.setCluster(this.cluster);
    this.stopWatchingNodes = nodes.onDown((id, reason) => {
      const lowest = [...nodes.nodes().keys(), this.recorder.node].filter((n) => n !== id).sort()[0];
      if (lowest === this.recorder.node) this.recorder.record({ space: NODE_SPACE, participant: null, kind: 'node', data: { state: 'down', about: id, detail: `${id}: ${reason}`.slice(0, 200) } });
    });
  }

  /** This node is draining (cluster mode): its people move to other nodes. */
  draining(): void {
    this.recorder.record({ space: NODE_SPACE, participant: null, kind: 'node', data: { state: 'draining' } });
  }

  /** Records the node going down, stores what is buffered, closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) this.clock.clear(t);
    this.stopWatchingNodes?.();
    this.recorder.record({ space: NODE_SPACE, participant: null, kind: 'node', data: { state: 'down' } });
    this.recorder.close();
    this.cluster?.close();
    await this.store?.close();
  }
}
