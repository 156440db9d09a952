/**
 * Leaky-bucket pacer planner: spreads what we send to one subscriber at pacing rate = estimate × 2.5 (the
 * pacing factor GCC implementations use, so a frame burst leaves within a fraction of a frame interval
 * without hitting the bottleneck as one block). Clock-driven and generic: it never sees packets, only the
 * caller's handles (indices into its own buffers) and sizes; a sink callback sends or frees them.
 *
 * Order: audio > retransmission > video > padding. Within a class, packets are queued per flow (the caller's
 * stream index: one per SSRC) and the flows are served by deficit round robin in bytes, FIFO within a flow:
 * a stream that floods the queue delays only itself, never a neighbour's stream (issue 15: one publisher at
 * 50 Mbit/s took 92.6 % of another person's video when all shared one FIFO). The queue is bounded: a full
 * queue evicts from the least important class below the newcomer (the head of its longest flow), else the
 * head of the longest flow of the newcomer's own class when that is longer than the newcomer's flow, else
 * refuses the newcomer;
 * packets older than `maxQueueDelayMs` are dropped when they reach the head (late video is worse than
 * none: the receiver will NACK or ask for a keyframe). Every drop is counted under a named reason.
 *
 * Probe clusters: while one runs, the budget fills at max(pacing rate, cluster rate) and, when nothing
 * is queued, the sink is asked for padding, until the cluster's bytes and packets are sent or its
 * deadline passes. Packets released during a cluster carry its id.
 *
 * enqueue/process only touch preallocated typed arrays: no allocation per packet.
 */

export const PRIORITY_AUDIO = 0;
export const PRIORITY_RETRANSMISSION = 1;
export const PRIORITY_VIDEO = 2;
export const PRIORITY_PADDING = 3;
export type PacerPriority = 0 | 1 | 2 | 3;
const CLASSES = 4;
/** Bytes a flow's deficit grows by per turn: one full-size packet. */
const DRR_QUANTUM = 1500;
/** Flows per class (stream indices 0..MAX_FLOWS-1; callers fold more streams onto these). */
export const MAX_FLOWS = 64;

/** enqueue() verdicts. */
export const PACER_SEND_NOW = 0;
export const PACER_QUEUED = 1;
export const PACER_DROPPED = 2;
export type PacerVerdict = 0 | 1 | 2;

export type PacerDropReason = 'queue_full' | 'expired' | 'cleared';

export interface PacerSink {
  /** Send this queued packet now. `clusterId` ≥ 0 when it counts for a probe cluster (report it as probe). */
  release(handle: number, sizeBytes: number, clusterId: number, nowMs: number): void;
  /** A queued packet will never be released: free its buffer. */
  drop?(handle: number, reason: PacerDropReason): void;
  /**
   * A probe cluster runs and nothing is queued: send about `bytes` of padding or RTX now and return the
   * bytes actually sent (0 = nothing to send, the cluster then ends short).
   */
  padding?(bytes: number, clusterId: number, nowMs: number): number;
}

/** What the pacer needs of a probe cluster (the prober's ProbeCluster fits). */
export interface PacerCluster {
  id: number;
  targetBps: number;
  bytes: number;
  minPackets: number;
  deadlineMs: number;
}

export interface PacerOptions {
  /** Pacing rate = estimate × this. Default 2.5. */
  pacingFactor?: number;
  /** Budget an idle pacer may save up (ms of pacing rate): a small burst. Default PACE_BURST_MS; see burstMsFor. */
  burstMs?: number;
  /** With a backlog, budget may accumulate this far (ms) when process() is called late. Default 40 ms. */
  catchUpMs?: number;
  /** Total queued packets. Default 1024. */
  maxQueuePackets?: number;
  /** Packets waiting longer are dropped ('expired'). Default 1000 ms. */
  maxQueueDelayMs?: number;
  /** Audio is sent at once (still charged to the budget), as it is small, steady and latency-critical. Default true. */
  bypassAudio?: boolean;
  /** Largest padding packet asked of the sink. Default 1200. */
  maxPaddingBytes?: number;
  /** Initial estimate (bps) until setEstimate(). Default 1 Mbps. */
  initialEstimateBps?: number;
}

