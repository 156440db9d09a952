import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { systemClock } from '../../src/util/clock.ts';
import type { Clock, TimerHandle } from '../../src/util/clock.ts';
import { seededRandom } from '../../src/util/prng.ts';
import { Impairment } from './impairment.ts';
import type { ImpairmentCounters, ImpairmentPatch } from './impairment.ts';

/** Ask for large kernel buffers (capped by net.core.rmem_max/wmem_max): bursts must not be lost before the weather. */
const SOCKET_BUFFER = 4 * 1024 * 1024;

export interface WeatherProxyOptions {
  /** Port to listen on (0 = any free port; read `port` after start()). */
  listenPort: number;
  /** Default 127.0.0.1. */
  listenHost?: string;
  target: { address: string; port: number };
  /** Client → target weather. */
  up?: ImpairmentPatch;
  /** Target → client weather. */
  down?: ImpairmentPatch;
  /** Seed of both directions' random sources (default 1). */
  seed?: number;
  clock?: Clock;
  /** A client silent this long loses its upstream socket (default 60 s). */
  idleTimeoutMs?: number;
}

export interface WeatherProxyStats {
  clients: number;
  up: ImpairmentCounters;
  down: ImpairmentCounters;
  /** Datagrams arriving on an upstream socket from anyone but the target (dropped). */
  foreign: number;
  /** Datagrams that arrived after the proxy closed or for a client already expired (dropped). */
  orphaned: number;
}

interface Client {
  key: string;
  address: string;
  port: number;
  upstream: Socket;
  lastSeen: number;
}

/**
 * A user-space UDP impairment proxy: clients send to (listenHost, port); each client gets its own
 * upstream socket towards the target, so the target sees one source port per client and its replies go
 * back to the client they answer. Both directions pass through an Impairment (`up` and `down`), each a
 * single shared bottleneck for all clients.
 */
export class WeatherProxy {
  readonly up: Impairment;
  readonly down: Impairment;
  private readonly clock: Clock;
  private readonly clients = new Map<string, Client>();
  private listen: Socket | null = null;
  private sweep: TimerHandle | null = null;
  private closing: Promise<void> | null = null;
  private boundPort = 0;
  private target: { address: string; port: number };
  private foreign = 0;
  private orphaned = 0;

  constructor(private readonly opts: WeatherProxyOptions) {
    this.clock = opts.clock ?? systemClock;
    this.target = { ...opts.target };
    const seed = opts.seed ?? 1;
    this.up = new Impairment(opts.up ?? {}, this.clock, seededRandom(seed));
    this.down = new Impairment(opts.down ?? {}, this.clock, seededRandom((seed ^ 0x5bd1e995) >>> 0));
  }

  /** The bound listening port (valid after start()). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.listen) throw new Error('WeatherProxy already started');
    const sock = createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER });
    this.listen = sock;
    sock.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
    sock.on('error', () => {}); // ICMP errors etc.: UDP carries on.
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.opts.listenPort, this.opts.listenHost ?? '127.0.0.1', () => {
        sock.off('error', reject);
        resolve();
      });
    });
    this.boundPort = sock.address().port;
    const idle = this.opts.idleTimeoutMs ?? 60_000;
    this.sweep = this.clock.setInterval(() => this.expire(idle), Math.max(1000, Math.min(idle, 10_000)));
  }

  /**
   * Forward to another target from now on (existing clients keep their upstream sockets). For the
   * chicken-and-egg of a server that must announce the proxy's port before its own port is known.
   */
  setTarget(target: { address: string; port: number }): void {
    this.target = { ...target };
  }

  stats(): WeatherProxyStats {
    return {
      clients: this.clients.size,
      up: { ...this.up.counters },
      down: { ...this.down.counters },
      foreign: this.foreign,
      orphaned: this.orphaned,
    };
  }

  /** Stop everything: pending packets are dropped, all sockets closed. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.up.close();
    this.down.close();
    if (this.sweep) this.clock.clear(this.sweep);
    this.sweep = null;
    const sockets: Socket[] = [...this.clients.values()].map((c) => c.upstream);
    this.clients.clear();
    if (this.listen) sockets.push(this.listen);
    this.listen = null;
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private fromClient(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closing) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    let client = this.clients.get(key);
    if (!client) client = this.addClient(key, rinfo);
    client.lastSeen = this.clock.now();
    const upstream = client.upstream;
    this.up.push(msg, (b) => {
      if (this.closing || this.clients.get(key)?.upstream !== upstream) {
        this.orphaned++;
        return;
      }
      upstream.send(b, this.target.port, this.target.address);
    });
  }

  private addClient(key: string, rinfo: RemoteInfo): Client {
    const upstream = createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER });
    upstream.on('error', () => {});
    // Bind now (sync in effect: send queues until bound) so the source port is fixed from the first packet.
    upstream.bind(0, this.opts.listenHost ?? '127.0.0.1');
    const client: Client = { key, address: rinfo.address, port: rinfo.port, upstream, lastSeen: this.clock.now() };
    upstream.on('message', (msg, from) => this.fromTarget(client, msg, from));
    this.clients.set(key, client);
    return client;
  }

  private fromTarget(client: Client, msg: Buffer, from: RemoteInfo): void {
    if (this.closing) return;
    if (from.port !== this.target.port || from.address !== this.target.address) {
      this.foreign++;
      return;
    }
    client.lastSeen = this.clock.now();
    this.down.push(msg, (b) => {
      const listen = this.listen;
      if (!listen || this.closing) {
        this.orphaned++;
        return;
      }
      listen.send(b, client.port, client.address);
    });
  }

  private expire(idleMs: number): void {
    const now = this.clock.now();
    for (const [key, c] of this.clients) {
      if (now - c.lastSeen > idleMs) {
        this.clients.delete(key);
        c.upstream.close();
      }
    }
  }
}
