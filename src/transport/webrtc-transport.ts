import { countDrop } from '../metrics/drop-reasons.ts';
import { objectCounts, packetStats } from '../metrics/registry.ts';
import { RtpView } from '../rtp/rtp-packet.ts';
import { SrtpSession } from './srtp/index.ts';
import { DtlsSession, type DtlsKeys, type DtlsRole, type SrtpPreference } from './dtls/dtls-session.ts';
import type { DtlsCertificate } from './dtls/certificate.ts';
import type { GuardedTransport, HandshakeGuard } from './dtls/handshake-guard.ts';
import type { MediaNetwork, MediaProtocol, MuxedTransport } from './media-mux.ts';
import { generateIceCredentials, type IceCredentials, type IceLiteAgent, type IceLiteEndpoint, type TransportAddress } from './ice/ice-lite.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

/**
 * One ICE-lite + DTLS-SRTP connection with one browser RTCPeerConnection. It owns no socket: the
 * MediaMux routes its datagrams here once ICE has validated the remote address.
 */
export type TransportState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

export interface TransportHandler {
  /** A decrypted RTP packet, parsed once. The view (and its buffer) is only valid during the call. */
  onRtp(view: RtpView): void;
  /** A decrypted RTCP compound packet. */
  onRtcp(buf: Buffer, length: number): void;
  onStateChange(state: TransportState, reason?: string): void;
}

export interface DtlsParameters {
  role: DtlsRole;
  remoteFingerprint: { algorithm: string; value: string };
}

export interface TransportOptions {
  id: string;
  mux: MediaNetwork;
  ice: IceLiteAgent;
  iceCredentials: IceCredentials;
  remoteUfrag: string | null;
  certificate: DtlsCertificate;
  /** Known at once for a publish transport (from the offer); for a subscribe transport only once the answer arrives. */
  dtls: DtlsParameters | null;
  clock: Clock;
  log: Logger;
  /** Consent freshness (RFC 7675 §5.1): close when no valid binding request came for this long. */
  consentTimeoutMs?: number;
  /** Fail when DTLS has not completed this long after ICE selected a path. */
  handshakeTimeoutMs?: number;
  /** Server-wide limits on DTLS handshakes (config limits.dtls), null = none. */
  dtlsGuard?: HandshakeGuard | null;
  /** Which SRTP profile we prefer where we choose (we are the DTLS server); default GCM. */
  srtpPreference?: SrtpPreference;
}

/** DTLS datagrams kept while the DTLS parameters are not known yet (the peer retransmits anyway). */
const MAX_EARLY_DTLS = 8;

export class WebRtcTransport implements MuxedTransport, IceLiteEndpoint, GuardedTransport {
  readonly id: string;
  /** Our ICE credentials; new ones after each ICE restart. */
  local: IceCredentials;
  remoteUfrag: string | null;
  /** ICE restarts so far (each one kept this DTLS association). */
  iceRestarts = 0;
  state: TransportState = 'new';
  remoteAddress: string | null = null;
  remotePort = 0;
  /** The selected path runs over an ICE-TCP connection (RFC 6544) rather than UDP. */
  remoteProtocol: 'udp' | 'tcp' = 'udp';
  private handler: TransportHandler | null = null;
  /** Authenticated SRTP/SRTCP has arrived (IceLiteEndpoint: from now on only media moves the path). */
  mediaReceived = false;
  private dtls: DtlsSession | null = null;
  private readonly earlyDtls: Buffer[] = [];
  private srtpIn: SrtpSession | null = null;
  private srtpOut: SrtpSession | null = null;
  private readonly view = new RtpView();
  private transportSeq = 0;
  private readonly consentTimer;
  private readonly createdAt: number;
  private connectingSince = 0;

  constructor(private readonly opts: TransportOptions) {
    this.id = opts.id;
    this.createdAt = opts.clock.now();
    this.local = opts.iceCredentials;
    this.remoteUfrag = opts.remoteUfrag;
    objectCounts.transports++;
    if (opts.dtls) this.setDtlsParameters(opts.dtls);
    opts.ice.register(this);
    const timeout = opts.consentTimeoutMs ?? 30_000;
    const handshakeTimeout = opts.handshakeTimeoutMs ?? 20_000;
    this.consentTimer = opts.clock.setInterval(() => {
      if (this.state === 'closed') return;
      const now = opts.clock.now();
      const since = now - (opts.ice.lastConsentAt(this) ?? this.createdAt);
      if (since > timeout) this.fail(`no ICE consent for ${Math.round(since)} ms`);
      else if (this.state === 'connecting' && now - this.connectingSince > handshakeTimeout) {
        const errors = this.dtls?.handshakeErrors ? ` (${this.dtls.handshakeErrors} handshake errors, last: ${this.dtls.lastError})` : '';
        this.fail(`DTLS handshake did not complete within ${handshakeTimeout} ms${errors}`);
      }
    }, Math.min(timeout, handshakeTimeout, 2000));
  }

