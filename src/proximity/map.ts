/**
 * A space's tile map: parsed once from JSON (zod for shape, then the cross-field checks zod cannot express),
 * then read-only lookups in O(1) and A* pathfinding. The format is documented in docs/proximity.md.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { findPath as aStar, stepAllowed, type PathOptions } from './pathfinding.ts';

export interface Tile {
  readonly x: number;
  readonly y: number;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export type AreaKind = 'private' | 'stage';

export interface Area {
  readonly id: string;
  readonly name: string;
  readonly kind: AreaKind;
  readonly rects: readonly Rect[];
  /** The walkable tiles the rects cover, row-major. */
  readonly tiles: readonly Tile[];
}

/** Characters nobody can stand on; every other printable character is floor (decoration for clients). */
export const BLOCKING_CHARS = '#d';
/** Stage floor: a drawing hint that must lie inside a stage area (the area, not the char, makes a stage). */
export const STAGE_CHAR = 's';
/** Large enough for any real space, small enough that per-tile arrays stay cheap. */
export const MAX_MAP_SIDE = 1024;

export class MapError extends Error {
  override name = 'MapError';
  constructor(readonly issues: readonly string[]) {
    super(`invalid space map:\n${issues.map((i) => `  ${i}`).join('\n')}`);
  }
}

const Int = z.number().int();
const RectSchema = z.object({ x: Int.min(0), y: Int.min(0), w: Int.min(1), h: Int.min(1) }).strict();
const AreaSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'id: 1–64 of A-Z a-z 0-9 _ . -'),
    name: z.string().min(1).max(100),
    kind: z.enum(['private', 'stage']),
    rects: z.array(RectSchema).min(1),
  })
  .strict();
export const SpaceMapSchema = z
  .object({
    name: z.string().min(1).max(100),
    width: Int.min(1).max(MAX_MAP_SIDE),
    height: Int.min(1).max(MAX_MAP_SIDE),
    tiles: z.array(z.string()),
    areas: z.array(AreaSchema).default([]),
    spawn: z.object({ x: Int, y: Int }).strict(),
  })
  .strict();
export type SpaceMapJson = z.input<typeof SpaceMapSchema>;

export class SpaceMap {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly spawn: Tile;
  readonly areas: readonly Area[];
  private readonly rows: readonly string[];
  /** 1 = walkable, per tile (y * width + x). */
  private readonly walk: Uint8Array;
  /** Index into `areas`, or -1, per tile. */
  private readonly areaIdx: Int32Array;
  private readonly byId: ReadonlyMap<string, Area>;

  /** Use parseSpaceMap: this trusts that `rows`, `areas` and `areaIdx` were validated together. */
  constructor(name: string, rows: readonly string[], spawn: Tile, areas: readonly Area[], areaIdx: Int32Array) {
    this.name = name;
    this.width = rows[0]!.length;
    this.height = rows.length;
    this.rows = rows;
    this.spawn = spawn;
    this.areas = areas;
    this.areaIdx = areaIdx;
    this.walk = new Uint8Array(this.width * this.height);
    for (let y = 0; y < this.height; y++) {
      const row = rows[y]!;
      for (let x = 0; x < this.width; x++) this.walk[y * this.width + x] = BLOCKING_CHARS.includes(row[x]!) ? 0 : 1;
    }
    this.byId = new Map(areas.map((a) => [a.id, a]));
  }

  inBounds(x: number, y: number): boolean {
    return Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < this.width && y < this.height;
  }

  isWalkable(x: number, y: number): boolean {
    return this.inBounds(x, y) && this.walk[y * this.width + x] === 1;
  }

  /** The map character at a tile, or null outside the map. */
  charAt(x: number, y: number): string | null {
    return this.inBounds(x, y) ? this.rows[y]![x]! : null;
  }

  /** The private or stage area covering a tile (areas never overlap), or null. */
  areaAt(x: number, y: number): Area | null {
    if (!this.inBounds(x, y)) return null;
    const i = this.areaIdx[y * this.width + x]!;
    return i < 0 ? null : this.areas[i]!;
  }

  /** The id of the private area at a tile, or null (stage areas are not private). */
  privateAreaAt(x: number, y: number): string | null {
    const a = this.areaAt(x, y);
    return a !== null && a.kind === 'private' ? a.id : null;
  }

  /** A walkable tile inside a stage area: whoever stands there is heard by the whole space. */
  isStage(x: number, y: number): boolean {
    const a = this.areaAt(x, y);
    return a !== null && a.kind === 'stage' && this.isWalkable(x, y);
  }

  area(id: string): Area | undefined {
    return this.byId.get(id);
  }

