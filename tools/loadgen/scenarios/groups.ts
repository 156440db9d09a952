/** Shared by mingle and townhall: people in groups of about five who now and then walk to another group. */
import type { LoadPerson, PersonSpec } from '../person.ts';
import type { ScenarioContext } from './scenario.ts';
import type { Tile } from './space-layout.ts';

export const GROUP_SIZE = 5;

export function groupPlan(ctx: ScenarioContext, count: number, prefix: string): { specs: PersonSpec[]; centres: Tile[] } {
  const k = Math.max(1, Math.round(count / GROUP_SIZE));
  const centres = ctx.layout.clusterCentres(k);
  const specs: PersonSpec[] = [];
  for (let i = 0; i < count; i++) {
    const t = ctx.layout.claimNear(centres[i % k]!, 2);
    // Thumbnail-sized video and one talker at a time per group: what a mingle looks and sounds like.
    specs.push({ name: `${prefix}-${i + 1}`, publish: true, thumbnail: true, talkShare: 1 / GROUP_SIZE, x: t.x, y: t.y });
  }
  return { specs, centres };
}

/** Each person leaves for another group with probability `perSecond` each second. */
export function groupWalks(ctx: ScenarioContext, centres: readonly Tile[], people: readonly LoadPerson[], perSecond: number) {
  const walks: { person: LoadPerson; x: number; y: number }[] = [];
  if (centres.length < 2) return walks;
  for (const person of people) {
    if (ctx.rnd() >= perSecond) continue;
    const t = ctx.layout.claimNear(ctx.layout.pick(centres), 2);
    ctx.layout.release(standing.get(person) ?? { x: person.spec.x ?? -1, y: person.spec.y ?? -1 });
    standing.set(person, t);
    walks.push({ person, x: t.x, y: t.y });
  }
  return walks;
}

/** Where each person is headed (their tile is claimed until they leave it). */
const standing = new WeakMap<LoadPerson, Tile>();
