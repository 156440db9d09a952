/** Parse the browser's answer to our subscribe offer. */
import { bundledTransport, bundleMids, extIdsOf, isRejectedSection, parseCodecs, parseExtensions, parseSdpText, validMid } from './parse-common.ts';
import { SdpError } from './types.ts';
import type { ExtIds, HeaderExtension, RemoteTransportParams, SdpCodec } from './types.ts';

export interface SubscribeAnswerMedia {
  mid: string;
  type: string;
  /** Port non-zero. A rejected m-line (port 0) has been stopped by the browser for good. */
  accepted: boolean;
  direction: 'sendrecv' | 'recvonly' | 'sendonly' | 'inactive';
  /** Payload types the browser kept, with its RTX pairings. */
  codecs: SdpCodec[];
  extensions: HeaderExtension[];
  extIds: ExtIds;
}

export interface SubscribeAnswer {
  /** Undefined only when no m-line was accepted (no transport to set up). */
  transport?: RemoteTransportParams & { setup: 'active' | 'passive' };
  media: SubscribeAnswerMedia[];
}

/**
 * @param offeredMids mids of the offer this answers, in order; the answer must mirror them (RFC 8829 §5.3.1).
 */
export function parseSubscribeAnswer(sdp: string, offeredMids?: readonly string[]): SubscribeAnswer | SdpError {
  try {
    return parseAnswer(sdp, offeredMids);
  } catch {
    return new SdpError('invalid_sdp', 'SDP could not be interpreted');
  }
}

function parseAnswer(sdp: string, offeredMids?: readonly string[]): SubscribeAnswer | SdpError {
  const session = parseSdpText(sdp);
  if (session instanceof SdpError) return session;

  const media: SubscribeAnswerMedia[] = [];
  for (const [i, m] of session.media.entries()) {
    if (!validMid(m.mid)) return new SdpError('missing_mid', `m-line #${i} has a missing or invalid a=mid`);
    if (media.some((x) => x.mid === m.mid)) return new SdpError('duplicate_mid', `mid "${m.mid}" appears twice`);
    const accepted = !isRejectedSection(m);
    const isRtp = m.type === 'audio' || m.type === 'video';
    if (accepted && isRtp && m.rtcpMux === undefined) return new SdpError('missing_rtcp_mux', `m-line "${m.mid}" lacks a=rtcp-mux`);
    const extensions = isRtp ? parseExtensions(m) : [];
    media.push({
      mid: m.mid,
      type: m.type,
      accepted,
      direction: m.direction ?? session.direction ?? 'sendrecv',
      codecs: isRtp ? parseCodecs(m) : [],
      extensions,
      extIds: extIdsOf(extensions),
    });
  }
  if (offeredMids && (offeredMids.length !== media.length || offeredMids.some((mid, i) => media[i]!.mid !== mid))) {
    return new SdpError('mid_mismatch', 'answer m-lines do not match the offer');
  }

  const live = session.media.filter((m) => !isRejectedSection(m));
  if (live.length === 0) return { media };
  const bundle = bundleMids(session);
  if (bundle instanceof SdpError) return bundle;
  const outside = live.find((m) => !bundle.includes(m.mid!));
  if (outside) return new SdpError('missing_bundle', `m-line "${outside.mid}" is not in the BUNDLE group`);
  const transport = bundledTransport(session, live);
  if (transport instanceof SdpError) return transport;
  // We offered actpass, so the answerer must pick a role (RFC 5763 §5).
  if (transport.setup === 'actpass') return new SdpError('bad_setup', 'answer must use a=setup:active or passive, not actpass');
  return { transport: { ...transport, setup: transport.setup }, media };
}