  /** Role and peer fingerprint, from the remote SDP. Set once. */
  setDtlsParameters(p: DtlsParameters): void {
    if (this.dtls || this.state === 'closed') return;
    this.dtlsRole = p.role;
    this.dtls = new DtlsSession(p.role, this.opts.certificate, p.remoteFingerprint, {
      send: (d) => this.sendRaw(d),
      onConnected: (keys) => this.onDtlsConnected(keys),
      onFailed: (reason) => this.fail(reason),
    }, this.opts.srtpPreference);
    if (this.remoteAddress !== null) this.dtls.start();
    for (const d of this.earlyDtls.splice(0)) this.handleDtls(d, this.remoteAddress ?? '', this.remotePort, this.remoteProtocol);
  }

  dtlsRole: DtlsRole | null = null;

  setHandler(h: TransportHandler): void {
    this.handler = h;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** ICE validated a path it did not select (yet): media from it is accepted, and may move us there. */
  onPathValidated(remote: TransportAddress): void {
    if (this.state !== 'closed' && this.state !== 'failed') this.opts.mux.allow(this, remote.address, remote.port, remote.protocol ?? 'udp');
  }

  /**
   * Authenticated media (or DTLS before the handshake) came on a path other than the selected one: the
   * peer sends there, so if it nominated that path we follow it (IceLiteAgent.mediaFrom).
   */
  private fromOtherPath(address: string, port: number, protocol: MediaProtocol): void {
    this.opts.ice.mediaFrom(this, address, port, protocol);
  }

  /** ICE (RFC 8445 §7.3.1.5) selected the peer's address, first or after a nomination moved it. */
  onSelected(remote: TransportAddress): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.remoteProtocol = remote.protocol ?? 'udp';
    this.opts.mux.bind(this, remote.address, remote.port, this.remoteProtocol);
    this.opts.log.debug('ice path selected', { transport: this.id, address: remote.address, port: remote.port, protocol: this.remoteProtocol });
    if (this.state === 'new') {
      this.connectingSince = this.opts.clock.now();
      this.setState('connecting');
      this.dtls?.start();
    } else if (this.state === 'connected') {
      // Connected again, on a new path (an ICE restart or a new nomination): what was sent into the old one
      // is lost, so owners start video again at a keyframe.
      this.setState('connected', 'path moved');
    }
  }

