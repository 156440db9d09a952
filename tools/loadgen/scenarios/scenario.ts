/** What a load scenario is: who joins, where, and how they move while the run goes on. */
import type { LoadPerson, PersonSpec } from '../person.ts';
import type { SpaceLayout } from './space-layout.ts';

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
  plan(ctx: ScenarioContext): PersonSpec[];
  /** Called once a second with the joined people (in plan order); returns the walks to start now. */
  step?(ctx: ScenarioContext, people: readonly LoadPerson[], elapsedS: number): { person: LoadPerson; x: number; y: number }[];
}
