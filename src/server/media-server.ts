import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { MediaMux } from '../transport/media-mux.ts';
import { bindMediaSocket } from '../transport/udp-socket.ts';
import { IceTcpListener } from '../transport/tcp/ice-tcp-listener.ts';
import type { HostCandidate } from '../signaling/sdp/types.ts';
import { IceLiteAgent, generateIceCredentials } from '../transport/ice/ice-lite.ts';
import { WebRtcTransport, type DtlsParameters } from '../transport/webrtc-transport.ts';
import { createDtlsCertificate, type DtlsCertificate } from '../transport/dtls/certificate.ts';
import { packetStats } from '../metrics/registry.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { IngressLimits } from '../media/ingress-gate.ts';
import { HandshakeGuard, type DtlsLimits } from '../transport/dtls/handshake-guard.ts';

/** Something the media loop ticks every LOOP_MS (feedback timers of publish and subscribe sessions). */
export interface Tickable {
  tick(nowMs: number): void;
  /**
   * Set by the session after a tick that found nothing to do and nothing in flight: the loop then ticks it
   * only every QUIET_EVERY turns, until the session clears it (a packet, RTCP, a change) or its own tick does.
   */
  readonly quiet?: boolean;
  /** Set by the loop: the session calls it when it stops being quiet, so a slowed loop speeds up at once. */
  onWake?: (() => void) | null;
}

const LOOP_MS = 20;
/** A quiet session is ticked every QUIET_EVERY loop turns (200 ms): its reports and allocation checks run on. */
export const QUIET_EVERY = 10;

export interface MediaServerOptions {
  bindIp: string;
  port: number;
  announcedIp: string;
  /** Addresses of our host candidates (config media.candidateIps); default [announcedIp]. */
  candidateIps?: string[];
  announcedPort: number;
  /** ICE-TCP (RFC 6544) on this port (0 = any free one); null = off. */
  tcpPort?: number | null;
  /** Our DTLS role on publish transports (the browser offers actpass there). */
  publishDtlsRole: 'client' | 'server';
  /** DTLS handshake limits (config limits.dtls); unset = none. */
  dtls?: DtlsLimits;
  /** What one participant may send us (config limits.ingress); unset = no limit. */
  ingress?: { publisher: IngressLimits; subscriber: IngressLimits };
  clock: Clock;
  log: Logger;
}

/**
 * The media worker: one UDP socket, the ICE-lite agent, the DTLS identity, and the loop that drives
 * RTCP feedback. Transports are created here and live until their owner closes them.
 */
export class MediaServer {
  readonly mux: MediaMux;
  readonly ice: IceLiteAgent;
  private readonly tickables = new Set<Tickable>();
  /** The media loop's timer: armed only while something is registered (an empty server never wakes for it). */
  private loop: TimerHandle | null = null;
  private turn = 0;
  /** The loop turns every QUIET_EVERY × LOOP_MS because every session is quiet. */
  private slow = false;
  /** Once-a-second work (quality sampling) rides on the loop's turns: no wake-ups of its own. */
  private readonly perSecond = new Set<(lagMs: number) => void>();
  private nextSecondAt = 0;
  /** When the next turn is due (-1: the loop is not armed) and the most a turn of this second ran late (ms). */
  private dueAt = -1;
  private lagMs = 0;
  private closed = false;
  /** Put into every SDP we write (RFC 8839 §5.1). */
  readonly candidates: HostCandidate[];
  tcp: IceTcpListener | null = null;
  /** Limits on DTLS handshakes over every transport of this server, null = none. */
  readonly dtlsGuard: HandshakeGuard | null;

  /** Ingress limits for publish and subscribe sessions (config limits.ingress), null = none. */
  get ingressLimits(): { publisher: IngressLimits; subscriber: IngressLimits } | null {
    return this.opts.ingress ?? null;
  }

