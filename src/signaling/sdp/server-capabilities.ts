/** What the SFU can receive and forward: codecs, RTCP feedback and RTP header extensions. */
import type { ExtIds, MediaKind } from './types.ts';
import { EXT_ABS_SEND_TIME, EXT_AUDIO_LEVEL, EXT_MID, EXT_REPAIRED_RID, EXT_RID, EXT_TRANSPORT_CC } from '../../rtp/header-extensions.ts';

/** The URIs live with their readers in src/rtp; here they are keyed by what we use them for. */
export const EXT_URI = {
  mid: EXT_MID,
  rid: EXT_RID,
  repairedRid: EXT_REPAIRED_RID,
  absSendTime: EXT_ABS_SEND_TIME,
  transportCc: EXT_TRANSPORT_CC,
  audioLevel: EXT_AUDIO_LEVEL,
} as const satisfies Record<keyof ExtIds, string>;

export interface CodecCapability {
  kind: MediaKind;
  /** Compared case-insensitively with the rtpmap encoding name. */
  name: string;
  clockRate: number;
  channels?: number;
  /** fmtp we answer with; undefined means echo the offerer's (H264 profile params must match the offer). */
  answerFmtp?: Readonly<Record<string, string>>;
  /** Feedback we accept, in the order we write it; intersected with what was offered. */
  rtcpFb: readonly string[];
  /** Whether we negotiate RFC 4588 RTX for it. */
  rtx: boolean;
  /** Extra fmtp check for codecs where the name is not enough. */
  matches?: (fmtp: Readonly<Record<string, string>>) => boolean;
}

export interface ExtensionCapability {
  key: keyof ExtIds;
  uri: string;
  kinds: readonly MediaKind[];
}

export interface ServerCapabilities {
  codecs: readonly CodecCapability[];
  extensions: readonly ExtensionCapability[];
}

// goog-remb is deliberately absent: we do send-side BWE via transport-cc only.
const VIDEO_FB = ['nack', 'nack pli', 'ccm fir', 'transport-cc'] as const;

export const OPUS: CodecCapability = {
  kind: 'audio',
  name: 'opus',
  clockRate: 48000,
  channels: 2,
  answerFmtp: { minptime: '10', useinbandfec: '1' },
  rtcpFb: ['transport-cc'],
  rtx: false,
};
export const VP8: CodecCapability = { kind: 'video', name: 'VP8', clockRate: 90000, answerFmtp: {}, rtcpFb: VIDEO_FB, rtx: true };
/**
 * Constrained Baseline only (profile_idc 0x42 with constraint_set1, e.g. 42e01f), packetization-mode=1:
 * the one H264 profile every browser decodes (RFC 7742 §6.2).
 */
export const H264: CodecCapability = {
  kind: 'video',
  name: 'H264',
  clockRate: 90000,
  rtcpFb: VIDEO_FB,
  rtx: true,
  matches: (f) => f['packetization-mode'] === '1' && isConstrainedBaseline(f['profile-level-id']),
};

function isConstrainedBaseline(plid: string | undefined): boolean {
  if (!plid || !/^[0-9a-fA-F]{6}$/.test(plid)) return false;
  const profileIdc = parseInt(plid.slice(0, 2), 16);
  const iop = parseInt(plid.slice(2, 4), 16);
  return profileIdc === 0x42 && (iop & 0x40) !== 0;
}

export const EXTENSIONS: readonly ExtensionCapability[] = [
  { key: 'mid', uri: EXT_URI.mid, kinds: ['audio', 'video'] },
  // RID extensions only matter for simulcast, which browsers only do for video (RFC 8853).
  { key: 'rid', uri: EXT_URI.rid, kinds: ['video'] },
  { key: 'repairedRid', uri: EXT_URI.repairedRid, kinds: ['video'] },
  { key: 'absSendTime', uri: EXT_URI.absSendTime, kinds: ['audio', 'video'] },
  { key: 'transportCc', uri: EXT_URI.transportCc, kinds: ['audio', 'video'] },
  { key: 'audioLevel', uri: EXT_URI.audioLevel, kinds: ['audio'] },
];

export function createServerCapabilities(opts: { h264?: boolean } = {}): ServerCapabilities {
  return { codecs: opts.h264 === false ? [OPUS, VP8] : [OPUS, VP8, H264], extensions: EXTENSIONS };
}
export const DEFAULT_CAPABILITIES: ServerCapabilities = createServerCapabilities();

/** Fixed payload types used in the offers we generate for subscribe transports. */
export const SUBSCRIBE_PT = { opus: 111, red: 63, vp8: 96, vp8Rtx: 97, h264: 102, h264Rtx: 103 } as const;
/** Fixed one-byte extension ids used in the offers we generate (RFC 8285 §4.2: 1..14). */
export const SUBSCRIBE_EXT_ID = { mid: 1, absSendTime: 2, transportCc: 3, audioLevel: 4 } as const;
