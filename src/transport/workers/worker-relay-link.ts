import type { RelayLink } from '../../cascade/relay/relay-link.ts';
import type { RelayEndpointHandler } from '../relay/relay-endpoint.ts';
import { countDrop } from '../../metrics/drop-reasons.ts';
import { workerStats } from '../../metrics/registry.ts';
import type { Clock } from '../../util/clock.ts';
import type { Logger } from '../../util/logger.ts';
import { SpscRing } from './spsc-ring.ts';
import { Doorbell } from './doorbell.ts';

/** Record tags on a ring between workers (RelayEndpoint's types, without the crypto). */
const TAG_RTP = 1;
const TAG_RTCP = 2;
const TAG_CONTROL = 3;

/**
 * Between workers the link is memory: RTT is a scheduling delay, not a path. NACK retries and the
 * keyframe-throttle windows of TrackRelay read this; a worker tick (20 ms) is the honest figure.
 */
const WORKER_RTT_MS = 20;
/** An idle reader wakes at least this often (a missed ring, or a peer gone), though writers ring it. */
const IDLE_WAKE_MS = 1000;

/** The shared memory of one direction between two workers: the ring, and the reader's doorbell. */
export interface RingPair {
  /** Written by this worker, read by the peer. */
  out: SharedArrayBuffer;
  /** Written by the peer, read by this worker. */
  in: SharedArrayBuffer;
  /** The peer's doorbell (rung after writing to `out`). */
  peerBell: SharedArrayBuffer;
}

interface Peer {
  id: string;
  out: SpscRing;
  in: SpscRing;
  bell: Doorbell;
}

export interface WorkerRelayLinkOptions {
  /** This worker's id (a TrackRelay node id, e.g. "w0"). */
  self: string;
  /** This worker's doorbell: the peers ring it after writing to us. */
  bell: SharedArrayBuffer;
  clock: Clock;
  log: Logger;
}

/**
 * The media workers of one node, linked as TrackRelay links nodes (docs/workers.md): a RelayLink whose
 * packets cross through one SpscRing per ordered pair of workers instead of encrypted UDP. The publisher's
 * worker decrypted the packet once; the subscriber's worker protects it for its own transport. Control
 * (wants) crosses the same rings, so a ring full of media delays wants exactly as a congested link would.
 */
export class WorkerRelayLink implements RelayLink {
  private readonly peers = new Map<string, Peer>();
  private list: Peer[] = [];
  private handler: RelayEndpointHandler | null = null;
  private readonly bell: Doorbell;
  private running = false;
  private closed = false;
  /** The peer whose ring is being drained (the record handler is one preallocated function). */
  private current: Peer | null = null;

  constructor(private readonly o: WorkerRelayLinkOptions) {
    this.bell = new Doorbell(o.bell);
  }

  setHandler(h: RelayEndpointHandler | null): void {
    this.handler = h;
  }

  addPeer(id: string, rings: RingPair): void {
    const p: Peer = { id, out: new SpscRing(rings.out), in: new SpscRing(rings.in), bell: new Doorbell(rings.peerBell) };
    this.peers.set(id, p);
    this.list = [...this.peers.values()];
  }

  /** The peer worker died or left: its tracks here end, what it took from us stops (TrackRelay.peerDown). */
  removePeer(id: string): void {
    if (!this.peers.delete(id)) return;
    this.list = [...this.peers.values()];
    this.handler?.onPeerSilent(id);
  }

  hasPeer(id: string): boolean {
    return this.peers.has(id);
  }

  /** Records refused because the ring towards peer `id` was full (counted by this worker as the writer). */
  ringDrops(id: string): number {
    return this.peers.get(id)?.out.drops ?? 0;
  }

  /** Records peer `id` could not write to us because our ring from it was full (the count lives in the ring). */
  ringDropsFrom(id: string): number {
    return this.peers.get(id)?.in.drops ?? 0;
  }

  // ── RelayLink ─────────────────────────────────────────────────────────────────────────────────

  sendRtp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number): boolean {
    return this.write(peerId, TAG_RTP, originNum, streamId, buf, offset, length);
  }

  sendRtcp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number): boolean {
    return this.write(peerId, TAG_RTCP, originNum, streamId, buf, offset, length);
  }

  sendControl(peerId: string, buf: Buffer, offset: number, length: number): boolean {
    return this.write(peerId, TAG_CONTROL, 0, 0, buf, offset, length);
  }

  rttMs(): number {
    return WORKER_RTT_MS;
  }

  forgetStream(): void {}

  // ── reading ───────────────────────────────────────────────────────────────────────────────────

  /** Reads every record waiting from every peer; returns how many. */
  poll(): number {
    let n = 0;
    for (const p of this.list) {
      this.current = p;
      n += p.in.drain(this.onRecord);
    }
    this.current = null;
    workerStats.recordsReceived += n;
    return n;
  }

  /** Reads as records arrive: drains while there is work, sleeps on the doorbell when there is none. */
  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.loop();
  }

  close(): void {
    this.closed = true;
    this.running = false;
    this.bell.cancelSleep();
  }

  private readonly loop = (): void => {
    if (!this.running) return;
    this.poll();
    const seq = this.bell.prepareSleep();
    // A record published before the sleep was announced rang nobody: look once more.
    if (!this.allEmpty()) {
      this.bell.cancelSleep();
      setImmediate(this.loop);
      return;
    }
    const woke = this.bell.wait(seq, IDLE_WAKE_MS);
    if (woke === null) setImmediate(this.loop);
    else void woke.then(this.wake);
  };

  private readonly wake = (): void => {
    workerStats.wakeups++;
    this.loop();
  };

  private allEmpty(): boolean {
    for (const p of this.list) if (!p.in.isEmpty()) return false;
    return true;
  }

  private readonly onRecord = (tag: number, a: number, b: number, buf: Buffer, offset: number, length: number): void => {
    const h = this.handler;
    const p = this.current!;
    if (h === null) return countDrop('relay_no_handler');
    const now = this.o.clock.now();
    try {
      if (tag === TAG_RTP) h.onRtp(p.id, a, b, buf, offset, length, now);
      else if (tag === TAG_RTCP) h.onRtcp(p.id, a, b, buf, offset, length, now);
      else if (tag === TAG_CONTROL) h.onControl?.(p.id, buf, offset, length, now);
      else countDrop('relay_unknown_type');
    } catch (e) {
      countDrop('relay_handler_error');
      this.o.log.error('worker relay handler failed', { err: e as Error, peer: p.id });
    }
  };

  private write(peerId: string, tag: number, a: number, b: number, buf: Buffer, offset: number, length: number): boolean {
    const p = this.peers.get(peerId);
    if (p === undefined) {
      countDrop('worker_unknown_peer');
      return false;
    }
    if (!p.out.write(tag, a, b, buf, offset, length)) {
      countDrop('worker_ring_full');
      return false;
    }
    workerStats.recordsSent++;
    p.bell.ring();
    return true;
  }
}

/** The shared memory linking workers a and b: each one's RingPair (ring sizes in bytes, a power of two). */
export function linkWorkers(bellA: SharedArrayBuffer, bellB: SharedArrayBuffer, ringBytes: number): { a: RingPair; b: RingPair } {
  const ab = new SpscRing(ringBytes).sab;
  const ba = new SpscRing(ringBytes).sab;
  return { a: { out: ab, in: ba, peerBell: bellB }, b: { out: ba, in: ab, peerBell: bellA } };
}