  private constructor(
    private readonly socket: Socket,
    private readonly socket6: Socket | null,
    readonly certificate: DtlsCertificate,
    private readonly opts: MediaServerOptions,
  ) {
    this.mux = new MediaMux(socket, socket6);
    this.dtlsGuard = opts.dtls ? new HandshakeGuard(opts.dtls) : null;
    const v6ok = socket6 !== null || socket.address().family === 'IPv6';
    const ips = (opts.candidateIps ?? [opts.announcedIp]).filter((ip) => v6ok || !ip.includes(':'));
    this.candidates = ips.map((ip) => ({ ip, port: opts.announcedPort || this.mux.port, protocol: 'udp' as const }));
    this.ice = new IceLiteAgent(opts.clock);
    this.mux.setStunHandler({
      handleStun: (buf, address, port, family, protocol) => {
        const r = this.ice.handle(buf, address, port, family, protocol);
        if (r.endpoint && r.drop === null) packetStats.stunRequests++;
        return r.response;
      },
    });
  }

  static async start(opts: MediaServerOptions): Promise<MediaServer> {
    const certificate = await createDtlsCertificate();
    const socket = await bindMediaSocket(opts.bindIp.includes(':') ? 'udp6' : 'udp4', opts.port, opts.bindIp);
    socket.on('error', (e) => opts.log.error('media socket error', { err: e }));
    // IPv6 host candidates need an IPv6 socket beside the IPv4 wildcard one, on the same port.
    let socket6: Socket | null = null;
    if (opts.bindIp === '0.0.0.0' && (opts.candidateIps ?? []).some((ip) => ip.includes(':'))) {
      try {
        socket6 = await bindMediaSocket('udp6', socket.address().port, '::');
        socket6.on('error', (e) => opts.log.error('media socket error', { err: e }));
      } catch (e) {
        opts.log.warn('no IPv6 media socket: IPv6 candidates left out', { err: e as Error });
      }
    }
    const s = new MediaServer(socket, socket6, certificate, opts);
    if (opts.tcpPort !== undefined && opts.tcpPort !== null) {
      try {
        s.tcp = await IceTcpListener.listen(opts.bindIp, opts.tcpPort, s.mux, opts.clock, opts.log);
        const tcpCandidates = s.candidates.map((c) => ({ ip: c.ip, port: s.tcp!.port, protocol: 'tcp' as const }));
        s.candidates.push(...tcpCandidates);
      } catch (e) {
        await s.close();
        throw new Error(`ICE-TCP port ${opts.tcpPort} on ${opts.bindIp}: ${(e as Error).message} (media.tcpPort, or media.iceTcp false)`);
      }
    }
    opts.log.info('media sockets bound', {
      ip: opts.bindIp,
      port: s.mux.port,
      tcpPort: s.tcp?.port ?? null,
      candidates: s.candidates.map((c) => `${c.protocol} ${c.ip} ${c.port}`).join(', '),
    });
    return s;
  }

  get port(): number {
    return this.mux.port;
  }

  /** The candidate put into SDPs (an impairment proxy's address in tests). */
  get announcedPort(): number {
    return this.opts.announcedPort || this.mux.port;
  }

  /** a=setup of our publish answers: active = we are the DTLS client (RFC 5763 §5). */
  get publishDtlsSetup(): 'active' | 'passive' {
    return this.opts.publishDtlsRole === 'client' ? 'active' : 'passive';
  }

  get announcedIp(): string {
    return this.opts.announcedIp;
  }

  createTransport(remoteUfrag: string | null, dtls: DtlsParameters | null, kind: 'pub' | 'sub'): WebRtcTransport {
    return new WebRtcTransport({
      id: `${kind}-${randomBytes(6).toString('hex')}`,
      mux: this.mux,
      ice: this.ice,
      iceCredentials: generateIceCredentials(),
      remoteUfrag,
      certificate: this.certificate,
      dtls,
      clock: this.opts.clock,
      log: this.opts.log,
      dtlsGuard: this.dtlsGuard,
      // A subscribe transport is where we protect every copy we forward: prefer the profile whose keystream
      // is made ahead (the browser, as DTLS client, offers both). Publish transports keep GCM first.
      srtpPreference: kind === 'sub' ? 'aes-cm' : 'gcm',
    });
  }

