/** Shared SDP negotiation types. Parsers return SdpError values instead of throwing. */

export type MediaKind = 'audio' | 'video';
/** RFC 4145 / RFC 5763 a=setup values we accept; holdconn is meaningless for DTLS-SRTP. */
export type DtlsSetup = 'actpass' | 'active' | 'passive';

/** RFC 8122 fingerprint; we only accept and emit sha-256 (RFC 8827 §6.5 requires it be supported). */
export interface Fingerprint {
  algorithm: 'sha-256';
  /** Upper-case colon-separated hex, 32 bytes. */
  value: string;
}

/** One host candidate of ours: UDP, or passive ICE-TCP (RFC 6544). */
export interface HostCandidate {
  ip: string;
  port: number;
  protocol: 'udp' | 'tcp';
}

/** The server side of one transport: ICE-lite credentials, DTLS identity, the shared host candidates. */
export interface LocalTransportParams {
  iceUfrag: string;
  icePwd: string;
  fingerprint: Fingerprint;
  setup: 'active' | 'passive';
  /** In order of preference; the first UDP one is also the m= line's default address (RFC 8839 §5.1). */
  candidates: HostCandidate[];
}
/** As an offerer we must say actpass (RFC 5763 §5). */
export type OfferTransportParams = Omit<LocalTransportParams, 'setup'> & { setup: 'actpass' };

export interface RemoteTransportParams {
  iceUfrag: string;
  icePwd: string;
  fingerprint: Fingerprint;
  setup: DtlsSetup;
}

/** Negotiated one-byte header extension ids (RFC 8285), by the role we use them for. */
export interface ExtIds {
  mid?: number;
  rid?: number;
  repairedRid?: number;
  absSendTime?: number;
  transportCc?: number;
  audioLevel?: number;
}

export interface HeaderExtension {
  id: number;
  uri: string;
}

/** A codec as written in an SDP (rtpmap + fmtp + rtcp-fb), with its RFC 4588 RTX payload type if paired. */
export interface SdpCodec {
  pt: number;
  name: string;
  clockRate: number;
  channels?: number;
  /** Null-prototype map of lower-cased fmtp parameter names to values. */
  fmtp: Readonly<Record<string, string>>;
  /** e.g. "nack", "nack pli", "ccm fir", "transport-cc". */
  rtcpFb: string[];
  rtxPt?: number;
}

export type SdpErrorCode =
  | 'invalid_sdp'
  | 'too_large'
  | 'no_media'
  | 'missing_mid'
  | 'duplicate_mid'
  | 'missing_bundle'
  | 'missing_rtcp_mux'
  | 'missing_ice'
  | 'missing_fingerprint'
  | 'unsupported_fingerprint'
  | 'bad_setup'
  | 'transport_mismatch'
  | 'bad_direction'
  | 'plan_b'
  | 'bad_simulcast'
  | 'mid_mismatch';

/** Returned (never thrown) by the SDP parsers; `message` is safe to send back to the client. */
export class SdpError extends Error {
  override readonly name = 'SdpError';
  constructor(
    readonly code: SdpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isSdpError(x: unknown): x is SdpError {
  return x instanceof SdpError;
}
