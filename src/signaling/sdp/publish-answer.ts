/** Build our answer to a publish offer: recvonly, ICE-lite, offerer's payload types and extension ids kept. */
import * as sdpTransform from 'sdp-transform';
import type { MediaDescription } from 'sdp-transform';
import { extIdsOf, formatFmtp } from './parse-common.ts';
import type { PublishOffer, PublishOfferMedia } from './publish-offer.ts';
import { DEFAULT_CAPABILITIES, EXT_URI } from './server-capabilities.ts';
import type { CodecCapability, ServerCapabilities } from './server-capabilities.ts';
import { assertLocalParams, sessionIdFor, sessionSkeleton, transportAttributes } from './write-common.ts';
import type { ExtIds, HeaderExtension, LocalTransportParams, MediaKind, SdpCodec } from './types.ts';

export interface NegotiatedCodec {
  pt: number;
  name: string;
  clockRate: number;
  channels?: number;
  fmtp: Readonly<Record<string, string>>;
}

export interface NegotiatedPublishMedia {
  mid: string;
  kind: MediaKind | 'other';
  /** Port 0 in the answer: no media will ever flow on this m-line. */
  rejected: boolean;
  /** Accepted but idle (offer was recvonly/inactive): answered a=inactive, stays in the bundle. */
  inactive: boolean;
  rejectReason?: string;
  /** Absent only when rejected. */
  codec?: NegotiatedCodec;
  rtxPt?: number;
  ssrc?: number;
  rtxSsrc?: number;
  cname?: string;
  msid?: { streamId: string; trackId: string };
  rids: string[];
  extIds: ExtIds;
  rtcpFb: string[];
}

export interface PublishAnswer {
  sdp: string;
  media: NegotiatedPublishMedia[];
  /** Our DTLS role (RFC 5763 §5): active means we are the DTLS client. */
  setup: 'active' | 'passive';
}

export function buildPublishAnswer(
  offer: PublishOffer,
  local: LocalTransportParams,
  caps: ServerCapabilities = DEFAULT_CAPABILITIES,
  /** `sessionKey` names the o= session id (default our ufrag); keep it across ICE restarts (RFC 3264 §8). */
  opts: { sessionVersion?: number; sessionKey?: string } = {},
): PublishAnswer {
  assertLocalParams(local);
  // RFC 5763 §5: the answerer must take the opposite of a non-actpass offer, else it chooses.
  const setup = offer.transport.setup === 'active' ? 'passive' : offer.transport.setup === 'passive' ? 'active' : local.setup;

  const sections: MediaDescription[] = [];
  const media: NegotiatedPublishMedia[] = [];
  for (const om of offer.media) {
    const neg = negotiate(om, caps);
    media.push(neg);
    sections.push(neg.rejected ? rejectedSection(om) : acceptedSection(om, neg, local, setup));
  }
  // RFC 8843 §7.3.1: the answer's group lists the accepted bundled mids, keeping the offer's order.
  const accepted = new Set(media.filter((m) => !m.rejected).map((m) => m.mid));
  const session = sessionSkeleton(sessionIdFor(opts.sessionKey ?? local.iceUfrag), opts.sessionVersion ?? 1, offer.bundleMids.filter((mid) => accepted.has(mid)));
  session.media = sections;
  return { sdp: sdpTransform.write(session), media, setup };
}

function negotiate(om: PublishOfferMedia, caps: ServerCapabilities): NegotiatedPublishMedia {
  const kind: MediaKind | 'other' = om.type === 'audio' || om.type === 'video' ? om.type : 'other';
  const base: NegotiatedPublishMedia = { mid: om.mid, kind, rejected: true, inactive: false, rids: [], extIds: {}, rtcpFb: [] };
  if (om.status === 'rejected') return { ...base, rejectReason: 'rejected in offer' };
  if (kind === 'other') return { ...base, rejectReason: `unsupported media type "${om.type.slice(0, 32)}"` };
  if (!/^(UDP|TCP)\/TLS\/RTP\/SAVPF$/.test(om.protocol)) return { ...base, rejectReason: 'unsupported protocol' };

  // Offerer's preference order (RFC 8829 §5.3.1); exactly one codec per m-line keeps forwarding simple.
  let chosen: { offered: SdpCodec; cap: CodecCapability } | undefined;
  for (const offered of om.codecs) {
    const cap = caps.codecs.find((c) => codecMatches(c, kind, offered));
    if (cap) {
      chosen = { offered, cap };
      break;
    }
  }
  if (!chosen) return { ...base, rejectReason: 'no supported codec' };
  const { offered, cap } = chosen;
  const codec: NegotiatedCodec = { pt: offered.pt, name: offered.name, clockRate: offered.clockRate, fmtp: cap.answerFmtp ?? offered.fmtp };
  if (offered.channels !== undefined) codec.channels = offered.channels;
  const extensions = acceptedExtensions(om.extensions, kind, caps);
  const neg: NegotiatedPublishMedia = {
    ...base,
    rejected: false,
    inactive: om.status === 'inactive',
    codec,
    rids: om.rids,
    extIds: extIdsOf(extensions),
    rtcpFb: cap.rtcpFb.filter((fb) => offered.rtcpFb.includes(fb)),
  };
  if (cap.rtx && offered.rtxPt !== undefined) neg.rtxPt = offered.rtxPt;
  if (om.ssrc !== undefined) neg.ssrc = om.ssrc;
  if (om.rtxSsrc !== undefined) neg.rtxSsrc = om.rtxSsrc;
  if (om.cname !== undefined) neg.cname = om.cname;
  if (om.msid !== undefined) neg.msid = om.msid;
  return neg;
}

