/**
 * The transport bar: play/pause at 1× or 10×, the time at the cursor, and a scrubber over the range that
 * shows how busy each moment was (events), when someone's allocation held videos back for bandwidth or a
 * score went poor (red), and where the selected person was there.
 */
import type { ReplayEvent } from './replay-state.ts';
import { fmtClock, fmtDateTime } from './format.ts';
import { xOf, tsOf, timeTicks, type Axis } from './chart-draw.ts';
import { redrawOnNextFrame } from './redraw.ts';

export interface ScrubberHost {
  seek(ts: number): void;
  setPlaying(on: boolean): void;
  setSpeed(x: number): void;
}

const PAD = 12;

export class Scrubber {
  private readonly canvas: HTMLCanvasElement;
  private readonly play: HTMLButtonElement;
  private readonly clock: HTMLElement;
  private readonly speeds: HTMLButtonElement[];
  private range = { from: 0, to: 1 };
  private density: Float32Array = new Float32Array(0);
  private trouble: Uint8Array = new Uint8Array(0);
  private present: Array<[number, number]> = [];
  private t = 0;
  private dragging = false;
  private readonly invalidate = redrawOnNextFrame(() => this.draw());
  private events: readonly ReplayEvent[] = [];

  constructor(root: HTMLElement, host: ScrubberHost) {
    this.play = Object.assign(document.createElement('button'), { className: 'play', textContent: '▶', title: 'play / pause (space)' });
    this.play.dataset.control = 'play';
    this.play.addEventListener('click', () => host.setPlaying(this.play.getAttribute('aria-pressed') !== 'true'));
    const seg = document.createElement('div');
    seg.className = 'segmented';
    this.speeds = [1, 10].map((x) => {
      const b = Object.assign(document.createElement('button'), { textContent: `${x}×` });
      b.dataset.speed = String(x);
      b.addEventListener('click', () => host.setSpeed(x));
      seg.append(b);
      return b;
    });
    this.clock = Object.assign(document.createElement('div'), { className: 'clock' });
    this.canvas = document.createElement('canvas');
    this.canvas.id = 'scrubber';
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('aria-label', 'time; arrow keys step 1 s, shift 10 s');
    root.append(this.play, seg, this.clock, this.canvas);
    const seekAt = (e: PointerEvent) => {
      const r = this.canvas.getBoundingClientRect();
      host.seek(Math.round(Math.max(this.range.from, Math.min(this.range.to - 1, tsOf(this.axis(), e.clientX - r.left)))));
    };
    this.canvas.addEventListener('pointerdown', (e) => {
      this.dragging = true;
      this.canvas.setPointerCapture(e.pointerId);
      seekAt(e);
    });
    this.canvas.addEventListener('pointermove', (e) => this.dragging && seekAt(e));
    this.canvas.addEventListener('pointerup', () => (this.dragging = false));
    new ResizeObserver(() => this.setEvents(this.events, this.range, this.present)).observe(this.canvas);
  }

  /** The range and its events: the density and trouble marks are worked out once per size. */
  setEvents(events: readonly ReplayEvent[], range: { from: number; to: number }, present: Array<[number, number]>): void {
    this.events = events;
    this.range = range;
    this.present = present;
    const w = Math.max(1, Math.floor(this.canvas.clientWidth - 2 * PAD));
    this.density = new Float32Array(w);
    this.trouble = new Uint8Array(w);
    const a = this.axis();
    for (const e of events) {
      const i = Math.floor(xOf(a, e.ts) - PAD);
      if (i < 0 || i >= w) continue;
      this.density[i]! += 1;
      const held = e.kind === 'allocation' && e.data.tracks.some((t) => t.kind === 'video' && t.reason === 'budget');
      const poor = e.kind === 'second' && (e.data.down?.level === 'poor' || e.data.down?.level === 'lost');
      if (held || poor) this.trouble[i] = 1;
    }
    this.invalidate();
  }

  setTime(t: number): void {
    this.t = t;
    this.clock.textContent = fmtClock(t);
    this.clock.title = fmtDateTime(t);
    this.invalidate();
  }

  setPlaying(on: boolean, speed: number): void {
    this.play.textContent = on ? '❚❚' : '▶';
    this.play.setAttribute('aria-pressed', String(on));
    for (const b of this.speeds) b.setAttribute('aria-pressed', String(Number(b.dataset.speed) === speed));
  }

  private axis(): Axis {
    return { from: this.range.from, to: this.range.to, x0: PAD, x1: Math.max(PAD + 1, this.canvas.clientWidth - PAD) };
  }


  private draw(): void {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const a = this.axis();
    const top = 6;
    const barH = h - 26;
    g.fillStyle = '#1e2230';
    g.beginPath();
    g.roundRect(a.x0 - 4, top, a.x1 - a.x0 + 8, barH, 6);
    g.fill();
    // Where the selected person was there.
    g.fillStyle = 'rgba(91,140,255,.16)';
    for (const [p0, p1] of this.present) g.fillRect(xOf(a, Math.max(p0, a.from)), top, xOf(a, Math.min(p1, a.to)) - xOf(a, Math.max(p0, a.from)), barH);
    let max = 1;
    for (const v of this.density) if (v > max) max = v;
    for (let i = 0; i < this.density.length; i++) {
      const v = this.density[i]!;
      if (v > 0) {
        const bh = Math.max(1, (Math.sqrt(v) / Math.sqrt(max)) * (barH - 6));
        g.fillStyle = 'rgba(138,147,168,.55)';
        g.fillRect(a.x0 + i, top + barH - 3 - bh, 1, bh);
      }
      if (this.trouble[i]) {
        g.fillStyle = 'rgba(255,93,108,.85)';
        g.fillRect(a.x0 + i, top + barH - 3, 1, 3);
      }
    }
    g.font = '10px Inter, system-ui, sans-serif';
    g.textBaseline = 'top';
    g.textAlign = 'center';
    for (const tick of timeTicks(a, 110)) {
      const x = Math.round(xOf(a, tick)) + 0.5;
      g.fillStyle = 'rgba(255,255,255,.12)';
      g.fillRect(x, top + barH, 1, 4);
      g.fillStyle = '#8a93a8';
      g.fillText(fmtClock(tick, false), Math.min(a.x1 - 22, Math.max(a.x0 + 22, x)), top + barH + 5);
    }
    // The cursor.
    const x = Math.round(xOf(a, this.t)) + 0.5;
    g.fillStyle = 'rgba(91,140,255,.25)';
    g.fillRect(a.x0, top, Math.max(0, x - a.x0), barH);
    g.strokeStyle = '#fff';
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(x, top - 3);
    g.lineTo(x, top + barH + 3);
    g.stroke();
    g.fillStyle = '#fff';
    g.beginPath();
    g.arc(x, top + barH / 2, 5, 0, Math.PI * 2);
    g.fill();
  }
}
