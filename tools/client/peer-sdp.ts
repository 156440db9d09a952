/**
 * The SDP a NodePeer speaks: a publish offer shaped like Chrome's (unified plan, BUNDLE, rtcp-mux,
 * a=ssrc + FID lines, or rid-based simulcast without a=ssrc) and answers to the server's subscribe offers
 * (setup:active, RFC 5763 §5).
 */
import * as sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { EXT_URI } from '../../src/signaling/sdp/server-capabilities.ts';
import type { IceCredentials } from '../../src/transport/ice/ice-lite.ts';

/** Payload types and header extension ids of what a NodePeer publishes. */
export const PEER_PT = { opus: 111, vp8: 96, vp8Rtx: 97 } as const;
export const PEER_EXT = { audioLevel: 1, transportCc: 3 } as const;
/** Extension ids a simulcast publisher adds (Chrome's numbers): the mid and rid names of each layer's packets. */
export const PEER_SIMULCAST_EXT = { mid: 4, rid: 10, repairedRid: 11 } as const;

export interface PublishOfferInput {
  ice: IceCredentials;
  /** sha-256, upper-case colon hex. */
  fingerprint: string;
  cname: string;
  streamId: string;
  audio?: { ssrc: number; trackId: string };
  /** SSRCs are required without `simulcast` and unused with it (Chrome announces none). */
  video?: { ssrc?: number; rtxSsrc?: number; trackId: string };
  /**
   * Send the video as rid-based simulcast (RFC 8853): a=rid:<rid> send per layer, a=simulcast:send in this
   * order, the mid / rtp-stream-id / repaired-rtp-stream-id extensions (RFC 8852) and no a=ssrc lines.
   */
  simulcast?: { rids: string[] };
  /** Our UDP socket, written as a host candidate in every m-section (Janus's libnice wants one). */
  candidate?: { ip: string; port: number };
}

/** One host candidate line (RFC 8839 §5.1): type preference 126, top local preference, component 1. */
const hostCandidate = (c: { ip: string; port: number }) => `candidate:1 1 udp 2130706431 ${c.ip} ${c.port} typ host`;

