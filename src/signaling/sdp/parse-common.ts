/** Helpers shared by the offer and answer parsers: safe sdp-transform parsing and transport extraction. */
import * as sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { MAX_SDP_BYTES } from '../messages.ts';
import { EXT_URI } from './server-capabilities.ts';
import { SdpError } from './types.ts';
import type { DtlsSetup, ExtIds, Fingerprint, HeaderExtension, RemoteTransportParams, SdpCodec } from './types.ts';

export const MAX_MEDIA_SECTIONS = 64;

/**
 * Caps on the shape of an SDP, checked in one pass over its lines before anything else parses it (config
 * limits.sdp; the size cap is MAX_SDP_BYTES). A browser's offer stays far below each: Chrome's video m-line
 * has ~200 lines, ~40 payload types, 5 a=rtcp-fb per payload type.
 */
export interface SdpLimits {
  maxLines: number;
  maxLinesPerMedia: number;
  maxRtcpFbPerPayload: number;
  maxPayloadTypes: number;
  maxMediaSections: number;
}

export const DEFAULT_SDP_LIMITS: Readonly<SdpLimits> = { maxLines: 4000, maxLinesPerMedia: 400, maxRtcpFbPerPayload: 16, maxPayloadTypes: 64, maxMediaSections: MAX_MEDIA_SECTIONS };
let sdpLimits: SdpLimits = { ...DEFAULT_SDP_LIMITS };

/** Set from the configuration at start (one process serves one configuration). */
export function setSdpLimits(l: SdpLimits): void {
  sdpLimits = { ...l };
}

/**
 * One pass over the lines (RFC 8866 §5: "<type>=<value>" lines, m= opening a media section): counts lines,
 * lines per section, m-lines, payload types per m-line and a=rtcp-fb lines per payload type (RFC 4585 §4.2),
 * and names the first cap exceeded.
 */
export function checkSdpShape(sdp: string, l: SdpLimits = sdpLimits): SdpError | null {
  let lines = 0;
  let inSection = 0;
  let sections = 0;
  const fbPerPt = new Map<string, number>();
  let start = 0;
  while (start < sdp.length) {
    let end = sdp.indexOf('\n', start);
    if (end < 0) end = sdp.length;
    if (++lines > l.maxLines) return new SdpError('too_large', `SDP has more than ${l.maxLines} lines (limits.sdp.maxLines)`);
    const c0 = sdp.charCodeAt(start);
    if (c0 === 0x6d /* m */ && sdp.charCodeAt(start + 1) === 0x3d) {
      if (++sections > l.maxMediaSections) return new SdpError('too_large', `SDP has more than ${l.maxMediaSections} m-lines (limits.sdp.maxMediaSections)`);
      inSection = 0;
      fbPerPt.clear();
      // m=<media> <port> <proto> <fmt> ...: the formats are the fields after the third.
      let fields = 0;
      for (let i = start; i < end; i++) if (sdp.charCodeAt(i) === 0x20 && sdp.charCodeAt(i + 1) !== 0x20) fields++;
      if (fields - 2 > l.maxPayloadTypes) return new SdpError('too_large', `an m-line lists more than ${l.maxPayloadTypes} payload types (limits.sdp.maxPayloadTypes)`);
    } else if (sections > 0 && ++inSection > l.maxLinesPerMedia) {
      return new SdpError('too_large', `a media section has more than ${l.maxLinesPerMedia} lines (limits.sdp.maxLinesPerMedia)`);
    }
    if (c0 === 0x61 /* a */ && sdp.startsWith('a=rtcp-fb:', start)) {
      const sp = sdp.indexOf(' ', start + 10);
      const pt = sdp.slice(start + 10, sp < 0 || sp > end ? end : sp);
      const n = (fbPerPt.get(pt) ?? 0) + 1;
      if (n > l.maxRtcpFbPerPayload) return new SdpError('too_large', `more than ${l.maxRtcpFbPerPayload} a=rtcp-fb lines for one payload type (limits.sdp.maxRtcpFbPerPayload)`);
      fbPerPt.set(pt, n);
    }
    start = end + 1;
  }
  return null;
}
const MID_RE = /^[A-Za-z0-9_.+-]{1,32}$/;
const UFRAG_RE = /^[A-Za-z0-9+/]{4,256}$/; // RFC 8445 §5.3 ice-char
const PWD_RE = /^[A-Za-z0-9+/]{22,256}$/;
const SHA256_RE = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

