/** The page's URL: `?space=…&from=…&to=…&t=…&p=…` opens a moment (and a person); kept current while you look. */
import { parseTime } from './format.ts';

export interface ReplayParams {
  space: string | null;
  from: number | null;
  to: number | null;
  t: number | null;
  /** The selected participant. */
  p: string | null;
}

export function readReplayParams(search: string): ReplayParams {
  const q = new URLSearchParams(search);
  return { space: q.get('space') || null, from: parseTime(q.get('from')), to: parseTime(q.get('to')), t: parseTime(q.get('t')), p: q.get('p') || null };
}

export function replayQuery(p: { space: string; from: number; to: number; t: number; p: string | null }): string {
  const q = new URLSearchParams({ space: p.space, from: String(p.from), to: String(p.to), t: String(Math.round(p.t)) });
  if (p.p) q.set('p', p.p);
  return `?${q}`;
}

/** The range to load: the URL's, else around `t`, else the space's last 10 minutes. */
export function defaultRange(p: ReplayParams, space: { firstTs: number; lastTs: number }): { from: number; to: number } {
  const SPAN = 10 * 60_000;
  const end = space.lastTs + 1;
  if (p.from !== null && p.to !== null && p.from < p.to) return { from: p.from, to: p.to };
  if (p.from !== null) return { from: p.from, to: Math.max(p.from + 1, Math.min(end, p.from + SPAN)) };
  if (p.to !== null) return { from: p.to - SPAN, to: p.to };
  if (p.t !== null) return { from: p.t - SPAN / 2, to: p.t + SPAN / 2 };
  return { from: Math.max(space.firstTs, end - SPAN), to: end };
}
