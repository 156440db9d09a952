import type { Link, Person, SpaceMap } from '../sdk/protocol.ts';
import { renderMapLayer, roundRect, star } from './map-layer.ts';
import { colorFor, initials } from './palette.ts';
import { placeLabels, type Box, type LabelItem, type PlacedLabel } from './label-layout.ts';

/** What the view draws each frame. */
export interface Scene {
  map: SpaceMap;
  self: Person;
  people: Person[];
  links: Map<string, Link>;
  /** Where a click-to-walk is heading, while it lasts. */
  target: { x: number; y: number } | null;
  /** Who speaks now (of those you receive, and you). */
  speaking: ReadonlySet<string>;
  /** Whose microphone is muted (or who publishes none while publishing video). */
  micMuted: (id: string) => boolean;
}

const WALK_TILES_PER_S = 9;

/** The canvas: the map layer, link lines, avatars with names and badges; it follows you when the map is larger than the view. */
export class MapView {
  private layer: HTMLCanvasElement | null = null;
  private layerKey = '';
  private tile = 32;
  private origin = { x: 0, y: 0 };
  private readonly shown = new Map<string, { x: number; y: number }>();
  private readonly spread = new Map<string, { dx: number; dy: number }>();
  private hover: { x: number; y: number } | null = null;
  private last = performance.now();
  /** The name labels as last drawn, canvas CSS pixels (for tests: none may overlap). */
  labels: PlacedLabel[] = [];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly scene: () => Scene | null,
  ) {
    canvas.addEventListener('mousemove', (e) => {
      this.hover = this.tileAt(e.clientX, e.clientY);
      this.invalidate();
    });
    canvas.addEventListener('mouseleave', () => {
      this.hover = null;
      this.invalidate();
    });
    window.addEventListener('resize', () => this.invalidate());
  }

  /**
   * Draw on demand, not 60 times a second: a software-rendered canvas per page costs real CPU, and a
   * machine with several pages (or a laptop on battery) should spend it on video. Redraws keep going
   * only while something moves (a gliding avatar, the pulsing walk target, the hover highlight).
   */
  start(): void {
    this.invalidate();
  }

  /** Something in the scene changed: draw it in the next animation frame. */
  invalidate(): void {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame((now) => {
      this.framePending = false;
      if (this.draw(now)) this.invalidate();
    });
  }

  private framePending = false;

  /** The walkable-or-not tile under a client point, or null outside the map. */
  tileAt(clientX: number, clientY: number): { x: number; y: number } | null {
    const s = this.scene();
    if (!s) return null;
    const r = this.canvas.getBoundingClientRect();
    const x = Math.floor((clientX - r.left - this.origin.x) / this.tile);
    const y = Math.floor((clientY - r.top - this.origin.y) / this.tile);
    return x >= 0 && y >= 0 && x < s.map.width && y < s.map.height ? { x, y } : null;
  }

  /** Returns whether another frame is needed (something is still moving). */
  private draw(now: number): boolean {
    const dt = Math.min(0.1, (now - this.last) / 1000);
    this.last = now;
    const g = this.canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    const cssW = this.canvas.clientWidth;
    const cssH = this.canvas.clientHeight;
    if (this.canvas.width !== Math.round(cssW * dpr) || this.canvas.height !== Math.round(cssH * dpr)) {
      this.canvas.width = Math.round(cssW * dpr);
      this.canvas.height = Math.round(cssH * dpr);
    }
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#0f1117';
    g.fillRect(0, 0, cssW, cssH);
    const s = this.scene();
    if (!s) return false;

    const everyone = [...s.people, s.self];
    const moving = this.animate(everyone, dt);
    this.fanOut(everyone);
    this.layout(s.map, cssW, cssH);
    const t = this.tile;
    g.save();
    g.translate(this.origin.x, this.origin.y);
    g.drawImage(this.layer!, 0, 0);

    if (this.hover) {
      g.strokeStyle = 'rgba(255,255,255,.18)';
      g.lineWidth = 1.5;
      g.strokeRect(this.hover.x * t + 1, this.hover.y * t + 1, t - 2, t - 2);
    }
    if (s.target) this.drawTarget(g, s.target, now);
    this.drawLinks(g, s);
    const others = [...s.people].sort((a, b) => this.pos(a).y - this.pos(b).y);
    for (const p of others) this.drawAvatar(g, p, false, s.links.has(p.id), s);
    this.drawAvatar(g, s.self, true, false, s);
    this.drawLabels(g, s);
    g.restore();
    return moving || s.target !== null;
  }

  /**
   * Displayed positions glide toward the tile positions (a jump of more than a few tiles snaps); returns
   * whether anyone is still gliding.
   */
  private animate(everyone: Person[], dt: number): boolean {
    let moving = false;
    const ids = new Set<string>();
    for (const p of everyone) {
      ids.add(p.id);
      const d = this.shown.get(p.id);
      if (!d) {
        this.shown.set(p.id, { x: p.x, y: p.y });
        continue;
      }
      const dx = p.x - d.x;
      const dy = p.y - d.y;
      const dist = Math.hypot(dx, dy);
      const step = WALK_TILES_PER_S * dt;
      if (dist > 4 || dist <= step) (d.x = p.x), (d.y = p.y);
      else {
        d.x += (dx / dist) * step;
        d.y += (dy / dist) * step;
        moving = true;
      }
    }
    for (const id of [...this.shown.keys()]) if (!ids.has(id)) this.shown.delete(id);
    return moving;
  }

  private pos(p: Person): { x: number; y: number } {
    const d = this.shown.get(p.id) ?? p;
    const spread = this.spread.get(p.id);
    return spread ? { x: d.x + spread.dx, y: d.y + spread.dy } : d;
  }

  /** People standing on the same tile are fanned out a little so each stays visible. */
  private fanOut(everyone: Person[]): void {
    this.spread.clear();
    const byTile = new Map<string, Person[]>();
    for (const p of everyone) {
      const k = `${p.x},${p.y}`;
      byTile.set(k, [...(byTile.get(k) ?? []), p]);
    }
    for (const group of byTile.values()) {
      if (group.length < 2) continue;
      group.sort((a, b) => a.id.localeCompare(b.id));
      const step = Math.min(0.7, 1.6 / group.length);
      group.forEach((p, i) => this.spread.set(p.id, { dx: (i - (group.length - 1) / 2) * step, dy: (i % 2) * 0.25 }));
    }
  }

  private layout(map: SpaceMap, w: number, h: number): void {
    const fit = Math.floor(Math.min((w - 24) / map.width, (h - 24) / map.height));
    const tile = Math.max(28, Math.min(44, fit)); // below 28 avatars get hard to read: follow you instead
    const key = `${map.name}:${map.width}x${map.height}:${tile}`;
    if (key !== this.layerKey) {
      this.layer = renderMapLayer(map, tile);
      this.layerKey = key;
      this.tile = tile;
    }
    const s = this.scene()!;
    const me = this.pos(s.self);
    const axis = (view: number, size: number, at: number) => {
      const px = size * tile;
      if (px <= view) return Math.round((view - px) / 2);
      const o = view / 2 - (at + 0.5) * tile;
      return Math.round(Math.min(0, Math.max(view - px, o)));
    };
    this.origin = { x: axis(w, map.width, me.x), y: axis(h, map.height, me.y) };
  }

  private drawTarget(g: CanvasRenderingContext2D, p: { x: number; y: number }, now: number): void {
    const t = this.tile;
    const pulse = 0.5 + 0.5 * Math.sin(now / 180);
    g.strokeStyle = `rgba(91,140,255,${0.5 + 0.4 * pulse})`;
    g.lineWidth = 2;
    g.beginPath();
    g.arc((p.x + 0.5) * t, (p.y + 0.5) * t, t * (0.22 + 0.08 * pulse), 0, Math.PI * 2);
    g.stroke();
  }

  /** A line from you to everyone you receive, as strong as their audio gain. */
  private drawLinks(g: CanvasRenderingContext2D, s: Scene): void {
    const t = this.tile;
    const me = this.pos(s.self);
    for (const p of s.people) {
      const link = s.links.get(p.id);
      if (!link) continue;
      const q = this.pos(p);
      drawLinkLine(g, (me.x + 0.5) * t, (me.y + 0.5) * t, (q.x + 0.5) * t, (q.y + 0.5) * t, link.gain);
    }
  }

  private drawAvatar(g: CanvasRenderingContext2D, p: Person, isSelf: boolean, linked: boolean, s: Scene): void {
    const d = this.pos(p);
    drawPerson(g, p, (d.x + 0.5) * this.tile, (d.y + 0.5) * this.tile, this.tile, { self: isSelf, linked, speaking: s.speaking.has(p.id), micMuted: s.micMuted(p.id) });
  }

  /** Every name label, placed so none covers another label or a face (label-layout.ts); you first. */
  private drawLabels(g: CanvasRenderingContext2D, s: Scene): void {
    const t = this.tile;
    const fontPx = Math.max(10, Math.min(12, Math.round(t * 0.34)));
    g.save();
    g.font = `600 ${fontPx}px Inter, system-ui, sans-serif`;
    const people = [s.self, ...[...s.people].sort((a, b) => Number(s.links.has(b.id)) - Number(s.links.has(a.id)) || a.id.localeCompare(b.id))];
    const text = (p: Person) => (p === s.self ? `${p.name} (you)` : p.name);
    const items: LabelItem[] = people.map((p) => {
      const d = this.pos(p);
      return { id: p.id, cx: (d.x + 0.5) * t, cy: (d.y + 0.5) * t, r: t * 0.42 + 2, w: g.measureText(text(p)).width + 12, h: fontPx + 6 };
    });
    const placed = placeLabels(items);
    this.labels = placed.map((b) => ({ ...b, x: b.x + this.origin.x, y: b.y + this.origin.y }));
    placed.forEach((b, i) => {
      const p = people[i]!;
      drawNameLabel(g, b, text(p), p === s.self, p.mode === 'ghost');
    });
    g.restore();
  }
}

