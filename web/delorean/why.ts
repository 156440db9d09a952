/**
 * "Why": the allocation inputs of one listener at one moment: the estimate it had, what it wanted, what it
 * allocated, and per track whose it is, the layer, the rate and the allocator's reason, beside the layer
 * the forwarder was actually sending. Pure, over the state at that moment.
 */
import { nameOf, type Layer, type ReplayState } from './replay-state.ts';
import { holdOf, type VideoHold } from './person-series.ts';

export interface WhyTrack {
  trackId: string;
  publisher: string | null;
  name: string;
  kind: 'audio' | 'video';
  source: string;
  layer: Layer;
  /** The layer the forwarder sent then (undefined: no switch recorded). */
  forwarded: Layer | undefined;
  bps: number;
  reason: string;
  /** The reason in words: `muted` is the publisher's mute, or this device's receive limit (maxVideos). */
  meaning: string;
  hold: VideoHold | 'audio';
  /** What was actually forwarded in the second before (bps), when sampled. */
  sentBps: number | null;
}

export interface Why {
  participant: string;
  name: string;
  /** The allocation in force and when it was made (null: none yet). */
  allocatedAt: number | null;
  estimateBps: number | null;
  wantedBps: number | null;
  totalBps: number | null;
  caps: string | null;
  /** The latest once-a-second sample: estimate then, and what was sent. */
  sampledAt: number | null;
  sampledEstimateBps: number | null;
  sentBps: number | null;
  tracks: WhyTrack[];
}

export function whyAt(s: ReplayState, participant: string): Why {
  const a = s.allocation[participant];
  const sec = s.second[participant];
  const fwd = s.forwarded[participant] ?? {};
  const tracks: WhyTrack[] = (a?.tracks ?? []).map((t) => {
    const owner = s.tracks[t.trackId]?.publisher ?? null;
    return {
      trackId: t.trackId,
      publisher: owner,
      name: owner ? nameOf(s, owner) : t.trackId,
      kind: t.kind,
      source: s.tracks[t.trackId]?.source ?? (t.kind === 'audio' ? 'microphone' : 'camera'),
      layer: t.layer,
      forwarded: fwd[t.trackId],
      bps: t.bps,
      reason: t.reason,
      meaning: meaning(t.reason, t.layer, s.tracks[t.trackId]?.muted ?? false),
      hold: t.kind === 'audio' ? 'audio' : holdOf(t.layer, t.reason),
      sentBps: sec?.perTrack[t.trackId] ?? null,
    };
  });
  // Audio first, then videos by name: the order a reader scans for "who was held back".
  tracks.sort((x, y) => (x.kind === y.kind ? x.name.localeCompare(y.name) : x.kind === 'audio' ? -1 : 1));
  return {
    participant,
    name: nameOf(s, participant),
    allocatedAt: a?.ts ?? null,
    estimateBps: a?.estimateBps ?? null,
    wantedBps: a?.wantedBps ?? null,
    totalBps: a?.totalBps ?? null,
    caps: a?.caps ?? null,
    sampledAt: sec?.ts ?? null,
    sampledEstimateBps: sec?.estimateBps ?? null,
    sentBps: sec?.sentBps ?? null,
    tracks,
  };
}

/** What an allocator reason (src/allocation/types.ts) means for the person reading the box. */
export function meaning(reason: string, layer: Layer, publisherMuted: boolean): string {
  switch (reason) {
    case 'audio':
      return 'audio is always sent';
    case 'optimal':
      return 'the best layer there is';
    case 'capped':
      return 'the best this device takes';
    case 'budget':
      return layer === null ? 'paused: no bandwidth left' : 'lowered: not enough bandwidth';
    case 'muted':
      return publisherMuted ? 'the publisher muted it' : 'beyond what this device takes (receive limits)';
    case 'no_layers':
      return 'nothing arriving from the publisher';
    default:
      return reason;
  }
}
