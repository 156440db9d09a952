import type { Clock, TimerHandle } from '../../src/util/clock.ts';

/** Bursty loss: a two-state Markov chain (Gilbert–Elliott), stepped once per packet. */
export interface GilbertElliott {
  /** Probability, per packet, of moving from the good state to the bad state. */
  pGoodToBad: number;
  /** Probability, per packet, of moving from the bad state back to good: mean bad run = 1 / pBadToGood. */
  pBadToGood: number;
  /** Loss probability while good. */
  lossInGood: number;
  /** Loss probability while bad. */
  lossInBad: number;
}

export type JitterDistribution = 'uniform' | 'normal';

/** The weather of one direction. */
export interface ImpairmentConfig {
  /** Fixed one-way delay added to every packet (ms). */
  delayMs: number;
  /** Jitter (ms): uniform in [-jitterMs, +jitterMs], or normal with standard deviation jitterMs. Never below 0 total extra delay. */
  jitterMs: number;
  jitter: JitterDistribution;
  /** When false, jitter never reorders: each packet leaves no earlier than the one before it. */
  reorder: boolean;
  /** Independent random loss probability (0..1). */
  loss: number;
  /** Bursty loss on top of `loss`; null = off. */
  gilbertElliott: GilbertElliott | null;
  /** Bottleneck rate in kbit/s; 0 = unlimited. */
  rateKbps: number;
  /** Drop-tail queue in front of the bottleneck (bytes, including the packet being serialized). */
  queueBytes: number;
  /** Probability that a packet is delivered twice (the copy gets its own jitter). */
  duplicate: number;
}

export const CLEAR_WEATHER: Readonly<ImpairmentConfig> = Object.freeze({
  delayMs: 0,
  jitterMs: 0,
  jitter: 'uniform',
  reorder: false,
  loss: 0,
  gilbertElliott: null,
  rateKbps: 0,
  queueBytes: 64 * 1024,
  duplicate: 0,
});

export type ImpairmentPatch = Partial<ImpairmentConfig>;

export interface ImpairmentCounters {
  /** Datagrams pushed in. */
  received: number;
  lost_random: number;
  lost_burst: number;
  queue_overflow: number;
  /** Extra copies made (each is also counted in `delivered` when it leaves). */
  duplicated: number;
  delivered: number;
  deliveredBytes: number;
}

export class ImpairmentConfigError extends Error {}

function checkProbability(name: string, v: number): void {
  if (!(v >= 0 && v <= 1)) throw new ImpairmentConfigError(`${name} must be a probability in [0, 1], got ${v}`);
}
function checkNonNegative(name: string, v: number): void {
  if (!(v >= 0 && Number.isFinite(v))) throw new ImpairmentConfigError(`${name} must be a finite number ≥ 0, got ${v}`);
}

/** Fill defaults (clear weather) and check ranges; throws ImpairmentConfigError naming the field. */
export function resolveConfig(patch: ImpairmentPatch, base: Readonly<ImpairmentConfig> = CLEAR_WEATHER): ImpairmentConfig {
  const c: ImpairmentConfig = { ...base };
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  if (c.gilbertElliott) c.gilbertElliott = { ...c.gilbertElliott };
  checkNonNegative('delayMs', c.delayMs);
  checkNonNegative('jitterMs', c.jitterMs);
  if (c.jitter !== 'uniform' && c.jitter !== 'normal') throw new ImpairmentConfigError(`jitter must be 'uniform' or 'normal', got ${String(c.jitter)}`);
  checkProbability('loss', c.loss);
  checkProbability('duplicate', c.duplicate);
  checkNonNegative('rateKbps', c.rateKbps);
  checkNonNegative('queueBytes', c.queueBytes);
  const ge = c.gilbertElliott;
  if (ge) {
    for (const k of ['pGoodToBad', 'pBadToGood', 'lossInGood', 'lossInBad'] as const) checkProbability(`gilbertElliott.${k}`, ge[k]);
  }
  return c;
}

interface Pending {
  at: number;
  seq: number;
  buf: Buffer;
  deliver: (b: Buffer) => void;
}

