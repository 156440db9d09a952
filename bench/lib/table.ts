/** Plain-text tables for benchmark output: numbers right-aligned, one header rule. */

export type Cell = string | number;

/** Integers get thousands separators; other numbers keep `digits` decimals. */
export function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function printTable(title: string, columns: readonly string[], rows: readonly (readonly Cell[])[]): void {
  const text = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const widths = columns.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]?.length ?? 0)));
  const numeric = columns.map((_, i) => rows.every((r) => typeof r[i] === 'number' || /^[-\d.,%]+$/.test(String(r[i]))));
  const line = (cells: readonly string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const out = [title, line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)];
  process.stdout.write(out.join('\n') + '\n\n');
}
