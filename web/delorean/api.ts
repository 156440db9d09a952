/** The recorder's read-only API (src/server/recorder-api.ts): spaces, the map, a space's events page by page. */
import type { SpaceMap } from '../sdk/protocol.ts';
import { applyEvent, emptyState, type ReplayEvent, type ReplayState } from './replay-state.ts';

export interface SpaceInfo {
  space: string;
  firstTs: number;
  lastTs: number;
  events: number;
}

interface Page {
  count: number;
  next: string | null;
  events: ReplayEvent[];
}

/** The API's largest page. */
const PAGE = 100_000;

/** What the state at the start of a range is made of: what came before it, without the per-second samples. */
export const PRELUDE_KINDS = ['node', 'join', 'leave', 'move', 'mode', 'spotlight', 'speaking', 'tracks', 'links', 'allocation', 'layer', 'subscription', 'report'] as const;

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { headers: { accept: 'application/json' } });
  const body = (await r.json().catch(() => null)) as (T & { error?: string }) | null;
  if (!r.ok || body === null) throw new Error(body?.error ?? `${url}: HTTP ${r.status}`);
  return body;
}

export async function fetchSpaces(): Promise<SpaceInfo[]> {
  return (await getJson<{ spaces: SpaceInfo[] }>('/api/recorder/spaces')).spaces;
}

export async function fetchMap(): Promise<SpaceMap> {
  return (await getJson<{ map: SpaceMap }>('/api/recorder/map')).map;
}

/** Every page of [from, to), handed to `onPage` as it comes (so a long prelude is folded, not held). */
export async function eachPage(space: string, from: number, to: number, onPage: (events: ReplayEvent[]) => void, kinds?: readonly string[]): Promise<void> {
  let after: string | null = null;
  do {
    const q = new URLSearchParams({ from: String(from), to: String(to), limit: String(PAGE) });
    if (kinds) q.set('kinds', kinds.join(','));
    if (after) q.set('after', after);
    const page: Page = await getJson<Page>(`/api/recorder/spaces/${encodeURIComponent(space)}?${q}`);
    onPage(page.events);
    after = page.next;
  } while (after !== null);
}

export interface Loaded {
  /** The state when the range begins. */
  initial: ReplayState;
  events: ReplayEvent[];
}

/**
 * A range and the state it begins with. The API has no snapshot, so the state at `from` is reduced from
 * the space's earlier events (`since`: its first), without the once-a-second samples and drops.
 */
export async function loadRange(space: string, from: number, to: number, since: number, progress: (what: string) => void): Promise<Loaded> {
  let initial = emptyState();
  let before = 0;
  if (since < from) {
    await eachPage(space, since, from, (page) => {
      for (const e of page) initial = applyEvent(initial, e);
      before += page.length;
      progress(`reading what came before: ${before.toLocaleString('en')} events`);
    }, PRELUDE_KINDS);
  }
  const events: ReplayEvent[] = [];
  await eachPage(space, from, to, (page) => {
    for (const e of page) events.push(e);
    progress(`loading ${events.length.toLocaleString('en')} events`);
  });
  return { initial: { ...initial, t: from }, events };
}
