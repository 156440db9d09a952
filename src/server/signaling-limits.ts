/**
 * Signaling rate limits (issue 15): per connection AND per client IP address, by message kind. Every
 * message spends a `message` token; offers (publish, restartIce: each makes the server parse or write an SDP
 * and touch transports) spend an `offer` token too, and `move` a `move` token. A subscriberAnswer is not an
 * offer here: it is parsed only for the one offer outstanding, so the server paces it, and refusing one
 * would stall a legitimate subscriber's negotiation. A refused message is answered `rate_limited`; refusals that go on for `closeAfterLimitedMs` (no
 * quiet second between them) close the connection. The per-IP buckets are shared by every connection from
 * that address, so opening more sockets buys no more rate.
 */
import type { Config } from '../config/config.ts';
import { AbuseMeter, TokenBucket } from '../util/rate-limit.ts';
import { limitStats } from '../metrics/registry.ts';
import type { Clock } from '../util/clock.ts';

export type SignalingLimitsConfig = Config['limits']['signaling'];
export type LimitedKind = 'message' | 'offer' | 'move';

/** Which extra bucket a message type spends from, beyond `message`. */
export function kindOf(type: string): LimitedKind {
  if (type === 'publish' || type === 'restartIce') return 'offer';
  if (type === 'move') return 'move';
  return 'message';
}

interface Buckets {
  message: TokenBucket;
  offer: TokenBucket;
  move: TokenBucket;
}

interface IpEntry extends Buckets {
  connections: number;
}

/** Verdicts of SignalingLimiter.admit. */
export type Admit = { ok: true } | { ok: false; close: boolean; what: string };

const OK: Admit = { ok: true };

/** One per server: the per-IP state, and a limiter per connection. */
export class SignalingGuard {
  private readonly ips = new Map<string, IpEntry>();

  constructor(
    readonly limits: SignalingLimitsConfig,
    private readonly clock: Clock,
  ) {}

  /** IP addresses with state (tests). */
  get trackedIps(): number {
    return this.ips.size;
  }

  connection(ip: string): SignalingLimiter {
    let e = this.ips.get(ip);
    if (!e) {
      const l = this.limits;
      // Per IP: the burst is two seconds of its rate.
      e = {
        connections: 0,
        message: new TokenBucket(l.perIpMessagesPerS, Math.max(l.messagesBurst, 2 * l.perIpMessagesPerS)),
        offer: new TokenBucket(l.perIpOffersPerS, Math.max(l.offersBurst, 2 * l.perIpOffersPerS)),
        move: new TokenBucket(l.perIpMovesPerS, Math.max(l.movesBurst, 2 * l.perIpMovesPerS)),
      };
      this.ips.set(ip, e);
    }
    e.connections++;
    return new SignalingLimiter(this, ip, e, this.clock);
  }

  /** A connection ended: the IP's state goes with its last connection. */
  release(ip: string, e: IpEntry): void {
    if (--e.connections <= 0 && this.ips.get(ip) === e) this.ips.delete(ip);
  }
}

export class SignalingLimiter {
  private readonly own: Buckets;
  private readonly meter: AbuseMeter;
  private released = false;

  constructor(
    private readonly guard: SignalingGuard,
    private readonly ip: string,
    private readonly shared: IpEntry,
    private readonly clock: Clock,
  ) {
    const l = guard.limits;
    this.own = {
      message: new TokenBucket(l.messagesPerS, l.messagesBurst),
      offer: new TokenBucket(l.offersPerS, l.offersBurst),
      move: new TokenBucket(l.movesPerS, l.movesBurst),
    };
    this.meter = new AbuseMeter(l.closeAfterLimitedMs);
  }

  /** Spends a token of `kind` from this connection's bucket and its IP's; says what was exceeded if not. */
  admit(kind: LimitedKind): Admit {
    const now = this.clock.now();
    const l = this.guard.limits;
    let what: string | null = null;
    if (!this.own[kind].take(now)) what = kind === 'message' ? `more than ${l.messagesPerS} messages per second` : kind === 'offer' ? `more than ${l.offersPerS} SDP offers per second` : `more than ${l.movesPerS} moves per second`;
    else if (!this.shared[kind].take(now)) {
      this.own[kind].refund(); // what the address refused this connection did not spend
      what = kind === 'message' ? `more than ${l.perIpMessagesPerS} messages per second from this address` : kind === 'offer' ? `more than ${l.perIpOffersPerS} SDP offers per second from this address` : `more than ${l.perIpMovesPerS} moves per second from this address`;
    }
    if (what === null) return OK;
    if (kind === 'message') limitStats.signalingLimitedMessage++;
    else if (kind === 'offer') limitStats.signalingLimitedOffer++;
    else limitStats.signalingLimitedMove++;
    return { ok: false, close: this.meter.note(now), what };
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.guard.release(this.ip, this.shared);
  }
}