/** How one avatar is marked: you, linked to you, speaking, microphone off. */
export interface AvatarLook {
  self: boolean;
  linked: boolean;
  speaking: boolean;
  micMuted: boolean;
}

/** One person at canvas point (cx, cy) on tiles of `t` px: body, initials, rings and badges (the live page and the replay). */
export function drawPerson(g: CanvasRenderingContext2D, p: Person, cx: number, cy: number, t: number, look: AvatarLook): void {
  const { self: isSelf, linked } = look;
  const r = t * 0.42;
  g.save();
  if (p.mode === 'ghost') g.globalAlpha = 0.4;

  g.fillStyle = 'rgba(0,0,0,.35)';
  g.beginPath();
  g.ellipse(cx, cy + r * 0.95, r * 0.8, r * 0.28, 0, 0, Math.PI * 2);
  g.fill();

  if (p.spotlit) {
    g.fillStyle = 'rgba(255,184,76,.18)';
    g.beginPath();
    g.arc(cx, cy, r * 1.7, 0, Math.PI * 2);
    g.fill();
  }
  g.fillStyle = colorFor(p.id);
  g.beginPath();
  g.arc(cx, cy, r, 0, Math.PI * 2);
  g.fill();
  if (t >= 22) {
    g.fillStyle = 'rgba(12,14,20,.85)';
    g.font = `700 ${Math.round(r * 0.8)}px Inter, system-ui, sans-serif`;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(initials(p.name), cx, cy + 0.5);
  }
  const ring = isSelf ? '#ffffff' : p.spotlit ? '#ffb84c' : linked ? '#36d39b' : 'rgba(255,255,255,.25)';
  g.strokeStyle = ring;
  g.lineWidth = isSelf || p.spotlit ? 2.5 : 1.5;
  g.beginPath();
  g.arc(cx, cy, r + 1.5, 0, Math.PI * 2);
  g.stroke();
  if (isSelf) {
    g.strokeStyle = 'rgba(91,140,255,.55)';
    g.lineWidth = 2;
    g.beginPath();
    g.arc(cx, cy, r + 5, 0, Math.PI * 2);
    g.stroke();
  }
  if (look.speaking) {
    // Speaking: a green ring outside the others (still, not pulsing: a pulse would redraw 60 times a second).
    g.strokeStyle = '#36d39b';
    g.lineWidth = 3;
    g.beginPath();
    g.arc(cx, cy, r + 8, 0, Math.PI * 2);
    g.stroke();
  }

  const badge = r * 0.42;
  if (p.spotlit) {
    g.fillStyle = '#ffb84c';
    star(g, cx + r * 0.8, cy - r * 0.8, badge * 1.2);
  }
  if (p.mode === 'dnd') {
    drawBadge(g, cx + r * 0.78, cy + r * 0.78, badge, '#ff5d6c');
    g.fillStyle = '#fff';
    g.fillRect(cx + r * 0.78 - badge * 0.55, cy + r * 0.78 - badge * 0.16, badge * 1.1, badge * 0.32);
  } else if (p.mode === 'quiet') {
    drawBadge(g, cx + r * 0.78, cy + r * 0.78, badge, '#ffb84c');
    g.fillStyle = '#1a1e2a';
    g.beginPath();
    g.arc(cx + r * 0.78 + badge * 0.28, cy + r * 0.78 - badge * 0.18, badge * 0.6, 0, Math.PI * 2);
    g.fill();
  }
  if (look.micMuted) {
    // A red badge with a slash, bottom left: this person's microphone is off.
    const bx = cx - r * 0.78;
    const by = cy + r * 0.78;
    drawBadge(g, bx, by, badge, '#ff5d6c');
    g.strokeStyle = '#fff';
    g.lineWidth = Math.max(1.2, badge * 0.28);
    g.beginPath();
    g.moveTo(bx - badge * 0.5, by - badge * 0.5);
    g.lineTo(bx + badge * 0.5, by + badge * 0.5);
    g.stroke();
  }
  g.restore();
}

