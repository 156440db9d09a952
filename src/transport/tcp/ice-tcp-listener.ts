import { createServer, type Server, type Socket } from 'node:net';
import { countDrop } from '../../metrics/drop-reasons.ts';
import type { MediaMux, TcpPeer } from '../media-mux.ts';
import type { Clock, TimerHandle } from '../../util/clock.ts';
import type { Logger } from '../../util/logger.ts';
import { FrameReader, frame } from './frame-reader.ts';

/**
 * ICE-TCP, passive side (RFC 6544): one listening TCP port; each accepted connection carries RFC 4571
 * framed STUN, DTLS and SRTP for the transport ICE binds to it, and goes through the same MediaMux as UDP.
 * For clients that can reach only TCP (UDP blocked); UDP is preferred whenever both work (candidate
 * priorities), since TCP puts every packet behind the ones lost before it.
 */

/** Send queue bound per connection: beyond it media is dropped (late media is worthless). */
const MAX_QUEUED_BYTES = 256 * 1024;
/** A connection no transport owns after this long is closed (hostile or abandoned). */
const UNBOUND_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS = 4096;

class TcpConnection implements TcpPeer {
  readonly reader = new FrameReader();
  readonly openedAt: number;

  constructor(
    readonly socket: Socket,
    readonly address: string,
    readonly port: number,
    readonly family: 4 | 6,
    now: number,
  ) {
    this.openedAt = now;
  }

  send(buf: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) {
      countDrop('tcp_not_connected');
      return;
    }
    if (this.socket.writableLength > MAX_QUEUED_BYTES && buf[0] >= 128) {
      countDrop('tcp_backpressure');
      return;
    }
    this.socket.write(frame(buf));
  }

  close(): void {
    this.socket.destroy();
  }
}

export class IceTcpListener {
  private readonly connections = new Set<TcpConnection>();
  private readonly sweep: TimerHandle;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly mux: MediaMux,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    server.on('connection', (s) => this.accept(s));
    server.on('error', (e) => log.error('ICE-TCP listener error', { err: e }));
    this.sweep = clock.setInterval(() => this.closeUnbound(), UNBOUND_TIMEOUT_MS / 2);
  }

  /** Listen on `host:port` (0 = any free port). An IPv4 wildcard listens dual-stack where the host has IPv6. */
  static async listen(host: string, port: number, mux: MediaMux, clock: Clock, log: Logger): Promise<IceTcpListener> {
    const tryListen = (h: string, p: number) =>
      new Promise<Server>((resolve, reject) => {
        const server = createServer({ noDelay: true });
        server.once('error', reject);
        server.listen({ host: h, port: p }, () => {
          server.off('error', reject);
          resolve(server);
        });
      });
    let server: Server;
    if (host === '0.0.0.0') {
      try {
        server = await tryListen('::', port);
      } catch {
        server = await tryListen(host, port);
      }
    } else server = await tryListen(host, port);
    return new IceTcpListener(server, mux, clock, log);
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    if (this.closed || this.connections.size >= MAX_CONNECTIONS || !socket.remoteAddress || !socket.remotePort) {
      socket.destroy();
      return;
    }
    // A dual-stack socket names IPv4 peers as IPv4-mapped IPv6 (RFC 4291 §2.5.5.2); routes use the plain form.
    const mapped = socket.remoteAddress.startsWith('::ffff:') && socket.remoteAddress.includes('.');
    const address = mapped ? socket.remoteAddress.slice(7) : socket.remoteAddress;
    const family: 4 | 6 = mapped || socket.remoteFamily === 'IPv4' ? 4 : 6;
    const c = new TcpConnection(socket, address, socket.remotePort, family, this.clock.now());
    this.connections.add(c);
    this.mux.addTcpPeer(c, address, c.port);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) =>
      c.reader.push(chunk, (f) => {
        if (!this.mux.receive(f, address, c.port, family, 'tcp')) {
          this.log.debug('ICE-TCP connection closed: media before ICE bound it', { address, port: c.port, firstByte: f[0], length: f.length });
          c.close();
        }
      }),
    );
    socket.on('error', () => undefined); // 'close' follows; a reset peer is not our error
    this.log.debug('ICE-TCP connection', { address, port: c.port });
    socket.on('close', () => {
      this.connections.delete(c);
      this.mux.removeTcpPeer(c, address, c.port);
    });
  }

  private closeUnbound(): void {
    const now = this.clock.now();
    for (const c of this.connections) {
      if (now - c.openedAt > UNBOUND_TIMEOUT_MS && !this.mux.tcpBound(c.address, c.port)) {
        countDrop('tcp_unauthenticated');
        c.close();
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clock.clear(this.sweep);
    for (const c of this.connections) c.close();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
