import type { Scenario } from './scenario.ts';
import type { PersonSpec } from '../person.ts';

/** 1 → N: a spotlit publisher reaches every viewer in the space, wherever they stand. */
export const fanout: Scenario = {
  name: 'fanout',
  summary: 'one spotlit publisher, N-1 viewers spread over the space',
  defaultPeople: 51,
  spatial: false,
  plan({ people, layout }) {
    const a = layout.claimAnywhere();
    const out: PersonSpec[] = [{ name: 'publisher', publish: true, videoLayer: 1, spotlight: true, x: a.x, y: a.y }];
    for (let i = 1; i < people; i++) {
      const t = layout.claimAnywhere();
      out.push({ name: `viewer-${i}`, publish: false, x: t.x, y: t.y });
    }
    return out;
  },
};
