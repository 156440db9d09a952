import { AddressTable } from '../../src/transport/address-table.ts';
import { countDrop } from '../../src/metrics/drop-reasons.ts';
import type { PeerLink } from '../../tools/client/peer-link.ts';
import type { MediaNetwork, MuxedTransport, StunHandler } from '../../src/transport/media-mux.ts';

export type { PeerLink };

/** sync: call the receiver inside send (benchmarks); microtask: after the sender returns (no re-entrancy, for handshakes). */
export type Delivery = 'sync' | 'microtask';

export class VirtualLink implements PeerLink {
  onDatagram: (buf: Buffer) => void = () => {};
  /**
   * When set, SRTP/SRTCP the server sends to this peer goes here instead of to the peer (a counter, a
   * real socket); STUN and DTLS still reach the peer.
   */
  mediaSink: ((buf: Buffer) => void) | null = null;
  closed = false;

  constructor(
    private readonly net: VirtualNetwork,
    readonly address: string,
    readonly port: number,
  ) {}

  send(buf: Buffer): void {
    this.net.fromPeer(this, buf, false);
  }

  /** Into the server now, whatever the network's delivery mode: the benchmark's feed. */
  sendSync(buf: Buffer): void {
    this.net.fromPeer(this, buf, true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.net.detach(this);
  }
}

/**
 * An in-process stand-in for the server's UDP socket: implements MediaNetwork for the transports and
 * routes peers' datagrams exactly as MediaMux does (RFC 7983 §7 first byte; STUN to the ICE agent, the rest
 * to the transport bound to the source address), so the whole packet path runs without the kernel.
 */
export class VirtualNetwork implements MediaNetwork {
  private stun: StunHandler | null = null;
  private readonly routes = new AddressTable<MuxedTransport>();
  private readonly otherPaths = new AddressTable<MuxedTransport>(4);
  private readonly links = new Map<string, Map<number, VirtualLink>>();
  private nextPort = 20000;
  /** Datagrams the server sent, and those with no attached link at their destination. */
  readonly counters = { serverSent: 0, serverSentBytes: 0, peerSent: 0, undeliverable: 0 };

  constructor(
    readonly delivery: Delivery = 'microtask',
    /** Peers' addresses: TEST-NET-1 (RFC 5737), so nothing here is mistaken for a real socket. */
    private readonly peerAddress = '192.0.2.1',
  ) {}

  setStunHandler(h: StunHandler): void {
    this.stun = h;
  }

  /** A new peer endpoint with its own port. */
  attach(): VirtualLink {
    const link = new VirtualLink(this, this.peerAddress, this.nextPort++);
    let ports = this.links.get(link.address);
    if (!ports) this.links.set(link.address, (ports = new Map()));
    ports.set(link.port, link);
    return link;
  }

  detach(link: VirtualLink): void {
    const ports = this.links.get(link.address);
    if (ports?.get(link.port) === link) ports.delete(link.port);
  }

  bind(transport: MuxedTransport, address: string, port: number): void {
    this.routes.bind(transport, address, port);
  }

  allow(transport: MuxedTransport, address: string, port: number): void {
    this.otherPaths.bind(transport, address, port);
  }

  unbind(transport: MuxedTransport): void {
    this.routes.unbind(transport);
    this.otherPaths.unbind(transport);
  }

  /** Server → peer. The server never reuses a buffer it sent (MediaMux sends asynchronously too), so no copy. */
  send(buf: Buffer, address: string, port: number): void {
    this.counters.serverSent++;
    this.counters.serverSentBytes += buf.length;
    const link = this.links.get(address)?.get(port);
    if (!link || link.closed) {
      this.counters.undeliverable++;
      return;
    }
    const b0 = buf[0];
    if (link.mediaSink !== null && b0 >= 128 && b0 <= 191) {
      link.mediaSink(buf);
      return;
    }
    if (this.delivery === 'sync') link.onDatagram(buf);
    else queueMicrotask(() => link.closed || link.onDatagram(buf));
  }

  /** Peer → server: the same classification as MediaMux.route. */
  fromPeer(link: VirtualLink, buf: Buffer, sync: boolean): void {
    if (link.closed) return;
    this.counters.peerSent++;
    if (sync || this.delivery === 'sync') this.route(buf, link.address, link.port);
    else queueMicrotask(() => this.route(buf, link.address, link.port));
  }

  private route(msg: Buffer, address: string, port: number): void {
    if (msg.length < 1) {
      countDrop('packet_too_short');
      return;
    }
    const b = msg[0];
    if (b <= 3) {
      const response = this.stun?.handleStun(msg, address, port, 4) ?? null;
      if (response) this.send(response, address, port);
      return;
    }
    const t = this.routes.lookup(address, port) ?? this.otherPaths.lookup(address, port);
    if (!t) {
      countDrop('unknown_remote_address');
      return;
    }
    if (b >= 20 && b <= 63) t.handleDtls(msg, address, port, 'udp');
    else if (b >= 128 && b <= 191) t.handleSrtp(msg, address, port, 'udp');
    else countDrop('unknown_first_byte');
  }
}
