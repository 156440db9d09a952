/**
 * The flight recorder of one node (docs/recorder.md): the control plane hands it typed events; it stamps
 * them (version, node, time), folds moves to a few per second per person, and hands the buffer to its sink
 * every `flushMs` without waiting for it. The media path never calls it: the media half reports changes and
 * once-a-second aggregates to its participant, which records them.
 */
import { EVENT_VERSION, type RecorderEvent, type RecordInput } from './events.ts';
import { recorderStats } from '../metrics/registry.ts';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.ts';
import { createLogger, type Logger } from '../util/logger.ts';

/** Where flushed events go: the local store's thread, or (cluster mode) a stream every node reads. */
export interface EventSink {
  /** Takes the batch (false: the sink is gone and the batch is lost). Must not block. */
  append(events: RecorderEvent[]): boolean;
}

export interface RecorderOptions {
  node: string;
  clock: Clock;
  log: Logger;
  /** Null: recording is off (every call is a no-op). */
  sink: EventSink | null;
  /** How often the buffer goes to the sink, ms (moves are folded over this interval too). */
  flushMs?: number;
  /** Events held while the sink is slow before new ones are lost (and counted). */
  maxBuffered?: number;
}

/** A person's moves within one interval keep only the last position: at most 1000 / MOVE_MIN_MS a second. */
const MOVE_MIN_MS = 250;

interface PendingMove {
  space: string;
  ts: number;
  x: number;
  y: number;
}

export class Recorder {
  readonly enabled: boolean;
  private buffer: RecorderEvent[] = [];
  private readonly pendingMoves = new Map<string, PendingMove>();
  private readonly lastMoveAt = new Map<string, number>();
  private readonly timer: TimerHandle | null;
  private readonly maxBuffered: number;
  private lostSinceLog = 0;

  constructor(private readonly opts: RecorderOptions) {
    this.enabled = opts.sink !== null;
    this.maxBuffered = opts.maxBuffered ?? 100_000;
    this.timer = this.enabled ? opts.clock.setInterval(() => this.flush(), opts.flushMs ?? MOVE_MIN_MS) : null;
  }

  get node(): string {
    return this.opts.node;
  }

  /** Records one event now (or at `ts`). A move of the same person still pending is recorded first. */
  record(input: RecordInput): void {
    if (!this.enabled) return;
    if (input.participant !== null) this.emitMove(input.participant);
    this.push({ v: EVENT_VERSION, ts: input.ts ?? this.now(), node: this.opts.node, space: input.space, participant: input.participant, kind: input.kind, data: input.data } as RecorderEvent);
  }

  /** A position; recorded at once if the person has not moved for MOVE_MIN_MS, else folded into the next flush. */
  move(space: string, participant: string, x: number, y: number): void {
    if (!this.enabled) return;
    const now = this.now();
    const last = this.lastMoveAt.get(participant) ?? -Infinity;
    if (now - last >= MOVE_MIN_MS && !this.pendingMoves.has(participant)) {
      this.lastMoveAt.set(participant, now);
      this.push({ v: EVENT_VERSION, ts: now, node: this.opts.node, space, participant, kind: 'move', data: { x, y } });
      return;
    }
    if (this.pendingMoves.has(participant)) recorderStats.movesCoalesced++;
    this.pendingMoves.set(participant, { space, ts: now, x, y });
  }

  /** The person left: their last position is recorded, their coalescing state dropped. */
  forget(participant: string): void {
    this.emitMove(participant);
    this.lastMoveAt.delete(participant);
  }

  /** Hands everything buffered to the sink now. */
  flush(): void {
    if (!this.enabled) return;
    for (const p of [...this.pendingMoves.keys()]) this.emitMove(p);
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    if (!this.opts.sink!.append(batch)) this.lose(batch.length, 'the recorder storage is gone');
  }

  /** Flushes and stops the timer; the sink is closed by its owner. */
  close(): void {
    this.flush();
    if (this.timer) this.opts.clock.clear(this.timer);
  }

  /** The sink reports what it could not keep. */
  lose(n: number, why: string): void {
    recorderStats.lost += n;
    // One line per burst of losses, not one per batch.
    if (this.lostSinceLog === 0) this.opts.log.warn('recorder events lost', { events: n, why });
    this.lostSinceLog += n;
  }

  private emitMove(participant: string): void {
    const p = this.pendingMoves.get(participant);
    if (!p) return;
    this.pendingMoves.delete(participant);
    this.lastMoveAt.set(participant, p.ts);
    this.push({ v: EVENT_VERSION, ts: p.ts, node: this.opts.node, space: p.space, participant, kind: 'move', data: { x: p.x, y: p.y } });
  }

  private push(e: RecorderEvent): void {
    recorderStats.recorded++;
    if (this.buffer.length >= this.maxBuffered) {
      this.lose(1, 'buffer full: storage is not keeping up');
      return;
    }
    if (this.lostSinceLog > 0 && this.buffer.length === 0) this.lostSinceLog = 0;
    this.buffer.push(e);
  }

  private now(): number {
    return Math.round(this.opts.clock.wallNow());
  }
}

/** The recorder of a server (or a test's space) with recording off: every call is a no-op. */
export const NO_RECORDER = new Recorder({ node: 'none', clock: systemClock, log: createLogger('silent'), sink: null });
