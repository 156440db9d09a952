/** Pieces every SDP we emit shares: session header, ICE-lite host candidate, DTLS fingerprint/setup. */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import type { OfferTransportParams, LocalTransportParams } from './types.ts';

/**
 * Candidate priority (RFC 8445 §5.1.2.1): type preference 126 (host), component 1. UDP candidates take local
 * preferences from 65535 down in list order; passive TCP ones (RFC 6544 §4.2: direction preference 4 for
 * passive, ×2^13) sit below every UDP one, so a browser uses TCP only when UDP fails.
 */
export function candidatePriority(protocol: 'udp' | 'tcp', index: number): number {
  const local = protocol === 'udp' ? 65535 - index : (4 << 13) + 8191 - index;
  return (126 << 24) + (local << 8) + 255;
}

/**
 * Stable o= session id derived from the transport's ufrag, so renegotiations keep it (RFC 3264 §8)
 * without the caller storing it; 56 bits keeps it below 2^63 as RFC 8829 §5.2.1 asks.
 */
export function sessionIdFor(iceUfrag: string): string {
  return BigInt('0x' + createHash('sha256').update(iceUfrag).digest('hex').slice(0, 14)).toString();
}

/** Programmer-error guard: these values come from our own transport layer, never from clients. */
export function assertLocalParams(local: LocalTransportParams | OfferTransportParams): void {
  const ok =
    /^[A-Za-z0-9+/]{4,256}$/.test(local.iceUfrag) &&
    /^[A-Za-z0-9+/]{22,256}$/.test(local.icePwd) &&
    local.fingerprint.algorithm === 'sha-256' &&
    /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(local.fingerprint.value) &&
    local.candidates.length > 0 &&
    local.candidates.some((c) => c.protocol === 'udp') &&
    local.candidates.every((c) => isIP(c.ip) !== 0 && Number.isInteger(c.port) && c.port > 0 && c.port < 65536);
  if (!ok) throw new TypeError('invalid local transport parameters');
}

export function sessionSkeleton(sessionId: string, version: number, bundle: string[]): SessionDescription {
  if (!Number.isSafeInteger(version) || version < 0) throw new TypeError('session version must be a non-negative integer');
  return {
    version: 0,
    origin: { username: '-', sessionId, sessionVersion: version, netType: 'IN', ipVer: 4, address: '127.0.0.1' },
    name: '-',
    timing: { start: 0, stop: 0 },
    // RFC 8445 §2.5: we only answer connectivity checks, the browser is always controlling.
    icelite: 'ice-lite',
    ...(bundle.length > 0 ? { groups: [{ type: 'BUNDLE', mids: bundle.join(' ') }] } : {}),
    msidSemantic: { semantic: 'WMS', token: '*' },
    media: [],
  };
}

/** Attributes for a live bundled section: same ICE/DTLS on each (RFC 8843 §7.1), every host candidate, no trickle. */
export function transportAttributes(
  local: LocalTransportParams | OfferTransportParams,
  setup: 'actpass' | 'active' | 'passive',
): Pick<MediaDescription, 'port' | 'connection' | 'iceUfrag' | 'icePwd' | 'fingerprint' | 'setup' | 'candidates' | 'endOfCandidates' | 'rtcpMux'> {
  const first = local.candidates.find((c) => c.protocol === 'udp') ?? local.candidates[0];
  const ipVer = isIP(first.ip) === 6 ? 6 : 4;
  let udp = 0;
  let tcp = 0;
  return {
    port: first.port,
    connection: { version: ipVer, ip: first.ip },
    iceUfrag: local.iceUfrag,
    icePwd: local.icePwd,
    fingerprint: { type: 'sha-256', hash: local.fingerprint.value },
    setup,
    // Foundations differ per address and protocol (RFC 8445 §5.1.1.3).
    candidates: local.candidates.map((c, i) =>
      c.protocol === 'udp'
        ? { foundation: String(i + 1), component: 1, transport: 'udp', priority: candidatePriority('udp', udp++), ip: c.ip, port: c.port, type: 'host' }
        : { foundation: String(i + 1), component: 1, transport: 'tcp', priority: candidatePriority('tcp', tcp++), ip: c.ip, port: c.port, type: 'host', tcptype: 'passive' },
    ),
    endOfCandidates: 'end-of-candidates',
    rtcpMux: 'rtcp-mux',
  };
}