export function parseSdpText(sdp: unknown): SessionDescription | SdpError {
  if (typeof sdp !== 'string' || sdp.length === 0) return new SdpError('invalid_sdp', 'SDP is empty');
  if (sdp.length > MAX_SDP_BYTES || Buffer.byteLength(sdp, 'utf8') > MAX_SDP_BYTES) {
    return new SdpError('too_large', `SDP exceeds ${MAX_SDP_BYTES} bytes`);
  }
  if (!/^v=0\r?\n/.test(sdp)) return new SdpError('invalid_sdp', 'SDP must start with "v=0"');
  if (/[\0]/.test(sdp)) return new SdpError('invalid_sdp', 'SDP contains NUL bytes');
  const shape = checkSdpShape(sdp);
  if (shape) return shape;
  let session: SessionDescription;
  try {
    session = sdpTransform.parse(withoutUnreadAttributes(sdp));
  } catch {
    return new SdpError('invalid_sdp', 'SDP could not be parsed');
  }
  if (!session.origin || !Array.isArray(session.media)) return new SdpError('invalid_sdp', 'SDP lacks o= line');
  normalizeStrings(session);
  if (session.media.length > sdpLimits.maxMediaSections) {
    return new SdpError('invalid_sdp', `SDP has more than ${sdpLimits.maxMediaSections} m-lines`);
  }
  return session;
}

/** The a= attributes anything of ours reads (RFC 8866 and the WebRTC ones); the others are never looked at. */
const READ_ATTRIBUTES = new Set([
  'mid', 'rtpmap', 'fmtp', 'rtcp-fb', 'extmap', 'extmap-allow-mixed', 'ssrc', 'ssrc-group', 'rid', 'simulcast', 'setup',
  'fingerprint', 'ice-ufrag', 'ice-pwd', 'ice-options', 'ice-lite', 'candidate', 'end-of-candidates', 'group', 'msid',
  'msid-semantic', 'sendrecv', 'sendonly', 'recvonly', 'inactive', 'rtcp-mux', 'rtcp-rsize', 'rtcp', 'bundle-only', 'ptime', 'maxptime',
]);

/**
 * Drops the a= lines whose attribute we never read before sdp-transform sees them: it tries every grammar
 * rule on a line it does not know (~3.4 µs a line here), so 3,900 unknown lines under the line cap cost
 * ~15 ms of main thread (found by npm run fuzz). One linear pass.
 */
function withoutUnreadAttributes(sdp: string): string {
  const kept: string[] = [];
  let dropped = false;
  for (const line of sdp.split('\n')) {
    if (line.startsWith('a=')) {
      const colon = line.indexOf(':');
      const name = (colon < 0 ? line.slice(2) : line.slice(2, colon)).replace(/\r$/, '');
      if (!READ_ATTRIBUTES.has(name)) {
        dropped = true;
        continue;
      }
    }
    kept.push(line);
  }
  return dropped ? kept.join('\n') : sdp;
}

/**
 * sdp-transform turns every numeric-looking capture into a number ("a=mid:0" gives mid 0, "m=audio 9 ... 111"
 * gives payloads 111), so coerce the fields we treat as text back to strings before anyone calls .split().
 */
