import type { Socket, RemoteInfo } from 'node:dgram';
import { countDrop } from '../metrics/drop-reasons.ts';
import { AddressTable } from './address-table.ts';

/**
 * One UDP socket shared by every transport. Datagrams are classified by their first byte (RFC 7983 §7):
 * 0–3 STUN, 20–63 DTLS, 128–191 RTP/RTCP; then routed by the remote address that ICE validated.
 * No per-participant sockets.
 */
export interface MuxedTransport {
  /** A DTLS record from this transport's validated remote address. */
  handleDtls(buf: Buffer): void;
  /** An SRTP or SRTCP packet from this transport's validated remote address. */
  handleSrtp(buf: Buffer): void;
}

/**
 * What a transport needs of the network: the real UdpMux, or an in-process network in tests and
 * benchmarks (the network is injected, like the clock).
 */
export interface MediaNetwork {
  bind(transport: MuxedTransport, address: string, port: number): void;
  unbind(transport: MuxedTransport): void;
  send(buf: Buffer, address: string, port: number): void;
}

export interface StunHandler {
  /** Handle a STUN datagram; returns the response to send back, or null. */
  handleStun(buf: Buffer, address: string, port: number, family: 4 | 6): Buffer | null;
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

export class UdpMux implements MediaNetwork {
  private impairment: MuxImpairment | null = null;
  private rng = 0;
  private readonly routes = new AddressTable<MuxedTransport>();
  private stun: StunHandler | null = null;
  private readonly onMessage = (msg: Buffer, rinfo: RemoteInfo) => this.route(msg, rinfo);

  constructor(readonly socket: Socket) {
    socket.on('message', this.onMessage);
  }

  get port(): number {
    return this.socket.address().port;
  }

  setStunHandler(h: StunHandler): void {
    this.stun = h;
  }

  /** ICE selected (address, port) for this transport; a later nomination moves it. */
  bind(transport: MuxedTransport, address: string, port: number): void {
    this.routes.bind(transport, address, port);
  }

  unbind(transport: MuxedTransport): void {
    this.routes.unbind(transport);
  }

  /** Fire-and-forget send; a failed send is counted, never thrown. */
  send(buf: Buffer, address: string, port: number): void {
    if (this.closed) {
      // A timer that outlived the server (a pacer draining): the socket is gone.
      countDrop('send_failed');
      return;
    }
    if (this.impairment !== null && buf[0] >= 128 && buf[0] <= 191 && this.random() < this.impairment.sendLoss) {
      countDrop('impairment_loss');
      return;
    }
    this.socket.send(buf, port, address, onSent);
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
    this.socket.off('message', this.onMessage);
    this.routes.clear();
  }

  private route(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length < 1) {
      countDrop('packet_too_short');
      return;
    }
    const b = msg[0];
    if (b <= 3) {
      const response = this.stun?.handleStun(msg, rinfo.address, rinfo.port, rinfo.family === 'IPv6' ? 6 : 4) ?? null;
      if (response) this.send(response, rinfo.address, rinfo.port);
      return;
    }
    const t = this.routes.lookup(rinfo.address, rinfo.port);
    if (!t) {
      countDrop('unknown_remote_address');
      return;
    }
    if (b >= 20 && b <= 63) t.handleDtls(msg);
    else if (b >= 128 && b <= 191) {
      if (this.impairment !== null && this.random() < this.impairment.receiveLoss) {
        countDrop('impairment_loss');
        return;
      }
      t.handleSrtp(msg);
    } else countDrop('unknown_first_byte');
  }
}

function onSent(err: Error | null): void {
  if (err) countDrop('send_failed');
}