  blockedTiles(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let y = 0; y < this.height; y++) for (let x = 0; x < this.width; x++) if (this.walk[y * this.width + x] === 0) out.push([x, y]);
    return out;
  }

  walkableTiles(): Tile[] {
    const out: Tile[] = [];
    for (let y = 0; y < this.height; y++) for (let x = 0; x < this.width; x++) if (this.walk[y * this.width + x] === 1) out.push({ x, y });
    return out;
  }

  /** One step from `from` to `to` is legal: a neighbour, walkable, no corner cut (the rule paths follow). */
  canStep(from: Tile, to: Tile): boolean {
    return stepAllowed(this.width, this.height, this.walk, from.x, from.y, to.x, to.y);
  }

  /** 8-neighbour A* (no corner cutting), from and to included; null if unreachable or over the work bound. */
  findPath(from: Tile, to: Tile, opts?: PathOptions): Tile[] | null {
    return aStar(this.width, this.height, this.walk, from, to, opts);
  }
}

/** Validates a parsed JSON value; throws MapError listing every problem with its field, row and column. */
export function parseSpaceMap(json: unknown): SpaceMap {
  const parsed = SpaceMapSchema.safeParse(json);
  if (!parsed.success) throw new MapError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  const m = parsed.data;
  const issues: string[] = [];

  if (m.tiles.length !== m.height) issues.push(`tiles: ${m.tiles.length} rows, height says ${m.height}`);
  m.tiles.forEach((row, y) => {
    if (row.length !== m.width) issues.push(`tiles[${y}]: ${row.length} columns, width says ${m.width}`);
    for (let x = 0; x < row.length; x++) {
      const c = row.charCodeAt(x);
      // Printable ASCII only: a space or tab is almost always an editing mistake.
      if (c < 0x21 || c > 0x7e) {
        issues.push(`tiles[${y}] column ${x}: ${JSON.stringify(row[x])} is not a tile character (printable ASCII, no spaces)`);
        break;
      }
    }
  });
  if (issues.length > 0) throw new MapError(issues);

  const W = m.width;
  const walkable = (x: number, y: number) => !BLOCKING_CHARS.includes(m.tiles[y]![x]!);
  const areaIdx = new Int32Array(W * m.height).fill(-1);
  const ids = new Set<string>();
  const areas: Area[] = [];
  m.areas.forEach((a, ai) => {
    const where = `areas[${ai}] '${a.id}'`;
    if (ids.has(a.id)) issues.push(`${where}: duplicate id`);
    ids.add(a.id);
    const tiles: Tile[] = [];
    a.rects.forEach((r, ri) => {
      if (r.x + r.w > W || r.y + r.h > m.height) {
        issues.push(`${where}.rects[${ri}]: {x:${r.x},y:${r.y},w:${r.w},h:${r.h}} extends past the ${W}×${m.height} map`);
        return;
      }
      for (let y = r.y; y < r.y + r.h; y++)
        for (let x = r.x; x < r.x + r.w; x++) {
          const prev = areaIdx[y * W + x]!;
          if (prev === ai) continue; // the area's own rects may overlap
          if (prev >= 0) {
            issues.push(`${where}.rects[${ri}]: overlaps areas[${prev}] '${m.areas[prev]!.id}' at (${x},${y})`);
            return;
          }
          areaIdx[y * W + x] = ai;
          if (walkable(x, y)) tiles.push({ x, y });
        }
    });
    if (tiles.length === 0) issues.push(`${where}: covers no walkable tile`);
    tiles.sort((p, q) => p.y - q.y || p.x - q.x);
    areas.push({ id: a.id, name: a.name, kind: a.kind, rects: a.rects, tiles });
  });

  for (let y = 0; y < m.height; y++) {
    const x = m.tiles[y]!.indexOf(STAGE_CHAR);
    for (let cx = x; cx >= 0; cx = m.tiles[y]!.indexOf(STAGE_CHAR, cx + 1)) {
      const ai = areaIdx[y * W + cx]!;
      if (ai < 0 || m.areas[ai]!.kind !== 'stage') {
        issues.push(`tiles[${y}] column ${cx}: '${STAGE_CHAR}' (stage floor) outside every stage area`);
        break;
      }
    }
  }

  const { x: sx, y: sy } = m.spawn;
  if (sx < 0 || sy < 0 || sx >= W || sy >= m.height) issues.push(`spawn: (${sx},${sy}) is outside the ${W}×${m.height} map`);
  else if (!walkable(sx, sy)) issues.push(`spawn: (${sx},${sy}) is not walkable ('${m.tiles[sy]![sx]}')`);

  if (issues.length > 0) throw new MapError(issues);
  return new SpaceMap(m.name, m.tiles, { x: sx, y: sy }, areas, areaIdx);
}

/** Reads and validates a map file; unreadable or non-JSON files are MapErrors too. */
export function loadSpaceMap(path: string | URL): SpaceMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new MapError([`${String(path)}: cannot read: ${(e as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MapError([`${String(path)}: not valid JSON: ${(e as Error).message}`]);
  }
  return parseSpaceMap(json);
}

/** The shipped default: an office with desks, a meeting room, a focus booth, an auditorium and a lobby. */
export const DEFAULT_MAP_URL = new URL('./maps/office.json', import.meta.url);