function normalizeStrings(session: SessionDescription): void {
  const str = <T>(v: T): T => (v === undefined || v === null ? v : (String(v) as T));
  const shared = (x: SessionDescription | MediaDescription) => {
    x.iceUfrag = str(x.iceUfrag);
    x.icePwd = str(x.icePwd);
    x.setup = str(x.setup);
    if (x.fingerprint) x.fingerprint = { type: String(x.fingerprint.type), hash: String(x.fingerprint.hash) };
  };
  shared(session);
  for (const g of session.groups ?? []) (g.type = String(g.type)), (g.mids = String(g.mids));
  for (const m of session.media) {
    shared(m);
    m.type = String(m.type);
    m.protocol = String(m.protocol);
    m.mid = str(m.mid);
    m.payloads = str(m.payloads);
    for (const f of m.fmtp ?? []) f.config = String(f.config);
    for (const r of m.rtp ?? []) r.codec = String(r.codec);
    for (const fb of m.rtcpFb ?? []) (fb.type = String(fb.type)), (fb.subtype = str(fb.subtype));
    for (const x of m.msid ?? []) (x.id = String(x.id)), (x.appdata = str(x.appdata));
    for (const x of m.ssrcs ?? []) (x.attribute = String(x.attribute)), (x.value = str(x.value));
    for (const g of m.ssrcGroups ?? []) (g.semantics = String(g.semantics)), (g.ssrcs = String(g.ssrcs));
    for (const e of m.ext ?? []) e.uri = String(e.uri);
    for (const r of m.rids ?? []) (r.id = String(r.id)), (r.direction = String(r.direction));
    if (m.simulcast) (m.simulcast.list1 = String(m.simulcast.list1)), (m.simulcast.list2 = str(m.simulcast.list2));
  }
}

/** RFC 8843 §7.3.3: port 0 with a=bundle-only is a bundled section, not a rejected one. */
export function isRejectedSection(m: MediaDescription): boolean {
  return m.port === 0 && m.bundleOnly === undefined;
}

export function validMid(mid: string | undefined): mid is string {
  return mid !== undefined && MID_RE.test(mid);
}

/** The single BUNDLE group's mids, or an error if there is none or several (we bundle everything on one port). */
export function bundleMids(session: SessionDescription): string[] | SdpError {
  const groups = (session.groups ?? []).filter((g) => g.type.toUpperCase() === 'BUNDLE');
  if (groups.length === 0) return new SdpError('missing_bundle', 'SDP has no a=group:BUNDLE (RFC 8843 BUNDLE is required)');
  if (groups.length > 1) return new SdpError('missing_bundle', 'SDP has several BUNDLE groups; only one is supported');
  return groups[0]!.mids.split(/\s+/).filter((s) => s.length > 0);
}

export function normalizeFingerprint(fp: { type: string; hash: string } | undefined): Fingerprint | SdpError {
  if (!fp) return new SdpError('missing_fingerprint', 'SDP has no a=fingerprint (RFC 8842 requires one)');
  if (fp.type.toLowerCase() !== 'sha-256') {
    return new SdpError('unsupported_fingerprint', `fingerprint algorithm "${fp.type.slice(0, 16)}" unsupported; sha-256 required`);
  }
  const value = fp.hash.toUpperCase();
  if (!SHA256_RE.test(value)) return new SdpError('unsupported_fingerprint', 'sha-256 fingerprint is malformed');
  return { algorithm: 'sha-256', value };
}

/**
 * Transport parameters of the bundled (non-rejected) sections: media-level values override session-level ones
 * (RFC 8839 §5.4, RFC 8842 §5), and every bundled section must agree since they share one transport (RFC 8843 §7.1).
 */
export function bundledTransport(session: SessionDescription, sections: readonly MediaDescription[]): RemoteTransportParams | SdpError {
  let first: RemoteTransportParams | undefined;
  for (const m of sections) {
    const iceUfrag = m.iceUfrag ?? session.iceUfrag;
    const icePwd = m.icePwd ?? session.icePwd;
    if (!iceUfrag || !icePwd) return new SdpError('missing_ice', `m-line "${m.mid}" has no ice-ufrag/ice-pwd`);
    if (!UFRAG_RE.test(iceUfrag) || !PWD_RE.test(icePwd)) return new SdpError('missing_ice', `m-line "${m.mid}" has malformed ICE credentials`);
    const fingerprint = normalizeFingerprint(m.fingerprint ?? session.fingerprint);
    if (fingerprint instanceof SdpError) return fingerprint;
    const rawSetup = m.setup ?? session.setup;
    if (rawSetup !== 'actpass' && rawSetup !== 'active' && rawSetup !== 'passive') {
      return new SdpError('bad_setup', `m-line "${m.mid}" has missing or invalid a=setup (RFC 5763 §5)`);
    }
    const t: RemoteTransportParams = { iceUfrag, icePwd, fingerprint, setup: rawSetup as DtlsSetup };
    if (!first) first = t;
    else if (t.iceUfrag !== first.iceUfrag || t.icePwd !== first.icePwd || t.fingerprint.value !== first.fingerprint.value || t.setup !== first.setup) {
      return new SdpError('transport_mismatch', 'bundled m-lines disagree on ICE/DTLS parameters');
    }
  }
  if (!first) return new SdpError('no_media', 'SDP has no usable m-lines');
  return first;
}

