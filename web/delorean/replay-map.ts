/**
 * The map at one moment of a replay: the live page's floor, avatars and link lines (web/src/map-layer.ts,
 * map-view.ts), but for everyone at once: a line for every pair with a link (an arrowhead where only one of
 * the two receives the other), the whole map fitted into the view, the selected person ringed like "you".
 */
import type { SpaceMap } from '../sdk/protocol.ts';
import { renderMapLayer } from '../src/map-layer.ts';
import { drawLinkLine, drawNameLabel, drawPerson } from '../src/map-view.ts';
import { placeLabels, type LabelItem, type PlacedLabel } from '../src/label-layout.ts';
import { linkPairs, type PersonAt, type ReplayState } from './replay-state.ts';
import { redrawOnNextFrame } from './redraw.ts';

export class ReplayMap {
  private layer: HTMLCanvasElement | null = null;
  private layerKey = '';
  private tile = 24;
  private origin = { x: 0, y: 0 };
  private centres = new Map<string, { x: number; y: number }>();
  private readonly invalidate = redrawOnNextFrame(() => this.draw());
  private scene: { map: SpaceMap; state: ReplayState; selected: string | null } | null = null;
  /** Name labels as last drawn, canvas CSS pixels. */
  labels: PlacedLabel[] = [];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    onPick: (id: string | null) => void,
  ) {
    canvas.addEventListener('click', (e) => onPick(this.personAt(e.clientX, e.clientY)));
    canvas.addEventListener('mousemove', (e) => (canvas.style.cursor = this.personAt(e.clientX, e.clientY) ? 'pointer' : 'default'));
    new ResizeObserver(() => this.invalidate()).observe(canvas);
  }

  show(map: SpaceMap, state: ReplayState, selected: string | null): void {
    this.scene = { map, state, selected };
    this.invalidate();
  }

  /** Who stands under a client point (their avatar circle), or null. */
  personAt(clientX: number, clientY: number): string | null {
    const r = this.canvas.getBoundingClientRect();
    const x = clientX - r.left;
    const y = clientY - r.top;
    let best: string | null = null;
    let bestD = this.tile * 0.55;
    for (const [id, c] of this.centres) {
      const d = Math.hypot(c.x - x, c.y - y);
      if (d < bestD) (best = id), (bestD = d);
    }
    return best;
  }

  /** A person's avatar centre in client coordinates (tests click it). */
  centreOf(id: string): { x: number; y: number } | null {
    const c = this.centres.get(id);
    if (!c) return null;
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + c.x, y: r.top + c.y };
  }


  private draw(): void {
    const g = this.canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth;
    const h = this.canvas.clientHeight;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#0f1117';
    g.fillRect(0, 0, w, h);
    if (!this.scene) return;
    const { map, state, selected } = this.scene;
    // The whole map in view: a replay watches everyone, not one person walking.
    const tile = Math.max(8, Math.min(44, Math.floor(Math.min((w - 16) / map.width, (h - 16) / map.height))));
    const key = `${map.name}:${map.width}x${map.height}:${tile}`;
    if (key !== this.layerKey) {
      this.layer = renderMapLayer(map, tile);
      this.layerKey = key;
    }
    this.tile = tile;
    this.origin = { x: Math.round((w - map.width * tile) / 2), y: Math.round((h - map.height * tile) / 2) };
    g.save();
    g.translate(this.origin.x, this.origin.y);
    g.drawImage(this.layer!, 0, 0);

    const people = Object.values(state.people);
    const at = spread(people);
    const px = (id: string) => {
      const p = at.get(id)!;
      return { x: (p.x + 0.5) * tile, y: (p.y + 0.5) * tile };
    };
    const pairs = linkPairs(state);
    const linked = new Set<string>();
    for (const l of pairs) {
      if (selected && l.a !== selected && l.b !== selected) continue;
      linked.add(l.a);
      linked.add(l.b);
    }
    for (const l of pairs) {
      const dim = selected !== null && l.a !== selected && l.b !== selected;
      const a = px(l.a);
      const b = px(l.b);
      g.save();
      if (dim) g.globalAlpha = 0.25;
      drawLinkLine(g, a.x, a.y, b.x, b.y, Math.max(l.ab ?? 0, l.ba ?? 0));
      // One way only: an arrowhead at the one who receives.
      if (l.ab === null || l.ba === null) arrowHead(g, l.ab === null ? b : a, l.ab === null ? a : b, tile);
      g.restore();
    }
    const micMuted = (id: string) => {
      const mine = Object.values(state.tracks).filter((t) => t.publisher === id);
      if (mine.length === 0) return false;
      const mic = mine.find((t) => t.source === 'microphone');
      return !mic || mic.muted;
    };
    this.centres.clear();
    const order = [...people].sort((a, b) => a.y - b.y || a.id.localeCompare(b.id));
    for (const p of order) {
      const c = px(p.id);
      this.centres.set(p.id, { x: c.x + this.origin.x, y: c.y + this.origin.y });
      g.save();
      if (selected && p.id !== selected && !linked.has(p.id)) g.globalAlpha = 0.55;
      drawPerson(g, p, c.x, c.y, tile, { self: p.id === selected, linked: linked.has(p.id), speaking: p.speaking, micMuted: micMuted(p.id) });
      g.restore();
    }
    this.drawLabels(g, order, px, selected);
    g.restore();
  }

  private drawLabels(g: CanvasRenderingContext2D, people: PersonAt[], px: (id: string) => { x: number; y: number }, selected: string | null): void {
    const fontPx = Math.max(10, Math.min(12, Math.round(this.tile * 0.34)));
    g.save();
    g.font = `600 ${fontPx}px Inter, system-ui, sans-serif`;
    const first = [...people].sort((a, b) => Number(b.id === selected) - Number(a.id === selected) || a.id.localeCompare(b.id));
    const items: LabelItem[] = first.map((p) => {
      const c = px(p.id);
      return { id: p.id, cx: c.x, cy: c.y, r: this.tile * 0.42 + 2, w: g.measureText(p.name).width + 12, h: fontPx + 6 };
    });
    const placed = placeLabels(items);
    this.labels = placed.map((b) => ({ ...b, x: b.x + this.origin.x, y: b.y + this.origin.y }));
    placed.forEach((b, i) => drawNameLabel(g, b, first[i]!.name, first[i]!.id === selected, first[i]!.mode === 'ghost'));
    g.restore();
  }
}

