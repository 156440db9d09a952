/** Build the server's offer for a subscribe transport: one sendonly (or inactive) m-line per consumed track. */
import * as sdpTransform from 'sdp-transform';
import type { MediaDescription } from 'sdp-transform';
import { EXT_URI, SUBSCRIBE_EXT_ID, SUBSCRIBE_PT } from './server-capabilities.ts';
import { assertLocalParams, sessionIdFor, sessionSkeleton, transportAttributes } from './write-common.ts';
import type { MediaKind, OfferTransportParams } from './types.ts';

export interface SubscribeMedia {
  /** Stable across renegotiations: m-lines are never removed or reordered (RFC 8829 §5.2.2). */
  mid: string;
  kind: MediaKind;
  /** inactive when the track went away; the m-line stays so later offers keep the same layout. */
  direction: 'sendonly' | 'inactive';
  ssrc: number;
  rtxSsrc?: number;
  cname: string;
  streamId: string;
  trackId: string;
  codec: 'opus' | 'vp8' | 'h264';
}

const MID_RE = /^[A-Za-z0-9_.+-]{1,32}$/;
const TOKEN_RE = /^[A-Za-z0-9_.+\/{}=#-]{1,64}$/; // RFC 8830 msid-id/appdata are token-char; we also bar odd ones
const FB = {
  audio: [{ type: 'transport-cc' }],
  // goog-remb only as the fallback estimate when a browser drops transport-cc from its answer.
  video: [{ type: 'transport-cc' }, { type: 'goog-remb' }, { type: 'ccm', subtype: 'fir' }, { type: 'nack' }, { type: 'nack', subtype: 'pli' }],
};

/**
 * Throws TypeError on invalid arguments: every field comes from our own state, and a CR/LF slipping into
 * a cname or track id would inject SDP lines.
 */
/** `sessionKey` names the o= session id (default the ufrag); keep it across ICE restarts (RFC 3264 §8). */
export function buildSubscribeOffer(local: OfferTransportParams, sessionVersion: number, media: readonly SubscribeMedia[], sessionKey: string = local.iceUfrag): string {
  assertLocalParams(local);
  const mids = new Set<string>();
  for (const m of media) {
    validate(m);
    if (mids.has(m.mid)) throw new TypeError(`duplicate mid ${m.mid}`);
    mids.add(m.mid);
  }
  // With zero m-lines there is nothing to bundle; the result is still a valid (empty) offer.
  const session = sessionSkeleton(sessionIdFor(sessionKey), sessionVersion, media.map((m) => m.mid));
  session.media = media.map((m) => section(local, m));
  return sdpTransform.write(session);
}

function validate(m: SubscribeMedia): void {
  const ssrcOk = (x: number | undefined) => x === undefined || (Number.isInteger(x) && x > 0 && x <= 0xffffffff);
  const kindOk = m.codec === 'opus' ? m.kind === 'audio' : m.kind === 'video';
  if (!MID_RE.test(m.mid) || !kindOk || !ssrcOk(m.ssrc) || !ssrcOk(m.rtxSsrc) || m.ssrc === m.rtxSsrc) {
    throw new TypeError(`invalid subscribe media ${JSON.stringify(m.mid)}`);
  }
  if (m.direction === 'sendonly' && !(TOKEN_RE.test(m.cname) && TOKEN_RE.test(m.streamId) && TOKEN_RE.test(m.trackId))) {
    throw new TypeError(`invalid cname/streamId/trackId for mid ${m.mid}`);
  }
}

function section(local: OfferTransportParams, m: SubscribeMedia): MediaDescription {
  const rtp: MediaDescription['rtp'] = [];
  const fmtp: MediaDescription['fmtp'] = [];
  let pt: number;
  let rtxPt: number | undefined;
  if (m.codec === 'opus') {
    pt = SUBSCRIBE_PT.opus;
    rtp.push({ payload: pt, codec: 'opus', rate: 48000, encoding: 2 });
    fmtp.push({ payload: pt, config: 'minptime=10;useinbandfec=1' });
    // RFC 2198 redundancy over Opus, as Chrome names it (sent only while the subscriber's path loses packets).
    rtp.push({ payload: SUBSCRIBE_PT.red, codec: 'red', rate: 48000, encoding: 2 });
    fmtp.push({ payload: SUBSCRIBE_PT.red, config: `${pt}/${pt}` });
  } else if (m.codec === 'vp8') {
    pt = SUBSCRIBE_PT.vp8;
    rtxPt = SUBSCRIBE_PT.vp8Rtx;
    rtp.push({ payload: pt, codec: 'VP8', rate: 90000 });
  } else {
    pt = SUBSCRIBE_PT.h264;
    rtxPt = SUBSCRIBE_PT.h264Rtx;
    rtp.push({ payload: pt, codec: 'H264', rate: 90000 });
    fmtp.push({ payload: pt, config: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' });
  }
  // RTX only when we will actually send it: an unsignalled RTX SSRC cannot be mapped by the receiver.
  const withRtx = rtxPt !== undefined && m.rtxSsrc !== undefined;
  if (withRtx) {
    rtp.push({ payload: rtxPt!, codec: 'rtx', rate: 90000 });
    fmtp.push({ payload: rtxPt!, config: `apt=${pt}` }); // RFC 4588 §8.6
  }
  const ext: NonNullable<MediaDescription['ext']> = [
    { value: SUBSCRIBE_EXT_ID.mid, uri: EXT_URI.mid },
    { value: SUBSCRIBE_EXT_ID.absSendTime, uri: EXT_URI.absSendTime },
    { value: SUBSCRIBE_EXT_ID.transportCc, uri: EXT_URI.transportCc },
  ];
  if (m.kind === 'audio') ext.push({ value: SUBSCRIBE_EXT_ID.audioLevel, uri: EXT_URI.audioLevel });

  const out: MediaDescription = {
    type: m.kind,
    protocol: 'UDP/TLS/RTP/SAVPF',
    payloads: rtp.map((r) => r.payload).join(' '),
    ...transportAttributes(local, 'actpass'),
    mid: m.mid,
    ext,
    direction: m.direction,
    rtcpRsize: 'rtcp-rsize',
    rtp,
    fmtp,
    rtcpFb: FB[m.kind].map((fb) => ({ payload: pt, ...fb })),
  };
  if (m.direction === 'sendonly') {
    // RFC 8830 msid on the m-line, plus a=ssrc lines so the browser maps SSRCs before the first packet (RFC 5576).
    out.msid = [{ id: m.streamId, appdata: m.trackId }];
    const ssrcs = withRtx ? [m.ssrc, m.rtxSsrc!] : [m.ssrc];
    if (withRtx) out.ssrcGroups = [{ semantics: 'FID', ssrcs: ssrcs.join(' ') }];
    out.ssrcs = ssrcs.flatMap((id) => [
      { id, attribute: 'cname', value: m.cname },
      { id, attribute: 'msid', value: `${m.streamId} ${m.trackId}` },
    ]);
  }
  return out;
}
