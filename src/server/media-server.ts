import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { UdpMux } from '../transport/udp-mux.ts';
import { IceLiteAgent, generateIceCredentials } from '../transport/ice/ice-lite.ts';
import { WebRtcTransport, type DtlsParameters } from '../transport/webrtc-transport.ts';
import { createDtlsCertificate, type DtlsCertificate } from '../transport/dtls/certificate.ts';
import { packetStats } from '../metrics/registry.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

/** Something the media loop ticks every LOOP_MS (feedback timers of publish and subscribe sessions). */
export interface Tickable {
  tick(nowMs: number): void;
}

const LOOP_MS = 20;

export interface MediaServerOptions {
  bindIp: string;
  port: number;
  announcedIp: string;
  announcedPort: number;
  /** Our DTLS role on publish transports (the browser offers actpass there). */
  publishDtlsRole: 'client' | 'server';
  clock: Clock;
  log: Logger;
}

/**
 * The media worker: one UDP socket, the ICE-lite agent, the DTLS identity, and the loop that drives
 * RTCP feedback. Transports are created here and live until their owner closes them.
 */
export class MediaServer {
  readonly mux: UdpMux;
  readonly ice: IceLiteAgent;
  private readonly tickables = new Set<Tickable>();
  private readonly loop: TimerHandle;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    readonly certificate: DtlsCertificate,
    private readonly opts: MediaServerOptions,
  ) {
    this.mux = new UdpMux(socket);
    this.ice = new IceLiteAgent(opts.clock);
    this.mux.setStunHandler({
      handleStun: (buf, address, port, family) => {
        const r = this.ice.handle(buf, address, port, family);
        if (r.endpoint && r.drop === null) packetStats.stunRequests++;
        return r.response;
      },
    });
    this.loop = opts.clock.setInterval(() => this.tick(), LOOP_MS);
  }

  static async start(opts: MediaServerOptions): Promise<MediaServer> {
    const certificate = await createDtlsCertificate();
    const family = opts.bindIp.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket({ type: family, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.bindIp, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (e) => opts.log.error('media socket error', { err: e }));
    const s = new MediaServer(socket, certificate, opts);
    opts.log.info('media socket bound', { ip: opts.bindIp, port: s.mux.port, announcedIp: opts.announcedIp, announcedPort: s.announcedPort });
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
    });
  }

  addTickable(t: Tickable): void {
    this.tickables.add(t);
  }

  removeTickable(t: Tickable): void {
    this.tickables.delete(t);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.opts.clock.clear(this.loop);
    this.mux.close();
    await new Promise<void>((r) => this.socket.close(() => r()));
  }

  private tick(): void {
    const now = this.opts.clock.now();
    for (const t of this.tickables) {
      try {
        t.tick(now);
      } catch (e) {
        this.opts.log.error('media loop tick failed', { err: e as Error });
      }
    }
  }
}
