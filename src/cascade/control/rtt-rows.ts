/**
 * The RTT matrix every node routes on: each node publishes its own measured row (RTT to each peer, from the
 * relay links) every intervalMs; everyone assembles the rows of live nodes. Rows are plain messages, not
 * stored: a newcomer has a full matrix after one interval.
 */
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.ts';
import { createLogger, type Logger } from '../../util/logger.ts';
import type { ControlBus } from './control-bus.ts';
import { decoderFor, type RttRow } from './messages.ts';
import type { NodeRegistry } from './node-registry.ts';
import { SUBJECTS } from './subjects.ts';

export type RttMatrix = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface RttRowsOptions {
  /** Our measured RTTs (ms) by peer id, read at every publish. */
  measure: () => ReadonlyMap<string, number>;
  /** Publish period (default 1000 ms). */
  intervalMs?: number;
  /** A live node's row older than this is dropped (default 3 × intervalMs): its measurer is stuck. */
  staleAfterMs?: number;
  clock?: Clock;
  log?: Logger;
}

interface Row {
  rtts: ReadonlyMap<string, number>;
  receivedAt: number;
}

export class RttRows {
  private readonly bus: ControlBus;
  private readonly registry: NodeRegistry;
  private readonly measure: () => ReadonlyMap<string, number>;
  private readonly intervalMs: number;
  private readonly staleAfterMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly rows = new Map<string, Row>();
  private readonly listeners = new Set<(m: RttMatrix) => void>();
  private unsubs: Array<() => void> = [];
  private timer: TimerHandle | null = null;
  private closed = false;

  constructor(bus: ControlBus, registry: NodeRegistry, opts: RttRowsOptions) {
    this.bus = bus;
    this.registry = registry;
    this.measure = opts.measure;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.staleAfterMs = opts.staleAfterMs ?? 3 * this.intervalMs;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? createLogger('warn', { component: 'rtt-rows' });
  }

  /** Subscribes and publishes our row now and every intervalMs. Call after registry.start(). */
  start(): void {
    if (this.timer || this.closed) return;
    this.unsubs.push(
      this.bus.subscribe(SUBJECTS.rtt, decoderFor('rttRow'), (row) => this.onRow(row)),
      this.registry.onDown((id) => {
        if (this.rows.delete(id)) this.fire();
      }),
      this.bus.onClose(() => this.close()),
    );
    this.publish();
    this.timer = this.clock.setInterval(() => this.publish(), this.intervalMs);
  }

  /** from → to → ms, only between live nodes; our own row is the current measurement. */
  matrix(): RttMatrix {
    const now = this.clock.now();
    const out = new Map<string, ReadonlyMap<string, number>>();
    const selfId = this.registry.selfId;
    out.set(selfId, this.liveOnly(this.measure()));
    for (const [from, row] of this.rows) {
      if (from === selfId || !this.registry.isUp(from) || now - row.receivedAt > this.staleAfterMs) continue;
      out.set(from, this.liveOnly(row.rtts));
    }
    return out;
  }

  /** Fired after each received row and after a row is dropped. Returns the unregister function. */
  onChange(fn: (m: RttMatrix) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) this.clock.clear(this.timer);
    this.timer = null;
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.rows.clear();
  }

  private publish(): void {
    const rtts: Record<string, number> = {};
    for (const [to, ms] of this.measure()) if (to !== this.registry.selfId && Number.isFinite(ms) && ms >= 0) rtts[to] = Math.min(ms, 60_000);
    this.bus.publish(SUBJECTS.rtt, 'rttRow', { v: 1, from: this.registry.selfId, at: Math.round(this.clock.wallNow()), rtts });
  }

  private onRow(row: RttRow): void {
    // Rows of nodes we do not see as live are ignored rather than kept: they could never be used.
    if (!this.registry.isUp(row.from) || row.from === this.registry.selfId) return;
    this.rows.set(row.from, { rtts: new Map(Object.entries(row.rtts)), receivedAt: this.clock.now() });
    this.fire();
  }

  /** Columns towards dead nodes are dropped too: no route may lead there. */
  private liveOnly(rtts: ReadonlyMap<string, number>): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const [to, ms] of rtts) if (this.registry.isUp(to)) out.set(to, ms);
    return out;
  }

  private fire(): void {
    if (this.listeners.size === 0) return;
    const m = this.matrix();
    for (const fn of [...this.listeners]) {
      try {
        fn(m);
      } catch (err) {
        this.log.error('rtt listener threw', { err });
      }
    }
  }
}
