/**
 * Receiver-side loss detection towards a publisher, producing the sequence numbers to put in Generic NACKs
 * (RFC 4585 §6.2.1). Gaps in the unwrapped sequence are recorded as missing; late or retransmitted arrivals
 * remove them. `collect` decides which to request now:
 *  - first request once the loss is older than the reorder delay clamp(rtt/4, 10, 50) ms: real reordering is
 *    usually a few ms, and asking before that only causes duplicate retransmissions;
 *  - retries every max(rtt, 20) ms (a retransmission cannot arrive sooner than one RTT), at most
 *    `maxRetries` requests;
 *  - gives up on losses detected more than `maxAgeMs` ago (the frame is useless to the decoder by then).
 * The list is bounded: a gap above `hugeGap` clears it and raises `needsKeyframe`; overflowing `maxMissing`
 * evicts the oldest entries and, if one was still missing, raises `needsKeyframe` too.
 * Entries live in a ring sorted by extended seq (gaps are appended in order), so recovery is a binary search.
 */

import { Unwrapper } from './seq-unwrapper.ts';

export interface NackOptions {
  maxMissing?: number;
  hugeGap?: number;
  maxRetries?: number;
  maxAgeMs?: number;
  /** RTT assumed while none is known (rttMs <= 0). */
  defaultRttMs?: number;
}

export class NackGenerator {
  /** Raised when losses cannot be repaired by NACK; the caller sends PLI/FIR and calls `clearKeyframeRequest`. */
  needsKeyframe = false;
  /** Counters for metrics. */
  recovered = 0;
  gaveUp = 0;

  private readonly cap: number;
  private readonly hugeGap: number;
  private readonly maxRetries: number;
  private readonly maxAgeMs: number;
  private readonly defaultRttMs: number;

  private readonly seq = new Unwrapper(16);
  // Ring of entries, oldest at `head`; `alive` 0 marks a removed entry (tombstone) until it reaches the head.
  private readonly ext: Float64Array;
  private readonly detectedMs: Float64Array;
  private readonly sentMs: Float64Array;
  private readonly retries: Uint8Array;
  private readonly alive: Uint8Array;
  private head = 0;
  private size = 0;
  private liveCount = 0;

  constructor(opts: NackOptions = {}) {
    this.cap = opts.maxMissing ?? 500;
    this.hugeGap = opts.hugeGap ?? 1000;
    this.maxRetries = Math.min(opts.maxRetries ?? 10, 255);
    this.maxAgeMs = opts.maxAgeMs ?? 1000;
    this.defaultRttMs = opts.defaultRttMs ?? 100;
    this.ext = new Float64Array(this.cap);
    this.detectedMs = new Float64Array(this.cap);
    this.sentMs = new Float64Array(this.cap);
    this.retries = new Uint8Array(this.cap);
    this.alive = new Uint8Array(this.cap);
  }

  /** Number of sequence numbers currently considered missing. */
  get missingCount(): number {
    return this.liveCount;
  }

  /** Returns and clears `needsKeyframe`. */
  clearKeyframeRequest(): boolean {
    const v = this.needsKeyframe;
    this.needsKeyframe = false;
    return v;
  }

  /** Per received media packet (including retransmissions, after RTX decapsulation). */
  onPacket(seq: number, nowMs: number): void {
    if (!this.seq.hasValue) {
      this.seq.unwrap(seq);
      return;
    }
    const prev = this.seq.highestExt;
    const ext = this.seq.unwrap(seq);
    if (ext > prev) {
      const gap = ext - prev - 1;
      if (gap === 0) return;
      if (gap > this.hugeGap) {
        this.reset();
        this.needsKeyframe = true;
        return;
      }
      for (let s = prev + 1; s < ext; s++) this.append(s, nowMs);
    } else if (ext < prev && this.liveCount > 0) {
      const k = this.find(ext);
      if (k >= 0 && this.alive[k] === 1) {
        this.alive[k] = 0;
        this.liveCount--;
        this.recovered++;
        this.trimHead();
      }
    }
  }

  /**
   * Fills `out` (cleared first) with the 16-bit seqs to NACK now, oldest first, and returns their number.
   * `rttMs` <= 0 means unknown.
   */
  collect(nowMs: number, rttMs: number, out: number[]): number {
    out.length = 0;
    if (this.liveCount === 0) return 0;
    const rtt = rttMs > 0 ? rttMs : this.defaultRttMs;
    const firstDelay = Math.min(Math.max(rtt / 4, 10), 50);
    const retryInterval = Math.max(rtt, 20);
    for (let i = 0; i < this.size; i++) {
      const k = (this.head + i) % this.cap;
      if (this.alive[k] === 0) continue;
      if (nowMs - this.detectedMs[k] > this.maxAgeMs) {
        this.kill(k);
        continue;
      }
      const due =
        this.retries[k] === 0
          ? nowMs - this.detectedMs[k] >= firstDelay
          : nowMs - this.sentMs[k] >= retryInterval;
      if (!due) continue;
      if (this.retries[k] >= this.maxRetries) {
        this.kill(k);
        continue;
      }
      this.retries[k]++;
      this.sentMs[k] = nowMs;
      out.push(this.ext[k] & 0xffff);
    }
    this.trimHead();
    return out.length;
  }

  reset(): void {
    this.head = 0;
    this.size = 0;
    this.liveCount = 0;
  }

  private kill(k: number): void {
    this.alive[k] = 0;
    this.liveCount--;
    this.gaveUp++;
  }

  private append(ext: number, nowMs: number): void {
    if (this.size === this.cap) {
      if (this.alive[this.head] === 1) {
        this.liveCount--;
        this.gaveUp++;
        this.needsKeyframe = true;
      }
      this.head = (this.head + 1) % this.cap;
      this.size--;
    }
    const k = (this.head + this.size) % this.cap;
    this.ext[k] = ext;
    this.detectedMs[k] = nowMs;
    this.sentMs[k] = 0;
    this.retries[k] = 0;
    this.alive[k] = 1;
    this.size++;
    this.liveCount++;
  }

  /** Ring index holding `ext`, or -1 (binary search; entries are sorted). */
  private find(ext: number): number {
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = (this.head + mid) % this.cap;
      const v = this.ext[k];
      if (v === ext) return k;
      if (v < ext) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private trimHead(): void {
    while (this.size > 0 && this.alive[this.head] === 0) {
      this.head = (this.head + 1) % this.cap;
      this.size--;
    }
  }
}
