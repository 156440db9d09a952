/**
 * What this browser knows about its own limits, sent to the server every couple of seconds (`report`):
 * a device hint, how hard decoding the videos we receive is (frames decoded and dropped, decode time), and
 * why our own encoder limits quality (`qualityLimitationReason`: cpu, bandwidth). The server turns it into
 * this person's receive caps (fewer or smaller videos); the publish side also feeds PublisherLayers.
 */
import type { LayerSample } from './publisher-layers.ts';

export interface DeviceHint {
  cores?: number;
  memoryGb?: number;
  mobile?: boolean;
}

export interface ReceiveReport {
  intervalMs: number;
  videos: number;
  framesDecoded: number;
  framesDropped: number;
  decodeMs: number;
  freezes: number;
}

export interface PublishReport {
  qualityLimitationReason: 'none' | 'cpu' | 'bandwidth' | 'other';
  availableOutgoingBitrate: number;
  layers: Array<{ rid: string; active: boolean; fps: number; height: number }>;
}

export interface ReceiveLimits {
  maxVideos?: number;
  maxHeight?: number;
}

export interface ClientReportBody {
  device?: DeviceHint;
  receive?: ReceiveReport;
  publish?: PublishReport;
  limits?: ReceiveLimits;
}

type Stat = Record<string, unknown> & { type: string; id: string };
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** navigator's hints (absent fields are simply not sent). */
export function deviceHint(): DeviceHint {
  const nav = (typeof navigator === 'undefined' ? {} : navigator) as Navigator & { deviceMemory?: number; userAgentData?: { mobile?: boolean } };
  const hint: DeviceHint = {};
  if (typeof nav.hardwareConcurrency === 'number' && nav.hardwareConcurrency > 0) hint.cores = Math.min(256, nav.hardwareConcurrency);
  if (typeof nav.deviceMemory === 'number') hint.memoryGb = nav.deviceMemory;
  if (typeof nav.userAgentData?.mobile === 'boolean') hint.mobile = nav.userAgentData.mobile;
  return hint;
}

/** Turns successive getStats() reports into interval reports (deltas of the cumulative counters). */
export class ReportSampler {
  private last: { at: number; decoded: number; dropped: number; decodeS: number; freezes: number } | null = null;

  receive(report: RTCStatsReport | null, nowMs: number): ReceiveReport | undefined {
    if (!report) return undefined;
    let videos = 0;
    let decoded = 0;
    let dropped = 0;
    let decodeS = 0;
    let freezes = 0;
    report.forEach((s: Stat) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
      if (num(s.framesPerSecond) > 0 || num(s.framesDecoded) > 0) videos++;
      decoded += num(s.framesDecoded);
      dropped += num(s.framesDropped);
      decodeS += num(s.totalDecodeTime);
      freezes += num(s.freezeCount);
    });
    const prev = this.last;
    this.last = { at: nowMs, decoded, dropped, decodeS, freezes };
    if (!prev || nowMs <= prev.at) return undefined;
    // Counters of m-lines that went away vanish from the sum: clamp deltas at zero.
    return {
      intervalMs: Math.round(Math.min(60_000, nowMs - prev.at)),
      videos,
      framesDecoded: Math.max(0, decoded - prev.decoded),
      framesDropped: Math.max(0, dropped - prev.dropped),
      decodeMs: Math.round(Math.max(0, decodeS - prev.decodeS) * 1000),
      freezes: Math.max(0, freezes - prev.freezes),
    };
  }
}

/** The publish side of a getStats() report: for the server, and for PublisherLayers. */
export function publishSample(report: RTCStatsReport | null, nowMs: number): { report: PublishReport; sample: LayerSample } | undefined {
  if (!report) return undefined;
  const byRid: LayerSample['byRid'] = new Map();
  let aob = 0;
  let worst: PublishReport['qualityLimitationReason'] = 'none';
  const rank = { none: 0, other: 1, bandwidth: 2, cpu: 3 } as const;
  const layers: PublishReport['layers'] = [];
  report.forEach((s: Stat) => {
    if (s.type === 'candidate-pair' && s.nominated && typeof s.availableOutgoingBitrate === 'number') aob = s.availableOutgoingBitrate;
    if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
    const rid = typeof s.rid === 'string' ? s.rid : '';
    const reason = typeof s.qualityLimitationReason === 'string' && s.qualityLimitationReason in rank ? (s.qualityLimitationReason as PublishReport['qualityLimitationReason']) : 'none';
    if (rank[reason] > rank[worst]) worst = reason;
    byRid.set(rid, { qualityLimitationReason: reason, framesPerSecond: num(s.framesPerSecond), frameHeight: num(s.frameHeight), active: s.active !== false });
    if (rid) layers.push({ rid, active: s.active !== false, fps: Math.round(num(s.framesPerSecond)), height: num(s.frameHeight) });
  });
  if (byRid.size === 0) return undefined;
  return { report: { qualityLimitationReason: worst, availableOutgoingBitrate: Math.round(aob), layers: layers.slice(0, 8) }, sample: { byRid, availableOutgoingBitrate: aob, nowMs } };
}