  addTickable(t: Tickable): void {
    this.tickables.add(t);
    if ('onWake' in t) t.onWake = this.wake;
    this.wake();
  }

  /**
   * Back to a turn every LOOP_MS. While every session is quiet the loop itself turns only every
   * QUIET_EVERY × LOOP_MS: each wake-up of an idle process costs ~0.1 ms of cold caches (bench/idle-cost.ts).
   */
  private readonly wake = (): void => {
    if (this.closed || (this.loop !== null && !this.slow)) return;
    if (this.loop !== null) this.opts.clock.clear(this.loop);
    this.slow = false;
    this.loop = this.opts.clock.setInterval(this.onLoop, LOOP_MS);
    this.dueAt = this.opts.clock.now() + LOOP_MS;
  };

  /**
   * Run `fn` about once a second while the loop runs (that is, while any session exists), with the most the
   * loop ran late over that second. Returns the way to stop.
   */
  everySecond(fn: (lagMs: number) => void): () => void {
    this.perSecond.add(fn);
    return () => void this.perSecond.delete(fn);
  }

  removeTickable(t: Tickable): void {
    this.tickables.delete(t);
    this.stopWhenIdle();
  }

  /** Nothing registered and no DTLS handshake left for the guard to expire: the loop stops until the next add. */
  private stopWhenIdle(): void {
    if (this.tickables.size === 0 && this.loop !== null && (this.dtlsGuard?.inProgress ?? 0) === 0) {
      this.opts.clock.clear(this.loop);
      this.loop = null;
      this.slow = false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.loop !== null) this.opts.clock.clear(this.loop);
    this.loop = null;
    this.mux.close();
    await this.tcp?.close();
    await new Promise<void>((r) => this.socket.close(() => r()));
    if (this.socket6) await new Promise<void>((r) => this.socket6!.close(() => r()));
  }

  private readonly onLoop = (): void => this.tick();

  private tick(): void {
    const now = this.opts.clock.now();
    if (this.dueAt >= 0) this.lagMs = Math.max(this.lagMs, now - this.dueAt);
    if (now >= this.nextSecondAt && this.perSecond.size > 0) {
      this.nextSecondAt = now + 1000;
      const lag = this.lagMs;
      this.lagMs = 0;
      for (const fn of this.perSecond) {
        try {
          fn(lag);
        } catch (e) {
          this.opts.log.error('once-a-second work failed', { err: e as Error });
        }
      }
    }
    this.dtlsGuard?.expire(now);
    // Touching an idle session's state every 20 ms costs more than its work (cold caches): see bench/idle-cost.ts.
    const slowTurn = this.slow || ++this.turn % QUIET_EVERY === 0;
    let busy = 0;
    for (const t of this.tickables) {
      if (t.quiet === true && !slowTurn) continue;
      try {
        t.tick(now);
      } catch (e) {
        this.opts.log.error('media loop tick failed', { err: e as Error });
      }
      if (t.quiet !== true) busy++;
    }
    this.stopWhenIdle();
    // A session its own tick found busy (packets it forwards started again): back to full speed.
    if (this.slow && busy > 0) this.wake();
    // Every session quiet after a full turn (and no handshake to expire): slow the loop down until one wakes.
    if (slowTurn && busy === 0 && !this.slow && this.loop !== null && (this.dtlsGuard?.inProgress ?? 0) === 0) {
      this.opts.clock.clear(this.loop);
      this.slow = true;
      this.loop = this.opts.clock.setInterval(this.onLoop, LOOP_MS * QUIET_EVERY);
    }
    this.dueAt = this.loop === null ? -1 : Math.max(this.dueAt, now + (this.slow ? LOOP_MS * QUIET_EVERY : LOOP_MS));
  }
}
