/**
 * What your own uplink does, from the publish connection's getStats(): the bitrate leaving, which video
 * layers are on and actually sending, and why the encoder holds back (qualityLimitationReason), for a
 * self-view overlay. Rates are taken over at least MIN_INTERVAL_MS so several callers do not disturb
 * each other (the same rule as PeerStatsSampler).
 */
export type QualityLimitation = 'none' | 'cpu' | 'bandwidth' | 'other';

export interface UplinkLayer {
  /** The m-line (mid) and simulcast rid ('' without simulcast). */
  mid: string;
  rid: string;
  /** The encoding is switched on (the server's dynacast wish, our CPU limit). */
  active: boolean;
  /** Bytes left for it since the previous sample. */
  sending: boolean;
  kbps: number;
  width: number;
  height: number;
  fps: number;
  qualityLimitationReason: QualityLimitation;
}

export interface UplinkStats {
  /** Everything leaving on the publish connection (audio + video payload), kbit/s. */
  kbps: number;
  audioKbps: number;
  videoKbps: number;
  /** Video encodings, by mid then lowest resolution first. */
  layers: UplinkLayer[];
  /** The worst reason any video encoding gives. */
  qualityLimitationReason: QualityLimitation;
  /** The browser's estimate of what the uplink carries, kbit/s (null before it has one). */
  availableKbps: number | null;
}

type Stat = Record<string, unknown> & { type: string; id: string; timestamp: number };
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const RANK: Record<QualityLimitation, number> = { none: 0, other: 1, bandwidth: 2, cpu: 3 };
const MIN_INTERVAL_MS = 500;
/** The SDK's rids, lowest first (sdk/simulcast.ts); a layer not sending yet has no height to sort by. */
const RID_ORDER = ['q', 'h', 'f'];
const rank = (l: { rid: string; height: number }) => (RID_ORDER.includes(l.rid) ? RID_ORDER.indexOf(l.rid) * 100_000 : l.height);

export class UplinkSampler {
  /** Per outbound-rtp id: bytes at a baseline at least MIN_INTERVAL_MS old, and the last rate computed. */
  private base = new Map<string, { t: number; bytes: number; kbps: number; at: number }>();

  sample(report: Iterable<Stat>): UplinkStats {
    const out: UplinkStats = { kbps: 0, audioKbps: 0, videoKbps: 0, layers: [], qualityLimitationReason: 'none', availableKbps: null };
    const next = new Map<string, { t: number; bytes: number; kbps: number; at: number }>();
    for (const s of report) {
      if (s.type === 'candidate-pair' && s.nominated && typeof s.availableOutgoingBitrate === 'number') out.availableKbps = Math.round(s.availableOutgoingBitrate / 1000);
      if (s.type !== 'outbound-rtp') continue;
      const bytes = num(s.bytesSent);
      const before = this.base.get(s.id);
      let kbps = 0;
      if (before && s.timestamp === before.at) kbps = before.kbps; // the same cached report again
      else if (before && s.timestamp > before.t && bytes >= before.bytes) kbps = ((bytes - before.bytes) * 8) / (s.timestamp - before.t);
      const keep = before && s.timestamp - before.t < MIN_INTERVAL_MS;
      next.set(s.id, keep ? { ...before, kbps, at: s.timestamp } : { t: s.timestamp, bytes, kbps, at: s.timestamp });
      out.kbps += kbps;
      if (s.kind === 'audio') {
        out.audioKbps += kbps;
        continue;
      }
      out.videoKbps += kbps;
      const reason = typeof s.qualityLimitationReason === 'string' && s.qualityLimitationReason in RANK ? (s.qualityLimitationReason as QualityLimitation) : 'none';
      if (RANK[reason] > RANK[out.qualityLimitationReason]) out.qualityLimitationReason = reason;
      out.layers.push({
        mid: typeof s.mid === 'string' ? s.mid : '',
        rid: typeof s.rid === 'string' ? s.rid : '',
        active: s.active !== false,
        sending: kbps > 0,
        kbps,
        width: num(s.frameWidth),
        height: num(s.frameHeight),
        fps: num(s.framesPerSecond),
        qualityLimitationReason: reason,
      });
    }
    this.base = next;
    out.layers.sort((a, b) => a.mid.localeCompare(b.mid) || rank(a) - rank(b) || a.rid.localeCompare(b.rid));
    return out;
  }
}

/** Short lines for a self-view overlay: the rate, the layers ("q h f✕"), and what limits the encoder if anything. */
export function describeUplink(u: UplinkStats, mid?: string): string {
  const layers = u.layers.filter((l) => mid === undefined || l.mid === mid);
  const lines = [u.kbps >= 1000 ? `${(u.kbps / 1000).toFixed(1)} Mbps` : `${Math.round(u.kbps)} kbps`];
  const named = layers.filter((l) => l.rid);
  if (named.length > 0) lines.push(named.map((l) => (l.sending ? l.rid : l.active ? `${l.rid}…` : `${l.rid}✕`)).join(' '));
  else if (layers[0]?.height) lines.push(`${layers[0].height}p`);
  if (u.qualityLimitationReason !== 'none') lines.push(`limited: ${u.qualityLimitationReason}`);
  return lines.join('\n');
}
