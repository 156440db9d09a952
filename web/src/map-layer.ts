import { isBlocked, type MapArea, type Rect, type SpaceMap } from '../sdk/protocol.ts';

/**
 * The still part of the view, drawn once per map and tile size into an offscreen canvas: floor, walls (blocked
 * tiles connected to the map's edge), desks (the other blocked tiles), and the areas with their names.
 */
export function renderMapLayer(map: SpaceMap, tile: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = map.width * tile;
  c.height = map.height * tile;
  const g = c.getContext('2d')!;
  const walls = wallTiles(map);

  for (let y = 0; y < map.height; y++)
    for (let x = 0; x < map.width; x++) {
      g.fillStyle = (x + y) % 2 === 0 ? '#1a1e2a' : '#1c2130';
      g.fillRect(x * tile, y * tile, tile, tile);
    }
  for (const a of map.areas) drawAreaFill(g, a, tile);
  for (let y = 0; y < map.height; y++)
    for (let x = 0; x < map.width; x++) {
      if (!isBlocked(map, x, y)) continue;
      if (walls.has(y * map.width + x)) drawWall(g, map, walls, x, y, tile);
      else drawDesk(g, map, walls, x, y, tile);
    }
  for (const a of map.areas) drawAreaLabel(g, a, tile);
  return c;
}

/**
 * Which blocked tiles are walls: those connected to the map's edge, and interior shapes that are thin and long
 * or ragged (partitions). Compact interior blocks are desks.
 */
function wallTiles(map: SpaceMap): Set<number> {
  const out = new Set<number>();
  const seen = new Set<number>();
  const component = (start: number): number[] => {
    const tiles: number[] = [];
    const stack = [start];
    seen.add(start);
    while (stack.length) {
      const k = stack.pop()!;
      tiles.push(k);
      const x = k % map.width;
      const y = (k - x) / map.width;
      for (const [nx, ny] of [[x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]]) {
        const nk = ny * map.width + nx;
        if (nx < 0 || ny < 0 || nx >= map.width || ny >= map.height || seen.has(nk) || !isBlocked(map, nx, ny)) continue;
        seen.add(nk);
        stack.push(nk);
      }
    }
    return tiles;
  };
  for (let y = 0; y < map.height; y++)
    for (let x = 0; x < map.width; x++) {
      const k = y * map.width + x;
      if (seen.has(k) || !isBlocked(map, x, y)) continue;
      const tiles = component(k);
      const xs = tiles.map((t) => t % map.width);
      const ys = tiles.map((t) => Math.floor(t / map.width));
      const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
      const w = x1 - x0 + 1;
      const h = y1 - y0 + 1;
      const edge = x0 === 0 || y0 === 0 || x1 === map.width - 1 || y1 === map.height - 1;
      const desk = !edge && tiles.length / (w * h) >= 0.6 && Math.max(w, h) <= 8 && !(Math.min(w, h) === 1 && Math.max(w, h) >= 6);
      if (!desk) for (const t of tiles) out.add(t);
    }
  return out;
}

function drawWall(g: CanvasRenderingContext2D, map: SpaceMap, walls: Set<number>, x: number, y: number, t: number): void {
  const px = x * t;
  const py = y * t;
  g.fillStyle = '#252b3a';
  g.fillRect(px, py, t, t);
  g.fillStyle = '#363e54';
  g.fillRect(px, py, t, Math.round(t * 0.72));
  const below = y + 1 < map.height && walls.has((y + 1) * map.width + x);
  if (!below) {
    g.fillStyle = 'rgba(0,0,0,.28)';
    g.fillRect(px, py + t, t, Math.max(2, t * 0.14));
  }
  g.fillStyle = 'rgba(255,255,255,.05)';
  g.fillRect(px, py, t, 1);
}

