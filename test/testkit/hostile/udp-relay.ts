import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/**
 * A NAT-like UDP relay in front of the media port (the server announces the relay's port): each
 * browser socket gets its own upstream socket. It keeps a copy of every STUN datagram browsers send,
 * which is what an observer on the path would see.
 */
export class UdpRelay {
  readonly stunFromClients: Buffer[] = [];
  private upstreamPort = 0;
  private readonly upstreams = new Map<string, Socket>();

  private constructor(readonly front: Socket) {
    front.on('message', (m, r) => this.fromClient(m, r));
  }

  static async open(): Promise<UdpRelay> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new UdpRelay(s);
  }

  get port(): number {
    return this.front.address().port;
  }

  connect(upstreamPort: number): void {
    this.upstreamPort = upstreamPort;
  }

  close(): void {
    for (const u of this.upstreams.values()) u.close();
    this.front.close();
  }

  private fromClient(m: Buffer, r: RemoteInfo): void {
    if (m.length > 0 && m[0]! <= 3) this.stunFromClients.push(Buffer.from(m));
    const key = `${r.address}:${r.port}`;
    let up = this.upstreams.get(key);
    if (!up) {
      const s = createSocket('udp4');
      s.on('message', (back) => this.front.send(back, r.port, r.address));
      s.on('error', () => undefined);
      s.bind(0, '127.0.0.1');
      this.upstreams.set(key, (up = s));
    }
    if (this.upstreamPort) up.send(m, this.upstreamPort, '127.0.0.1');
  }
}
