import { PLAZA_MAP, type Scenario } from './scenario.ts';
import type { LoadPerson } from '../person.ts';
import type { Tile } from './space-layout.ts';

const at = new WeakMap<LoadPerson, Tile>();

/** Everyone publishes and keeps walking to random spots nearby: links form and break all the time. */
export const walkers: Scenario = {
  name: 'walkers',
  summary: 'everyone publishing and walking at random',
  defaultPeople: 30,
  spatial: true,
  map: PLAZA_MAP,
  plan({ people, layout }) {
    return Array.from({ length: people }, (_, i) => {
      const t = layout.claimAnywhere();
      return { name: `walker-${i + 1}`, publish: true, thumbnail: true, talkShare: 0.2, x: t.x, y: t.y };
    });
  },
  step({ layout, rnd }, people) {
    const walks = [];
    for (const person of people) {
      if (rnd() >= 1 / 4) continue; // a new destination about every 4 s
      const here = at.get(person) ?? { x: person.spec.x ?? 0, y: person.spec.y ?? 0 };
      const near = layout.open.filter((t) => Math.abs(t.x - here.x) <= 8 && Math.abs(t.y - here.y) <= 8);
      const t = layout.pick(near.length > 0 ? near : layout.open);
      at.set(person, t);
      walks.push({ person, x: t.x, y: t.y });
    }
    return walks;
  },
};
