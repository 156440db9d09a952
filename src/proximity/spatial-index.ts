/**
 * A uniform grid hash over a bounded plane: who is within radius r of a point, in O(items in the cells the
 * circle touches). With the cell side ≥ the largest radius asked for, that is at most 3×3 cells. Moves
 * within a cell cost nothing but the position update; across cells, two set operations.
 */
import { distance } from './rules.ts';

interface Entry<T> {
  readonly item: T;
  x: number;
  y: number;
  cell: number;
  /** Position in its cell's array, for O(1) swap-removal. */
  slot: number;
}

export class SpatialIndex<T> {
  private readonly cols: number;
  private readonly rows: number;
  /** Entries by cell, row-major; arrays rather than sets so a query reads positions without lookups. */
  private readonly cells: Array<Entry<T>[] | undefined>;
  private readonly entries = new Map<T, Entry<T>>();

  constructor(
    readonly width: number,
    readonly height: number,
    readonly cellSize: number,
  ) {
    if (!(cellSize > 0)) throw new RangeError(`cell size must be positive, got ${cellSize}`);
    this.cols = Math.max(1, Math.ceil(width / cellSize));
    this.rows = Math.max(1, Math.ceil(height / cellSize));
    this.cells = new Array(this.cols * this.rows);
  }

  get size(): number {
    return this.entries.size;
  }

  has(item: T): boolean {
    return this.entries.has(item);
  }

  insert(item: T, x: number, y: number): void {
    if (this.entries.has(item)) throw new Error('item already in the index');
    const e: Entry<T> = { item, x, y, cell: this.cellOf(x, y), slot: 0 };
    this.entries.set(item, e);
    this.attach(e);
  }

  move(item: T, x: number, y: number): void {
    const e = this.entries.get(item);
    if (!e) throw new Error('item not in the index');
    const cell = this.cellOf(x, y);
    if (cell !== e.cell) {
      this.detach(e);
      e.cell = cell;
      this.attach(e);
    }
    e.x = x;
    e.y = y;
  }

  remove(item: T): boolean {
    const e = this.entries.get(item);
    if (!e) return false;
    this.detach(e);
    this.entries.delete(item);
    return true;
  }

  /** Calls `visit` for every item at Euclidean distance ≤ r from (x, y), the point's own item included. */
  forEachWithin(x: number, y: number, r: number, visit: (item: T) => void): void {
    const found = this.within(x, y, r);
    for (let i = 0; i < found.length; i++) visit(found[i]!);
  }

  /** The items at Euclidean distance ≤ r from (x, y), appended to `out` (cleared first) and returned. */
  within(x: number, y: number, r: number, out: T[] = []): T[] {
    out.length = 0;
    const cs = this.cellSize;
    const c0 = Math.max(0, Math.floor((x - r) / cs));
    const c1 = Math.min(this.cols - 1, Math.floor((x + r) / cs));
    const r0 = Math.max(0, Math.floor((y - r) / cs));
    const r1 = Math.min(this.rows - 1, Math.floor((y + r) / cs));
    const p = { x, y };
    for (let row = r0; row <= r1; row++) {
      for (let col = c0; col <= c1; col++) {
        const list = this.cells[row * this.cols + col];
        if (list === undefined) continue;
        for (let i = 0; i < list.length; i++) {
          const e = list[i]!;
          if (distance(p, e) <= r) out.push(e.item);
        }
      }
    }
    return out;
  }

  private cellOf(x: number, y: number): number {
    if (!(x >= 0 && y >= 0 && x < this.width && y < this.height)) throw new RangeError(`(${x},${y}) is outside the ${this.width}×${this.height} index`);
    return Math.floor(y / this.cellSize) * this.cols + Math.floor(x / this.cellSize);
  }

  private attach(e: Entry<T>): void {
    let list = this.cells[e.cell];
    if (list === undefined) this.cells[e.cell] = list = [];
    e.slot = list.length;
    list.push(e);
  }

  private detach(e: Entry<T>): void {
    const list = this.cells[e.cell]!;
    const last = list.pop()!;
    if (last !== e) {
      list[e.slot] = last;
      last.slot = e.slot;
    }
  }
}
