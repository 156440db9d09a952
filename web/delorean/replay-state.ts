/**
 * The state of a space at one moment, reduced from its recorded events (src/recorder/events.ts): who is
 * there, where, in which mode, whom each listener receives, each listener's latest allocation, each person's
 * latest once-a-second sample. Pure: `applyEvent` returns a new state and never changes the one given (the
 * parts that did not change are shared), so any state can be kept as a checkpoint.
 */
import type { EventData, RecorderEvent } from '../../src/recorder/events.ts';
import type { Person } from '../sdk/protocol.ts';

export type ReplayEvent = RecorderEvent;
export type Mode = EventData<'mode'>['mode'];
export type Layer = [number, number] | null;

/** A person as the live page knows them, plus what the replay follows. */
export interface PersonAt extends Person {
  speaking: boolean;
  /** The node the person joined on: a restart of that node ends the session. */
  node: string;
  /** When they joined (or were first seen). */
  since: number;
}

export interface TrackAt {
  publisher: string;
  kind: 'audio' | 'video';
  source: string;
  muted: boolean;
}

export interface LinkAt {
  speaker: string;
  gain: number;
  priority: number;
}

export type AllocationAt = EventData<'allocation'> & { ts: number };
export type SecondAt = EventData<'second'> & { ts: number };
export type ReportAt = EventData<'report'> & { ts: number };

export interface ReplayState {
  /** The last event applied (or the time reduced to). */
  t: number;
  /** Present now, by id. */
  people: Readonly<Record<string, PersonAt>>;
  /** Everyone seen so far, present or not: a departed publisher keeps a name in the panels. */
  names: Readonly<Record<string, string>>;
  /** Published tracks now: track id → publisher. */
  tracks: Readonly<Record<string, TrackAt>>;
  /** Each listener's link set as last recorded. */
  links: Readonly<Record<string, readonly LinkAt[]>>;
  /** Each listener's latest allocation. */
  allocation: Readonly<Record<string, AllocationAt>>;
  /** The layer each listener's forwarder last switched to, per track. */
  forwarded: Readonly<Record<string, Readonly<Record<string, Layer>>>>;
  /** The tracks each listener receives now (subscription add/remove). */
  receives: Readonly<Record<string, readonly string[]>>;
  /** Each person's latest `second` sample. */
  second: Readonly<Record<string, SecondAt>>;
  /** What each person's browser last reported. */
  report: Readonly<Record<string, ReportAt>>;
}

export function emptyState(): ReplayState {
  return { t: 0, people: {}, names: {}, tracks: {}, links: {}, allocation: {}, forwarded: {}, receives: {}, second: {}, report: {} };
}

function without<V>(r: Readonly<Record<string, V>>, key: string): Record<string, V> {
  if (!(key in r)) return r as Record<string, V>;
  const out = { ...r };
  delete out[key];
  return out;
}

function withOnly<V>(r: Readonly<Record<string, V>>, keep: (key: string) => boolean): Record<string, V> {
  const out: Record<string, V> = {};
  let dropped = false;
  for (const [k, v] of Object.entries(r)) {
    if (keep(k)) out[k] = v;
    else dropped = true;
  }
  return dropped ? out : (r as Record<string, V>);
}

/** Everything about a person that ends with their session. */
function removePeople(s: ReplayState, gone: (id: string) => boolean): ReplayState {
  return {
    ...s,
    people: withOnly(s.people, (id) => !gone(id)),
    tracks: withOnly(s.tracks, (id) => !gone(s.tracks[id]!.publisher)),
    links: withOnly(s.links, (id) => !gone(id)),
    allocation: withOnly(s.allocation, (id) => !gone(id)),
    forwarded: withOnly(s.forwarded, (id) => !gone(id)),
    receives: withOnly(s.receives, (id) => !gone(id)),
  };
}

