/**
 * /delorean: replay a space from the flight recorder. Pick a space and a range, scrub or play at 1× or
 * 10×; the map shows everyone and their links at the cursor, a person's panel their timelines and the
 * "why" of each of their events. The URL always names the moment (and the person) on screen.
 */
import type { SpaceMap } from '../sdk/protocol.ts';
import { fetchMap, fetchSpaces, loadRange, type Loaded, type SpaceInfo } from './api.ts';
import { defaultRange, readReplayParams, replayQuery } from './params.ts';
import { ReplayIndex } from './replay-index.ts';
import { linksOf, type ReplayState } from './replay-state.ts';
import { allocationAt, personTimeline, type PersonTimeline } from './person-series.ts';
import { whyAt } from './why.ts';
import { ReplayMap } from './replay-map.ts';
import { SidePanel } from './person-panel.ts';
import { Scrubber } from './scrubber.ts';
import { installDeloreanAutomation, type StateView } from './automation.ts';
import { fmtClock, fmtDateTime, fmtSpan, parseTime, toLocalInput } from './format.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const spaceSelect = $<HTMLSelectElement>('space');
const fromInput = $<HTMLInputElement>('from');
const toInput = $<HTMLInputElement>('to');

let map: SpaceMap | null = null;
let spaces: SpaceInfo[] = [];
let space = '';
let range = { from: 0, to: 1 };
let index: ReplayIndex | null = null;
let t = 0;
let selected: string | null = null;
let playing = false;
let speed = 1;
const timelines = new Map<string, PersonTimeline>();

const view = new ReplayMap($<HTMLCanvasElement>('map'), (id) => select(id));
const side = new SidePanel($('side'), { select: (id) => select(id), seek: (ts) => seek(ts), stateAt: (ts) => stateAt(ts) });
const scrubber = new Scrubber($('transport'), { seek: (ts) => seek(ts), setPlaying: (on) => setPlaying(on), setSpeed: (x) => setSpeed(x) });

function say(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
}

function stateAt(ts: number): ReplayState {
  return index!.at(ts);
}

function timelineOf(id: string): PersonTimeline {
  let tl = timelines.get(id);
  if (!tl) timelines.set(id, (tl = personTimeline(index!.initial, index!.events, id, range.from, range.to)));
  return tl;
}

function seek(ts: number): StateView {
  if (!index || !map) return stateView();
  t = Math.max(range.from, Math.min(range.to - 1, Math.round(ts)));
  const s = index.at(t);
  view.show(map, s, selected);
  side.update(s, selected);
  scrubber.setTime(t);
  keepUrl();
  return stateView();
}

function select(id: string | null): string | null {
  if (!index) return selected;
  selected = id;
  const tl = id ? timelineOf(id) : null;
  side.showPerson(tl, range);
  scrubber.setEvents(index.events, range, tl?.present ?? []);
  seek(t);
  return selected;
}

function stateView(): StateView {
  if (!index) return { t, people: [], links: [], selected };
  const s = index.at(t);
  return {
    t,
    people: Object.values(s.people).map((p) => ({ id: p.id, name: p.name, x: p.x, y: p.y, mode: p.mode })),
    links: linksOf(s).map((l) => ({ listener: l.listener, speaker: l.speaker, gain: l.gain })),
    selected,
  };
}

let urlTimer = 0;
function keepUrl(): void {
  clearTimeout(urlTimer);
  urlTimer = window.setTimeout(() => history.replaceState(null, '', replayQuery({ space, from: range.from, to: range.to, t, p: selected })), 200);
}

// Playing: the cursor advances with the wall clock, times the speed, until the end of the range.
let lastFrame = 0;
function frame(now: number): void {
  if (!playing) return;
  const dt = Math.min(250, now - lastFrame);
  lastFrame = now;
  if (t >= range.to - 1) return setPlaying(false);
  seek(t + dt * speed);
  requestAnimationFrame(frame);
}
function setPlaying(on: boolean): void {
  if (on && t >= range.to - 1) seek(range.from);
  playing = on && index !== null;
  scrubber.setPlaying(playing, speed);
  if (playing) {
    lastFrame = performance.now();
    requestAnimationFrame(frame);
  }
}
function setSpeed(x: number): void {
  speed = x;
  scrubber.setPlaying(playing, speed);
}

window.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if (e.key === ' ') {
    e.preventDefault();
    setPlaying(!playing);
  } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
    e.preventDefault();
    seek(t + (e.key === 'ArrowRight' ? 1 : -1) * (e.shiftKey ? 10_000 : 1000));
  } else if (e.key === 'Escape') select(null);
});