export interface PacerCounters {
  sentPackets: number;
  sentBytes: number;
  paddingBytes: number;
  queue_full: number;
  expired: number;
  cleared: number;
  /** Of queue_full: packets of the longest flow dropped to make room for another flow's (longest-queue drop). */
  flowEvictions: number;
}

/** Idle budget on a path that shows a queue or loss: each frame is spread at the pacing rate. */
export const PACE_BURST_MS = 5;
/**
 * Idle budget on a clear path: a frame leaves at once when the budget saved covers it, as libwebrtc's
 * pacer lets 40 ms bursts go. Towards a subscriber whose estimate sits near what it is sent (the prober
 * asks for no more), pacing each frame at 1.5 × the estimate spread it over most of a frame interval: with
 * 5 ms, a 500 kbit/s fan-out's p99 delay through the server was 24–26 ms, with 40 ms 3.1–3.4 ms (`npm run
 * loadgen -- fanout --subscribers 10`). On a path with a queue, such bursts fed a 300 kbit/s bottleneck
 * with a 250 ms buffer into 9.5 % loss (transport-cc-estimator.test.ts), hence only when clear.
 */
export const FRAME_BURST_MS = 40;
/** A path is clear below this queue (ms over the base one-way delay) and this loss fraction. */
const CLEAR_QUEUE_MS = 10;
const CLEAR_LOSS = 0.01;

/** The idle burst for a path with this measured queue and loss. Pure; the controller applies it. */
export function burstMsFor(queueMs: number, lossFraction: number): number {
  return queueMs < CLEAR_QUEUE_MS && lossFraction < CLEAR_LOSS ? FRAME_BURST_MS : PACE_BURST_MS;
}

const MIN_PADDING_BYTES = 100;
/** Budget a probe cluster may start with (ms of pacing rate). */
const PROBE_BURST_MS = 5;

export class Pacer {
  private readonly factor: number;
  private burstMs: number;
  private readonly catchUpMs: number;
  private readonly maxPackets: number;
  private readonly maxDelayMs: number;
  private readonly bypassAudio: boolean;
  private readonly maxPadding: number;
  // Entry pool: handle, size, enqueue time, flow, next entry in its flow (-1: last); a free stack.
  private readonly eHandle: Float64Array;
  private readonly eSize: Uint32Array;
  private readonly eTime: Float64Array;
  private readonly eNext: Int32Array;
  private readonly freeE: Int32Array;
  private freeN: number;
  // Per (class, flow): first and last entry, packets queued; whether it sits in the class's ring.
  private readonly fHead = new Int32Array(CLASSES * MAX_FLOWS).fill(-1);
  private readonly fTail = new Int32Array(CLASSES * MAX_FLOWS).fill(-1);
  private readonly fCount = new Int32Array(CLASSES * MAX_FLOWS);
  private readonly fInRing = new Uint8Array(CLASSES * MAX_FLOWS);
  /** Bytes each flow may still send in its current turn (deficit round robin). */
  private readonly deficit = new Float64Array(CLASSES * MAX_FLOWS);
  // Per class: a ring of flows with packets (round robin order), and packets queued in the class.
  private readonly ring = new Int32Array(CLASSES * MAX_FLOWS);
  private readonly ringHead = new Int32Array(CLASSES);
  private readonly ringCount = new Int32Array(CLASSES);
  private readonly counts = new Int32Array(CLASSES);
  private total = 0;
  private bytes = 0;
  private rateBps: number;
  private budget = 0;
  private lastRefill = NaN;
  // Probe cluster in progress (id -1 = none).
  private cId = -1;
  private cRate = 0;
  private cBytes = 0;
  private cMinPackets = 0;
  private cDeadline = 0;
  private cSentBytes = 0;
  private cSentPackets = 0;
  readonly counters: PacerCounters = { sentPackets: 0, sentBytes: 0, paddingBytes: 0, queue_full: 0, expired: 0, cleared: 0, flowEvictions: 0 };

