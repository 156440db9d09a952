import { PLAZA_MAP, type Scenario, type ScenarioContext } from './scenario.ts';
import type { Tile } from './space-layout.ts';
import { groupPlan, groupWalks } from './groups.ts';

const centresOf = new WeakMap<ScenarioContext, Tile[]>();

/**
 * One spotlit speaker reaches the whole audience; the audience publishes too and chats in small groups
 * (the speaker does not receive them unless near), wandering now and then.
 */
export const townhall: Scenario = {
  name: 'townhall',
  summary: 'one spotlit speaker to everyone; the audience chats in groups of about five',
  defaultPeople: 51,
  spatial: true,
  map: PLAZA_MAP,
  plan(ctx) {
    const spot = ctx.layout.stage.length > 0 ? ctx.layout.pick(ctx.layout.stage) : ctx.layout.claimAnywhere();
    const { specs, centres } = groupPlan(ctx, ctx.people - 1, 'audience');
    centresOf.set(ctx, centres);
    return [{ name: 'speaker', publish: true, spotlight: true, videoLayer: 1, x: spot.x, y: spot.y }, ...specs];
  },
  step(ctx, people) {
    return groupWalks(ctx, centresOf.get(ctx) ?? [], people.slice(1), 1 / 30);
  },
};
