/**
 * What only the browser knows about a person's connection, from its periodic `report`: video freezes per
 * 10 s and why its encoder holds back. Pure: the previous view and a report in, the next view out.
 */
import type { UplinkInputs } from './quality-score.ts';

export interface BrowserView {
  freezesPer10s: number;
  limitation: UplinkInputs['limitation'];
}

export const NO_BROWSER_VIEW: BrowserView = Object.freeze({ freezesPer10s: 0, limitation: 'none' });

/** Freezes reported this long after videos were last held back are theirs (ms, beyond the report's interval). */
export const HELD_BACK_GRACE_MS = 2000;

export interface ReportView {
  receive?: { intervalMs: number; freezes?: number };
  publish?: { qualityLimitationReason: UplinkInputs['limitation'] };
}

/**
 * A browser counts a freeze when the video comes back: a report covering a time when the server held videos
 * back (bandwidth) or their publisher was silent (`heldBackAtMs`, plus HELD_BACK_GRACE_MS) brings no
 * freezes, since the score counted that time as shortfall while it lasted. A report without a part keeps
 * what the previous one said of it.
 */
export function nextBrowserView(prev: BrowserView, r: ReportView, nowMs: number, heldBackAtMs: number): BrowserView {
  let freezesPer10s = prev.freezesPer10s;
  const rx = r.receive;
  if (rx && rx.freezes !== undefined && rx.intervalMs > 0) {
    const explained = nowMs - heldBackAtMs < rx.intervalMs + HELD_BACK_GRACE_MS;
    freezesPer10s = explained ? 0 : (rx.freezes * 10_000) / rx.intervalMs;
  }
  return { freezesPer10s, limitation: r.publish?.qualityLimitationReason ?? prev.limitation };
}
