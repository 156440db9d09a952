/**
 * `window.delorean`: the replay page for tests and scripts (stable). Times are ms since the epoch.
 *
 *   ready()            Promise: the range is loaded → { space, from, to, events }
 *   seek(ts)           move the cursor; returns state()
 *   state()            { t, people: [{id, name, x, y, mode}], links: [{listener, speaker, gain}], selected }
 *   select(id | null)  open (or close) a person's panel
 *   timeline(id)       the series the panel draws (person-series.ts PersonTimeline): estimate, allocated,
 *                      wanted, paused [[ts, trackId, reason]], lowered, allocations, received, lossPct, …
 *   allocationAt(id, ts)  the allocation in force for that listener at ts (inputs and per-track outputs)
 *   why(id, ts)        what the why box shows for that person at ts (why.ts)
 *   openWhy(ts, kind?) open the why box of the selected person's event (of that kind) nearest ts; resolves its text
 *   range()            { space, from, to, events }
 *   play(speed), pause()
 *   centreOf(id)       the avatar's centre in client pixels (to click it)
 */
import type { PersonTimeline } from './person-series.ts';
import type { AllocationAt } from './replay-state.ts';
import type { Why } from './why.ts';

export interface StateView {
  t: number;
  people: Array<{ id: string; name: string; x: number; y: number; mode: string }>;
  links: Array<{ listener: string; speaker: string; gain: number }>;
  selected: string | null;
}

export interface DeloreanAutomation {
  ready(): Promise<{ space: string; from: number; to: number; events: number }>;
  seek(ts: number): StateView;
  state(): StateView;
  select(id: string | null): string | null;
  timeline(id: string): PersonTimeline;
  allocationAt(id: string, ts: number): AllocationAt | null;
  why(id: string, ts: number): Why;
  openWhy(ts: number, kind?: string): Promise<string>;
  range(): { space: string; from: number; to: number; events: number };
  play(speed?: number): void;
  pause(): void;
  centreOf(id: string): { x: number; y: number } | null;
}

export function installDeloreanAutomation(api: DeloreanAutomation): void {
  (window as unknown as { delorean: DeloreanAutomation }).delorean = api;
}
