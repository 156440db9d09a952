import type { Socket, RemoteInfo } from 'node:dgram';
import { countDrop } from '../metrics/drop-reasons.ts';
import { AddressTable } from './address-table.ts';

/**
 * The media sockets every transport shares: one UDP socket per IP family, and the ICE-TCP connections
 * (RFC 6544) of clients that reach us only over TCP. Packets are classified by their first byte (RFC 7983
 * §7): 0–3 STUN, 20–63 DTLS, 128–191 RTP/RTCP; then routed by the remote address ICE validated. No
 * per-participant sockets.
 */
export interface MuxedTransport {
  /** A DTLS record from one of this transport's validated remote addresses (given, to follow the peer). */
  handleDtls(buf: Buffer, address: string, port: number, protocol: MediaProtocol): void;
  /** An SRTP or SRTCP packet from one of this transport's validated remote addresses. */
  handleSrtp(buf: Buffer, address: string, port: number, protocol: MediaProtocol): void;
}

export type MediaProtocol = 'udp' | 'tcp';

/**
 * What a transport needs of the network: the real MediaMux, or an in-process network in tests and
 * benchmarks (the network is injected, like the clock).
 */
export interface MediaNetwork {
  bind(transport: MuxedTransport, address: string, port: number, protocol?: MediaProtocol): void;
  /** ICE validated (address, port) for this transport without selecting it: accept its media too. */
  allow(transport: MuxedTransport, address: string, port: number, protocol?: MediaProtocol): void;
  unbind(transport: MuxedTransport): void;
  send(buf: Buffer, address: string, port: number, protocol?: MediaProtocol): void;
}

export interface StunHandler {
  /** Handle a STUN message; returns the response to send back, or null. */
  handleStun(buf: Buffer, address: string, port: number, family: 4 | 6, protocol?: MediaProtocol): Buffer | null;
}

/** One ICE-TCP connection as the mux sees it (src/transport/tcp). */
export interface TcpPeer {
  /** Send one packet framed (RFC 4571); drops (counted) rather than queue without bound. */
  send(buf: Buffer): void;
  close(reason: string): void;
}

/**
 * A test hook standing in for a bad network at the SFU's own socket: drops SRTP/SRTCP datagrams at
 * random (seeded) in either direction. STUN and DTLS are left alone so connectivity stays reliable.
 */
export interface MuxImpairment {
  receiveLoss: number;
  sendLoss: number;
  seed: number;
}

/** UDP paths per transport accepted besides the selected one (ice-lite.ts keeps as many). */
const VALIDATED_PATHS = 4;

export class MediaMux implements MediaNetwork {
  private impairment: MuxImpairment | null = null;
  private rng = 0;
  private readonly routes = new AddressTable<MuxedTransport>();
  /** Validated UDP paths besides the selected one (the peer may send on any it nominated, ice-lite.ts). */
  private readonly otherPaths = new AddressTable<MuxedTransport>(VALIDATED_PATHS);
  private readonly tcpRoutes = new AddressTable<MuxedTransport>();
  private readonly tcpPeers = new AddressTable<TcpPeer>();
  private stun: StunHandler | null = null;
  private readonly onMessage4 = (msg: Buffer, rinfo: RemoteInfo) => this.receive(msg, rinfo.address, rinfo.port, 4, 'udp');
  private readonly onMessage6 = (msg: Buffer, rinfo: RemoteInfo) => this.receive(msg, rinfo.address, rinfo.port, 6, 'udp');

  /** `socket6`: an IPv6-only socket beside the IPv4 one (same port), or null. */
  constructor(
    readonly socket: Socket,
    readonly socket6: Socket | null = null,
  ) {
    socket.on('message', socket.address().family === 'IPv6' ? this.onMessage6 : this.onMessage4);
    socket6?.on('message', this.onMessage6);
  }

  get port(): number {
    return this.socket.address().port;
  }

  setStunHandler(h: StunHandler): void {
    this.stun = h;
  }

  /** ICE selected (address, port) for this transport; a later nomination moves it (to UDP or TCP). */
  bind(transport: MuxedTransport, address: string, port: number, protocol: MediaProtocol = 'udp'): void {
    if (protocol === 'tcp') {
      this.leaveTcp(transport, address, port);
      this.routes.unbind(transport);
      this.tcpRoutes.bind(transport, address, port);
    } else {
      this.leaveTcp(transport, null, 0);
      this.routes.bind(transport, address, port);
    }
  }