  /**
   * ICE restart on this transport (RFC 8445 §9; in SDP: new ice-ufrag and ice-pwd, RFC 8839 §4.4.1.1.1):
   * new local credentials for the answer or offer that carries them, and the peer's new ufrag (null until
   * its answer names it). DTLS and SRTP stay as they are: a restart moves the path, not the association,
   * so media resumes on the new path without a handshake. The old path carries media until a check with
   * the new credentials selects another (IceLiteAgent.restart).
   */
  restartIce(remoteUfrag: string | null, credentials: IceCredentials = generateIceCredentials()): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    const previous = this.local.ufrag;
    this.local = credentials;
    this.remoteUfrag = remoteUfrag;
    this.opts.ice.restart(this, previous);
    this.iceRestarts++;
    this.opts.log.info('ice restart', { transport: this.id, restarts: this.iceRestarts, state: this.state });
  }

  /** Next transport-wide sequence number for an outgoing packet (one counter per connection). */
  nextTransportSeq(): number {
    const s = this.transportSeq;
    this.transportSeq = (s + 1) & 0xffff;
    return s;
  }

  /** GuardedTransport: the handshake no longer counts as in progress. */
  get handshakeDone(): boolean {
    return this.state === 'connected' || this.state === 'closed' || this.state === 'failed';
  }

  /** GuardedTransport: the handshake limits gave up on this transport. */
  failHandshake(reason: string): void {
    this.fail(reason);
  }

  handleDtls(buf: Buffer, address: string, port: number, protocol: MediaProtocol): void {
    const guard = this.opts.dtlsGuard;
    if (guard) {
      const why = guard.admit(this, address, buf, this.opts.clock.now());
      if (why !== null) {
        countDrop(why);
        return;
      }
    }
    if (this.state === 'connecting' && (port !== this.remotePort || address !== this.remoteAddress || protocol !== this.remoteProtocol)) this.fromOtherPath(address, port, protocol);
    if (this.dtls === null) {
      if (this.earlyDtls.length < MAX_EARLY_DTLS) this.earlyDtls.push(Buffer.from(buf));
      else countDrop('dtls_not_ready');
      return;
    }
    if (!this.dtls.handle(buf)) countDrop('dtls_error');
  }

  handleSrtp(buf: Buffer, address: string, port: number, protocol: MediaProtocol): void {
    const srtp = this.srtpIn;
    if (!srtp) {
      countDrop('srtp_not_ready');
      return;
    }
    if (buf.length < 12) {
      countDrop('packet_too_short');
      return;
    }
    // RFC 5761 §4: payload types 64–95 (marker bit folded in: 192–223) are RTCP.
    const pt = buf[1];
    if (pt >= 192 && pt <= 223) {
      const n = srtp.unprotectRtcp(buf, buf.length);
      if (typeof n !== 'number') {
        countDrop(n);
        return;
      }
      packetStats.rtcpPacketsIn++;
      this.mediaReceived = true;
      if (port !== this.remotePort || address !== this.remoteAddress || protocol !== this.remoteProtocol) this.fromOtherPath(address, port, protocol);
      this.handler?.onRtcp(buf, n);
      return;
    }
    const n = srtp.unprotectRtp(buf, buf.length);
    if (typeof n !== 'number') {
      countDrop(n);
      return;
    }
    const drop = this.view.parse(buf, n);
    if (drop !== null) {
      countDrop(drop);
      return;
    }
    packetStats.rtpPacketsIn++;
    packetStats.rtpBytesIn += n;
    this.mediaReceived = true;
    if (port !== this.remotePort || address !== this.remoteAddress || protocol !== this.remoteProtocol) this.fromOtherPath(address, port, protocol);
    this.handler?.onRtp(this.view);
  }

  /** Protect and send one plaintext RTP packet; returns false if it could not be sent. */
  sendRtp(buf: Buffer, length: number): boolean {
    const srtp = this.srtpOut;
    if (!srtp || this.remoteAddress === null) {
      countDrop('srtp_not_ready');
      return false;
    }
    const out = srtp.protectRtp(buf, length);
    if (typeof out === 'string') {
      countDrop(out);
      return false;
    }
    this.opts.mux.send(out, this.remoteAddress, this.remotePort, this.remoteProtocol);
    packetStats.rtpPacketsOut++;
    packetStats.rtpBytesOut += length;
    return true;
  }

  sendRtcp(buf: Buffer, length = buf.length): boolean {
    const srtp = this.srtpOut;
    if (!srtp || this.remoteAddress === null) return false;
    const out = srtp.protectRtcp(buf, length);
    if (typeof out === 'string') {
      countDrop(out);
      return false;
    }
    this.opts.mux.send(out, this.remoteAddress, this.remotePort, this.remoteProtocol);
    packetStats.rtcpPacketsOut++;
    return true;
  }

  close(reason = 'closed'): void {
    if (this.state === 'closed') return;
    this.opts.clock.clear(this.consentTimer);
    this.dtls?.close();
    this.opts.dtlsGuard?.forget(this);
    this.opts.ice.unregister(this);
    this.opts.mux.unbind(this);
    this.srtpIn = this.srtpOut = null;
    objectCounts.transports--;
    this.setState('closed', reason);
  }

  private sendRaw(d: Buffer): void {
    if (this.remoteAddress !== null && this.state !== 'closed') this.opts.mux.send(d, this.remoteAddress, this.remotePort, this.remoteProtocol);
  }

  private onDtlsConnected(keys: DtlsKeys): void {
    if (this.state === 'closed') return;
    this.srtpIn = new SrtpSession(keys.profile, keys.remoteKey, keys.remoteSalt);
    this.srtpOut = new SrtpSession(keys.profile, keys.localKey, keys.localSalt);
    this.opts.dtlsGuard?.finished(this);
    this.opts.log.info('transport connected', { transport: this.id, srtp: keys.profile, dtlsRole: this.dtlsRole });
    this.setState('connected');
  }

  private fail(reason: string): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    this.opts.log.warn('transport failed', { transport: this.id, reason });
    this.setState('failed', reason);
    this.close(reason);
  }

  private setState(s: TransportState, reason?: string): void {
    this.state = s;
    this.handler?.onStateChange(s, reason);
  }
}
