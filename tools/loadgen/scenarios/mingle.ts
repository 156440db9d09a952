import { PLAZA_MAP, type Scenario, type ScenarioContext } from './scenario.ts';
import type { Tile } from './space-layout.ts';
import { groupPlan, groupWalks } from './groups.ts';

const centresOf = new WeakMap<ScenarioContext, Tile[]>();

/** Everyone publishes; groups of 4–6 talk, and people wander from group to group (each about once a minute). */
export const mingle: Scenario = {
  name: 'mingle',
  summary: 'groups of about five, everyone publishing, people walking between groups',
  defaultPeople: 60,
  spatial: true,
  map: PLAZA_MAP,
  plan(ctx) {
    const { specs, centres } = groupPlan(ctx, ctx.people, 'guest');
    centresOf.set(ctx, centres);
    return specs;
  },
  step(ctx, people) {
    return groupWalks(ctx, centresOf.get(ctx) ?? [], people, 1 / 60);
  },
};