function drawBadge(g: CanvasRenderingContext2D, x: number, y: number, r: number, color: string): void {
  g.fillStyle = '#0f1117';
  g.beginPath();
  g.arc(x, y, r + 2, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = color;
  g.beginPath();
  g.arc(x, y, r, 0, Math.PI * 2);
  g.fill();
}

/** A dashed green line between two canvas points, as strong as the link's audio gain (0..1). */
export function drawLinkLine(g: CanvasRenderingContext2D, ax: number, ay: number, bx: number, by: number, gain: number): void {
  g.strokeStyle = `rgba(54, 211, 155, ${0.15 + 0.55 * gain})`;
  g.lineWidth = 1 + 2 * gain;
  g.setLineDash([4, 4]);
  g.beginPath();
  g.moveTo(ax, ay);
  g.lineTo(bx, by);
  g.stroke();
  g.setLineDash([]);
}

/** A name pill in a box placed by label-layout.ts (the font is the caller's); `accent`: blue, as your own. */
export function drawNameLabel(g: CanvasRenderingContext2D, b: Box, text: string, accent: boolean, ghost: boolean): void {
  g.globalAlpha = ghost ? 0.55 : 1;
  g.fillStyle = accent ? 'rgba(91,140,255,.9)' : 'rgba(12,14,20,.8)';
  roundRect(g, b.x, b.y, b.w, b.h, b.h / 2);
  g.fill();
  g.fillStyle = '#fff';
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText(text, b.x + b.w / 2, b.y + b.h / 2 + 0.5);
}
