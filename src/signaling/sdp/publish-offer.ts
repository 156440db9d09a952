/** Parse a browser's offer for the publish transport (browser sends, we receive). */
import type { MediaDescription } from 'sdp-transform';
import { bundledTransport, bundleMids, extIdsOf, isRejectedSection, parseCodecs, parseExtensions, parseSdpText, validMid } from './parse-common.ts';
import { SdpError } from './types.ts';
import type { ExtIds, HeaderExtension, RemoteTransportParams, SdpCodec } from './types.ts';

export const MAX_SIMULCAST_LAYERS = 4;
const RID_RE = /^[A-Za-z0-9_-]{1,16}$/; // RFC 8851 rid-id, bounded by RFC 8852's 16-byte RtpStreamId limit in practice

export interface PublishOfferMedia {
  index: number;
  mid: string;
  /** m= media type as written (audio, video, application, ...). */
  type: string;
  protocol: string;
  /** First format of the m= line, reused when the section has to be rejected. */
  firstFormat: string;
  /** send: the browser will send media; inactive: kept in the bundle but idle (removeTrack/inactive); rejected: port 0. */
  status: 'send' | 'inactive' | 'rejected';
  direction: 'sendonly' | 'sendrecv' | 'recvonly' | 'inactive';
  rtcpRsize: boolean;
  codecs: SdpCodec[];
  extensions: HeaderExtension[];
  extIds: ExtIds;
  ssrc?: number;
  rtxSsrc?: number;
  cname?: string;
  msid?: { streamId: string; trackId: string };
  /** RFC 8853 send encodings in a=simulcast order; empty when not simulcasting. */
  rids: string[];
}

export interface PublishOffer {
  transport: RemoteTransportParams;
  bundleMids: string[];
  media: PublishOfferMedia[];
}

export function parsePublishOffer(sdp: string): PublishOffer | SdpError {
  try {
    return parseOffer(sdp);
  } catch {
    // Last-resort guard: a parser bug must surface as a rejected offer, not a crashed connection handler.
    return new SdpError('invalid_sdp', 'SDP could not be interpreted');
  }
}

function parseOffer(sdp: string): PublishOffer | SdpError {
  const session = parseSdpText(sdp);
  if (session instanceof SdpError) return session;
  if (session.media.length === 0) return new SdpError('no_media', 'publish offer has no m-lines');

  const bundle = bundleMids(session);
  if (bundle instanceof SdpError) return bundle;
  const seen = new Set<string>();
  const live: MediaDescription[] = [];
  for (const [i, m] of session.media.entries()) {
    // Unified plan (RFC 8829 §5.2.1) gives every m-line a mid.
    if (!validMid(m.mid)) return new SdpError('missing_mid', `m-line #${i} has a missing or invalid a=mid`);
    if (seen.has(m.mid)) return new SdpError('duplicate_mid', `mid "${m.mid}" appears twice`);
    seen.add(m.mid);
    if (isRejectedSection(m)) continue;
    if (!bundle.includes(m.mid)) return new SdpError('missing_bundle', `m-line "${m.mid}" is not in the BUNDLE group`);
    live.push(m);
  }
  if (live.length === 0) return new SdpError('no_media', 'every m-line of the publish offer is rejected');
  const transport = bundledTransport(session, live);
  if (transport instanceof SdpError) return transport;

  const media: PublishOfferMedia[] = [];
  for (const [index, m] of session.media.entries()) {
    const section = parseSection(index, m, session.direction);
    if (section instanceof SdpError) return section;
    media.push(section);
  }
  return { transport, bundleMids: bundle.filter((mid) => seen.has(mid)), media };
}

function parseSection(index: number, m: MediaDescription, sessionDirection: MediaDescription['direction']): PublishOfferMedia | SdpError {
  const mid = m.mid!;
  const direction = m.direction ?? sessionDirection ?? 'sendrecv'; // RFC 4566 §6 default
  const rejected = isRejectedSection(m);
  const isRtp = m.type === 'audio' || m.type === 'video';
  const extensions = isRtp ? parseExtensions(m) : [];
  const base: PublishOfferMedia = {
    index,
    mid,
    type: m.type,
    protocol: m.protocol,
    firstFormat: safeFormat(String(m.payloads ?? '').split(/\s+/)[0]),
    status: rejected ? 'rejected' : direction === 'sendonly' || direction === 'sendrecv' ? 'send' : 'inactive',
    direction,
    rtcpRsize: m.rtcpRsize !== undefined,
    codecs: isRtp ? parseCodecs(m) : [],
    extensions,
    extIds: extIdsOf(extensions),
    rids: [],
  };
  if (rejected || !isRtp) return base;

  // RFC 8829 §5.1.1 / RFC 8843 §9.2: WebRTC multiplexes RTCP on the RTP port; we have no RTCP port.
  if (m.rtcpMux === undefined) return new SdpError('missing_rtcp_mux', `m-line "${mid}" lacks a=rtcp-mux`);

  const msids = m.msid ?? [];
  const trackIds = new Set(msids.map((x) => x.appdata ?? ''));
  if (trackIds.size > 1) return new SdpError('plan_b', `m-line "${mid}" carries several tracks (Plan B); unified plan required`);
  if (msids[0]?.appdata) base.msid = { streamId: msids[0].id, trackId: msids[0].appdata };

  const rids = parseRids(m);
  if (rids instanceof SdpError) return rids;
  base.rids = rids;
  if (rids.length > 0 && (base.extIds.mid === undefined || base.extIds.rid === undefined)) {
    return new SdpError('bad_simulcast', `m-line "${mid}" simulcasts without the mid and rtp-stream-id header extensions`);
  }

  const ssrcs = parseSsrcs(m, mid, rids.length > 0);
  if (ssrcs instanceof SdpError) return ssrcs;
  const { ssrcMsid, ...ids } = ssrcs;
  Object.assign(base, ids);
  if (!base.msid && ssrcMsid) base.msid = ssrcMsid; // older browsers only put msid on a=ssrc lines
  return base;
}