/** The state after one event (events are applied in recorded order: by time, then as stored). */
export function applyEvent(s0: ReplayState, e: ReplayEvent): ReplayState {
  const s: ReplayState = e.ts > s0.t ? { ...s0, t: e.ts } : s0;
  const id = e.participant;
  if (e.kind === 'node') {
    // A node that starts (again) or stops has nobody on it any more, whether or not leaves were recorded.
    if (e.data.state !== 'up' && e.data.state !== 'down') return s;
    const node = e.node;
    return removePeople(s, (pid) => s.people[pid]?.node === node);
  }
  if (id === null) return s;
  const person = s.people[id];
  switch (e.kind) {
    case 'join': {
      const d = e.data;
      const p: PersonAt = { id, name: d.name, x: d.x, y: d.y, mode: d.mode, spotlit: person?.spotlit ?? false, speaking: person?.speaking ?? false, node: e.node, since: person?.since ?? e.ts };
      return { ...s, people: { ...s.people, [id]: p }, names: s.names[id] === d.name ? s.names : { ...s.names, [id]: d.name } };
    }
    case 'leave':
      return removePeople(s, (pid) => pid === id);
    case 'move': {
      // A move of someone never seen joining (the range began after their join and before any prelude).
      const p: PersonAt = person ? { ...person, x: e.data.x, y: e.data.y } : { id, name: s.names[id] ?? id, x: e.data.x, y: e.data.y, mode: 'normal', spotlit: false, speaking: false, node: e.node, since: e.ts };
      return { ...s, people: { ...s.people, [id]: p } };
    }
    case 'mode':
      return person ? { ...s, people: { ...s.people, [id]: { ...person, mode: e.data.mode } } } : s;
    case 'spotlight':
      return person ? { ...s, people: { ...s.people, [id]: { ...person, spotlit: e.data.on } } } : s;
    case 'speaking':
      return person ? { ...s, people: { ...s.people, [id]: { ...person, speaking: e.data.on } } } : s;
    case 'tracks': {
      const tracks = withOnly(s.tracks, (t) => s.tracks[t]!.publisher !== id);
      const next = tracks === s.tracks ? { ...tracks } : tracks;
      for (const t of e.data.tracks) next[t.trackId] = { publisher: id, kind: t.kind, source: t.source, muted: t.muted };
      return { ...s, tracks: next };
    }
    case 'links':
      return { ...s, links: { ...s.links, [id]: e.data.links.map((l) => ({ speaker: l.speaker, gain: l.gain, priority: l.priority })) } };
    case 'allocation':
      return { ...s, allocation: { ...s.allocation, [id]: { ...e.data, ts: e.ts } } };
    case 'layer':
      return { ...s, forwarded: { ...s.forwarded, [id]: { ...s.forwarded[id], [e.data.trackId]: e.data.layer } } };
    case 'subscription': {
      const now = s.receives[id] ?? [];
      const has = now.includes(e.data.trackId);
      if (e.data.op === 'add') return has ? s : { ...s, receives: { ...s.receives, [id]: [...now, e.data.trackId] } };
      if (!has) return s;
      return { ...s, receives: { ...s.receives, [id]: now.filter((t) => t !== e.data.trackId) }, forwarded: { ...s.forwarded, [id]: without(s.forwarded[id] ?? {}, e.data.trackId) } };
    }
    case 'second':
      return { ...s, second: { ...s.second, [id]: { ...e.data, ts: e.ts } } };
    case 'report':
      return { ...s, report: { ...s.report, [id]: { ...e.data, ts: e.ts } } };
    default:
      // offer, answer, transport, drops, route: in the person's event list, no state of their own here.
      return s;
  }
}

/** Applies `events` (ordered) to `from`, up to and including time `t`. */
export function reduceEvents(events: readonly ReplayEvent[], t: number, from: ReplayState = emptyState()): ReplayState {
  let s = from;
  for (const e of events) {
    if (e.ts > t) break;
    s = applyEvent(s, e);
  }
  return s.t < t ? { ...s, t } : s;
}

/** A link drawn between two people present: the listener receives the speaker at `gain`. */
export interface LinkLine {
  listener: string;
  speaker: string;
  gain: number;
  priority: number;
}

/** Every link whose two ends are present, listener by listener (ids sorted, for stable output). */
export function linksOf(s: ReplayState): LinkLine[] {
  const out: LinkLine[] = [];
  for (const listener of Object.keys(s.links).sort()) {
    if (!s.people[listener]) continue;
    for (const l of s.links[listener]!) if (s.people[l.speaker]) out.push({ listener, speaker: l.speaker, gain: l.gain, priority: l.priority });
  }
  return out;
}

/** A pair of people with a link either way: drawn as one line, as strong as the louder direction. */
export interface LinkPair {
  a: string;
  b: string;
  /** Gain a → b (b hears a), null without that link. */
  ab: number | null;
  ba: number | null;
}

export function linkPairs(s: ReplayState): LinkPair[] {
  const pairs = new Map<string, LinkPair>();
  for (const l of linksOf(s)) {
    const [a, b] = l.speaker < l.listener ? [l.speaker, l.listener] : [l.listener, l.speaker];
    const key = `${a} ${b}`;
    const p = pairs.get(key) ?? { a, b, ab: null, ba: null };
    if (l.speaker === a) p.ab = l.gain;
    else p.ba = l.gain;
    pairs.set(key, p);
  }
  return [...pairs.values()];
}

/** The name to show for an id: present, seen before, or the id itself. */
export function nameOf(s: ReplayState, id: string): string {
  return s.people[id]?.name ?? s.names[id] ?? id;
}
