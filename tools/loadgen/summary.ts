/** The end-of-run summary table: one row per report. */
import type { LoadReport } from './report.ts';

export function summaryRows(reports: readonly LoadReport[]): string[][] {
  const head = ['scenario', 'people', 'video streams', 'kbps/stream', 'fps/stream', 'frames', 'freezes', 'generator stalls', 'max gap ms', 'loss after RTX', 'delay p50/p99 ms', 'join→frame p50 ms', 'server cpu', 'server MB', 'loadgen cpu', 'errors'];
  const rows = reports.map((r) => [
    r.scenario,
    String(r.people),
    String(r.streams.video),
    r.video.kbpsPerStream.toFixed(0),
    r.video.fpsPerStream.toFixed(1),
    String(r.video.framesDecoded),
    String(r.video.freezes),
    String(r.video.generatorFreezes),
    String(r.video.maxGapMs),
    `${(r.video.lossAfterRtx * 100).toFixed(2)}%`,
    `${r.video.delayMs.p50}/${r.video.delayMs.p99}`,
    String(r.joinToFirstFrameMs.p50),
    r.server ? `${Math.round(r.server.cpu * 100)}%` : '-',
    r.server ? String(r.server.rssMb) : '-',
    `${Math.round(r.loadgen.cpu * 100)}%`,
    String(r.errors.length),
  ]);
  return [head, ...rows];
}

export function printSummary(reports: readonly LoadReport[], write = (s: string) => process.stdout.write(s)): void {
  const rows = summaryRows(reports);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  write(['', 'summary', line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line), ''].join('\n') + '\n');
}