  constructor(
    private readonly sink: PacerSink,
    opts: PacerOptions = {},
  ) {
    this.factor = opts.pacingFactor ?? 2.5;
    this.burstMs = opts.burstMs ?? PACE_BURST_MS;
    this.catchUpMs = opts.catchUpMs ?? 40;
    this.maxPackets = opts.maxQueuePackets ?? 1024;
    this.maxDelayMs = opts.maxQueueDelayMs ?? 1000;
    this.bypassAudio = opts.bypassAudio ?? true;
    this.maxPadding = opts.maxPaddingBytes ?? 1200;
    this.rateBps = (opts.initialEstimateBps ?? 1_000_000) * this.factor;
    const cap = Math.max(16, this.maxPackets);
    this.eHandle = new Float64Array(cap);
    this.eSize = new Uint32Array(cap);
    this.eTime = new Float64Array(cap);
    this.eNext = new Int32Array(cap);
    this.freeE = new Int32Array(cap);
    for (let i = 0; i < cap; i++) this.freeE[i] = cap - 1 - i;
    this.freeN = cap;
  }

  /** Pacing follows the bandwidth estimate. */
  setEstimate(estimateBps: number): void {
    this.setPacingRate(estimateBps * this.factor);
  }
  setPacingRate(bps: number): void {
    if (bps > 0 && Number.isFinite(bps)) this.rateBps = bps;
  }
  /** How much budget an idle pacer may save from now on (burstMsFor decides it from the path). */
  setBurstMs(ms: number): void {
    if (ms >= 0 && Number.isFinite(ms)) this.burstMs = ms;
  }
  get pacingRateBps(): number {
    return this.rateBps;
  }
  get queuedPackets(): number {
    return this.total;
  }
  get queuedBytes(): number {
    return this.bytes;
  }
  /** Id of the running probe cluster, -1 when none (for packets the caller sends on PACER_SEND_NOW). */
  get activeClusterId(): number {
    return this.cId;
  }

  startCluster(c: PacerCluster, nowMs: number): void {
    this.refill(nowMs);
    // A cluster measures the path by its spacing: what an idle pacer saved must not leave as one block.
    this.budget = Math.min(this.budget, (this.rateBps * PROBE_BURST_MS) / 8000);
    this.cId = c.id;
    this.cRate = c.targetBps;
    this.cBytes = c.bytes;
    this.cMinPackets = c.minPackets;
    this.cDeadline = c.deadlineMs;
    this.cSentBytes = 0;
    this.cSentPackets = 0;
  }

  /**
   * Offer one packet. PACER_SEND_NOW: the caller sends it right away (it is charged to the budget and
   * counts for activeClusterId); PACER_QUEUED: the sink's release() will be called later;
   * PACER_DROPPED: the queue is full of packets at least as important, free it.
   */
  enqueue(handle: number, sizeBytes: number, priority: PacerPriority, nowMs: number, flow = 0): PacerVerdict {
    this.refill(nowMs);
    if (priority === PRIORITY_AUDIO && this.bypassAudio) {
      this.charge(sizeBytes);
      return PACER_SEND_NOW;
    }
    if (this.budget > 0 && !this.queuedAtOrAbove(priority)) {
      this.charge(sizeBytes);
      return PACER_SEND_NOW;
    }
    const f = flow >= 0 && flow < MAX_FLOWS ? flow | 0 : 0;
    if (this.total >= this.maxPackets && !this.evictBelow(priority) && !this.evictLongest(priority, f)) {
      this.counters.queue_full++;
      return PACER_DROPPED;
    }
    const e = this.freeE[--this.freeN];
    this.eHandle[e] = handle;
    this.eSize[e] = sizeBytes;
    this.eTime[e] = nowMs;
    this.eNext[e] = -1;
    const k = priority * MAX_FLOWS + f;
    if (this.fCount[k] === 0) this.fHead[k] = e;
    else this.eNext[this.fTail[k]] = e;
    this.fTail[k] = e;
    this.fCount[k]++;
    if (this.fInRing[k] === 0) {
      this.fInRing[k] = 1;
      this.ring[priority * MAX_FLOWS + ((this.ringHead[priority] + this.ringCount[priority]) % MAX_FLOWS)] = f;
      this.ringCount[priority]++;
    }
    this.counts[priority]++;
    this.total++;
    this.bytes += sizeBytes;
    return PACER_QUEUED;
  }

