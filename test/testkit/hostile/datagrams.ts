import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { buildBindingRequest, encodeStunMessage } from '../../../src/transport/ice/stun-message.ts';
import { ATTR, METHOD_BINDING } from '../../../src/transport/ice/stun-constants.ts';

/** Hostile UDP datagrams for the media port, built from seeded randomness so a run can be replayed. */

export function bytes(rnd: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

/** Random bytes behind a chosen first byte (the RFC 7983 demultiplexing key). */
export function garbage(rnd: () => number, firstByte: number, length: number): Buffer {
  const b = bytes(rnd, length);
  b[0] = firstByte;
  return b;
}

/** An ICE check as a browser would send it, but with whatever credentials we are told. */
export function stunCheck(username: string, password: string, useCandidate = true): Buffer {
  return buildBindingRequest({ username, password, priority: 0x6e7f1eff, controlling: true, tieBreaker: randomBytes(8).readBigUInt64BE(0), useCandidate });
}

/** Same message with the FINGERPRINT value flipped. */
export function withBadFingerprint(stun: Buffer): Buffer {
  const b = Buffer.from(stun);
  b[b.length - 1] ^= 0xff;
  return b;
}

/** A Binding request with neither USERNAME nor MESSAGE-INTEGRITY (dropped unanswered: no reflection). */
export function stunWithoutCredentials(): Buffer {
  return encodeStunMessage(METHOD_BINDING, 'request', randomBytes(12), []);
}

/** A Binding request whose USERNAME exceeds the 512-byte limit. */
export function stunHugeUsername(): Buffer {
  return encodeStunMessage(METHOD_BINDING, 'request', randomBytes(12), [[ATTR.USERNAME, Buffer.alloc(600, 0x61)]]);
}

/** An unsolicited Binding success (a lite agent never sends checks). */
export function stunUnsolicitedSuccess(): Buffer {
  return encodeStunMessage(METHOD_BINDING, 'success', randomBytes(12), []);
}

/** 12-byte RTP header (V=2) naming `ssrc`, then random payload and a random 16-byte "tag". */
export function rtpLike(rnd: () => number, ssrc: number, pt: number, payload = 200): Buffer {
  const b = bytes(rnd, 12 + payload + 16);
  b[0] = 0x80;
  b[1] = pt & 0xff;
  b.writeUInt32BE(ssrc >>> 0, 8);
  return b;
}

/** An SRTCP-looking packet: RTCP header of `type` (200 SR, 203 BYE, 206 PSFB) about `ssrc`, then junk. */
export function rtcpLike(rnd: () => number, type: number, ssrc: number): Buffer {
  const b = bytes(rnd, 8 + 24 + 4 + 16);
  b[0] = type === 200 ? 0x80 : 0x81; // SR with no report blocks; BYE/PLI with count or FMT 1
  b[1] = type;
  b.writeUInt16BE(7, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  return b;
}

/** A DTLS 1.2 record header of `contentType` (20 CCS, 21 alert, 22 handshake, 23 data), epoch 0, random body. */
export function dtlsRecordLike(rnd: () => number, contentType: number, bodyLength: number): Buffer {
  const b = bytes(rnd, 13 + bodyLength);
  b[0] = contentType;
  b[1] = 0xfe;
  b[2] = 0xfd;
  b.writeUInt16BE(0, 3);
  b.writeUInt16BE(bodyLength, 11);
  return b;
}

export function isStunSuccess(b: Buffer): boolean {
  return b.length >= 20 && b.readUInt16BE(0) === 0x0101;
}

export function isStunError(b: Buffer): boolean {
  return b.length >= 20 && b.readUInt16BE(0) === 0x0111;
}

/** A UDP socket on 127.0.0.1 that remembers everything sent back to it. */
export class UdpPeer {
  readonly received: Buffer[] = [];
  readonly sendErrors: Error[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('message', (m) => this.received.push(m));
  }

  static async open(): Promise<UdpPeer> {
    const s = createSocket({ type: 'udp4', sendBufferSize: 1 << 20 });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new UdpPeer(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Fire and forget; `onSent` runs only once the kernel took the datagram, so expectations stay exact. */
  send(buf: Buffer, port: number, onSent?: () => void): void {
    this.socket.send(buf, port, '127.0.0.1', (e) => {
      if (e) this.sendErrors.push(e);
      else onSent?.();
    });
  }

  close(): void {
    this.socket.close();
  }
}