function codecMatches(cap: CodecCapability, kind: MediaKind, offered: SdpCodec): boolean {
  return (
    cap.kind === kind &&
    cap.name.toLowerCase() === offered.name.toLowerCase() &&
    cap.clockRate === offered.clockRate &&
    (cap.channels === undefined || cap.channels === (offered.channels ?? 1)) &&
    (cap.matches === undefined || cap.matches(offered.fmtp))
  );
}

function acceptedExtensions(offered: readonly HeaderExtension[], kind: MediaKind, caps: ServerCapabilities): HeaderExtension[] {
  return offered.filter((e) => caps.extensions.some((c) => c.uri === e.uri && c.kinds.includes(kind)));
}

function acceptedSection(om: PublishOfferMedia, neg: NegotiatedPublishMedia, local: LocalTransportParams, setup: 'active' | 'passive'): MediaDescription {
  const codec = neg.codec!;
  const rtp: MediaDescription['rtp'] = [{ payload: codec.pt, codec: codec.name, rate: codec.clockRate, ...(codec.channels ? { encoding: codec.channels } : {}) }];
  const fmtp: MediaDescription['fmtp'] = [];
  const fmtpLine = formatFmtp(codec.fmtp);
  if (fmtpLine) fmtp.push({ payload: codec.pt, config: fmtpLine });
  const rtcpFb = neg.rtcpFb.map((fb) => {
    const [type, subtype] = fb.split(' ');
    return subtype ? { payload: codec.pt, type: type!, subtype } : { payload: codec.pt, type: type! };
  });
  if (neg.rtxPt !== undefined) {
    rtp.push({ payload: neg.rtxPt, codec: 'rtx', rate: codec.clockRate });
    fmtp.push({ payload: neg.rtxPt, config: `apt=${codec.pt}` }); // RFC 4588 §8.6
  }
  const section: MediaDescription = {
    type: om.type,
    protocol: om.protocol,
    payloads: rtp.map((r) => r.payload).join(' '),
    ...transportAttributes(local, setup),
    mid: om.mid,
    // Keep the offerer's ids: RFC 8285 §6 lets the answerer only drop extensions, not renumber them.
    ext: extmapLines(neg.extIds),
    direction: neg.inactive ? 'inactive' : 'recvonly',
    rtp,
    fmtp,
    rtcpFb,
  };
  if (om.rtcpRsize) section.rtcpRsize = 'rtcp-rsize'; // RFC 5506 §5: only if offered
  if (neg.rids.length > 0 && !neg.inactive) {
    // RFC 8853 §5.3: mirror the layers with the direction reversed.
    section.rids = neg.rids.map((id) => ({ id, direction: 'recv' }));
    section.simulcast = { dir1: 'recv', list1: neg.rids.join(';') };
  }
  return section;
}

function extmapLines(ids: ExtIds): NonNullable<MediaDescription['ext']> {
  return (Object.keys(ids) as (keyof ExtIds)[])
    .map((key) => ({ value: ids[key]!, uri: EXT_URI[key] }))
    .sort((a, b) => a.value - b.value);
}

/** RFC 3264 §6 / RFC 8829 §5.3.1: port 0, offered protocol and first format, no transport attributes. */
function rejectedSection(om: PublishOfferMedia): MediaDescription {
  const section: MediaDescription = {
    type: om.type,
    port: 0,
    protocol: om.protocol,
    payloads: om.firstFormat,
    connection: { version: 4, ip: '0.0.0.0' },
    mid: om.mid,
    rtp: [],
    fmtp: [],
  };
  if (om.type === 'audio' || om.type === 'video') section.direction = 'inactive';
  return section;
}
