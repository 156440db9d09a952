import type { Clock, TimerHandle } from '../util/clock.ts';

/**
 * Walks one person along a path at walking speed, one tile per step. A new walk, a step by hand, or
 * leaving cancels it. `onStep` applies each tile; `onDone` reports whether the destination was reached.
 */
export class Walker {
  private timer: TimerHandle | null = null;
  private finish: ((arrived: boolean) => void) | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly stepMs: number,
  ) {}

  get walking(): boolean {
    return this.timer !== null;
  }

  walk(path: ReadonlyArray<{ x: number; y: number }>, onStep: (x: number, y: number) => void, onDone: (arrived: boolean) => void): void {
    this.cancel();
    if (path.length === 0) {
      onDone(true);
      return;
    }
    let i = 0;
    this.finish = onDone;
    this.timer = this.clock.setInterval(() => {
      const p = path[i++]!;
      onStep(p.x, p.y);
      if (i >= path.length) this.end(true);
    }, this.stepMs);
  }

  cancel(): void {
    this.end(false);
  }

  private end(arrived: boolean): void {
    if (this.timer) this.clock.clear(this.timer);
    this.timer = null;
    const f = this.finish;
    this.finish = null;
    f?.(arrived);
  }
}
