/**
 * Per-person receive statistics from the subscribe connection's getStats(): what was decoded, plus the
 * bitrate and loss since the previous sample and a round-trip time, for a quality overlay or a test.
 */
export interface AudioStats {
  packetsReceived: number;
  packetsLost: number;
  totalSamplesReceived: number;
  bytesReceived: number;
  jitterMs: number;
}

export interface VideoStats {
  packetsReceived: number;
  packetsLost: number;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  framesPerSecond: number;
  bytesReceived: number;
}

export interface PeerStats {
  id: string;
  audio: AudioStats | null;
  video: VideoStats | null;
  /** Receive bitrate (audio + video) since the previous sample, kbit/s. */
  kbps: number;
  /** Packets lost since the previous sample, in percent of those expected. */
  lossPct: number;
  /** From the sender's reports when they carry it (remote-outbound-rtp), else the ICE candidate pair's. */
  rttMs: number | null;
}

/** Finds whose track an inbound-rtp entry is, by its trackIdentifier or its mid. */
export type PublisherLookup = (trackIdentifier: string | undefined, mid: string | undefined) => string | undefined;

type Stat = Record<string, unknown> & { type: string; id: string; timestamp: number };
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

const MIN_INTERVAL_MS = 500;

interface Previous {
  t: number;
  bytes: number;
  received: number;
  lost: number;
}

export class PeerStatsSampler {
  private prev = new Map<string, Previous>();
  private lastRates = new Map<string, { kbps: number; lossPct: number }>();

  async sample(pc: RTCPeerConnection | null, lookup: PublisherLookup): Promise<Map<string, PeerStats>> {
    const out = new Map<string, PeerStats>();
    if (!pc) return out;
    const report = await pc.getStats();
    const all = new Map<string, Stat>();
    report.forEach((s: Stat) => all.set(s.id, s));

    let pairRttMs: number | null = null;
    for (const s of all.values()) {
      if (s.type === 'candidate-pair' && s.nominated && typeof s.currentRoundTripTime === 'number') pairRttMs = s.currentRoundTripTime * 1000;
    }

    const totals = new Map<string, Previous>();
    for (const s of all.values()) {
      if (s.type !== 'inbound-rtp') continue;
      const id = lookup(s.trackIdentifier as string | undefined, s.mid as string | undefined);
      if (!id) continue;
      let p = out.get(id);
      if (!p) out.set(id, (p = { id, audio: null, video: null, kbps: 0, lossPct: 0, rttMs: pairRttMs }));
      const base = { packetsReceived: num(s.packetsReceived), packetsLost: Math.max(0, num(s.packetsLost)), bytesReceived: num(s.bytesReceived) };
      if (s.kind === 'audio' && !p.audio) {
        p.audio = { ...base, totalSamplesReceived: num(s.totalSamplesReceived), jitterMs: num(s.jitter) * 1000 };
      } else if (s.kind === 'video' && (!p.video || num(s.framesDecoded) > p.video.framesDecoded)) {
        p.video = { ...base, framesDecoded: num(s.framesDecoded), frameWidth: num(s.frameWidth), frameHeight: num(s.frameHeight), framesPerSecond: num(s.framesPerSecond) };
      }
      const remote = typeof s.remoteId === 'string' ? all.get(s.remoteId) : undefined;
      if (remote && num(remote.roundTripTimeMeasurements) > 0 && typeof remote.roundTripTime === 'number') p.rttMs = remote.roundTripTime * 1000;
      const t = totals.get(id) ?? { t: s.timestamp, bytes: 0, received: 0, lost: 0 };
      t.t = Math.max(t.t, s.timestamp);
      t.bytes += base.bytesReceived;
      t.received += base.packetsReceived;
      t.lost += base.packetsLost;
      totals.set(id, t);
    }

    const next = new Map<string, Previous>();
    for (const [id, t] of totals) {
      const p = out.get(id)!;
      const before = this.prev.get(id);
      // Several callers may sample (an overlay, a test): keep a baseline at least MIN_INTERVAL_MS old.
      next.set(id, before && t.t - before.t < MIN_INTERVAL_MS ? before : t);
      const last = this.lastRates.get(id);
      if (before && t.t === before.t && last) {
        // The same (cached) report again: repeat the rates computed from it.
        p.kbps = last.kbps;
        p.lossPct = last.lossPct;
      } else if (before && t.t > before.t && t.bytes >= before.bytes) {
        p.kbps = ((t.bytes - before.bytes) * 8) / (t.t - before.t);
        const lost = Math.max(0, t.lost - before.lost);
        const expected = Math.max(0, t.received - before.received) + lost;
        p.lossPct = expected > 0 ? (100 * lost) / expected : 0;
      } else {
        const expected = t.received + t.lost;
        p.lossPct = expected > 0 ? (100 * t.lost) / expected : 0;
      }
    }
    this.prev = next;
    this.lastRates = new Map([...out].map(([id, p]) => [id, { kbps: p.kbps, lossPct: p.lossPct }]));
    return out;
  }
}