/** Offer for the publish transport: mid 0 audio (Opus), mid 1 video (VP8 + RTX), both sendonly, actpass. */
export function buildPublishOffer(p: PublishOfferInput): string {
  const mids: string[] = [];
  const sections: string[][] = [];
  const transport = (mid: string) => [
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${p.ice.ufrag}`,
    `a=ice-pwd:${p.ice.pwd}`,
    `a=fingerprint:sha-256 ${p.fingerprint}`,
    'a=setup:actpass',
    `a=mid:${mid}`,
    ...(p.candidate ? [`a=${hostCandidate(p.candidate)}`, 'a=end-of-candidates'] : []),
  ];
  const ssrcLines = (ssrc: number, trackId: string) => [`a=ssrc:${ssrc} cname:${p.cname}`, `a=ssrc:${ssrc} msid:${p.streamId} ${trackId}`];
  if (p.audio) {
    const mid = String(mids.length);
    mids.push(mid);
    sections.push([
      `m=audio 9 UDP/TLS/RTP/SAVPF ${PEER_PT.opus}`,
      ...transport(mid),
      `a=extmap:${PEER_EXT.audioLevel} ${EXT_URI.audioLevel}`,
      `a=extmap:${PEER_EXT.transportCc} ${EXT_URI.transportCc}`,
      'a=sendonly',
      `a=msid:${p.streamId} ${p.audio.trackId}`,
      'a=rtcp-mux',
      'a=rtcp-rsize',
      `a=rtpmap:${PEER_PT.opus} opus/48000/2`,
      `a=rtcp-fb:${PEER_PT.opus} transport-cc`,
      `a=fmtp:${PEER_PT.opus} minptime=10;useinbandfec=1`,
      ...ssrcLines(p.audio.ssrc, p.audio.trackId),
    ]);
  }
  if (p.video) {
    const mid = String(mids.length);
    mids.push(mid);
    const v = PEER_PT.vp8;
    const rids = p.simulcast?.rids ?? [];
    if (p.simulcast && rids.length === 0) throw new TypeError('simulcast needs at least one rid');
    const { ssrc, rtxSsrc } = p.video;
    if (rids.length === 0 && (ssrc === undefined || rtxSsrc === undefined)) throw new TypeError('video without simulcast needs ssrc and rtxSsrc');
    const X = PEER_SIMULCAST_EXT;
    sections.push([
      `m=video 9 UDP/TLS/RTP/SAVPF ${v} ${PEER_PT.vp8Rtx}`,
      ...transport(mid),
      `a=extmap:${PEER_EXT.transportCc} ${EXT_URI.transportCc}`,
      ...(rids.length > 0 ? [`a=extmap:${X.mid} ${EXT_URI.mid}`, `a=extmap:${X.rid} ${EXT_URI.rid}`, `a=extmap:${X.repairedRid} ${EXT_URI.repairedRid}`] : []),
      'a=sendonly',
      `a=msid:${p.streamId} ${p.video.trackId}`,
      'a=rtcp-mux',
      'a=rtcp-rsize',
      `a=rtpmap:${v} VP8/90000`,
      ...['transport-cc', 'ccm fir', 'nack', 'nack pli'].map((fb) => `a=rtcp-fb:${v} ${fb}`),
      `a=rtpmap:${PEER_PT.vp8Rtx} rtx/90000`,
      `a=fmtp:${PEER_PT.vp8Rtx} apt=${v}`, // RFC 4588 §8.6
      ...(rids.length > 0
        ? // RFC 8851 §4 rid lines, RFC 8853 §5.1 the simulcast list; SSRCs are learned from the packets.
          [...rids.map((r) => `a=rid:${r} send`), `a=simulcast:send ${rids.join(';')}`]
        : [`a=ssrc-group:FID ${ssrc} ${rtxSsrc}`, ...ssrcLines(ssrc!, p.video.trackId), ...ssrcLines(rtxSsrc!, p.video.trackId)]),
    ]);
  }
  if (mids.length === 0) throw new TypeError('a publish offer needs audio or video');
  const head = ['v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', `a=group:BUNDLE ${mids.join(' ')}`, `a=msid-semantic: WMS ${p.streamId}`];
  return [...head, ...sections.flat()].join('\r\n') + '\r\n';
}

/** ICE/DTLS parameters and the host candidate to use of an SDP the server wrote (answer or offer). */
export interface RemoteTransportSdp {
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string };
  setup: string;
  candidate: { ip: string; port: number };
}

export interface RemoteTransportOptions {
  /** Among several UDP candidates, take one on this address (Janus lists one per gathered interface). */
  preferIp?: string;
}

/**
 * The first live m-line's transport (BUNDLE: they all share it). Candidates may sit in any live m-line;
 * with several, one on `preferIp` wins, else the first IPv4 UDP host candidate, else the first UDP host one, else
 * the first UDP one.
 */
export function remoteTransportOf(sdp: string, opts: RemoteTransportOptions = {}): RemoteTransportSdp {
  const s = sdpTransform.parse(sdp);
  const live = s.media.filter((x) => x.port !== 0);
  const m = live[0];
  if (!m) throw new Error('SDP has no live m-line');
  const ufrag = m.iceUfrag ?? s.iceUfrag;
  const pwd = m.icePwd ?? s.icePwd;
  const fp = m.fingerprint ?? s.fingerprint;
  const setup = m.setup ?? s.setup;
  const udp = live.flatMap((x) => x.candidates ?? []).filter((x) => String(x.transport).toLowerCase() === 'udp');
  // IPv4 first: our UDP link is an IPv4 socket, and a server on every interface lists its IPv6 addresses too.
  const c = udp.find((x) => opts.preferIp !== undefined && x.ip === opts.preferIp) ?? udp.find((x) => x.type === 'host' && !x.ip.includes(':')) ?? udp.find((x) => x.type === 'host') ?? udp[0];
  if (!ufrag || !pwd || !fp || !setup || !c) throw new Error('SDP lacks ICE credentials, fingerprint, setup or a UDP candidate');
  return { iceUfrag: String(ufrag), icePwd: String(pwd), fingerprint: { algorithm: String(fp.type), value: String(fp.hash) }, setup: String(setup), candidate: { ip: c.ip, port: c.port } };
}

/** One m-line of a subscribe offer: what the peer will receive on it. */
export interface OfferedTrack {
  mid: string;
  kind: 'audio' | 'video';
  direction: string;
  payloadType: number;
  rtxPayloadType?: number;
  ssrc?: number;
  rtxSsrc?: number;
  streamId?: string;
  trackId?: string;
  /** Header extension ids by role (RFC 8285). */
  ext: { transportCc?: number; absSendTime?: number; audioLevel?: number; mid?: number };
}

function trackOf(m: MediaDescription): OfferedTrack {
  const rtp = m.rtp ?? [];
  const primary = rtp.find((r) => String(r.codec).toLowerCase() !== 'rtx');
  const rtx = rtp.find((r) => String(r.codec).toLowerCase() === 'rtx');
  const t: OfferedTrack = { mid: String(m.mid), kind: m.type === 'audio' ? 'audio' : 'video', direction: String(m.direction ?? 'sendrecv'), payloadType: primary?.payload ?? -1, ext: {} };
  if (rtx) t.rtxPayloadType = rtx.payload;
  const fid = (m.ssrcGroups ?? []).find((g) => g.semantics === 'FID');
  const ids = fid ? String(fid.ssrcs).split(/\s+/).map(Number) : [...new Set((m.ssrcs ?? []).map((x) => Number(x.id)))];
  if (ids[0] !== undefined) t.ssrc = ids[0];
  if (fid && ids[1] !== undefined) t.rtxSsrc = ids[1];
  const msid = m.msid?.[0];
  if (msid) {
    t.streamId = String(msid.id);
    if (msid.appdata !== undefined) t.trackId = String(msid.appdata);
  }
  for (const e of m.ext ?? []) {
    if (e.uri === EXT_URI.transportCc) t.ext.transportCc = e.value;
    else if (e.uri === EXT_URI.absSendTime) t.ext.absSendTime = e.value;
    else if (e.uri === EXT_URI.audioLevel) t.ext.audioLevel = e.value;
    else if (e.uri === EXT_URI.mid) t.ext.mid = e.value;
  }
  return t;
}

export interface SubscribeAnswer {
  sdp: string;
  /** The server's transport, from the offer. */
  remote: RemoteTransportSdp;
  tracks: OfferedTrack[];
}

export interface SubscribeAnswerOptions extends RemoteTransportOptions {
  ice: IceCredentials;
  fingerprint: string;
  /** Our UDP socket, written as a host candidate in every live m-section. */
  candidate?: { ip: string; port: number };
}

/**
 * Answer a subscribe offer as a browser would: every m-line mirrored in order (RFC 8829 §5.3.1), all
 * offered codecs, extensions and feedback accepted, recvonly for sendonly m-lines, setup:active.
 */
export function answerSubscribeOffer(offerSdp: string, local: SubscribeAnswerOptions): SubscribeAnswer {
  const offer = sdpTransform.parse(offerSdp);
  const remote = remoteTransportOf(offerSdp, local.preferIp !== undefined ? { preferIp: local.preferIp } : {});
  const cand = local.candidate;
  const media: MediaDescription[] = offer.media.map((m) => ({
    type: m.type,
    port: m.port === 0 ? 0 : 9,
    protocol: m.protocol,
    payloads: String(m.payloads),
    connection: { version: 4, ip: '0.0.0.0' },
    iceUfrag: local.ice.ufrag,
    icePwd: local.ice.pwd,
    fingerprint: { type: 'sha-256', hash: local.fingerprint },
    setup: 'active',
    mid: String(m.mid),
    ext: m.ext ?? [],
    direction: m.direction === 'sendonly' || m.direction === 'sendrecv' ? 'recvonly' : 'inactive',
    rtcpMux: 'rtcp-mux',
    // RFC 5506 §5: reduced-size RTCP only if offered (Janus does not offer it).
    ...(m.rtcpRsize ? { rtcpRsize: 'rtcp-rsize' } : {}),
    rtp: m.rtp,
    fmtp: m.fmtp,
    rtcpFb: m.rtcpFb ?? [],
    ...(cand && m.port !== 0
      ? { candidates: [{ foundation: '1', component: 1, transport: 'udp', priority: 2130706431, ip: cand.ip, port: cand.port, type: 'host' }], endOfCandidates: 'end-of-candidates' }
      : {}),
  }));
  const live = media.filter((m) => m.port !== 0).map((m) => String(m.mid));
  const session: SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: String(Date.now()), sessionVersion: 2, netType: 'IN', ipVer: 4, address: '127.0.0.1' },
    name: '-',
    timing: { start: 0, stop: 0 },
    ...(live.length > 0 ? { groups: [{ type: 'BUNDLE', mids: live.join(' ') }] } : {}),
    msidSemantic: { semantic: 'WMS', token: '' },
    media,
  };
  return { sdp: sdpTransform.write(session), remote, tracks: offer.media.map(trackOf) };
}