/** People on one tile are fanned out a little, as on the live page. */
function spread(people: PersonAt[]): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  const byTile = new Map<string, PersonAt[]>();
  for (const p of people) byTile.set(`${p.x},${p.y}`, [...(byTile.get(`${p.x},${p.y}`) ?? []), p]);
  for (const group of byTile.values()) {
    group.sort((a, b) => a.id.localeCompare(b.id));
    const step = Math.min(0.7, 1.6 / group.length);
    group.forEach((p, i) => out.set(p.id, group.length < 2 ? { x: p.x, y: p.y } : { x: p.x + (i - (group.length - 1) / 2) * step, y: p.y + (i % 2) * 0.25 }));
  }
  return out;
}

function arrowHead(g: CanvasRenderingContext2D, from: { x: number; y: number }, to: { x: number; y: number }, tile: number): void {
  const a = Math.atan2(to.y - from.y, to.x - from.x);
  // Stop at the avatar's edge.
  const back = tile * 0.55;
  const tx = to.x - Math.cos(a) * back;
  const ty = to.y - Math.sin(a) * back;
  const s = Math.max(5, tile * 0.22);
  g.fillStyle = 'rgba(54, 211, 155, .85)';
  g.beginPath();
  g.moveTo(tx, ty);
  g.lineTo(tx - Math.cos(a - 0.45) * s, ty - Math.sin(a - 0.45) * s);
  g.lineTo(tx - Math.cos(a + 0.45) * s, ty - Math.sin(a + 0.45) * s);
  g.closePath();
  g.fill();
}