/** Min-heap on (at, seq): equal times leave in push order. */
class PendingHeap {
  private readonly a: Pending[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Pending | undefined {
    return this.a[0];
  }
  clear(): void {
    this.a.length = 0;
  }
  private less(x: Pending, y: Pending): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
  push(p: Pending): void {
    const a = this.a;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }
  pop(): Pending | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * One direction of network weather, driven by an injected clock and a seeded random source.
 *
 * Per packet, in order: Gilbert–Elliott step and burst loss, random loss, the rate-limited drop-tail
 * queue (serialization = size·8/rate), duplication, then delay + jitter (clamped so that with
 * `reorder: false` no packet leaves before the previous one). Given the same seed, clock and pushes,
 * every decision and delivery time is the same.
 */
export class Impairment {
  private cfg: ImpairmentConfig;
  private readonly heap = new PendingHeap();
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private seq = 0;
  /** Time the bottleneck finishes serializing everything accepted so far. */
  private linkFreeAt = -Infinity;
  /** Latest scheduled departure (for the no-reorder guarantee). */
  private lastDepart = -Infinity;
  private geBad = false;
  private closed = false;
  private spareNormal: number | null = null;
  readonly counters: ImpairmentCounters = {
    received: 0,
    lost_random: 0,
    lost_burst: 0,
    queue_overflow: 0,
    duplicated: 0,
    delivered: 0,
    deliveredBytes: 0,
  };

  /** Told of every datagram the weather drops, and of every one it delivers (tests that classify them, e.g. by RTP SSRC). */
  onLoss: ((datagram: Buffer, reason: 'lost_random' | 'lost_burst' | 'queue_overflow') => void) | null = null;
  onDeliver: ((datagram: Buffer, atMs: number) => void) | null = null;

  constructor(
    config: ImpairmentPatch,
    private readonly clock: Clock,
    private readonly rng: () => number,
  ) {
    this.cfg = resolveConfig(config);
  }

  get config(): Readonly<ImpairmentConfig> {
    return this.cfg;
  }

  /** Packets scheduled but not yet delivered. */
  get pending(): number {
    return this.heap.size;
  }

  /** Bytes waiting in (or being serialized by) the bottleneck queue right now. */
  get queuedBytes(): number {
    if (this.cfg.rateKbps <= 0) return 0;
    const backlogMs = this.linkFreeAt - this.clock.now();
    return backlogMs > 0 ? (backlogMs * this.cfg.rateKbps) / 8 : 0;
  }

  /** New weather from now on; packets already in flight keep their delivery times. */
  setConfig(config: ImpairmentPatch): void {
    this.cfg = resolveConfig(config);
    if (!this.cfg.gilbertElliott) this.geBad = false;
  }

  /**
   * Take one datagram. `deliver` is called (from a clock timer, never inside push) when it leaves, unless
   * it is lost. The buffer is handed on as is; a duplicate is a copy.
   */
  push(datagram: Buffer, deliver: (b: Buffer) => void): void {
    if (this.closed) return;
    const c = this.cfg;
    const now = this.clock.now();
    this.counters.received++;

    const ge = c.gilbertElliott;
    if (ge) {
      if (this.geBad) {
        if (this.rng() < ge.pBadToGood) this.geBad = false;
      } else if (this.rng() < ge.pGoodToBad) this.geBad = true;
      const p = this.geBad ? ge.lossInBad : ge.lossInGood;
      if (p > 0 && this.rng() < p) {
        this.counters.lost_burst++;
        this.onLoss?.(datagram, 'lost_burst');
        return;
      }
    }
    if (c.loss > 0 && this.rng() < c.loss) {
      this.counters.lost_random++;
      this.onLoss?.(datagram, 'lost_random');
      return;
    }

    let leaveQueue = now;
    if (c.rateKbps > 0) {
      const bytes = datagram.length;
      const backlogMs = Math.max(0, this.linkFreeAt - now);
      const backlogBytes = (backlogMs * c.rateKbps) / 8;
      // Small epsilon: the fluid backlog is a float; a queue exactly full must still accept an exact fit.
      if (backlogBytes + bytes > c.queueBytes + 1e-6) {
        this.counters.queue_overflow++;
        this.onLoss?.(datagram, 'queue_overflow');
        return;
      }
      leaveQueue = Math.max(now, this.linkFreeAt) + (bytes * 8) / c.rateKbps;
      this.linkFreeAt = leaveQueue;
    }

    this.schedule(leaveQueue, datagram, deliver);
    if (c.duplicate > 0 && this.rng() < c.duplicate) {
      this.counters.duplicated++;
      this.schedule(leaveQueue, Buffer.from(datagram), deliver);
    }
  }

  /** Drop everything in flight and stop the timer; later pushes are ignored. */
  close(): void {
    this.closed = true;
    this.heap.clear();
    if (this.timer) this.clock.clear(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private jitterSample(): number {
    const c = this.cfg;
    if (c.jitterMs <= 0) return 0;
    if (c.jitter === 'uniform') return (this.rng() * 2 - 1) * c.jitterMs;
    return this.standardNormal() * c.jitterMs;
  }

  /** Box–Muller, keeping the second value for the next call. */
  private standardNormal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = this.rng();
    while (u <= Number.MIN_VALUE) u = this.rng();
    const v = this.rng();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  private schedule(from: number, buf: Buffer, deliver: (b: Buffer) => void): void {
    const c = this.cfg;
    let at = from + c.delayMs + Math.max(-c.delayMs, this.jitterSample());
    if (at < from) at = from;
    if (!c.reorder && at < this.lastDepart) at = this.lastDepart;
    if (at > this.lastDepart) this.lastDepart = at;
    this.heap.push({ at, seq: this.seq++, buf, deliver });
    this.arm();
  }

  private arm(): void {
    const head = this.heap.peek();
    if (!head) return;
    if (this.timer && head.at >= this.timerAt) return;
    if (this.timer) this.clock.clear(this.timer);
    const target = head.at;
    this.timerAt = target;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, target - this.clock.now()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    // Only what is due by the clock leaves: a real timer can fire early (libuv's cached loop time), and
    // arm() then waits out the rest, so nothing is ever delivered before its time.
    const now = this.clock.now();
    for (;;) {
      const head = this.heap.peek();
      if (!head || head.at > now || this.closed) break;
      this.heap.pop();
      this.counters.delivered++;
      this.counters.deliveredBytes += head.buf.length;
      this.onDeliver?.(head.buf, now);
      head.deliver(head.buf);
    }
    if (!this.closed) this.arm();
  }
}
