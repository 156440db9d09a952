/** Recorded events for the replay's unit tests, written the way the server stamps them. */
import type { EventData, EventKind } from '../../src/recorder/events.ts';
import type { ReplayEvent } from './replay-state.ts';

export function ev<K extends EventKind>(ts: number, participant: string | null, kind: K, data: EventData<K>, node = 'n1', space = 's'): ReplayEvent {
  return { v: 1, ts, node, space, participant, kind, data } as ReplayEvent;
}

export const join = (ts: number, id: string, name: string, x: number, y: number, node = 'n1') =>
  ev(ts, id, 'join', { name, mode: 'normal', x, y, publish: true, moderator: false }, node);

export const tracks = (ts: number, id: string, audio: string, video: string) =>
  ev(ts, id, 'tracks', {
    tracks: [
      { trackId: audio, kind: 'audio', source: 'microphone', muted: false },
      { trackId: video, kind: 'video', source: 'camera', muted: false },
    ],
  });

type AllocTrack = EventData<'allocation'>['tracks'][number];
export const vid = (trackId: string, layer: [number, number] | null, bps: number, reason: string): AllocTrack => ({ trackId, kind: 'video', layer, bps, reason });
export const aud = (trackId: string, bps = 32_000): AllocTrack => ({ trackId, kind: 'audio', layer: [0, 0], bps, reason: 'audio' });

export const second = (ts: number, id: string, estimateBps: number | null, perTrack: Record<string, number>, down: Partial<{ lossPct: number; rttMs: number | null; score: number }> = {}) =>
  ev(ts, id, 'second', {
    estimateBps,
    sentBps: Object.values(perTrack).reduce((a, b) => a + b, 0),
    perTrack,
    down: { score: down.score ?? 5, level: 'excellent', cause: null, lossPct: down.lossPct ?? 0, rttMs: down.rttMs !== undefined ? down.rttMs : 3, delayMs: 0 },
    up: null,
    nacks: 0,
    plis: 0,
    rtx: 0,
  });
