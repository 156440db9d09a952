/**
 * One person's timelines on one time axis, in one canvas: received bitrate per publisher with a band per
 * video for how the allocation held it, the estimate against what was allocated, loss and RTT, score and
 * freezes, then their events in lanes (click one: "why"). The still picture is drawn once per person and
 * size; each seek redraws only the cursor over it.
 */
import { colorFor } from '../src/palette.ts';
import { LANES, type EventLane } from './describe.ts';
import type { HoldSpan, PersonTimeline, TimelineEvent, VideoHold } from './person-series.ts';
import { drawBand, drawGrid, drawSeries, timeTicks, tsOf, xOf, yOf, type Axis, type Scale } from './chart-draw.ts';
import { fmtClock } from './format.ts';

export const HOLD_COLOR: Record<VideoHold, string> = {
  optimal: '#36d39b',
  capped: '#7aa2ff',
  lowered: '#ffb84c',
  paused: '#ff5d6c',
  muted: '#59617a',
  no_layers: '#3b4256',
  other: '#8a93a8',
};

export const LANE_COLOR: Record<EventLane, string> = {
  presence: '#cfd6e6',
  links: '#36d39b',
  media: '#7aa2ff',
  allocation: '#ffb84c',
  connection: '#b58cff',
  client: '#ff8fa3',
};

const GUTTER_L = 98;
const GUTTER_R = 46;
const TITLE_H = 15;

interface Dot {
  x: number;
  y: number;
  ev: TimelineEvent;
}

