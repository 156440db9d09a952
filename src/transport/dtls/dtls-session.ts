import { DtlsClient, DtlsServer } from 'werift-dtls/lib/dtls/src/index.js';
import type { DtlsSocket } from 'werift-dtls/lib/dtls/src/index.js';
import { fingerprintMatches, type DtlsCertificate } from './certificate.ts';
import { checkCertificateVerify, checkServerKeyExchange, type HandshakeMessage } from './handshake-verify.ts';
import { srtpKeyLengths, srtpProfileFromDtlsId, type SrtpProfileName } from '../srtp/index.ts';

/**
 * DTLS-SRTP key exchange (RFC 5763/5764) over werift's DTLS state machine. We hand it datagrams and it
 * hands back datagrams to send; the socket, ICE and demultiplexing stay ours.
 */
export type DtlsRole = 'client' | 'server';

export interface DtlsKeys {
  profile: SrtpProfileName;
  localKey: Buffer;
  localSalt: Buffer;
  remoteKey: Buffer;
  remoteSalt: Buffer;
}

export interface DtlsSessionHandler {
  send(datagram: Buffer): void;
  onConnected(keys: DtlsKeys): void;
  onFailed(reason: string): void;
}

/**
 * SRTP protection profiles in preference order (RFC 5764 §4.1.2: the DTLS server picks; as client we offer
 * both). `gcm`: AEAD_AES_128_GCM first (RFC 7714 §14.2). `aes-cm`: SRTP_AES128_CM_HMAC_SHA1_80 first, for
 * transports we mostly send on: its keystream is made ahead for 16 packets in one native call
 * (srtp/keystream.ts), where GCM costs a cipher object per packet; both are mandatory to implement (RFC 8827).
 */
export type SrtpPreference = 'gcm' | 'aes-cm';
const PROFILES: Record<SrtpPreference, number[]> = { gcm: [7, 1], 'aes-cm': [1, 7] };

export class DtlsSession {
  private readonly socket: DtlsSocket;
  private readonly adapter: { onData: (data: Buffer) => void };
  private done = false;
  private closed = false;
  /** Handshake messages werift could not process (the peer retransmits), and the last reason. */
  handshakeErrors = 0;
  lastError = '';
  private started = false;

  constructor(
    readonly role: DtlsRole,
    cert: DtlsCertificate,
    private readonly remoteFingerprint: { algorithm: string; value: string },
    private readonly handler: DtlsSessionHandler,
    preference: SrtpPreference = 'gcm',
  ) {
    const adapter = {
      type: 'proxima',
      closed: false,
      address: { address: '0.0.0.0', port: 0, family: 'IPv4' },
      onData: (_data: Buffer) => {},
      send: async (data: Buffer) => {
        // Keep answering after the handshake: a peer whose last flight was lost retransmits it.
        if (!this.closed) handler.send(data);
      },
      close: async () => {},
    };
    this.adapter = adapter;
    const options = {
      transport: adapter as never,
      cert: cert.certPem,
      key: cert.keyPem,
      signatureHash: cert.signatureHash as never,
      certificateRequest: true,
      srtpProfiles: PROFILES[preference] as never,
      extendedMasterSecret: true,
    };
    this.socket = role === 'server' ? new DtlsServer(options) : new DtlsClient(options);
    this.socket.onConnect.subscribe(() => this.connected());
    // werift reports a flight it could not handle (typically a retransmitted flight arriving late on a busy
    // machine) as an error, though the handshake can still complete with the next retransmission. Count it
    // and go on; a handshake that never completes is failed by the transport's deadline.
    this.socket.onError.subscribe((e: Error) => {
      this.handshakeErrors++;
      this.lastError = e?.message || e?.constructor?.name || String(e);
    });
    this.socket.onClose.subscribe(() => this.fail('dtls closed by peer'));
  }

  /** Client role: send the ClientHello once ICE has a remote address (RFC 5763 §5). */
  start(): void {
    if (this.role !== 'client' || this.started) return;
    this.started = true;
    (this.socket as DtlsClient).connect().catch((e: unknown) => this.fail(`dtls connect failed: ${(e as Error)?.message ?? e}`));
  }

  /** One DTLS datagram from the peer. Returns false if it is not well-formed DTLS (the caller counts it). */
  handle(datagram: Buffer): boolean {
    if (this.closed || !isWellFormedDtls(datagram)) return false;
    try {
      this.adapter.onData(datagram);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.done = true;
    this.closed = true;
    // werift's flight retransmission loop stops once the flight counter is past its next flight; without
    // this it keeps a closed session alive for ~30 s of retries.
    this.socket.dtls.flight = Number.MAX_SAFE_INTEGER;
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }

  private connected(): void {
    if (this.done) return;
    const cert = this.socket.remoteCertificate;
    if (!cert || !fingerprintMatches(cert, this.remoteFingerprint.algorithm, this.remoteFingerprint.value)) {
      this.fail('remote certificate does not match the SDP fingerprint');
      return;
    }
    // The certificate matches; now the peer must have proved it holds its private key.
    const messages: HandshakeMessage[] = this.socket.dtls.sortedHandshakeCache.map((h) => ({ msgType: h.msg_type, body: h.fragment, serialized: h.serialize() }));
    const why = this.role === 'server' ? checkCertificateVerify(messages, cert) : checkServerKeyExchange(messages, cert);
    if (why) {
      this.fail(`peer did not prove its certificate: ${why}`);
      return;
    }
    const profile = srtpProfileFromDtlsId(this.socket.srtp.srtpProfile ?? -1);
    if (!profile) {
      this.fail(`no SRTP profile negotiated (${this.socket.srtp.srtpProfile})`);
      return;
    }
    const { keyLength, saltLength } = srtpKeyLengths(profile);
    const k = this.socket.extractSessionKeys(keyLength, saltLength);
    this.done = true;
    this.handler.onConnected({ profile, localKey: k.localKey, localSalt: k.localSalt, remoteKey: k.remoteKey, remoteSalt: k.remoteSalt });
  }

  private fail(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.handler.onFailed(reason);
  }
}

/**
 * Record-layer check before werift sees a datagram (RFC 6347 §4.1): every record has a known content type
 * (20–23), a DTLS major version (254), and a length that fits; the records fill the datagram exactly.
 * werift swallows parse errors silently, so this is where garbage gets counted.
 */
export function isWellFormedDtls(buf: Buffer): boolean {
  let o = 0;
  if (buf.length < 13) return false;
  while (o < buf.length) {
    if (o + 13 > buf.length) return false;
    const type = buf[o];
    if (type < 20 || type > 23 || buf[o + 1] !== 254) return false;
    o += 13 + buf.readUInt16BE(o + 11);
  }
  return o === buf.length;
}
