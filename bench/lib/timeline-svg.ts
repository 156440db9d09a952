/**
 * Renders a weather-timeline run as one SVG (no dependencies): the bandwidth estimate and the received rate,
 * the layer allocated to each video, and what the viewer saw (frame gaps of 200 ms and more, audio gaps),
 * over the weather phases. Pure: values in, a string out.
 */

export interface TimelinePhase {
  fromMs: number;
  toMs: number;
  label: string;
  /** Shaded: bad weather. */
  bad: boolean;
}

export interface TimelineSeries {
  /** ms since the start. */
  t: number[];
  estimateKbps: number[];
  receivedKbps: number[];
  /** Per track: name and its rung per sample (-1 paused). */
  layers: Array<{ name: string; rung: number[] }>;
  /** Per track: freeze events (start ms, duration ms) and audio gaps over 200 ms. */
  freezes: Array<{ name: string; events: Array<[number, number]>; audioGaps: Array<[number, number]> }>;
  rungLabels: string[];
}

const W = 1000;
const LEFT = 70;
const RIGHT = 20;
const COLORS = ['#1b7837', '#2166ac', '#e08214', '#b2182b', '#762a83', '#35978f'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderTimelineSvg(title: string, phases: readonly TimelinePhase[], s: TimelineSeries): string {
  const endMs = Math.max(s.t[s.t.length - 1] ?? 1, ...phases.map((p) => p.toMs));
  const x = (ms: number) => LEFT + ((W - LEFT - RIGHT) * ms) / endMs;
  const parts: string[] = [];
  let y0 = 50;
  const panel = (h: number, label: string, body: (top: number, h: number) => void) => {
    for (const p of phases) {
      if (p.bad) parts.push(`<rect x="${x(p.fromMs)}" y="${y0}" width="${x(p.toMs) - x(p.fromMs)}" height="${h}" fill="#f4e3c1" opacity="0.6"/>`);
    }
    parts.push(`<rect x="${LEFT}" y="${y0}" width="${W - LEFT - RIGHT}" height="${h}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="12" y="${y0 + h / 2}" font-size="12" transform="rotate(-90 12 ${y0 + h / 2})" text-anchor="middle">${esc(label)}</text>`);
    body(y0, h);
    y0 += h + 30;
  };
  const path = (xs: number[], ys: number[], color: string, width = 1.5, dash = '') =>
    `<path d="${xs.map((v, i) => `${i === 0 ? 'M' : 'L'}${v.toFixed(1)},${ys[i].toFixed(1)}`).join('')}" fill="none" stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;

  parts.push(`<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);

  // 1. Rates, log scale 100 kbit/s – 20 Mbit/s.
  panel(200, 'kbit/s (log)', (top, h) => {
    const lo = Math.log10(100);
    const hi = Math.log10(20_000);
    const y = (k: number) => top + h - ((Math.log10(Math.max(100, k)) - lo) / (hi - lo)) * h;
    for (const k of [100, 300, 1000, 3000, 10000]) {
      parts.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(k)}" y2="${y(k)}" stroke="#ddd"/><text x="${LEFT - 6}" y="${y(k) + 4}" font-size="10" text-anchor="end">${k}</text>`);
    }
    for (const p of phases) parts.push(`<text x="${(x(p.fromMs) + x(p.toMs)) / 2}" y="${top + 14}" font-size="11" text-anchor="middle" fill="#555">${esc(p.label)}</text>`);
    const xs = s.t.map(x);
    parts.push(path(xs, s.receivedKbps.map(y), '#888', 1.2));
    parts.push(path(xs, s.estimateKbps.map(y), '#2166ac', 2));
    parts.push(`<text x="${W - RIGHT - 4}" y="${top - 4}" font-size="11" text-anchor="end"><tspan fill="#2166ac">— bandwidth estimate</tspan>  <tspan fill="#888">— received</tspan></text>`);
  });

  // 2. Allocated layer per track.
  const rungs = s.rungLabels.length;
  panel(30 + 22 * rungs, 'allocated layer', (top, h) => {
    const y = (r: number) => top + h - 12 - ((r + 1) / rungs) * (h - 24);
    parts.push(`<text x="${LEFT - 6}" y="${y(-1) + 4}" font-size="10" text-anchor="end">paused</text>`);
    s.rungLabels.forEach((l, r) => parts.push(`<text x="${LEFT - 6}" y="${y(r) + 4}" font-size="10" text-anchor="end">${esc(l)}</text><line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(r)}" y2="${y(r)}" stroke="#eee"/>`));
    s.layers.forEach((tr, i) => {
      const off = (i - (s.layers.length - 1) / 2) * 2.5;
      // Steps: hold each value until the next sample.
      const xs: number[] = [];
      const ys: number[] = [];
      tr.rung.forEach((r, k) => {
        if (k > 0) (xs.push(x(s.t[k])), ys.push(y(tr.rung[k - 1]) + off));
        xs.push(x(s.t[k]));
        ys.push(y(r) + off);
      });
      parts.push(path(xs, ys, COLORS[i % COLORS.length], 1.8));
      parts.push(`<text x="${W - RIGHT - 4 - (s.layers.length - 1 - i) * 100}" y="${top - 4}" font-size="11" text-anchor="end" fill="${COLORS[i % COLORS.length]}">— ${esc(tr.name)}</text>`);
    });
  });

  // 3. What the viewer saw: freezes (frame gaps ≥ 200 ms) and audio gaps > 200 ms.
  panel(24 * s.freezes.length + 20, 'freezes', (top) => {
    s.freezes.forEach((tr, i) => {
      const yy = top + 12 + i * 24;
      const color = COLORS[i % COLORS.length];
      parts.push(`<text x="${LEFT - 6}" y="${yy + 9}" font-size="10" text-anchor="end" fill="${color}">${esc(tr.name)}</text><line x1="${LEFT}" x2="${W - RIGHT}" y1="${yy + 5}" y2="${yy + 5}" stroke="#eee"/>`);
      for (const [at, ms] of tr.events) parts.push(`<rect x="${x(at)}" y="${yy}" width="${Math.max(1.5, x(at + ms) - x(at))}" height="10" fill="${color}" opacity="0.8"><title>${Math.round(ms)} ms</title></rect>`);
      for (const [at, ms] of tr.audioGaps) parts.push(`<rect x="${x(at)}" y="${yy + 11}" width="${Math.max(1.5, x(at + ms) - x(at))}" height="4" fill="#000"><title>audio gap ${Math.round(ms)} ms</title></rect>`);
    });
  });

  // Time axis.
  for (let ms = 0; ms <= endMs; ms += 10_000) parts.push(`<text x="${x(ms)}" y="${y0 - 14}" font-size="10" text-anchor="middle">${ms / 1000} s</text>`);
  parts.push(`<text x="${W - RIGHT}" y="${y0}" font-size="10" text-anchor="end" fill="#555">bars: video frame gaps ≥ 200 ms as the page showed them (a paused video is one long gap); black ticks: audio gaps over 200 ms</text>`);
  const height = y0 + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif"><rect width="${W}" height="${height}" fill="#fff"/>${parts.join('')}</svg>\n`;
}