  /** Packets queued in one flow of a class (tests, stats). */
  flowPackets(priority: PacerPriority, flow: number): number {
    return this.fCount[priority * MAX_FLOWS + flow];
  }

  /**
   * Takes the head of a flow out (entry index returned, its fields still readable). The caller decides what
   * happens to the packet; the flow stays in its ring until the ring reaches it empty.
   */
  private takeHead(c: number, f: number): number {
    const k = c * MAX_FLOWS + f;
    const e = this.fHead[k];
    this.fHead[k] = this.eNext[e];
    if (--this.fCount[k] === 0) this.fTail[k] = -1;
    this.counts[c]--;
    this.total--;
    this.bytes -= this.eSize[e];
    this.freeE[this.freeN++] = e;
    return e;
  }

  /**
   * The flow of class c to send from now: deficit round robin (Shreedhar & Varghese, 1996) in bytes, so each
   * flow with a backlog gets an equal share of the rate whatever its packet sizes, and a flow that needs
   * less than its share (a neighbour's 30 fps camera next to a flood) gets all it needs. The flow stays at
   * the head of the ring while its deficit covers its next packet. Skips flows emptied by eviction; -1 if none.
   */
  private pickFlow(c: number): number {
    while (this.ringCount[c] > 0) {
      const f = this.ring[c * MAX_FLOWS + this.ringHead[c]];
      const k = c * MAX_FLOWS + f;
      if (this.fCount[k] === 0) {
        this.popRing(c, k);
        continue;
      }
      if (this.deficit[k] >= this.eSize[this.fHead[k]]) return f;
      this.deficit[k] += DRR_QUANTUM;
      // Its turn is over: to the back of the ring.
      this.ringHead[c] = (this.ringHead[c] + 1) % MAX_FLOWS;
      this.ring[c * MAX_FLOWS + ((this.ringHead[c] + this.ringCount[c] - 1) % MAX_FLOWS)] = f;
    }
    return -1;
  }

  /** Removes the flow at the head of class c's ring (it has nothing queued). */
  private popRing(c: number, k: number): void {
    this.ringHead[c] = (this.ringHead[c] + 1) % MAX_FLOWS;
    this.ringCount[c]--;
    this.fInRing[k] = 0;
    this.deficit[k] = 0;
  }

  /** Sends-side bookkeeping of DRR after the head packet of flow f (class c) was taken. */
  private served(c: number, f: number, size: number): void {
    const k = c * MAX_FLOWS + f;
    this.deficit[k] -= size;
    if (this.fCount[k] === 0) this.popRing(c, k);
  }

  /** The flow of class c with the most packets queued (ties: the first found), -1 if the class is empty. */
  private longestFlow(c: number): number {
    let best = -1;
    let most = 0;
    for (let i = 0; i < this.ringCount[c]; i++) {
      const f = this.ring[c * MAX_FLOWS + ((this.ringHead[c] + i) % MAX_FLOWS)];
      const n = this.fCount[c * MAX_FLOWS + f];
      if (n > most) {
        most = n;
        best = f;
      }
    }
    return best;
  }

  /** Releases what the budget allows now; returns the number of packets released (padding included). */
  process(nowMs: number): number {
    this.refill(nowMs);
    let released = 0;
    while (this.budget > 0) {
      const c = this.topClass();
      if (c < 0) {
        if (this.cId < 0 || !this.sink.padding) break;
        const remBytes = Math.max(0, this.cBytes - this.cSentBytes);
        const remPackets = Math.max(1, this.cMinPackets - this.cSentPackets);
        const want = Math.min(this.maxPadding, Math.max(MIN_PADDING_BYTES, Math.ceil(remBytes / remPackets)));
        const id = this.cId;
        const got = this.sink.padding(want, id, nowMs);
        if (!(got > 0)) {
          this.cId = -1; // nothing to pad with: the cluster ends short
          break;
        }
        this.counters.paddingBytes += got;
        this.charge(got);
        released++;
        continue;
      }
      const f = this.pickFlow(c);
      const e = this.takeHead(c, f);
      const handle = this.eHandle[e];
      const size = this.eSize[e];
      this.served(c, f, size);
      if (nowMs - this.eTime[e] > this.maxDelayMs) {
        this.counters.expired++;
        this.sink.drop?.(handle, 'expired');
        continue;
      }
      const id = this.cId;
      this.charge(size);
      this.sink.release(handle, size, id, nowMs);
      released++;
    }
    return released;
  }