  /** Media over TCP comes only on the selected connection; other UDP paths are accepted (bounded). */
  allow(transport: MuxedTransport, address: string, port: number, protocol: MediaProtocol = 'udp'): void {
    if (protocol === 'udp') this.otherPaths.bind(transport, address, port);
  }

  unbind(transport: MuxedTransport): void {
    this.routes.unbind(transport);
    this.otherPaths.unbind(transport);
    this.leaveTcp(transport, null, 0);
  }

  /** A transport leaves its TCP connection (unless it stays on the same one): nobody else may use it. */
  private leaveTcp(transport: MuxedTransport, keepAddress: string | null, keepPort: number): void {
    const at = this.tcpRoutes.addressOf(transport);
    if (!at) return;
    if (at.address === keepAddress && at.port === keepPort) return;
    this.tcpRoutes.unbind(transport);
    this.tcpPeers.lookup(at.address, at.port)?.close('transport left the connection');
  }

  /** A new ICE-TCP connection from (address, port). */
  addTcpPeer(peer: TcpPeer, address: string, port: number): void {
    this.tcpPeers.bind(peer, address, port);
  }

  /** The connection ended: what was bound to it loses its path (consent then fails it, RFC 7675). */
  removeTcpPeer(peer: TcpPeer, address: string, port: number): void {
    this.tcpPeers.unbind(peer);
    const t = this.tcpRoutes.lookup(address, port);
    if (t) this.tcpRoutes.unbind(t);
  }

  /** Whether a TCP connection carries a transport (unbound connections are closed after a while). */
  tcpBound(address: string, port: number): boolean {
    return this.tcpRoutes.lookup(address, port) !== undefined;
  }

  /** Fire-and-forget send; a failed send is counted, never thrown. */
  send(buf: Buffer, address: string, port: number, protocol: MediaProtocol = 'udp'): void {
    if (this.closed) {
      // A timer that outlived the server (a pacer draining): the socket is gone.
      countDrop('send_failed');
      return;
    }
    if (this.impairment !== null && buf[0] >= 128 && buf[0] <= 191 && this.random() < this.impairment.sendLoss) {
      countDrop('impairment_loss');
      return;
    }
    if (protocol === 'tcp') {
      const peer = this.tcpPeers.lookup(address, port);
      if (peer) peer.send(buf);
      else countDrop('tcp_not_connected');
      return;
    }
    const socket = this.socket6 !== null && address.indexOf(':') >= 0 ? this.socket6 : this.socket;
    socket.send(buf, port, address, onSent);
  }

  /** Test hook: impair media in both directions (null = clean). */
  setImpairment(i: MuxImpairment | null): void {
    this.impairment = i;
    this.rng = (i?.seed ?? 1) >>> 0 || 1;
  }

  /** xorshift32: deterministic given the seed. */
  private random(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng / 0x1_0000_0000;
  }

  private closed = false;

  close(): void {
    this.closed = true;
    this.socket.off('message', this.onMessage4);
    this.socket.off('message', this.onMessage6);
    this.socket6?.off('message', this.onMessage6);
    this.routes.clear();
    this.otherPaths.clear();
    this.tcpRoutes.clear();
    this.tcpPeers.clear();
  }

  /** One datagram, or one RFC 4571 frame of a TCP connection. Returns false when a TCP frame came from a
   * connection no transport owns and was not STUN (the caller closes such a connection). */
  receive(msg: Buffer, address: string, port: number, family: 4 | 6, protocol: MediaProtocol): boolean {
    if (msg.length < 1) {
      countDrop('packet_too_short');
      return true;
    }
    const b = msg[0];
    if (b <= 3) {
      const response = this.stun?.handleStun(msg, address, port, family, protocol) ?? null;
      if (response) this.send(response, address, port, protocol);
      return true;
    }
    const t = protocol === 'udp' ? (this.routes.lookup(address, port) ?? this.otherPaths.lookup(address, port)) : this.tcpRoutes.lookup(address, port);
    if (!t) {
      countDrop(protocol === 'udp' ? 'unknown_remote_address' : 'tcp_unauthenticated');
      return protocol === 'udp';
    }
    if (b >= 20 && b <= 63) t.handleDtls(msg, address, port, protocol);
    else if (b >= 128 && b <= 191) {
      if (this.impairment !== null && this.random() < this.impairment.receiveLoss) {
        countDrop('impairment_loss');
        return true;
      }
      t.handleSrtp(msg, address, port, protocol);
    } else countDrop('unknown_first_byte');
    return true;
  }
}

function onSent(err: Error | null): void {
  if (err) countDrop('send_failed');
}
