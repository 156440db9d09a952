/**
 * A subscriber's receive caps from its own reports (signaling `report`): a pure step function, so the
 * whole history can be replayed in a test. The caps climb down a ladder of levels when the device shows it
 * cannot keep up (decoding slow or dropping frames, its encoder limited by CPU) and back up after a quiet
 * while; the device hint sets the lowest level it may return to, and the UI's own limits always apply.
 */
import type { ReceiveCaps } from './receive-caps.ts';

export interface DeviceReport {
  device?: { cores?: number; memoryGb?: number; mobile?: boolean };
  receive?: { intervalMs: number; videos: number; framesDecoded: number; framesDropped: number; decodeMs: number; freezes?: number };
  publish?: { qualityLimitationReason: 'none' | 'cpu' | 'bandwidth' | 'other' };
  limits?: { maxVideos?: number; maxHeight?: number };
}

/** Level 0 is no cap; each level costs the device roughly half the decoding of the one before. */
export const CAPS_LEVELS: readonly ReceiveCaps[] = Object.freeze([
  {},
  { maxHeight: 720 },
  { maxHeight: 360 },
  { maxHeight: 360, maxTemporal: 1 },
  { maxHeight: 180, maxTemporal: 1 },
  { maxHeight: 180, maxTemporal: 1, maxVideos: 6 },
  { maxHeight: 180, maxTemporal: 0, maxVideos: 3 },
]);

/** Overloaded reports in a row before stepping down one level. */
export const OVERLOAD_REPORTS = 2;
/** A level is relaxed after this long without overload. */
export const RECOVER_MS = 15_000;
/** Mean decode time per frame above which decoding cannot keep a 30 fps pace for several videos. */
const SLOW_DECODE_MS = 30;
/** Share of frames dropped before decoding (the decoder or renderer fell behind). */
const DROP_SHARE = 0.15;
const MIN_FRAMES = 10;

export type OverloadCause = 'decode_slow' | 'frames_dropped' | 'encoder_cpu' | null;

export interface DeviceCapsState {
  readonly level: number;
  /** The device hint's floor: recovery never goes above (below in level number) it. */
  readonly floor: number;
  readonly streak: number;
  /** Since when the device has been fine (ms), -1 while overloaded. */
  readonly healthySince: number;
  readonly limits: { maxVideos?: number; maxHeight?: number };
  /** The caps to allocate with: the level's, tightened by the UI's limits. */
  readonly caps: ReceiveCaps;
  /** Why the last report counted as overloaded, null when it did not. */
  readonly cause: OverloadCause;
}

export const INITIAL_DEVICE_CAPS: DeviceCapsState = Object.freeze({ level: 0, floor: 0, streak: 0, healthySince: -1, limits: {}, caps: {}, cause: null });

/** The level a device hint allows at best: one core or 1 GB is weak, a phone shows small tiles. */
export function floorOf(device: DeviceReport['device']): number {
  if (!device) return 0;
  if ((device.cores !== undefined && device.cores <= 1) || (device.memoryGb !== undefined && device.memoryGb <= 1)) return 2;
  if (device.mobile) return 2;
  if ((device.cores !== undefined && device.cores <= 2) || (device.memoryGb !== undefined && device.memoryGb <= 2)) return 1;
  return 0;
}

export function overloadOf(r: DeviceReport): OverloadCause {
  if (r.publish?.qualityLimitationReason === 'cpu') return 'encoder_cpu';
  const rx = r.receive;
  if (rx && rx.framesDecoded >= MIN_FRAMES && rx.decodeMs / rx.framesDecoded > SLOW_DECODE_MS) return 'decode_slow';
  if (rx && rx.framesDecoded + rx.framesDropped >= 2 * MIN_FRAMES && rx.framesDropped / (rx.framesDecoded + rx.framesDropped) > DROP_SHARE) return 'frames_dropped';
  return null;
}

/** One report in, the next state out. */
export function nextDeviceCaps(s: DeviceCapsState, r: DeviceReport, nowMs: number): DeviceCapsState {
  const floor = r.device ? floorOf(r.device) : s.floor;
  const limits = r.limits ?? s.limits;
  const cause = overloadOf(r);
  let level = Math.max(s.level, floor);
  let streak = cause ? s.streak + 1 : 0;
  let healthySince = cause ? -1 : s.healthySince < 0 ? nowMs : s.healthySince;
  if (streak >= OVERLOAD_REPORTS && level < CAPS_LEVELS.length - 1) {
    level++;
    streak = 0;
  }
  if (!cause && level > floor && nowMs - healthySince >= RECOVER_MS) {
    level--;
    healthySince = nowMs;
  }
  return { level, floor, streak, healthySince, limits, caps: merge(CAPS_LEVELS[level], limits), cause };
}

function merge(a: ReceiveCaps, l: DeviceCapsState['limits']): ReceiveCaps {
  const min = (x: number | undefined, y: number | undefined) => (x === undefined ? y : y === undefined ? x : Math.min(x, y));
  const out: { maxVideos?: number; maxHeight?: number; maxTemporal?: number } = {};
  const mv = min(a.maxVideos, l.maxVideos);
  const mh = min(a.maxHeight, l.maxHeight);
  if (mv !== undefined) out.maxVideos = mv;
  if (mh !== undefined) out.maxHeight = mh;
  if (a.maxTemporal !== undefined) out.maxTemporal = a.maxTemporal;
  return out;
}
