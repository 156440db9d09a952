import { isBlocked } from '../sdk/protocol.ts';
import type { ProximaClient } from '../sdk/proxima-client.ts';

const KEYS: Record<string, [number, number]> = {
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  w: [0, -1],
  s: [0, 1],
  a: [-1, 0],
  d: [1, 0],
};

/**
 * Moving: one tile per key press (arrows/WASD) and click-to-walk. One step is in flight at a time; a key
 * pressed meanwhile is remembered (the latest only) and sent when the step is accepted.
 */
export class Movement {
  /** The click-to-walk destination while the server walks us there. */
  target: { x: number; y: number } | null = null;
  /** Called when a walk starts or ends (the map redraws its target marker). */
  onTargetChange: () => void = () => {};
  private stepping = false;
  private queued: [number, number] | null = null;

  constructor(
    private readonly client: ProximaClient,
    private readonly onError: (message: string) => void,
  ) {}

  attach(canvas: HTMLCanvasElement, tileAt: (clientX: number, clientY: number) => { x: number; y: number } | null): void {
    window.addEventListener('keydown', (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement) return;
      const dir = KEYS[e.key.length === 1 ? e.key.toLowerCase() : e.key];
      if (!dir) return;
      e.preventDefault();
      this.step(dir[0], dir[1]);
    });
    canvas.addEventListener('click', (e) => {
      canvas.focus();
      const t = tileAt(e.clientX, e.clientY);
      if (t) void this.walkTo(t.x, t.y);
    });
  }

  step(dx: number, dy: number): void {
    if (this.target) return; // the server is walking us somewhere
    if (this.stepping) {
      this.queued = [dx, dy];
      return;
    }
    const self = this.client.self;
    const map = this.client.map;
    if (!self || !map) return;
    const x = self.x + dx;
    const y = self.y + dy;
    if (isBlocked(map, x, y)) return;
    this.stepping = true;
    this.client
      .move(x, y)
      .catch((e: Error) => this.onError(e.message))
      .finally(() => {
        this.stepping = false;
        const next = this.queued;
        this.queued = null;
        if (next) this.step(next[0], next[1]);
      });
  }

  async walkTo(x: number, y: number): Promise<void> {
    const map = this.client.map;
    if (!map || isBlocked(map, x, y)) return;
    this.queued = null;
    const target = (this.target = { x, y });
    this.onTargetChange();
    try {
      await this.client.move(x, y, { goTo: true });
    } catch (e) {
      this.onError((e as Error).message);
    } finally {
      if (this.target === target) {
        this.target = null;
        this.onTargetChange();
      }
    }
  }
}