  /** When process() should run next: now if it can send, when the budget refills if it has a backlog. */
  nextProcessMs(nowMs: number): number {
    this.refill(nowMs);
    if (this.total === 0 && this.cId < 0) return Infinity;
    if (this.budget > 0) return nowMs;
    return nowMs + (-this.budget * 8000) / this.currentRate();
  }

  /** Drops everything queued (transport closed, subscriber gone). */
  clear(): void {
    for (let c = 0; c < CLASSES; c++) {
      for (let f = 0; f < MAX_FLOWS; f++) {
        while (this.fCount[c * MAX_FLOWS + f] > 0) {
          const e = this.takeHead(c, f);
          this.counters.cleared++;
          this.sink.drop?.(this.eHandle[e], 'cleared');
        }
      }
      while (this.ringCount[c] > 0) this.popRing(c, c * MAX_FLOWS + this.ring[c * MAX_FLOWS + this.ringHead[c]]);
    }
    this.total = 0;
    this.bytes = 0;
    this.cId = -1;
  }

  private currentRate(): number {
    return this.cId >= 0 && this.cRate > this.rateBps ? this.cRate : this.rateBps;
  }

  private refill(nowMs: number): void {
    if (this.cId >= 0 && nowMs >= this.cDeadline) this.cId = -1;
    if (Number.isNaN(this.lastRefill)) {
      this.lastRefill = nowMs;
      return;
    }
    const dt = nowMs - this.lastRefill;
    if (dt <= 0) return;
    this.lastRefill = nowMs;
    const rate = this.currentRate();
    // Idle: only a small burst may be saved. Backlogged: a late process() may catch up a little more.
    const capMs = this.total > 0 || this.cId >= 0 ? this.catchUpMs : this.burstMs;
    const cap = (rate * capMs) / 8000;
    const next = this.budget + (rate * dt) / 8000;
    this.budget = next > cap ? Math.max(cap, this.budget) : next;
  }

  private charge(size: number): void {
    this.budget -= size;
    this.counters.sentPackets++;
    this.counters.sentBytes += size;
    if (this.cId >= 0) {
      this.cSentBytes += size;
      this.cSentPackets++;
      if (this.cSentBytes >= this.cBytes && this.cSentPackets >= this.cMinPackets) this.cId = -1;
    }
  }

  private topClass(): number {
    for (let c = 0; c < CLASSES; c++) if (this.counts[c] > 0) return c;
    return -1;
  }

  private queuedAtOrAbove(priority: number): boolean {
    for (let c = 0; c <= priority; c++) if (this.counts[c] > 0) return true;
    return false;
  }

  /** Makes room by dropping the oldest packet of the longest flow of the least important class below `priority`. */
  private evictBelow(priority: number): boolean {
    for (let c = CLASSES - 1; c > priority; c--) {
      if (this.counts[c] === 0) continue;
      const e = this.takeHead(c, this.longestFlow(c));
      this.counters.queue_full++;
      this.sink.drop?.(this.eHandle[e], 'queue_full');
      return true;
    }
    return false;
  }

  /**
   * Longest-queue drop within the newcomer's class: the flow holding the most packets loses its oldest, if it
   * holds more than the newcomer's flow would after the newcomer joins it (a flooder's own packets make room
   * for its neighbours', never the reverse).
   */
  private evictLongest(priority: number, flow: number): boolean {
    const f = this.longestFlow(priority);
    if (f < 0 || f === flow || this.fCount[priority * MAX_FLOWS + f] <= this.fCount[priority * MAX_FLOWS + flow] + 1) return false;
    const e = this.takeHead(priority, f);
    this.counters.queue_full++;
    this.counters.flowEvictions++;
    this.sink.drop?.(this.eHandle[e], 'queue_full');
    return true;
  }
}
