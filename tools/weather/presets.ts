/**
 * Named weather timelines for the latency spikes real networks have, usable wherever a timeline is: the
 * CLI (`--preset NAME`), a timeline file (a step `{ "at": 30, "preset": "blackout" }` plays the preset from
 * 30 s on) and benches (`presetScript(name)` with `Timeline`).
 *
 * Each preset starts at 0 s on the weather it finds, changes only the fields it names, and ends with those
 * fields back at clear weather (its last step, at `clearAtS`). Packets already in flight keep their times
 * when the weather changes, and with `reorder: false` (the default) nothing overtakes: when a delay drops,
 * what was sent meanwhile leaves in a bunch behind the last delayed packet, as a draining queue would.
 */
import type { ImpairmentPatch } from './impairment.ts';

export const PRESET_NAMES = ['delay-spike', 'blackout', 'delay-ramp', 'wifi-jitter'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** One step of a preset: seconds from the preset's start, the change (both directions), a label. */
export interface PresetStep {
  at: number;
  both: ImpairmentPatch;
  label?: string;
}

export interface WeatherPreset {
  name: PresetName;
  description: string;
  steps: PresetStep[];
  /** When the weather is clear again (the last step), seconds from the preset's start. */
  clearAtS: number;
}

/** Seconds rounded to the millisecond, so scheduled times are exact on any clock. */
const sec = (ms: number) => Math.round(ms) / 1000;

function preset(name: PresetName, description: string, steps: PresetStep[]): WeatherPreset {
  return { name, description, steps, clearAtS: steps[steps.length - 1].at };
}

/** +300 ms one-way delay for 2 s (a route change, a bufferbloated hop filling and draining), then back. */
const DELAY_SPIKE = preset('delay-spike', '+300 ms one-way delay for 2 s, then back', [
  { at: 0, both: { delayMs: 300 }, label: 'delay spike: +300 ms' },
  { at: 2, both: { delayMs: 0 }, label: 'delay spike over' },
]);

/** 1 s of 100 % loss both ways (a handover, a Wi-Fi roam, a cable pulled and put back), then back. */
const BLACKOUT = preset('blackout', '1 s of 100 % loss both ways, then back', [
  { at: 0, both: { loss: 1 }, label: 'blackout: 100 % loss' },
  { at: 1, both: { loss: 0 }, label: 'blackout over' },
]);

/** One-way delay ramping 20 → 250 ms over 10 s and back down over 10 s in 500 ms steps (a queue building up on a shared link). */
const RAMP_STEP_MS = 500;
const RAMP_HALF_MS = 10_000;
const RAMP_FROM = 20;
const RAMP_TO = 250;
const DELAY_RAMP = preset('delay-ramp', `one-way delay ${RAMP_FROM} → ${RAMP_TO} ms over 10 s and back over 10 s, ${RAMP_STEP_MS} ms steps`, [
  ...Array.from({ length: (2 * RAMP_HALF_MS) / RAMP_STEP_MS + 1 }, (_, k): PresetStep => {
    const t = k * RAMP_STEP_MS;
    const up = t <= RAMP_HALF_MS ? t : 2 * RAMP_HALF_MS - t;
    const delayMs = Math.round((RAMP_FROM + ((RAMP_TO - RAMP_FROM) * up) / RAMP_HALF_MS) * 10) / 10;
    return k === 0 ? { at: 0, both: { delayMs }, label: `delay ramp from ${delayMs} ms` } : { at: sec(t), both: { delayMs } };
  }),
  { at: sec(2 * RAMP_HALF_MS + RAMP_STEP_MS), both: { delayMs: 0 }, label: 'delay ramp over' },
]);

/**
 * Wi-Fi-like: every 3 s for 15 s, a 50 ms burst in which each packet is held 0–200 ms (link-layer retries,
 * a neighbour's airtime, a background scan), then clean again. Without reordering the burst stalls the
 * link and releases what queued behind it at once.
 */
const WIFI_EVERY_MS = 3000;
const WIFI_BURST_MS = 50;
const WIFI_BURSTS = 5;
const WIFI_JITTER = preset(
  'wifi-jitter',
  `every ${WIFI_EVERY_MS / 1000} s for ${(WIFI_EVERY_MS * WIFI_BURSTS) / 1000} s, ${WIFI_BURST_MS} ms bursts with each packet held 0–200 ms`,
  Array.from({ length: WIFI_BURSTS }, (_, k): PresetStep[] => [
    { at: sec(k * WIFI_EVERY_MS), both: { delayMs: 100, jitterMs: 100 }, label: `wifi jitter burst ${k + 1}` },
    { at: sec(k * WIFI_EVERY_MS + WIFI_BURST_MS), both: { delayMs: 0, jitterMs: 0 } },
  ]).flat(),
);

export const PRESETS: Readonly<Record<PresetName, WeatherPreset>> = Object.freeze({
  'delay-spike': DELAY_SPIKE,
  blackout: BLACKOUT,
  'delay-ramp': DELAY_RAMP,
  'wifi-jitter': WIFI_JITTER,
});

export function isPresetName(x: string): x is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(x);
}

/** A preset's steps as timeline steps (`both`), shifted to start `atS` seconds into a timeline. */
export function presetSteps(name: PresetName, atS = 0): Array<{ at: number; both: ImpairmentPatch; label?: string }> {
  return PRESETS[name].steps.map((s) => ({ at: sec((atS + s.at) * 1000), both: { ...s.both }, ...(s.label !== undefined ? { label: s.label } : {}) }));
}
