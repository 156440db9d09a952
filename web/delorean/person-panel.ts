/**
 * The side of the page: who is there at t (nobody selected), or the selected person's panel: figures at t,
 * their timelines (timeline-chart.ts) and the "why" box of an event: the allocation inputs at that moment.
 */
import { colorFor } from '../src/palette.ts';
import { linksOf, type ReplayState } from './replay-state.ts';
import { valueAt, type PersonTimeline, type TimelineEvent } from './person-series.ts';
import { TimelineChart, HOLD_COLOR } from './timeline-chart.ts';
import { whyAt, type Why } from './why.ts';
import { fmtBps, fmtClock, fmtLayer } from './format.ts';

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

export interface PanelHost {
  select(id: string | null): void;
  seek(ts: number): void;
  /** The state at a moment (the why box reads it). */
  stateAt(ts: number): ReplayState;
}

export class SidePanel {
  private readonly list: HTMLElement;
  private readonly panel: HTMLElement;
  private readonly head: HTMLElement;
  private readonly chips: HTMLElement;
  private readonly whyBox: HTMLElement;
  readonly chart: TimelineChart;
  private tl: PersonTimeline | null = null;
  /** The event whose "why" is open. */
  whyOf: { event: TimelineEvent; why: Why } | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly host: PanelHost,
  ) {
    this.list = el('section', 'people-at');
    this.panel = el('section', 'panel');
    this.panel.hidden = true;
    this.head = el('header', 'panel-head');
    this.chips = el('div', 'chips');
    const wrap = el('div', 'chart-wrap');
    const canvas = el('canvas');
    canvas.id = 'timeline';
    wrap.append(canvas);
    this.whyBox = el('div', 'why');
    this.whyBox.id = 'why';
    this.whyBox.hidden = true;
    this.panel.append(this.head, this.chips, wrap, this.whyBox);
    root.append(this.list, this.panel);
    this.chart = new TimelineChart(canvas, (ts) => host.seek(ts), (e) => this.openWhy(e));
  }

  /** Shows the list (tl null) or a person's panel. */
  showPerson(tl: PersonTimeline | null, view: { from: number; to: number }): void {
    this.tl = tl;
    this.closeWhy();
    this.root.classList.toggle('selected', tl !== null);
    this.list.hidden = tl !== null;
    this.panel.hidden = tl === null;
    if (!tl) return;
    this.head.replaceChildren();
    const dot = el('span', 'dot');
    dot.style.background = colorFor(tl.id);
    const who = el('div', 'who');
    who.append(el('h2', '', tl.name), el('div', 'sub', `${tl.id} · ${tl.present.map(([a, b]) => `${fmtClock(a, false)}–${fmtClock(b, false)}`).join(', ') || 'not present in this range'}`));
    const close = el('button', 'close', '×');
    close.title = 'back to everyone (Esc)';
    close.addEventListener('click', () => this.host.select(null));
    this.head.append(dot, who, close);
    // After the panel is laid out, so the chart knows its room.
    requestAnimationFrame(() => this.chart.show(tl, view));
  }

  /** Everything that follows t: the list or the figures, the chart's cursor. */
  update(s: ReplayState, selected: string | null): void {
    if (selected && this.tl) {
      this.chart.setTime(s.t);
      this.renderChips(s, selected);
    } else this.renderList(s);
  }

  private renderList(s: ReplayState): void {
    const people = Object.values(s.people).sort((a, b) => a.name.localeCompare(b.name));
    const hears = new Map<string, number>();
    for (const l of linksOf(s)) hears.set(l.listener, (hears.get(l.listener) ?? 0) + 1);
    const h = el('h2', '', `People at ${fmtClock(s.t, false)}`);
    const ul = el('ul');
    for (const p of people) {
      const li = el('li');
      li.dataset.participant = p.id;
      const dot = el('span', 'dot');
      dot.style.background = colorFor(p.id);
      const held = (s.allocation[p.id]?.tracks ?? []).filter((t) => t.kind === 'video' && t.reason === 'budget').length;
      const score = s.second[p.id]?.down?.level;
      const text = el('div', 'text');
      text.append(el('span', 'who', p.name), el('span', 'tag', `(${p.x}, ${p.y})${p.mode !== 'normal' ? ` · ${p.mode}` : ''} · hears ${hears.get(p.id) ?? 0}${p.speaking ? ' · speaking' : ''}`));
      li.append(dot, text);
      if (held) li.append(el('span', 'flag paused', `${held} held`));
      else if (score === 'poor' || score === 'lost') li.append(el('span', `flag ${score}`, score));
      li.addEventListener('click', () => this.host.select(p.id));
      ul.append(li);
    }
    const hint = el('p', 'hint', people.length ? 'Click a person (here or on the map) for their timelines.' : 'Nobody is in the space at this moment.');
    this.list.replaceChildren(h, ul, hint);
  }

  private renderChips(s: ReplayState, id: string): void {
    const tl = this.tl!;
    const t = s.t;
    const a = s.allocation[id];
    const down = s.second[id]?.down ?? null;
    const paused = (a?.tracks ?? []).filter((x) => x.kind === 'video' && x.layer === null && x.reason === 'budget').length;
    const lowered = (a?.tracks ?? []).filter((x) => x.kind === 'video' && x.layer !== null && x.reason === 'budget').length;
    const chip = (label: string, value: string, cls = '', title = '') => {
      const c = el('div', `chip ${cls}`);
      c.append(el('span', 'k', label), el('span', 'v', value));
      if (title) c.title = title;
      return c;
    };
    const kbit = (bps: number) => Math.round(bps / 1000).toLocaleString('en');
    const present = !!s.people[id];
    this.chips.replaceChildren(
      chip('estimate', fmtBps(valueAt(tl.estimate, t) ?? null)),
      chip('allocated / wanted', a ? `${kbit(a.totalBps)} / ${kbit(a.wantedBps)} kbit/s` : '–', '', a ? `allocation made ${fmtClock(a.ts)} with a budget of ${fmtBps(a.estimateBps)}` : ''),
      chip('videos held', paused || lowered ? [paused ? `${paused} paused` : '', lowered ? `${lowered} lowered` : ''].filter(Boolean).join(', ') : 'none', paused ? 'bad' : lowered ? 'warn' : '', 'videos the allocation paused or lowered for lack of bandwidth'),
      chip('loss · RTT', down ? `${down.lossPct}% · ${down.rttMs !== null && down.rttMs >= 0 ? `${down.rttMs} ms` : '–'}` : '–'),
      chip('score', down ? `${down.score} ${down.level}` : '–', down?.level === 'poor' ? 'warn' : down?.level === 'lost' ? 'bad' : '', down?.cause ? `blames ${down.cause.replace(/_/g, ' ')}` : ''),
    );
    this.chips.classList.toggle('absent', !present);
  }

  /** The "why" of one of the person's events: the allocation inputs at that moment. */
  openWhy(e: TimelineEvent): void {
    if (!this.tl) return;
    const why = whyAt(this.host.stateAt(e.ts), this.tl.id);
    this.whyOf = { event: e, why };
    this.chart.pick(e);
    this.host.seek(e.ts);
    const box = this.whyBox;
    box.replaceChildren();
    const head = el('header');
    const close = el('button', 'close', '×');
    close.addEventListener('click', () => this.closeWhy());
    head.append(el('h3', '', `Why · ${fmtClock(e.ts)}`), close);
    box.append(head, el('p', 'event', e.text));
    if (why.allocatedAt === null) {
      box.append(el('p', 'muted', 'No allocation had been made for this person yet.'));
    } else {
      const inputs = el('dl', 'inputs');
      const add = (k: string, v: string) => inputs.append(el('dt', '', k), el('dd', '', v));
      add('estimate (budget)', fmtBps(why.estimateBps));
      add('wanted', fmtBps(why.wantedBps));
      add('allocated', fmtBps(why.totalBps));
      if (why.sampledAt !== null) add('sent, last second', `${fmtBps(why.sentBps)} (estimate ${fmtBps(why.sampledEstimateBps)})`);
      if (why.caps) add('device caps', why.caps);
      // Audio is always sent: one line for all of it, the table is for the videos.
      const audio = why.tracks.filter((t) => t.kind === 'audio');
      if (audio.length) add(`audio (${audio.length})`, `${fmtBps(audio.reduce((n, t) => n + t.bps, 0))} allocated, ${fmtBps(audio.reduce((n, t) => n + (t.sentBps ?? 0), 0))} sent, from ${audio.map((t) => t.name).join(', ')}`);
      add('allocation made', `${fmtClock(why.allocatedAt)}${why.allocatedAt < e.ts ? ` (${((e.ts - why.allocatedAt) / 1000).toFixed(1)} s before)` : ''}`);
      const table = el('table');
      const hr = el('tr');
      for (const c of ['from', 'layer', 'forwarded', 'allocated', 'sent', 'reason']) hr.append(el('th', '', c));
      table.append(hr);
      for (const t of why.tracks) {
        if (t.kind === 'audio') continue;
        const tr = el('tr');
        tr.dataset.track = t.trackId;
        const reason = el('td');
        const tag = el('span', 'reason', t.reason);
        tag.title = t.meaning;
        tag.style.setProperty('--c', t.hold === 'audio' ? '#59617a' : HOLD_COLOR[t.hold]);
        reason.append(tag);
        tr.append(el('td', '', `${t.name} · ${t.source}`), el('td', '', fmtLayer(t.layer)), el('td', '', t.forwarded === undefined ? '–' : fmtLayer(t.forwarded)), el('td', 'num', fmtBps(t.bps)), el('td', 'num', fmtBps(t.sentBps)), reason);
        table.append(tr);
      }
      // The answer in words first: which videos were held back, and why.
      const held = why.tracks.filter((t) => t.kind === 'video' && t.hold !== 'optimal');
      const summary = el('ul', 'held');
      for (const t of held) {
        const li = el('li', '', `${t.name}'s ${t.source}: ${t.meaning}${t.layer ? ` (${fmtLayer(t.layer)})` : ''}`);
        li.style.setProperty('--c', HOLD_COLOR[t.hold as keyof typeof HOLD_COLOR] ?? '#8a93a8');
        summary.append(li);
      }
      if (held.length === 0) summary.append(el('li', 'ok', 'every video at the best layer there is'));
      box.append(inputs, summary, table);
    }
    box.hidden = false;
  }

  closeWhy(): void {
    this.whyOf = null;
    this.whyBox.hidden = true;
    this.chart.pick(null);
  }
}
