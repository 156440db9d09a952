/** What a load scenario is: who joins, where, and how they move while the run goes on. */
import { fileURLToPath } from 'node:url';
import type { LoadPerson, PersonSpec } from '../person.ts';
import type { SpaceLayout } from './space-layout.ts';

/**
 * A 64×44 open plaza with a stage: room for a dozen separate groups. The 40×30 office is too small for
 * 60 people to stand in groups of five without everyone hearing the next group too.
 */
export const PLAZA_MAP = fileURLToPath(new URL('../maps/plaza.json', import.meta.url));

export interface ScenarioContext {
  /** People in the run (the scenario's own default unless given). */
  people: number;
  layout: SpaceLayout;
  rnd: () => number;
}

export interface Scenario {
  name: string;
  summary: string;
  defaultPeople: number;
  /** Needs a spatial server (Proxima); other targets get only pair and fanout. */
  spatial: boolean;
  /** Map the embedded server should load (default: the server's own). */
  map?: string;
  plan(ctx: ScenarioContext): PersonSpec[];
  /** Called once a second with the joined people (in plan order); returns the walks to start now. */
  step?(ctx: ScenarioContext, people: readonly LoadPerson[], elapsedS: number): { person: LoadPerson; x: number; y: number }[];
}
