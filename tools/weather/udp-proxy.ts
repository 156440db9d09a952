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
  /** This client's own access link, before the shared bottleneck (null: only the shared weather). */
  link: ClientLink | null;
}

/** One client's own weather, each direction on its own (see WeatherProxy.linkOf). */
export interface ClientLink {
  readonly up: Impairment;
  readonly down: Impairment;
  /** The client's address as the proxy sees it, and the upstream port the target sees for it. */
  readonly client: { address: string; port: number };
  readonly upstreamPort: number;
}

/**
 * A user-space UDP impairment proxy: clients send to (listenHost, port); each client gets its own
 * upstream socket towards the target, so the target sees one source port per client and its replies go
 * back to the client they answer. Both directions pass through an Impairment (`up` and `down`), each a
 * single shared bottleneck for all clients; `linkOf` gives one client an access link of its own in front
 * of it (its own loss, delay, cap), so one person's bad network does not touch the others'.
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

  /**
   * The own link of the client the target knows by `upstreamPort` (what the server sees as its remote
   * port), created with clear weather on first use; null when no such client exists.
   */
  linkOf(upstreamPort: number): ClientLink | null {
    for (const c of this.clients.values()) {
      let port = 0;
      try {
        port = c.upstream.address().port;
      } catch {
        continue; // not bound yet: the target cannot know it
      }
      if (port !== upstreamPort) continue;
      if (c.link === null) {
        const seed = ((this.opts.seed ?? 1) * 31 + upstreamPort) >>> 0;
        c.link = {
          up: new Impairment({}, this.clock, seededRandom(seed)),
          down: new Impairment({}, this.clock, seededRandom((seed ^ 0x5bd1e995) >>> 0)),
          client: { address: c.address, port: c.port },
          upstreamPort,
        };
      }
      return c.link;
    }
    return null;
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
    for (const c of this.clients.values()) {
      c.link?.up.close();
      c.link?.down.close();
    }
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
    const shared = (b: Buffer) =>
      this.up.push(b, (x) => {
        if (this.closing || this.clients.get(key)?.upstream !== upstream) {
          this.orphaned++;
          return;
        }
        upstream.send(x, this.target.port, this.target.address);
      });
    if (client.link) client.link.up.push(msg, shared);
    else shared(msg);
  }

  private addClient(key: string, rinfo: RemoteInfo): Client {
    const upstream = createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER });
    upstream.on('error', () => {});
    // Bind now (sync in effect: send queues until bound) so the source port is fixed from the first packet.
    upstream.bind(0, this.opts.listenHost ?? '127.0.0.1');
    const client: Client = { key, address: rinfo.address, port: rinfo.port, upstream, lastSeen: this.clock.now(), link: null };
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
    const toClient = (b: Buffer) => {
      const listen = this.listen;
      if (!listen || this.closing) {
        this.orphaned++;
        return;
      }
      listen.send(b, client.port, client.address);
    };
    // Down: the shared bottleneck first (the server's side), then the client's own access link.
    const link = client.link;
    this.down.push(msg, link ? (b) => link.down.push(b, toClient) : toClient);
  }

  private expire(idleMs: number): void {
    const now = this.clock.now();
    for (const [key, c] of this.clients) {
      if (now - c.lastSeen > idleMs) {
        this.clients.delete(key);
        c.link?.up.close();
        c.link?.down.close();
        c.upstream.close();
      }
    }
  }
}
