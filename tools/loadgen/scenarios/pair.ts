import type { Scenario } from './scenario.ts';

/** 1 → 1: a publisher and, two tiles away, a viewer. */
export const pair: Scenario = {
  name: 'pair',
  summary: 'one publisher, one viewer next to them',
  defaultPeople: 2,
  spatial: false,
  plan({ layout }) {
    const a = layout.claimAnywhere();
    const b = layout.claimNear(a, 2);
    return [
      { name: 'publisher', publish: true, videoLayer: 1, x: a.x, y: a.y },
      { name: 'viewer', publish: false, x: b.x, y: b.y },
    ];
  },
};
