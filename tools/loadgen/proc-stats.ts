/** CPU time and memory of a process from /proc (Linux), to measure a server apart from its load. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond = 0;
function clockTicks(): number {
  if (!ticksPerSecond) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // the Linux default USER_HZ
    }
  }
  return ticksPerSecond;
}

export interface ProcSample {
  /** User + system CPU time so far, ms. */
  cpuMs: number;
  /** Resident set size, bytes. */
  rssBytes: number;
}

/** A sample of `pid`, or null if it is gone. */
export function sampleProcess(pid: number): ProcSample | null {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  // proc(5): fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  return { cpuMs: (ticks * 1000) / clockTicks(), rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
}

/** CPU share (1 = one core) between two samples `wallMs` apart. */
export function cpuShare(a: ProcSample, b: ProcSample, wallMs: number): number {
  return wallMs > 0 ? (b.cpuMs - a.cpuMs) / wallMs : NaN;
}
