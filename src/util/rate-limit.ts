/**
 * Token buckets and a sustained-abuse meter: the building blocks of every rate limit (signaling per
 * connection and per IP, publisher ingress, subscriber RTCP, DTLS handshake starts). Plain numbers only:
 * take() allocates nothing, so it can sit on the packet path.
 */

/** `ratePerS` tokens per second, at most `burst` saved up; starts full. */
export class TokenBucket {
  // [tokens, last refill ms]: a typed array, so storing a fraction never boxes a number (fields that hold
  // both small integers and fractions do, once per store).
  private readonly s = new Float64Array(2);
  constructor(
    public ratePerS: number,
    public burst: number,
  ) {
    this.s[0] = burst;
    this.s[1] = NaN;
  }

  private refill(nowMs: number): void {
    const s = this.s;
    if (Number.isNaN(s[1])) s[1] = nowMs;
    const dt = nowMs - s[1];
    if (dt > 0) {
      const t = s[0] + (dt * this.ratePerS) / 1000;
      s[0] = t > this.burst ? this.burst : t;
      s[1] = nowMs;
    }
  }

  /** Takes `cost` tokens if there are that many; false (and nothing taken) otherwise. */
  take(nowMs: number, cost = 1): boolean {
    this.refill(nowMs);
    if (this.s[0] < cost) return false;
    this.s[0] -= cost;
    return true;
  }

  /** Gives back what take() took (another limit refused the same thing). */
  refund(cost = 1): void {
    this.s[0] = Math.min(this.burst, this.s[0] + cost);
  }

  /** Tokens available now (tests). */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.s[0];
  }
}

/**
 * Refusals that go on: `note(now)` after each refusal returns true once refusals have come for at least
 * `sustainMs` with no quiet gap longer than `quietMs` between two of them (a legitimate burst that hits a
 * limit once is not abuse; a flood that keeps hitting it is).
 */
export class AbuseMeter {
  // [streak start, last refusal] (a typed array for the reason given at TokenBucket).
  private readonly s = new Float64Array([-Infinity, -Infinity]);
  /** Refusals counted since the current streak began. */
  refusals = 0;
  constructor(
    readonly sustainMs: number,
    readonly quietMs = 1000,
  ) {}

  note(nowMs: number): boolean {
    const s = this.s;
    if (nowMs - s[1] > this.quietMs) {
      s[0] = nowMs;
      this.refusals = 0;
    }
    s[1] = nowMs;
    this.refusals++;
    return nowMs - s[0] >= this.sustainMs;
  }
}

/**
 * Bytes and packets per second over a short window (two token buckets whose burst is `windowMs` of
 * their rate), with an AbuseMeter on the refusals. admit() is per packet: no allocation.
 */
export class IngressLimiter {
  private readonly bytes: TokenBucket;
  private readonly packets: TokenBucket;
  private readonly meter: AbuseMeter;
  /** Packets refused so far. */
  refused = 0;
  /** Set once refusals went on for `closeAfterMs`: the owner disconnects the sender. */
  abusive = false;

  constructor(limits: { bitsPerS: number; packetsPerS: number; windowMs: number; closeAfterMs: number }) {
    const w = limits.windowMs / 1000;
    this.bytes = new TokenBucket(limits.bitsPerS / 8, Math.max(1500, (limits.bitsPerS / 8) * w));
    this.packets = new TokenBucket(limits.packetsPerS, Math.max(1, limits.packetsPerS * w));
    this.meter = new AbuseMeter(limits.closeAfterMs);
  }

  /** One packet of `size` bytes: true to accept it, false to drop it (counted by the caller). */
  admit(size: number, nowMs: number): boolean {
    // Both buckets must allow it; the packet bucket is checked first so a refused packet costs no bytes.
    if (this.packets.take(nowMs) && this.bytes.take(nowMs, size)) return true;
    this.refused++;
    if (this.meter.note(nowMs)) this.abusive = true;
    return false;
  }
}
