/**
 * What one participant may send us (issue 15: a publisher at 50 Mbit/s, a subscriber sending 2,000
 * transport-cc feedbacks a second): bytes and packets per second over a short window, counted after SRTP
 * authentication, so a forged or replayed packet from a spoofed address can neither spend the victim's
 * budget nor get it disconnected. Excess is dropped under a named reason; excess that goes on for
 * `closeAfterMs` fails the transport, which disconnects the participant (WebSocket close 4000).
 */
import { countDrop, type DropReason } from '../metrics/drop-reasons.ts';
import { limitStats } from '../metrics/registry.ts';
import { IngressLimiter } from '../util/rate-limit.ts';

export interface IngressLimits {
  bitsPerS: number;
  packetsPerS: number;
  windowMs: number;
  closeAfterMs: number;
}

export class IngressGate {
  private readonly limiter: IngressLimiter;
  private reported = false;

  constructor(
    readonly limits: IngressLimits,
    private readonly reason: DropReason,
    /** Called once, outside the packet's call stack, when the excess went on for closeAfterMs. */
    private readonly onFlood: (why: string) => void,
  ) {
    this.limiter = new IngressLimiter(limits);
  }

  /** Packets refused so far. */
  get refused(): number {
    return this.limiter.refused;
  }

  /** Hot path: true to take the packet; false when it is over the limit (dropped and counted here). */
  admit(size: number, nowMs: number): boolean {
    if (this.limiter.admit(size, nowMs)) return true;
    countDrop(this.reason);
    if (this.limiter.abusive && !this.reported) {
      this.reported = true;
      limitStats.ingressDisconnects++;
      const why = `ingress over ${Math.round(this.limits.bitsPerS / 1000)} kbit/s or ${this.limits.packetsPerS} packets/s for ${this.limits.closeAfterMs} ms`;
      queueMicrotask(() => this.onFlood(why));
    }
    return false;
  }
}
