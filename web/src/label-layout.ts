/**
 * Where name labels go on the map so none covers another, nor another person's avatar, when people stand
 * together. Greedy, in the order given (you first): each label takes the first free place of a short list —
 * under its avatar, above it, beside it, then further down in rows — and when nothing is free, the place
 * that overlaps least. Pure: canvas pixels in, boxes out.
 */
export interface LabelItem {
  id: string;
  /** Avatar centre and radius, px. */
  cx: number;
  cy: number;
  r: number;
  /** Label size, px. */
  w: number;
  h: number;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PlacedLabel extends Box {
  id: string;
}

const GAP = 3;

export function overlapArea(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** The places tried for one label, best first. */
function candidates(it: LabelItem): Box[] {
  const { cx, cy, r, w, h } = it;
  const below = cy + r + GAP;
  const above = cy - r - GAP - h;
  const out: Box[] = [
    { x: cx - w / 2, y: below, w, h },
    { x: cx - w / 2, y: above, w, h },
    { x: cx + r + GAP, y: cy - h / 2, w, h },
    { x: cx - r - GAP - w, y: cy - h / 2, w, h },
    { x: cx + r * 0.3, y: below, w, h },
    { x: cx - w - r * 0.3, y: below, w, h },
    { x: cx + r * 0.3, y: above, w, h },
    { x: cx - w - r * 0.3, y: above, w, h },
  ];
  // Further away in rows, below then above, for a crowd.
  for (let k = 1; k <= 4; k++) {
    const dy = k * (h + GAP);
    out.push({ x: cx - w / 2, y: below + dy, w, h }, { x: cx - w / 2, y: above - dy, w, h });
  }
  return out;
}

export function placeLabels(items: readonly LabelItem[]): PlacedLabel[] {
  const avatars: Array<{ id: string; box: Box }> = items.map((it) => ({ id: it.id, box: { x: it.cx - it.r, y: it.cy - it.r, w: 2 * it.r, h: 2 * it.r } }));
  const placed: PlacedLabel[] = [];
  for (const it of items) {
    let best: Box | null = null;
    let bestCost = Infinity;
    for (const c of candidates(it)) {
      let cost = 0;
      for (const p of placed) cost += overlapArea(c, p);
      // Covering someone's face is worse than touching another label.
      for (const a of avatars) if (a.id !== it.id) cost += 2 * overlapArea(c, a.box);
      if (cost < bestCost) {
        best = c;
        bestCost = cost;
        if (cost === 0) break;
      }
    }
    placed.push({ id: it.id, ...best! });
  }
  return placed;
}
