import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Clock, TimerHandle } from '../../src/util/clock.ts';
import { CLEAR_WEATHER, resolveConfig } from './impairment.ts';
import type { ImpairmentConfig, ImpairmentPatch } from './impairment.ts';
import { PRESETS, PRESET_NAMES, presetSteps } from './presets.ts';
import type { PresetName } from './presets.ts';

const probability = z.number().min(0).max(1);
const nonNegative = z.number().finite().min(0);

const GilbertElliottSchema = z.strictObject({
  pGoodToBad: probability,
  pBadToGood: probability,
  lossInGood: probability,
  lossInBad: probability,
});

/** A change to one direction's weather: only the fields given change. */
const PatchSchema = z.strictObject({
  delayMs: nonNegative.optional(),
  jitterMs: nonNegative.optional(),
  jitter: z.enum(['uniform', 'normal']).optional(),
  reorder: z.boolean().optional(),
  loss: probability.optional(),
  gilbertElliott: GilbertElliottSchema.nullable().optional(),
  rateKbps: nonNegative.optional(),
  queueBytes: nonNegative.optional(),
  duplicate: probability.optional(),
});

const StepSchema = z.strictObject({
  /** Seconds from the start of the timeline. */
  at: nonNegative,
  /** Reset both directions to clear weather before applying this step's up/down/both. */
  clear: z.boolean().optional(),
  both: PatchSchema.optional(),
  up: PatchSchema.optional(),
  down: PatchSchema.optional(),
  /** Free text, printed when the step applies. */
  label: z.string().optional(),
  /** Play a named preset (presets.ts) from `at` on; such a step takes no weather of its own. */
  preset: z.enum(PRESET_NAMES).optional(),
}).refine((s) => s.preset === undefined || (s.clear === undefined && s.both === undefined && s.up === undefined && s.down === undefined && s.label === undefined), {
  message: 'a preset step takes only "at" (the preset brings its own weather and labels)',
  path: ['preset'],
});

const TimelineSchema = z.strictObject({
  seed: z.number().int().optional(),
  steps: z.array(StepSchema).min(1, 'a timeline needs at least one step'),
});

export type TimelineStep = z.infer<typeof StepSchema>;
export interface TimelineScript {
  seed?: number;
  steps: TimelineStep[];
}

export class TimelineError extends Error {}

function describePath(path: readonly PropertyKey[], raw: unknown): string {
  if (path[0] === 'steps' && typeof path[1] === 'number') {
    const i = path[1];
    const steps = (raw as { steps?: unknown }).steps;
    const step = Array.isArray(steps) ? (steps[i] as { at?: unknown } | undefined) : undefined;
    const at = step && typeof step.at === 'number' ? ` (at ${step.at}s)` : '';
    const rest = path.slice(2).map(String).join('.');
    return `step ${i}${at}${rest ? `: ${rest}` : ''}`;
  }
  return path.map(String).join('.') || '(root)';
}

/**
 * Validate a parsed JSON value; throws TimelineError listing every problem, each naming its step. Preset
 * steps come back expanded into the preset's own steps, shifted to their `at`.
 */
export function parseTimeline(raw: unknown, source = 'timeline'): TimelineScript {
  const parsed = TimelineSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${describePath(i.path, raw)}: ${i.message}`);
    throw new TimelineError(`invalid ${source}:\n${lines.join('\n')}`);
  }
  const script = parsed.data;
  for (let i = 1; i < script.steps.length; i++) {
    const prev = script.steps[i - 1];
    const at = script.steps[i].at;
    if (at < prev.at) throw new TimelineError(`invalid ${source}:\n  step ${i} (at ${at}s): steps must be in time order (step ${i - 1} is at ${prev.at}s)`);
    const end = prev.preset ? prev.at + PRESETS[prev.preset].clearAtS : prev.at;
    if (at < end) throw new TimelineError(`invalid ${source}:\n  step ${i} (at ${at}s): starts inside step ${i - 1}'s preset ${prev.preset} (${prev.at}s to ${end}s)`);
  }
  return { ...script, steps: script.steps.flatMap((s): TimelineStep[] => (s.preset ? presetSteps(s.preset, s.at) : [s])) };
}

/** A timeline that plays one preset from `atS` seconds on, validated like a file (presets.ts). */
export function presetTimeline(name: PresetName, atS = 0): TimelineScript {
  return parseTimeline({ steps: [{ at: atS, preset: name }] }, `preset ${name}`);
}

export function parseTimelineText(text: string, source = 'timeline'): TimelineScript {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TimelineError(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  return parseTimeline(raw, source);
}

export function loadTimelineFile(file: string): TimelineScript {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TimelineError(`cannot read timeline ${file}: ${(e as Error).message}`);
  }
  return parseTimelineText(text, `timeline ${file}`);
}

/** Anything whose weather can be set: an Impairment, or a test double. */
export interface WeatherTarget {
  setConfig(config: ImpairmentPatch): void;
}

export interface TimelineTargets {
  up: WeatherTarget;
  down: WeatherTarget;
}

/**
 * Plays a script on the injected clock: step i is applied `at` seconds after start(). Each step merges
 * its fields onto the current weather of each direction (`clear` first resets both to clear weather).
 */
export class Timeline {
  private timers: TimerHandle[] = [];
  private state: { up: ImpairmentConfig; down: ImpairmentConfig };
  private applied = 0;

  constructor(
    private readonly script: TimelineScript,
    private readonly clock: Clock,
    private readonly targets: TimelineTargets,
    private readonly onStep: (index: number, step: TimelineStep) => void = () => {},
    initial: { up?: ImpairmentPatch; down?: ImpairmentPatch } = {},
  ) {
    this.state = { up: resolveConfig(initial.up ?? {}), down: resolveConfig(initial.down ?? {}) };
  }

  /** The weather each direction has now. */
  current(): { up: Readonly<ImpairmentConfig>; down: Readonly<ImpairmentConfig> } {
    return this.state;
  }

  /** Steps applied so far. */
  get stepsApplied(): number {
    return this.applied;
  }

  /** Schedule every step; steps at 0 s apply at once. */
  start(): void {
    this.stop();
    this.script.steps.forEach((step, i) => {
      if (step.at <= 0) this.apply(i, step);
      else this.timers.push(this.clock.setTimeout(() => this.apply(i, step), step.at * 1000));
    });
  }

  stop(): void {
    for (const t of this.timers) this.clock.clear(t);
    this.timers = [];
  }

  private apply(index: number, step: TimelineStep): void {
    let up = step.clear ? CLEAR_WEATHER : this.state.up;
    let down = step.clear ? CLEAR_WEATHER : this.state.down;
    if (step.both) {
      up = resolveConfig(step.both as ImpairmentPatch, up);
      down = resolveConfig(step.both as ImpairmentPatch, down);
    }
    if (step.up) up = resolveConfig(step.up as ImpairmentPatch, up);
    if (step.down) down = resolveConfig(step.down as ImpairmentPatch, down);
    const upChanged = up !== this.state.up;
    const downChanged = down !== this.state.down;
    this.state = { up: resolveConfig({}, up), down: resolveConfig({}, down) };
    if (upChanged) this.targets.up.setConfig(this.state.up);
    if (downChanged) this.targets.down.setConfig(this.state.down);
    this.applied++;
    this.onStep(index, step);
  }
}
