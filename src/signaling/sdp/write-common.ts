/** Pieces every SDP we emit shares: session header, ICE-lite host candidate, DTLS fingerprint/setup. */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import type { OfferTransportParams, LocalTransportParams } from './types.ts';

/** Highest-preference host candidate priority (RFC 8445 §5.1.2.1, type pref 126, local pref 65535, component 1). */
const HOST_PRIORITY = 2130706431;

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
    isIP(local.candidate.ip) !== 0 &&
    Number.isInteger(local.candidate.port) &&
    local.candidate.port > 0 &&
    local.candidate.port < 65536;
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

/** Attributes for a live bundled section: same ICE/DTLS on each (RFC 8843 §7.1), one host candidate, no trickle. */
export function transportAttributes(
  local: LocalTransportParams | OfferTransportParams,
  setup: 'actpass' | 'active' | 'passive',
): Pick<MediaDescription, 'port' | 'connection' | 'iceUfrag' | 'icePwd' | 'fingerprint' | 'setup' | 'candidates' | 'endOfCandidates' | 'rtcpMux'> {
  const ipVer = isIP(local.candidate.ip) === 6 ? 6 : 4;
  return {
    port: local.candidate.port,
    connection: { version: ipVer, ip: local.candidate.ip },
    iceUfrag: local.iceUfrag,
    icePwd: local.icePwd,
    fingerprint: { type: 'sha-256', hash: local.fingerprint.value },
    setup,
    candidates: [
      { foundation: '1', component: 1, transport: 'udp', priority: HOST_PRIORITY, ip: local.candidate.ip, port: local.candidate.port, type: 'host' },
    ],
    endOfCandidates: 'end-of-candidates',
    rtcpMux: 'rtcp-mux',
  };
}