/** Parse "a=b;c=d" into a null-prototype map (keys are attacker-controlled, so no Object.prototype). */
export function parseFmtp(config: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const part of config.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (/^[a-z0-9_.-]{1,64}$/.test(key) && /^[\x21-\x7e]{0,256}$/.test(value)) out[key] = value;
  }
  return out;
}

export function formatFmtp(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .map((k) => `${k}=${params[k]}`)
    .join(';');
}

/**
 * Codecs of an m-line in m= order, RTX entries folded into their primary via apt (RFC 4588 §8.1). Linear in
 * the section's lines: a=fmtp and a=rtcp-fb are indexed by payload type once (appending in place), and m=
 * membership is a set.
 */
export function parseCodecs(m: MediaDescription): SdpCodec[] {
  const order = (m.payloads ?? '').split(/\s+/).map(Number).filter((pt) => Number.isInteger(pt) && pt >= 0 && pt <= 127);
  const listed = new Set(order);
  const fmtps = new Map<number, Record<string, string>>();
  for (const f of m.fmtp ?? []) if (listed.has(f.payload)) fmtps.set(f.payload, parseFmtp(f.config));
  const fbs = new Map<number | '*', string[]>();
  for (const fb of m.rtcpFb ?? []) {
    const key = fb.payload === '*' ? '*' : Number(fb.payload);
    if (key !== '*' && !listed.has(key)) continue;
    const text = fb.subtype ? `${fb.type} ${fb.subtype}` : fb.type;
    const list = fbs.get(key);
    if (list) list.push(text);
    else fbs.set(key, [text]);
  }
  const wildcard = fbs.get('*') ?? [];
  const byPt = new Map<number, SdpCodec>();
  const rtx: { pt: number; apt: number }[] = [];
  for (const r of m.rtp ?? []) {
    if (!listed.has(r.payload) || byPt.has(r.payload) || typeof r.rate !== 'number') continue;
    const fmtp = fmtps.get(r.payload) ?? (Object.create(null) as Record<string, string>);
    if (r.codec.toLowerCase() === 'rtx') {
      const apt = Number(fmtp.apt);
      if (Number.isInteger(apt)) rtx.push({ pt: r.payload, apt });
      continue;
    }
    const codec: SdpCodec = {
      pt: r.payload,
      name: r.codec,
      clockRate: r.rate,
      fmtp,
      rtcpFb: (fbs.get(r.payload) ?? []).concat(wildcard),
    };
    if (r.encoding !== undefined) codec.channels = Number(r.encoding);
    byPt.set(r.payload, codec);
  }
  for (const { pt, apt } of rtx) {
    const primary = byPt.get(apt);
    if (primary && primary.rtxPt === undefined) primary.rtxPt = pt;
  }
  return order.flatMap((pt) => byPt.get(pt) ?? []);
}

/** a=extmap entries with one-byte ids (RFC 8285 §4.2: 1..14); we never answer extmap-allow-mixed. */
export function parseExtensions(m: MediaDescription): HeaderExtension[] {
  const seen = new Set<number>();
  const out: HeaderExtension[] = [];
  for (const e of m.ext ?? []) {
    if (!Number.isInteger(e.value) || e.value < 1 || e.value > 14 || seen.has(e.value)) continue;
    seen.add(e.value);
    out.push({ id: e.value, uri: e.uri });
  }
  return out;
}

export function extIdsOf(exts: readonly HeaderExtension[]): ExtIds {
  const ids: ExtIds = {};
  for (const key of Object.keys(EXT_URI) as (keyof ExtIds)[]) {
    const hit = exts.find((e) => e.uri === EXT_URI[key]);
    if (hit) ids[key] = hit.id;
  }
  return ids;
}