function drawDesk(g: CanvasRenderingContext2D, map: SpaceMap, walls: Set<number>, x: number, y: number, t: number): void {
  const desk = (dx: number, dy: number) => isBlocked(map, x + dx, y + dy) && !walls.has((y + dy) * map.width + (x + dx)) && x + dx >= 0 && y + dy >= 0;
  const inset = Math.max(2, Math.round(t * 0.1));
  const l = desk(-1, 0) ? 0 : inset;
  const r = desk(1, 0) ? 0 : inset;
  const top = desk(0, -1) ? 0 : inset;
  const b = desk(0, 1) ? 0 : inset;
  const px = x * t + l;
  const py = y * t + top;
  const w = t - l - r;
  const h = t - top - b;
  g.fillStyle = 'rgba(0,0,0,.25)';
  g.fillRect(px + 1, py + 2, w, h);
  g.fillStyle = '#4a3d30';
  g.fillRect(px, py, w, h);
  if (top) {
    g.fillStyle = '#6a5843';
    g.fillRect(px, py, w, 2);
  }
  // A monitor on the top-left tile of each desk.
  if (!desk(-1, 0) && !desk(0, -1) && t >= 18) {
    g.fillStyle = '#1b2233';
    g.fillRect(px + w * 0.2, py + h * 0.2, w * 0.55, h * 0.34);
    g.fillStyle = 'rgba(91,140,255,.45)';
    g.fillRect(px + w * 0.24, py + h * 0.24, w * 0.47, h * 0.24);
  }
}

const AREA_STYLE = {
  private: { fill: 'rgba(139, 92, 246, .15)', stroke: 'rgba(167, 139, 250, .6)', text: '#cbb8ff' },
  stage: { fill: 'rgba(255, 184, 76, .12)', stroke: 'rgba(255, 184, 76, .65)', text: '#ffd08a' },
} as const;

function drawAreaFill(g: CanvasRenderingContext2D, a: MapArea, t: number): void {
  const s = AREA_STYLE[a.kind];
  g.fillStyle = s.fill;
  for (const r of a.rects) g.fillRect(r.x * t, r.y * t, r.w * t, r.h * t);
  g.save();
  g.strokeStyle = s.stroke;
  g.lineWidth = 1.5;
  if (a.kind === 'private') g.setLineDash([6, 4]);
  for (const r of a.rects) g.strokeRect(r.x * t + 1, r.y * t + 1, r.w * t - 2, r.h * t - 2);
  g.restore();
}

function drawAreaLabel(g: CanvasRenderingContext2D, a: MapArea, t: number): void {
  const r = topLeftRect(a.rects);
  if (!r) return;
  const s = AREA_STYLE[a.kind];
  const fontPx = Math.max(10, Math.min(13, Math.round(t * 0.42)));
  g.font = `600 ${fontPx}px Inter, system-ui, sans-serif`;
  const text = a.kind === 'stage' ? `STAGE · ${a.name}` : a.name;
  const iconW = fontPx + 4;
  const w = g.measureText(text).width + iconW + 14;
  const h = fontPx + 8;
  const x = r.x * t + 6;
  const y = r.y * t + 6;
  g.fillStyle = 'rgba(12, 14, 20, .78)';
  roundRect(g, x, y, w, h, h / 2);
  g.fill();
  g.fillStyle = s.text;
  g.strokeStyle = s.text;
  if (a.kind === 'stage') star(g, x + 7 + fontPx / 2, y + h / 2, fontPx / 2);
  else lock(g, x + 7, y + 4, fontPx);
  g.textBaseline = 'middle';
  g.fillText(text, x + 7 + iconW, y + h / 2 + 0.5);
}

function topLeftRect(rects: Rect[]): Rect | undefined {
  return [...rects].sort((p, q) => p.y - q.y || p.x - q.x)[0];
}

export function roundRect(g: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number): void {
  g.beginPath();
  g.roundRect(x, y, w, h, r);
}

export function star(g: CanvasRenderingContext2D, cx: number, cy: number, r: number): void {
  g.beginPath();
  for (let i = 0; i < 10; i++) {
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    const rr = i % 2 === 0 ? r : r * 0.45;
    g.lineTo(cx + Math.cos(a) * rr, cy + Math.sin(a) * rr);
  }
  g.closePath();
  g.fill();
}

function lock(g: CanvasRenderingContext2D, x: number, y: number, size: number): void {
  const w = size * 0.7;
  const bodyH = size * 0.45;
  g.lineWidth = 1.6;
  g.beginPath();
  g.arc(x + w / 2, y + size * 0.38, w * 0.3, Math.PI, 0);
  g.stroke();
  g.fillRect(x, y + size * 0.38, w, bodyH);
}
