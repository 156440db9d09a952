import { Space } from './space.ts';

/** Spaces by id: created on first join, dropped when the last person leaves. */
export class SpaceRegistry {
  private readonly spaces = new Map<string, Space>();

  getOrCreate(id: string): Space {
    let s = this.spaces.get(id);
    if (!s) this.spaces.set(id, (s = new Space(id)));
    return s;
  }

  get(id: string): Space | undefined {
    return this.spaces.get(id);
  }

  releaseIfEmpty(space: Space): void {
    if (space.empty && this.spaces.get(space.id) === space) this.spaces.delete(space.id);
  }

  get size(): number {
    return this.spaces.size;
  }
}
