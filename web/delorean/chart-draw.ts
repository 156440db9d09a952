/** Canvas primitives of the panel's charts: a time axis, lines with gaps, steps, bands. No chart library. */

export interface Axis {
  from: number;
  to: number;
  /** Pixel x of `from` and `to`. */
  x0: number;
  x1: number;
}

export const xOf = (a: Axis, ts: number): number => a.x0 + ((ts - a.from) / (a.to - a.from)) * (a.x1 - a.x0);
export const tsOf = (a: Axis, x: number): number => a.from + ((x - a.x0) / (a.x1 - a.x0)) * (a.to - a.from);

/** A vertical scale: value → pixel y within [top, bottom]. */
export interface Scale {
  top: number;
  bottom: number;
  max: number;
  min?: number;
}

export const yOf = (s: Scale, v: number): number => {
  const min = s.min ?? 0;
  const f = Math.max(0, Math.min(1, (v - min) / (s.max - min || 1)));
  return s.bottom - f * (s.bottom - s.top);
};

/** A round step for about `n` ticks over `span` (1, 2, 5 × 10^k). */
export function niceStep(span: number, n: number): number {
  const raw = span / Math.max(1, n);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * 1000);

/** Tick times for a time axis, about one per `px` pixels. */
export function timeTicks(a: Axis, px = 90): number[] {
  const want = (a.to - a.from) / Math.max(1, (a.x1 - a.x0) / px);
  const step = TIME_STEPS.find((s) => s >= want) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const out: number[] = [];
  // Ticks on round local times: offset by the zone so minutes fall on :00.
  const zone = new Date(a.from).getTimezoneOffset() * 60_000;
  for (let t = Math.ceil((a.from - zone) / step) * step + zone; t <= a.to; t += step) out.push(t);
  return out;
}

/** A line through [ts, v] points; null values break it; `step` holds each value until the next point. */
export function drawSeries(g: CanvasRenderingContext2D, a: Axis, s: Scale, pts: ReadonlyArray<readonly [number, number | null, ...unknown[]]>, o: { color: string; width?: number; step?: boolean; dash?: number[]; fill?: string; until?: number }): void {
  g.save();
  g.strokeStyle = o.color;
  g.lineWidth = o.width ?? 1.5;
  g.lineJoin = 'round';
  if (o.dash) g.setLineDash(o.dash);
  const runs: Array<Array<[number, number]>> = [];
  let run: Array<[number, number]> | null = null;
  pts.forEach(([ts, v], i) => {
    if (v === null || v === undefined) {
      run = null;
      return;
    }
    const x = Math.max(a.x0, Math.min(a.x1, xOf(a, ts)));
    const y = yOf(s, v);
    if (!run) runs.push((run = []));
    if (o.step && run.length > 0) run.push([x, run[run.length - 1]![1]]);
    run.push([x, y]);
    // A step's last value lasts until the next point (or `until`).
    if (o.step) {
      const next = pts[i + 1];
      const end = next ? next[0] : (o.until ?? a.to);
      if (!next || next[1] === null) run.push([Math.max(a.x0, Math.min(a.x1, xOf(a, end))), y]);
    }
  });
  for (const r of runs) {
    if (r.length === 0) continue;
    if (o.fill) {
      g.fillStyle = o.fill;
      g.beginPath();
      g.moveTo(r[0]![0], s.bottom);
      for (const [x, y] of r) g.lineTo(x, y);
      g.lineTo(r[r.length - 1]![0], s.bottom);
      g.closePath();
      g.fill();
    }
    g.beginPath();
    r.forEach(([x, y], i) => (i === 0 ? g.moveTo(x, y) : g.lineTo(x, y)));
    if (r.length === 1) g.lineTo(r[0]![0] + 1, r[0]![1]);
    g.stroke();
  }
  g.restore();
}

/** A horizontal band of [from, to) spans, each its colour. */
export function drawBand(g: CanvasRenderingContext2D, a: Axis, y: number, h: number, spans: ReadonlyArray<{ from: number; to: number; color: string; hatch?: boolean }>): void {
  for (const sp of spans) {
    const x0 = Math.max(a.x0, xOf(a, sp.from));
    const x1 = Math.min(a.x1, xOf(a, sp.to));
    if (x1 <= x0) continue;
    g.fillStyle = sp.color;
    g.fillRect(x0, y, Math.max(1, x1 - x0), h);
    if (sp.hatch) {
      g.save();
      g.beginPath();
      g.rect(x0, y, x1 - x0, h);
      g.clip();
      g.strokeStyle = 'rgba(15,17,23,.55)';
      g.lineWidth = 1;
      for (let x = x0 - h; x < x1; x += 4) {
        g.beginPath();
        g.moveTo(x, y + h);
        g.lineTo(x + h, y);
        g.stroke();
      }
      g.restore();
    }
  }
}

/** Faint grid lines at a scale's round values, with labels in the gutter (left or right). */
export function drawGrid(g: CanvasRenderingContext2D, a: Axis, s: Scale, o: { side: 'left' | 'right'; label: (v: number) => string; ticks?: number; color?: string }): void {
  const min = s.min ?? 0;
  const step = niceStep(s.max - min, o.ticks ?? 2);
  g.save();
  g.font = '10px Inter, system-ui, sans-serif';
  g.textBaseline = 'middle';
  g.fillStyle = o.color ?? '#6f7890';
  g.textAlign = o.side === 'left' ? 'right' : 'left';
  for (let v = min; v <= s.max + 1e-9; v += step) {
    const y = Math.round(yOf(s, v)) + 0.5;
    if (o.side === 'left') {
      g.strokeStyle = 'rgba(255,255,255,.05)';
      g.beginPath();
      g.moveTo(a.x0, y);
      g.lineTo(a.x1, y);
      g.stroke();
    }
    if (v > min || o.side === 'left') g.fillText(o.label(v), o.side === 'left' ? a.x0 - 6 : a.x1 + 6, Math.min(s.bottom - 4, Math.max(s.top + 4, y)));
  }
  g.restore();
}
