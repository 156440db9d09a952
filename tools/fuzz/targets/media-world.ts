/**
 * The server's packet entry as one process has it, without the kernel: a real MediaMux over a socket that
 * sends nowhere, the IceLiteAgent as its STUN handler (wired as MediaServer does), and one WebRtcTransport
 * selected at a peer address, with DTLS parameters and a receive SRTP session, so every branch of the
 * RFC 7983 demux reaches real code. Shared by the fuzz targets; fixed keys and credentials, so an input
 * saved as a regression replays the same way.
 */
import type { Socket } from 'node:dgram';
import { DROP_REASONS, dropCount, type DropReason } from '../../../src/metrics/drop-reasons.ts';
import { MediaMux } from '../../../src/transport/media-mux.ts';
import { IceLiteAgent, type IceLiteEndpoint, type TransportAddress } from '../../../src/transport/ice/ice-lite.ts';
import { parseStun } from '../../../src/transport/ice/stun-message.ts';
import { computeFingerprint, computeIntegrity } from '../../../src/transport/ice/stun-integrity.ts';
import { WebRtcTransport } from '../../../src/transport/webrtc-transport.ts';
import { SrtpSession, type SrtpProfileName } from '../../../src/transport/srtp/index.ts';
import { createDtlsCertificate, type DtlsCertificate } from '../../../src/transport/dtls/certificate.ts';
import { parseRtcp } from '../../../src/rtp/rtcp-compound.ts';
import type { RtcpPacket } from '../../../src/rtp/rtcp-types.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { createLogger } from '../../../src/util/logger.ts';

/** The transport's ICE credentials and the peer's ufrag (the corpus's STUN requests use them). */
export const FUZZ_ICE = { ufrag: 'fuzzU', pwd: 'fuzzpasswordfuzzpassword', remoteUfrag: 'peerU' } as const;
/** A second endpoint of the STUN target's agent, with no remote ufrag known yet. */
export const FUZZ_ICE_B = { ufrag: 'fuzB', pwd: 'anotherpasswordanotherpw' } as const;
/** The selected peer address; the other sources are a second path of that peer and a stranger. */
export const PEER = { address: '192.0.2.1', port: 5000 } as const;
export const SOURCES: ReadonlyArray<{ address: string; port: number; family: 4 | 6; protocol: 'udp' | 'tcp' }> = [
  { address: PEER.address, port: PEER.port, family: 4, protocol: 'udp' },
  { address: PEER.address, port: 5001, family: 4, protocol: 'udp' },
  { address: '198.51.100.9', port: 7000, family: 4, protocol: 'udp' },
  { address: PEER.address, port: PEER.port, family: 4, protocol: 'tcp' },
];

/** Fixed SRTP master keys (RFC 5764 §4.2 lengths): the corpus is protected with them. */
export function srtpMaster(profile: SrtpProfileName): { key: Buffer; salt: Buffer } {
  return { key: Buffer.alloc(16, 0x5a), salt: Buffer.alloc(profile === 'AEAD_AES_128_GCM' ? 12 : 14, 0x3c) };
}

export function newSrtp(profile: SrtpProfileName): SrtpSession {
  const m = srtpMaster(profile);
  return new SrtpSession(profile, m.key, m.salt);
}

/**
 * After a mutation, make a STUN message authenticate again: recompute MESSAGE-INTEGRITY with the password
 * of the endpoint its USERNAME names, and FINGERPRINT, where the (parsable) message carries them. In place.
 */
export function resignStun(buf: Buffer, integrity: boolean, fingerprint: boolean): void {
  const msg = parseStun(buf);
  if (typeof msg === 'string') return;
  if (integrity && msg.integrityOffset >= 0 && msg.integrityOffset + 24 <= buf.length) {
    const pwd = msg.username?.startsWith(`${FUZZ_ICE_B.ufrag}:`) ? FUZZ_ICE_B.pwd : FUZZ_ICE.pwd;
    computeIntegrity(buf, msg.integrityOffset, pwd).copy(buf, msg.integrityOffset + 4);
  }
  if (fingerprint && msg.fingerprintOffset >= 0 && msg.fingerprintOffset + 8 <= buf.length) {
    buf.writeUInt32BE(computeFingerprint(buf, msg.fingerprintOffset), msg.fingerprintOffset + 4);
  }
}

