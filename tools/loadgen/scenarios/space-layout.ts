/** Where to put simulated people on a space's map: open tiles, well-spread cluster centres, free spots near a point. */
import type { MapInfo } from '../../../src/signaling/messages.ts';

export interface Tile {
  x: number;
  y: number;
}

export class SpaceLayout {
  /** Walkable tiles outside private areas and stages: where a crowd can stand and walk. */
  readonly open: Tile[] = [];
  readonly stage: Tile[] = [];
  private readonly taken = new Set<number>();

  constructor(
    readonly map: MapInfo,
    private readonly rnd: () => number,
  ) {
    const inKind = (kind: 'private' | 'stage', x: number, y: number) =>
      map.areas.some((a) => a.kind === kind && a.rects.some((r) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h));
    for (let y = 0; y < map.height; y++) {
      for (let x = 0; x < map.width; x++) {
        if (map.blocked[y]?.[x] === '1') continue;
        if (inKind('stage', x, y)) this.stage.push({ x, y });
        else if (!inKind('private', x, y)) this.open.push({ x, y });
      }
    }
    if (this.open.length === 0) throw new Error(`map ${map.name} has no open walkable tile`);
  }

  /** `k` cluster centres spread by farthest-point sampling from a random start. */
  clusterCentres(k: number): Tile[] {
    const out: Tile[] = [this.pick(this.open)];
    while (out.length < k) {
      let best = this.open[0]!;
      let bestD = -1;
      for (const t of this.open) {
        let d = Infinity;
        for (const c of out) d = Math.min(d, (t.x - c.x) ** 2 + (t.y - c.y) ** 2);
        if (d > bestD) (bestD = d), (best = t);
      }
      out.push(best);
    }
    return out;
  }

  /** A free open tile within `radius` of `c` (the closest ring that has one), marked taken. */
  claimNear(c: Tile, radius = 2): Tile {
    for (let r = radius; r <= Math.max(this.map.width, this.map.height); r++) {
      const near = this.open.filter((t) => !this.taken.has(this.key(t)) && (t.x - c.x) ** 2 + (t.y - c.y) ** 2 <= r * r);
      if (near.length > 0) {
        const t = this.pick(near);
        this.taken.add(this.key(t));
        return t;
      }
    }
    return this.pick(this.open); // every tile taken: share one
  }

  /** A free open tile anywhere, marked taken. */
  claimAnywhere(): Tile {
    const free = this.open.filter((t) => !this.taken.has(this.key(t)));
    const t = this.pick(free.length > 0 ? free : this.open);
    this.taken.add(this.key(t));
    return t;
  }

  /** Forget a claim (someone walked away). */
  release(t: Tile): void {
    this.taken.delete(this.key(t));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  private key(t: Tile): number {
    return t.y * this.map.width + t.x;
  }
}
