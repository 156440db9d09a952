/**
 * Limits on DTLS handshakes (issue 15: a replayed ClientHello costs ~1.2 ms of main-thread CPU, werift
 * answering each with a new flight; 1,000/s took 52 % of the process). Per server:
 *   - handshakes in progress at once, in total and from one IP address: a DTLS datagram that would start
 *     one more is dropped (`dtls_handshake_limit`); the peer retransmits (RFC 6347 §4.2.4) and gets in when
 *     a slot frees;
 *   - ClientHellos (RFC 6347 §4.2.1: a handshake record, msg_type 1) per transport, handshake or not, over a
 *     token bucket that lets a real client's hello, cookie hello and retransmissions through: the rest are
 *     dropped (`dtls_hello_rate_limited`), and refusals that go on fail the transport (the flooder leaves).
 *     A hello counts once, by its first fragment: Chromium's hello with a post-quantum key share is ~1,400
 *     octets and arrives as two fragments (§4.2.3), and WebRTC retransmits from 50 ms doubling (§4.2.4),
 *     so one busy second can see the hello twice and the cookie hello four times;
 *   - a handshake not finished `handshakeTimeoutMs` after it started is dropped: its transport fails.
 * Only addresses ICE validated reach a transport, so all of this is per authenticated peer path.
 */
import type { DropReason } from '../../metrics/drop-reasons.ts';
import { limitStats } from '../../metrics/registry.ts';
import { AbuseMeter, TokenBucket } from '../../util/rate-limit.ts';

export interface DtlsLimits {
  maxHandshakes: number;
  maxHandshakesPerIp: number;
  clientHellosPerS: number;
  clientHellosBurst: number;
  handshakeTimeoutMs: number;
  /** ClientHello refusals that go on this long fail the transport. */
  closeAfterMs: number;
}

/** What the guard needs of a transport. */
export interface GuardedTransport {
  /** The handshake is done (or the transport closed): it no longer counts as in progress. */
  readonly handshakeDone: boolean;
  /** Fail the transport (its owner disconnects). */
  failHandshake(reason: string): void;
}

interface Entry {
  ip: string;
  startedAt: number;
  /** In the in-progress set. */
  active: boolean;
  hellos: TokenBucket;
  meter: AbuseMeter;
  failed: boolean;
}

/**
 * The datagram starts a ClientHello: RFC 6347 §4.1 record header (13 octets), then the §4.2.2 handshake
 * header: msg_type 1, and fragment_offset (octets 6–8 of that header) 0 — its first or only fragment.
 */
export function isClientHello(d: Buffer): boolean {
  return d.length >= 25 && d[0] === 22 && d[13] === 1 && d[19] === 0 && d[20] === 0 && d[21] === 0;
}

export class HandshakeGuard {
  private readonly entries = new Map<GuardedTransport, Entry>();
  private readonly perIp = new Map<string, number>();
  private active = 0;

  constructor(readonly limits: DtlsLimits) {}

  get inProgress(): number {
    return this.active;
  }

  /**
   * One DTLS datagram from `ip` for transport `t`: null to hand it to DTLS, else the drop reason (the
   * caller counts it).
   */
  admit(t: GuardedTransport, ip: string, datagram: Buffer, nowMs: number): DropReason | null {
    let e = this.entries.get(t);
    if (!e) {
      e = { ip, startedAt: nowMs, active: false, hellos: new TokenBucket(this.limits.clientHellosPerS, this.limits.clientHellosBurst), meter: new AbuseMeter(this.limits.closeAfterMs), failed: false };
      this.entries.set(t, e);
    }
    if (!e.active && !t.handshakeDone) {
      const fromIp = this.perIp.get(ip) ?? 0;
      if (this.active >= this.limits.maxHandshakes || fromIp >= this.limits.maxHandshakesPerIp) return 'dtls_handshake_limit';
      e.active = true;
      e.ip = ip;
      e.startedAt = nowMs;
      this.perIp.set(ip, fromIp + 1);
      this.active++;
      limitStats.dtlsHandshakesInProgress++;
    }
    if (isClientHello(datagram) && !e.hellos.take(nowMs)) {
      if (e.meter.note(nowMs) && !e.failed) {
        e.failed = true;
        t.failHandshake(`more than ${this.limits.clientHellosPerS} DTLS ClientHellos per second for ${this.limits.closeAfterMs} ms`);
      }
      return 'dtls_hello_rate_limited';
    }
    return null;
  }

  /** The handshake finished: it no longer counts as in progress (its ClientHello budget stays). */
  finished(t: GuardedTransport): void {
    const e = this.entries.get(t);
    if (e) this.deactivate(e);
  }

  /** The transport closed: forget it. */
  forget(t: GuardedTransport): void {
    const e = this.entries.get(t);
    if (!e) return;
    this.deactivate(e);
    this.entries.delete(t);
  }

  /** Fails every handshake in progress for longer than handshakeTimeoutMs (called from the media loop). */
  expire(nowMs: number): void {
    if (this.active === 0) return;
    for (const [t, e] of this.entries) {
      if (!e.active) continue;
      if (t.handshakeDone) {
        this.deactivate(e);
        continue;
      }
      if (nowMs - e.startedAt <= this.limits.handshakeTimeoutMs) continue;
      this.deactivate(e);
      limitStats.dtlsHandshakeTimeouts++;
      t.failHandshake(`DTLS handshake did not finish within ${this.limits.handshakeTimeoutMs} ms`);
    }
  }

  private deactivate(e: Entry): void {
    if (!e.active) return;
    e.active = false;
    this.active--;
    const n = (this.perIp.get(e.ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(e.ip);
    else this.perIp.set(e.ip, n);
    limitStats.dtlsHandshakesInProgress--;
  }
}