/** Which drop counter one call moved: the label of calls that return nothing. */
export class DropWatch {
  private readonly before = new Float64Array(DROP_REASONS.length);

  mark(): void {
    for (let i = 0; i < DROP_REASONS.length; i++) this.before[i] = dropCount(DROP_REASONS[i]);
  }

  /** The first reason counted since mark(), or null. */
  moved(): DropReason | null {
    for (let i = 0; i < DROP_REASONS.length; i++) if (dropCount(DROP_REASONS[i]) !== this.before[i]) return DROP_REASONS[i];
    return null;
  }
}

const fakeSocket = {
  on() {
    return this;
  },
  off() {
    return this;
  },
  address: () => ({ address: '0.0.0.0', family: 'IPv4', port: 40000 }),
  send() {},
} as unknown as Socket;

let certificate: Promise<DtlsCertificate> | null = null;
/** One DTLS identity per process, as the server has. */
export function fuzzCertificate(): Promise<DtlsCertificate> {
  return (certificate ??= createDtlsCertificate());
}

export class MediaWorld {
  readonly clock = new FakeClock();
  readonly mux = new MediaMux(fakeSocket);
  readonly ice = new IceLiteAgent(this.clock);
  transport!: WebRtcTransport;
  /** Protects what the re-protect mode sends, with the keys of the transport's receive session. */
  readonly srtpOut = newSrtp('AEAD_AES_128_GCM');
  /** What the transport's handler got (the session's RTCP walk runs on it, as PublishSession does). */
  rtp = 0;
  rtcp = 0;
  private readonly rtcpList: RtcpPacket[] = [];
  private readonly log = createLogger('silent');

  constructor(readonly cert: DtlsCertificate) {
    this.mux.setStunHandler({ handleStun: (buf, address, port, family, protocol) => this.ice.handle(buf, address, port, family, protocol).response });
    this.mux.addTcpPeer({ send() {}, close() {} }, PEER.address, PEER.port);
    this.renew();
  }

  /** A fresh transport (the old one closed): selected at PEER, DTLS server role, SRTP keys in place. */
  renew(): void {
    this.transport?.close('fuzz renew');
    const t = new WebRtcTransport({
      id: 'fuzz',
      mux: this.mux,
      ice: this.ice,
      iceCredentials: { ufrag: FUZZ_ICE.ufrag, pwd: FUZZ_ICE.pwd },
      remoteUfrag: FUZZ_ICE.remoteUfrag,
      certificate: this.cert,
      dtls: { role: 'server', remoteFingerprint: { algorithm: 'sha-256', value: this.cert.fingerprint } },
      clock: this.clock,
      log: this.log,
    });
    t.setHandler({
      onRtp: () => {
        this.rtp++;
      },
      onRtcp: (buf, n) => {
        this.rtcpList.length = 0;
        if (parseRtcp(buf, n, this.rtcpList) === null) this.rtcp++;
      },
      onStateChange: () => {},
    });
    const at: TransportAddress = { address: PEER.address, port: PEER.port, family: 4 };
    (t as IceLiteEndpoint).onSelected(at, null);
    // The keys DTLS would have exported: the fuzz inputs past authentication are protected with them.
    const m = srtpMaster('AEAD_AES_128_GCM');
    (t as unknown as { srtpIn: SrtpSession }).srtpIn = new SrtpSession('AEAD_AES_128_GCM', m.key, m.salt);
    (t as unknown as { srtpOut: SrtpSession }).srtpOut = new SrtpSession('AEAD_AES_128_GCM', m.key, m.salt);
    this.transport = t;
  }

  get alive(): boolean {
    return this.transport.state !== 'closed' && this.transport.state !== 'failed';
  }

  close(): void {
    this.transport.close('fuzz end');
    this.mux.close();
  }
}
