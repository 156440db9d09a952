/** How the replay writes times, rates and layers. Pure. */
import type { Layer } from './replay-state.ts';

/** 1 234 567 bps → "1.23 Mbit/s"; 250 000 → "250 kbit/s". */
export function fmtBps(bps: number | null | undefined): string {
  if (bps === null || bps === undefined || !Number.isFinite(bps)) return '–';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(bps >= 1e7 ? 1 : 2)} Mbit/s`;
  return `${Math.round(bps / 1000)} kbit/s`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local wall-clock time of an epoch ms: "14:03:07.4". */
export function fmtClock(ts: number, tenths = true): string {
  const d = new Date(ts);
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return tenths ? `${base}.${Math.floor(d.getMilliseconds() / 100)}` : base;
}

/** "2026-12-08 14:03:07" (local), for the range. */
export function fmtDateTime(ts: number): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${fmtClock(ts, false)}`;
}

/** The value of an `<input type="datetime-local" step="1">` for an epoch ms (local time). */
export function toLocalInput(ts: number): string {
  return fmtDateTime(ts).replace(' ', 'T');
}

/** A span in ms as "4 min 05 s" / "12.5 s". */
export function fmtSpan(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return m >= 60 ? `${Math.floor(m / 60)} h ${pad(m % 60)} min` : `${m} min ${pad(s)} s`;
}

/** [spatial, temporal] → "S2 T1"; null → "paused". */
export function fmtLayer(l: Layer | undefined): string {
  if (l === undefined) return '–';
  return l === null ? 'paused' : `S${l[0]} T${l[1]}`;
}

/** A time parameter: ms since the epoch or an ISO date; null when absent or unreadable. */
export function parseTime(v: string | null): number | null {
  if (v === null || v.trim() === '') return null;
  const n = /^\d+$/.test(v.trim()) ? Number(v) : Date.parse(v);
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}
