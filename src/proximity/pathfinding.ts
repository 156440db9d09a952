/**
 * A* on a tile grid, 8 neighbours (people walk diagonally in 2D spaces), straight steps cost 1 and diagonal
 * ones √2, octile-distance heuristic (admissible, so paths are shortest). A diagonal step needs both
 * orthogonal neighbours walkable: nobody slips between two walls that touch at a corner.
 */
import type { Tile } from './map.ts';

export interface PathOptions {
  /** Stop and return null after expanding this many tiles (default: every tile of the map once). */
  maxExpanded?: number;
}

const SQRT2 = Math.SQRT2;
const DX = [1, -1, 0, 0, 1, 1, -1, -1];
const DY = [0, 0, 1, -1, 1, -1, 1, -1];

/**
 * The one rule for a single step, shared by path-finding and by a person's own steps: to one of the 8
 * neighbours, onto a walkable tile, and diagonally only when both orthogonal neighbours are walkable too.
 */
export function stepAllowed(width: number, height: number, walkable: Uint8Array, fx: number, fy: number, tx: number, ty: number): boolean {
  const ok = (x: number, y: number) => Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < width && y < height && walkable[y * width + x] === 1;
  const dx = tx - fx;
  const dy = ty - fy;
  if (Math.abs(dx) > 1 || Math.abs(dy) > 1 || !ok(tx, ty)) return false;
  return dx === 0 || dy === 0 || (ok(fx + dx, fy) && ok(fx, fy + dy));
}

export function findPath(width: number, height: number, walkable: Uint8Array, from: Tile, to: Tile, opts: PathOptions = {}): Tile[] | null {
  const ok = (x: number, y: number) => Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < width && y < height && walkable[y * width + x] === 1;
  if (!ok(from.x, from.y) || !ok(to.x, to.y)) return null;
  const start = from.y * width + from.x;
  const goal = to.y * width + to.x;
  if (start === goal) return [{ x: from.x, y: from.y }];

  const n = width * height;
  const maxExpanded = opts.maxExpanded ?? n;
  const g = new Float64Array(n).fill(Infinity);
  const parent = new Int32Array(n).fill(-1);
  const closed = new Uint8Array(n);
  const heap = new MinHeap();
  const h = (i: number) => {
    const dx = Math.abs((i % width) - to.x);
    const dy = Math.abs(Math.floor(i / width) - to.y);
    return Math.max(dx, dy) + (SQRT2 - 1) * Math.min(dx, dy);
  };
  g[start] = 0;
  heap.push(start, h(start));
  let expanded = 0;
  while (heap.size > 0) {
    const cur = heap.pop();
    if (closed[cur]) continue; // a stale heap entry: we push duplicates instead of decrease-key
    if (cur === goal) return walkBack(parent, goal, width);
    closed[cur] = 1;
    if (++expanded > maxExpanded) return null;
    const cx = cur % width;
    const cy = (cur - cx) / width;
    for (let k = 0; k < 8; k++) {
      const nx = cx + DX[k]!;
      const ny = cy + DY[k]!;
      if (!stepAllowed(width, height, walkable, cx, cy, nx, ny)) continue; // no corner cutting
      const ni = ny * width + nx;
      if (closed[ni]) continue;
      const cand = g[cur]! + (k >= 4 ? SQRT2 : 1);
      if (cand < g[ni]!) {
        g[ni] = cand;
        parent[ni] = cur;
        heap.push(ni, cand + h(ni));
      }
    }
  }
  return null;
}

function walkBack(parent: Int32Array, goal: number, width: number): Tile[] {
  const out: Tile[] = [];
  for (let i = goal; i >= 0; i = parent[i]!) out.push({ x: i % width, y: Math.floor(i / width) });
  return out.reverse();
}

/** Binary min-heap of (node, priority) in parallel arrays. */
class MinHeap {
  private nodes: number[] = [];
  private prio: number[] = [];

  get size(): number {
    return this.nodes.length;
  }

  push(node: number, p: number): void {
    const { nodes, prio } = this;
    let i = nodes.length;
    nodes.push(node);
    prio.push(p);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (prio[up]! <= p) break;
      nodes[i] = nodes[up]!;
      prio[i] = prio[up]!;
      i = up;
    }
    nodes[i] = node;
    prio[i] = p;
  }

  pop(): number {
    const { nodes, prio } = this;
    const top = nodes[0]!;
    const lastN = nodes.pop()!;
    const lastP = prio.pop()!;
    const len = nodes.length;
    if (len > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= len) break;
        const r = l + 1;
        const c = r < len && prio[r]! < prio[l]! ? r : l;
        if (prio[c]! >= lastP) break;
        nodes[i] = nodes[c]!;
        prio[i] = prio[c]!;
        i = c;
      }
      nodes[i] = lastN;
      prio[i] = lastP;
    }
    return top;
  }
}