/** RFC 8853 §5.1: a=simulcast:send lists rids (";"-separated streams, ","-separated alternatives, "~" paused). */
function parseRids(m: MediaDescription): string[] | SdpError {
  const declared = new Set((m.rids ?? []).filter((r) => r.direction === 'send').map((r) => String(r.id)));
  const sim = m.simulcast;
  if (!sim) return [];
  const list = sim.dir1 === 'send' ? sim.list1 : sim.dir2 === 'send' ? sim.list2 : undefined;
  if (!list) return new SdpError('bad_simulcast', `m-line "${m.mid}" has a=simulcast without a send list`);
  // We take the first alternative of each stream and ignore the paused marker: we want every layer.
  const rids = list.split(';').map((s) => (s.split(',')[0] ?? '').replace(/^~/, ''));
  if (rids.length > MAX_SIMULCAST_LAYERS) return new SdpError('bad_simulcast', `more than ${MAX_SIMULCAST_LAYERS} simulcast layers`);
  for (const rid of rids) {
    if (!RID_RE.test(rid)) return new SdpError('bad_simulcast', 'simulcast list contains an invalid rid');
    if (!declared.has(rid)) return new SdpError('bad_simulcast', `simulcast rid "${rid}" has no matching a=rid:${rid} send line`);
  }
  if (new Set(rids).size !== rids.length) return new SdpError('bad_simulcast', 'simulcast list repeats a rid');
  return rids;
}

interface SsrcInfo {
  ssrc?: number;
  rtxSsrc?: number;
  cname?: string;
  ssrcMsid?: { streamId: string; trackId: string };
}

/** One media SSRC (+ its FID repair SSRC) per m-line; more means Plan B or SSRC-signalled simulcast. */
function parseSsrcs(m: MediaDescription, mid: string, simulcast: boolean): SsrcInfo | SdpError {
  const lines = (m.ssrcs ?? []).filter((s) => Number.isInteger(s.id) && s.id > 0 && s.id <= 0xffffffff);
  // With rids the SFU demuxes by mid/rid (RFC 8852); Firefox still lists per-layer SSRCs, which we ignore.
  if (simulcast || lines.length === 0) return {};
  const repair = new Map<number, number>();
  for (const g of m.ssrcGroups ?? []) {
    const ids = g.ssrcs.split(/\s+/).map(Number);
    if (g.semantics === 'SIM') return new SdpError('plan_b', `m-line "${mid}" uses a=ssrc-group:SIM; use rid-based simulcast (RFC 8853)`);
    if (g.semantics === 'FID' && ids.length === 2 && ids.every((x) => Number.isInteger(x) && x > 0 && x <= 0xffffffff)) {
      repair.set(ids[0]!, ids[1]!);
    }
  }
  const repairs = new Set(repair.values());
  const primaries = [...new Set(lines.map((l) => l.id))].filter((id) => !repairs.has(id));
  if (primaries.length !== 1) {
    return new SdpError('plan_b', `m-line "${mid}" declares ${primaries.length} media SSRCs; unified plan allows one per m-line`);
  }
  const ssrc = primaries[0]!;
  const info: SsrcInfo = { ssrc };
  const rtxSsrc = repair.get(ssrc);
  if (rtxSsrc !== undefined) info.rtxSsrc = rtxSsrc;
  const attr = (name: string) => lines.find((l) => l.id === ssrc && l.attribute === name)?.value;
  const cname = attr('cname');
  if (cname) info.cname = cname;
  const [streamId, trackId] = (attr('msid') ?? '').split(' ');
  if (streamId && trackId) info.ssrcMsid = { streamId, trackId };
  return info;
}

/** The first m= format is echoed into our answer when rejecting, so it must be a plain token. */
function safeFormat(fmt: string | undefined): string {
  return fmt !== undefined && /^[A-Za-z0-9_.-]{1,32}$/.test(fmt) ? fmt : '0';
}