const kbps = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(v % 1e6 === 0 ? 0 : 1)}M` : `${Math.round(v / 1000)}k`);

export class TimelineChart {
  private base: HTMLCanvasElement = document.createElement('canvas');
  private tl: PersonTimeline | null = null;
  private view = { from: 0, to: 1 };
  private axis: Axis = { from: 0, to: 1, x0: GUTTER_L, x1: GUTTER_L + 1 };
  private dots: Dot[] = [];
  private plotTop = 0;
  private plotBottom = 0;
  private t = 0;
  private hover: Dot | null = null;
  private picked: TimelineEvent | null = null;
  private width = 0;
  private room = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onSeek: (ts: number) => void,
    private readonly onEvent: (e: TimelineEvent) => void,
  ) {
    canvas.addEventListener('click', (e) => {
      const p = this.local(e);
      const dot = this.dotAt(p.x, p.y);
      if (dot) this.onEvent(dot.ev);
      else if (p.x >= this.axis.x0 && p.x <= this.axis.x1) this.onSeek(Math.round(tsOf(this.axis, p.x)));
    });
    canvas.addEventListener('mousemove', (e) => {
      const p = this.local(e);
      const dot = this.dotAt(p.x, p.y);
      if (dot !== this.hover) {
        this.hover = dot;
        canvas.title = dot ? `${fmtClock(dot.ev.ts)} ${dot.ev.text}` : '';
        canvas.style.cursor = dot ? 'pointer' : 'crosshair';
        this.paint();
      }
    });
    // A new width, or new room (the why box opened or closed): lay out again.
    new ResizeObserver(() => {
      const room = this.canvas.parentElement?.clientHeight ?? 0;
      if (this.canvas.clientWidth !== this.width || room !== this.room) this.render();
    }).observe(canvas.parentElement ?? canvas);
  }

  /** The events drawn as dots, with where they are (tests click them). */
  eventDots(): Array<{ ts: number; kind: string; x: number; y: number }> {
    return this.dots.map((d) => ({ ts: d.ev.ts, kind: d.ev.kind, x: d.x, y: d.y }));
  }

  show(tl: PersonTimeline | null, view: { from: number; to: number }): void {
    this.tl = tl;
    this.view = view;
    this.picked = null;
    this.render();
  }

  setTime(t: number): void {
    this.t = t;
    this.paint();
  }

  /** Ring the event whose "why" is open. */
  pick(e: TimelineEvent | null): void {
    this.picked = e;
    this.paint();
  }

  private local(e: MouseEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  private dotAt(x: number, y: number): Dot | null {
    let best: Dot | null = null;
    let bestD = 7;
    for (const d of this.dots) {
      const dist = Math.hypot(d.x - x, (d.y - y) * 1.5);
      if (dist < bestD) (best = d), (bestD = dist);
    }
    return best;
  }

  /** Lays out and draws the still picture into `base`, then the cursor. */
  private render(): void {
    const tl = this.tl;
    const w = this.canvas.clientWidth || this.canvas.parentElement?.clientWidth || 600;
    this.width = w;
    const dpr = window.devicePixelRatio || 1;
    const room = this.canvas.parentElement?.clientHeight ?? 500;
    this.room = room;
    const videos = tl ? tl.received.reduce((n, p) => n + Math.max(1, p.videos.length), 0) : 0;
    const pubs = tl?.received.length ?? 0;
    const baseH = 8 + TITLE_H + pubs * 30 + videos * 5 + TITLE_H + 70 + TITLE_H + 44 + TITLE_H + 30 + TITLE_H + LANES.length * 11 + 22;
    // Taller plots when the panel has room (1080 p), a little shorter when it has little (640 p).
    const k = Math.max(0.8, Math.min(2.2, (room - 4) / baseH));
    const rowH = (h: number) => Math.round(h * k);
    const a: Axis = { from: this.view.from, to: this.view.to, x0: GUTTER_L, x1: w - GUTTER_R };
    this.axis = a;

    let y = 8;
    const title = (g: CanvasRenderingContext2D, text: string, legend: Array<[string, string]> = []) => {
      g.font = '600 10px Inter, system-ui, sans-serif';
      g.textBaseline = 'middle';
      g.textAlign = 'left';
      g.fillStyle = '#8a93a8';
      g.fillText(text.toUpperCase(), 10, y + 7);
      let lx = a.x1;
      g.textAlign = 'right';
      for (const [label, color] of [...legend].reverse()) {
        g.fillStyle = '#aab2c5';
        g.fillText(label, lx, y + 7);
        lx -= g.measureText(label).width + 5;
        g.fillStyle = color;
        g.fillRect(lx - 8, y + 6, 8, 2.5);
        lx -= 16;
      }
      y += TITLE_H;
    };

    // Drawn into a base taller than needed; the canvas takes the height actually used.
    const roomy = Math.ceil((tl ? baseH * k : 0) * 1.3 + 120);
    this.base.width = Math.round(w * dpr);
    this.base.height = Math.round(roomy * dpr);
    const g = this.base.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, roomy);
    this.dots = [];
    const fit = (h: number) => {
      this.canvas.width = this.base.width;
      this.canvas.height = Math.round(h * dpr);
      this.canvas.style.height = `${h}px`;
      this.paint();
    };
    if (!tl) return fit(0);
    this.plotTop = y;

    // Outside their presence: shaded, so a gap reads as "not there", not as "nothing received".
    const shadeAbsence = (top: number, bottom: number) => {
      g.fillStyle = 'rgba(0,0,0,.28)';
      let at = a.from;
      for (const [p0, p1] of [...tl.present, [a.to, a.to] as [number, number]]) {
        if (p0 > at) g.fillRect(xOf(a, at), top, xOf(a, Math.min(p0, a.to)) - xOf(a, at), bottom - top);
        at = Math.max(at, p1);
      }
    };
    const frame = (top: number, bottom: number) => {
      g.fillStyle = 'rgba(255,255,255,.025)';
      g.fillRect(a.x0, top, a.x1 - a.x0, bottom - top);
      shadeAbsence(top, bottom);
    };

    // Received, per publisher: one shared scale so rows compare.
    title(g, 'Received from', [
      ['optimal', HOLD_COLOR.optimal],
      ['lowered', HOLD_COLOR.lowered],
      ['paused', HOLD_COLOR.paused],
      ['capped', HOLD_COLOR.capped],
    ]);
    let recvMax = 100_000;
    for (const p of tl.received) for (const [, v] of p.bps) if (v !== null && v > recvMax) recvMax = v;
    if (tl.received.length === 0) {
      g.fillStyle = '#6f7890';
      g.font = '11px Inter, system-ui, sans-serif';
      g.fillText('nothing received in this range', a.x0, y + 10);
      y += 22;
    }
    for (const p of tl.received) {
      const h = rowH(24);
      const s: Scale = { top: y + 2, bottom: y + h, max: recvMax * 1.05 };
      frame(y, y + h);
      const color = colorFor(p.publisher);
      drawSeries(g, a, s, p.bps, { color, width: 1.4, fill: colorFor(p.publisher).replace(')', ' / .22)') });
      g.fillStyle = color;
      g.beginPath();
      g.arc(12, y + h / 2, 4, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = '#e6e9f2';
      g.font = '600 11px Inter, system-ui, sans-serif';
      g.textAlign = 'left';
      g.textBaseline = 'middle';
      g.fillText(clip(g, p.name, GUTTER_L - 30), 21, y + h / 2);
      g.textAlign = 'left';
      g.fillStyle = '#6f7890';
      g.font = '10px Inter, system-ui, sans-serif';
      g.fillText(kbps(recvMax), a.x1 + 6, y + 6);
      y += h + 1;
      for (const v of p.videos.length ? p.videos : [{ spans: [] as HoldSpan[] }]) {
        drawBand(g, a, y, 4, v.spans.map((sp) => ({ from: sp.from, to: sp.to, color: HOLD_COLOR[sp.hold], hatch: sp.hold === 'paused' })));
        y += 5;
      }
      y += 4;
    }

    // The estimate towards them against what the allocation took and wanted.
    y += 4;
    title(g, 'Bandwidth', [
      ['estimate', '#5b8cff'],
      ['allocated', '#36d39b'],
      ['wanted', '#8a93a8'],
      ['sent', '#e6e9f2'],
    ]);
    {
      const h = rowH(70);
      let max = 300_000;
      for (const series of [tl.estimate, tl.allocated, tl.wanted, tl.sent, tl.budget]) for (const [ts, v] of series) if (v !== null && ts >= a.from && ts <= a.to && v > max) max = v;
      const s: Scale = { top: y, bottom: y + h, max: max * 1.08 };
      frame(y, y + h);
      drawGrid(g, a, s, { side: 'left', label: kbps, ticks: 3 });
      drawSeries(g, a, s, tl.wanted, { color: 'rgba(138,147,168,.9)', width: 1.2, step: true, dash: [4, 3] });
      drawSeries(g, a, s, tl.allocated, { color: '#36d39b', width: 1.6, step: true, fill: 'rgba(54,211,155,.10)' });
      drawSeries(g, a, s, tl.sent, { color: 'rgba(230,233,242,.55)', width: 1 });
      drawSeries(g, a, s, tl.estimate, { color: '#5b8cff', width: 2 });
      y += h + 6;
    }

    title(g, 'Loss · RTT', [
      ['loss %', '#ff5d6c'],
      ['RTT ms', '#ffb84c'],
    ]);
    {
      const h = rowH(44);
      let lossMax = 5;
      let rttMax = 100;
      for (const [, v] of tl.lossPct) if (v !== null && v > lossMax) lossMax = v;
      for (const [, v] of tl.rttMs) if (v !== null && v > rttMax) rttMax = v;
      const ls: Scale = { top: y, bottom: y + h, max: Math.min(100, lossMax * 1.1) };
      const rs: Scale = { top: y, bottom: y + h, max: rttMax * 1.1 };
      frame(y, y + h);
      drawGrid(g, a, ls, { side: 'left', label: (v) => `${Math.round(v)}%`, color: '#c9737d' });
      drawGrid(g, a, rs, { side: 'right', label: (v) => `${Math.round(v)}`, color: '#c9a06a' });
      drawSeries(g, a, ls, tl.lossPct, { color: '#ff5d6c', width: 1.4, fill: 'rgba(255,93,108,.18)' });
      drawSeries(g, a, rs, tl.rttMs, { color: '#ffb84c', width: 1.4 });
      y += h + 6;
    }

    title(g, 'Score · freezes', [
      ['score', '#36d39b'],
      ['freezes /10 s', '#b58cff'],
    ]);
    {
      const h = rowH(30);
      const s: Scale = { top: y + 2, bottom: y + h - 2, min: 1, max: 5 };
      frame(y, y + h);
      drawGrid(g, a, s, { side: 'left', label: (v) => (v === 3 && h < 36 ? '' : String(v)), ticks: 2 });
      // A step per sample, coloured by its level: green when good, amber when poor, red when lost.
      g.lineWidth = 2.2;
      tl.score.forEach(([ts, v], i) => {
        const next = tl.score[i + 1];
        if (v === null || !next || next[0] - ts > 5000) return;
        g.strokeStyle = v >= 3.5 ? '#36d39b' : v >= 2 ? '#ffb84c' : '#ff5d6c';
        g.beginPath();
        g.moveTo(xOf(a, ts), yOf(s, v));
        g.lineTo(xOf(a, next[0]), yOf(s, v));
        if (next[1] !== null) g.lineTo(xOf(a, next[0]), yOf(s, next[1]));
        g.stroke();
      });
      let fMax = 1;
      for (const [, v] of tl.freezes) if (v !== null && v > fMax) fMax = v;
      const fs: Scale = { top: y + 2, bottom: y + h - 2, max: fMax };
      drawSeries(g, a, fs, tl.freezes, { color: '#b58cff', width: 1.4, step: true, until: tl.present[tl.present.length - 1]?.[1] });
      g.fillStyle = '#8d79c0';
      g.font = '10px Inter, system-ui, sans-serif';
      g.textAlign = 'left';
      g.fillText(fMax >= 10 ? String(Math.round(fMax)) : fMax.toFixed(1).replace(/\.0$/, ''), a.x1 + 6, y + 6);
      y += h + 6;
    }

    title(g, 'Events');
    {
      const laneH = Math.round(11 * Math.min(k, 1.6));
      LANES.forEach((lane, i) => {
        const ly = y + i * laneH;
        g.fillStyle = i % 2 ? 'rgba(255,255,255,.02)' : 'rgba(255,255,255,.04)';
        g.fillRect(a.x0, ly, a.x1 - a.x0, laneH);
        g.fillStyle = '#8a93a8';
        g.font = `${laneH < 11 ? 9 : 10}px Inter, system-ui, sans-serif`;
        g.textAlign = 'right';
        g.textBaseline = 'middle';
        g.fillText(lane, a.x0 - 6, ly + laneH / 2);
      });
      shadeAbsence(y, y + LANES.length * laneH);
      for (const e of tl.events) {
        if (e.ts < a.from || e.ts > a.to) continue;
        const x = xOf(a, e.ts);
        const ly = y + LANES.indexOf(e.lane) * laneH + laneH / 2;
        g.fillStyle = LANE_COLOR[e.lane];
        g.beginPath();
        g.arc(x, ly, 2.6, 0, Math.PI * 2);
        g.fill();
        this.dots.push({ x, y: ly, ev: e });
      }
      y += LANES.length * laneH;
    }
    this.plotBottom = y;

    // The time axis.
    g.strokeStyle = 'rgba(255,255,255,.12)';
    g.beginPath();
    g.moveTo(a.x0, y + 0.5);
    g.lineTo(a.x1, y + 0.5);
    g.stroke();
    g.font = '10px Inter, system-ui, sans-serif';
    g.textBaseline = 'top';
    g.textAlign = 'center';
    g.fillStyle = '#8a93a8';
    for (const tick of timeTicks(a)) {
      const x = Math.round(xOf(a, tick)) + 0.5;
      g.fillStyle = 'rgba(255,255,255,.05)';
      g.fillRect(x, this.plotTop, 1, y - this.plotTop);
      g.fillStyle = '#8a93a8';
      g.fillText(fmtClock(tick, false), Math.min(a.x1 - 20, Math.max(a.x0 + 20, x)), y + 4);
    }
    fit(Math.ceil(y + 18));
  }

  /** The still picture, then the cursor at t and the hovered/picked event. */
  private paint(): void {
    const g = this.canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    g.drawImage(this.base, 0, 0);
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (!this.tl) return;
    for (const d of [this.hover, this.picked ? (this.dots.find((x) => x.ev === this.picked) ?? null) : null]) {
      if (!d) continue;
      g.strokeStyle = '#fff';
      g.lineWidth = 1.5;
      g.beginPath();
      g.arc(d.x, d.y, 5, 0, Math.PI * 2);
      g.stroke();
    }
    if (this.t < this.axis.from || this.t > this.axis.to) return;
    const x = Math.round(xOf(this.axis, this.t)) + 0.5;
    g.strokeStyle = 'rgba(255,255,255,.85)';
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(x, this.plotTop - 2);
    g.lineTo(x, this.plotBottom);
    g.stroke();
    g.fillStyle = '#fff';
    g.beginPath();
    g.moveTo(x - 4, this.plotTop - 6);
    g.lineTo(x + 4, this.plotTop - 6);
    g.lineTo(x, this.plotTop - 1);
    g.closePath();
    g.fill();
  }
}

function clip(g: CanvasRenderingContext2D, text: string, maxW: number): string {
  if (g.measureText(text).width <= maxW) return text;
  let s = text;
  while (s.length > 1 && g.measureText(`${s}…`).width > maxW) s = s.slice(0, -1);
  return `${s}…`;
}
