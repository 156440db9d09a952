/** One line of plain text per recorded event, for a person's event list. Pure. */
import type { ReplayEvent } from './replay-state.ts';
import { fmtBps, fmtLayer } from './format.ts';

/** Which lane of the event strip a kind goes in. */
export type EventLane = 'presence' | 'links' | 'media' | 'allocation' | 'connection' | 'client';

export const LANES: readonly EventLane[] = ['presence', 'links', 'media', 'allocation', 'connection', 'client'];

export function laneOf(kind: ReplayEvent['kind']): EventLane {
  switch (kind) {
    case 'join':
    case 'leave':
    case 'move':
    case 'mode':
    case 'spotlight':
      return 'presence';
    case 'links':
    case 'speaking':
      return 'links';
    case 'subscription':
    case 'layer':
    case 'tracks':
      return 'media';
    case 'allocation':
      return 'allocation';
    case 'transport':
    case 'offer':
    case 'answer':
    case 'node':
    case 'route':
    case 'drops':
      return 'connection';
    default:
      return 'client';
  }
}

/** What a description needs to know: a person's name, and whose a track is. */
export interface DescribeContext {
  name(id: string): string;
  owner(trackId: string): string | undefined;
}

export function describeEvent(e: ReplayEvent, ctx: DescribeContext): string {
  const name = (id: string) => ctx.name(id);
  switch (e.kind) {
    case 'join':
      return `${e.data.resumed ? 'resumed' : 'joined'} as ${e.data.name} at (${e.data.x}, ${e.data.y}), ${e.data.mode}${e.data.publish ? '' : ', no publish grant'}`;
    case 'leave':
      return `left: ${e.data.reason}`;
    case 'move':
      return `moved to (${e.data.x}, ${e.data.y})`;
    case 'mode':
      return `mode ${e.data.mode}`;
    case 'spotlight':
      return e.data.on ? 'spotlit' : 'out of the spotlight';
    case 'speaking':
      return e.data.on ? 'started speaking' : 'stopped speaking';
    case 'tracks':
      return `publishes ${e.data.tracks.map((t) => `${t.source}${t.muted ? ' (muted)' : ''}`).join(', ') || 'nothing'}`;
    case 'links':
      return e.data.links.length === 0 ? 'receives nobody' : `receives ${e.data.links.map((l) => `${name(l.speaker)} ${l.gain.toFixed(2)}`).join(', ')}`;
    case 'subscription':
      return `${e.data.op === 'add' ? 'receives' : 'stops receiving'} ${name(e.data.publisher)}'s ${e.data.kind}`;
    case 'offer':
      return `subscribe offer ${e.data.offerId} (${e.data.tracks} tracks)`;
    case 'answer':
      return `answered offer ${e.data.offerId}`;
    case 'transport':
      return `${e.data.which} connection ${e.data.state}${e.data.reason ? `: ${e.data.reason}` : ''}`;
    case 'allocation': {
      const videos = e.data.tracks.filter((t) => t.kind === 'video');
      const paused = videos.filter((t) => t.layer === null && t.reason === 'budget').length;
      const lowered = videos.filter((t) => t.layer !== null && t.reason === 'budget').length;
      const held = [paused ? `${paused} paused` : '', lowered ? `${lowered} lowered` : ''].filter(Boolean).join(', ');
      return `allocation ${fmtBps(e.data.totalBps)} of ${fmtBps(e.data.estimateBps)} (wants ${fmtBps(e.data.wantedBps)})${held ? `: ${held} for bandwidth` : ''}`;
    }
    case 'layer': {
      const owner = ctx.owner(e.data.trackId);
      return `forwarding ${fmtLayer(e.data.layer)} of ${owner ? `${name(owner)}'s video` : `video ${e.data.trackId}`}`;
    }
    case 'second':
      return `estimate ${fmtBps(e.data.estimateBps)}, sent ${fmtBps(e.data.sentBps)}`;
    case 'report':
      return `browser: ${e.data.freezesPer10s} freezes per 10 s, encoder limited by ${e.data.limitation}`;
    case 'node':
      return `node ${e.node} ${e.data.state}${e.data.detail ? `: ${e.data.detail}` : ''}`;
    case 'drops':
      return `dropped ${Object.entries(e.data.reasons).map(([r, n]) => `${n} ${r}`).join(', ')}`;
    case 'route':
      return `route ${e.data.from} → ${e.data.to}${e.data.via.length ? ` via ${e.data.via.join(', ')}` : ''}`;
  }
}