/** Loads [from, to) of `name` (and the state it begins with), then shows moment `at`. */
async function load(name: string, from: number, to: number, at: number | null, person: string | null): Promise<void> {
  setPlaying(false);
  const info = spaces.find((s) => s.space === name);
  space = name;
  range = { from, to };
  spaceSelect.value = name;
  fromInput.value = toLocalInput(from);
  toInput.value = toLocalInput(to);
  say('loading…');
  const loaded: Loaded = await loadRange(name, from, to, info?.firstTs ?? from, (what) => say(what));
  index = new ReplayIndex(loaded.initial, loaded.events);
  timelines.clear();
  t = Math.max(from, Math.min(to - 1, at ?? to - 1));
  say(`${loaded.events.length.toLocaleString('en')} events · ${fmtSpan(to - from)}`);
  status.title = `${name}: ${fmtDateTime(from)} to ${fmtDateTime(to)}`;
  document.title = `DeLorean · ${name} · ${fmtClock(t, false)}`;
  select(person && (loaded.events.some((e) => e.participant === person) || loaded.initial.people[person]) ? person : null);
}

function fillSpaces(): void {
  spaceSelect.replaceChildren(
    ...spaces.map((s) => {
      const o = document.createElement('option');
      o.value = s.space;
      o.textContent = `${s.space} · ${s.events.toLocaleString('en')} events · until ${fmtDateTime(s.lastTs)}`;
      return o;
    }),
  );
}

const readyPromise = (async () => {
  const params = readReplayParams(location.search);
  [map, spaces] = await Promise.all([fetchMap(), fetchSpaces()]);
  fillSpaces();
  const info = spaces.find((s) => s.space === params.space) ?? spaces[0];
  if (!info && !params.space) {
    say('Nothing recorded yet: a space appears here once someone joins it.');
    return { space: '', from: 0, to: 0, events: 0 };
  }
  const name = info?.space ?? params.space!;
  const r = defaultRange(params, info ?? { firstTs: Date.now() - 600_000, lastTs: Date.now() });
  await load(name, r.from, r.to, params.t, params.p);
  return { space, from: range.from, to: range.to, events: index!.events.length };
})();
readyPromise.catch((e: Error) => say(`error: ${e.message}`, true));

// The range form: a space, from and to (local time); quick choices for the last 10 minutes and everything.
$('range-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const from = parseTime(fromInput.value);
  const to = parseTime(toInput.value);
  if (from === null || to === null || from >= to) return say('from must be before to', true);
  void load(spaceSelect.value, from, to, null, null).catch((err: Error) => say(`error: ${err.message}`, true));
});
spaceSelect.addEventListener('change', () => {
  const info = spaces.find((s) => s.space === spaceSelect.value);
  if (!info) return;
  const r = defaultRange({ space: info.space, from: null, to: null, t: null, p: null }, info);
  void load(info.space, r.from, r.to, null, null).catch((err: Error) => say(`error: ${err.message}`, true));
});
for (const [id, pick] of [
  ['last10', (s: SpaceInfo) => ({ from: Math.max(s.firstTs, s.lastTs + 1 - 600_000), to: s.lastTs + 1 })],
  ['all', (s: SpaceInfo) => ({ from: s.firstTs, to: s.lastTs + 1 })],
] as const) {
  $(id).addEventListener('click', async () => {
    spaces = await fetchSpaces().catch(() => spaces);
    fillSpaces();
    const info = spaces.find((s) => s.space === (spaceSelect.value || space));
    if (!info) return;
    const r = pick(info);
    void load(info.space, r.from, r.to, null, selected).catch((err: Error) => say(`error: ${err.message}`, true));
  });
}

installDeloreanAutomation({
  ready: () => readyPromise,
  seek,
  state: stateView,
  select,
  timeline: (id) => timelineOf(id),
  allocationAt: (id, ts) => (index ? (allocationAt(timelineOf(id), ts) ?? null) : null),
  why: (id, ts) => whyAt(stateAt(ts), id),
  openWhy: async (ts, kind) => {
    if (!selected) throw new Error('select a person first');
    const events = timelineOf(selected).events.filter((e) => kind === undefined || e.kind === kind);
    if (events.length === 0) throw new Error('this person has no events');
    // The one in force at ts (the last at or before it), else the first after.
    const nearest = [...events].reverse().find((e) => e.ts <= ts) ?? events[0]!;
    side.openWhy(nearest);
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    return $('why').innerText;
  },
  range: () => ({ space, from: range.from, to: range.to, events: index?.events.length ?? 0 }),
  play: (x = speed) => {
    setSpeed(x);
    setPlaying(true);
  },
  pause: () => setPlaying(false),
  centreOf: (id) => view.centreOf(id),
});
