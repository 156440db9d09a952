/** CPU time and memory of a process from /proc (Linux), to measure a server apart from its load. */
import { readdirSync, readFileSync } from 'node:fs';
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
  /**
   * CPU time so far, ms: the on-CPU time of the process's live threads from schedstat (nanoseconds), or
   * user + system time from stat (10 ms ticks) where schedstat is missing. At a few percent of a core a
   * tick is ~1.5 % of a 10 s window's figure; schedstat is exact. A thread that exits inside a window takes
   * its time with it (Node's and Janus's threads live as long as the process or the session).
   */
  cpuMs: number;
  /** User + system time from stat (ticks), ms; counts exited threads too. */
  ticksCpuMs: number;
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
  const ticksCpuMs = (ticks * 1000) / clockTicks();
  return { cpuMs: threadsCpuMs(pid) ?? ticksCpuMs, ticksCpuMs, rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
}

/** Sum of sum_exec_runtime (proc(5), /proc/[pid]/task/[tid]/schedstat, first field, ns) over live threads. */
function threadsCpuMs(pid: number): number | null {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let ns = 0;
  let read = 0;
  for (const tid of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
    } catch {
      continue; // the thread exited between the listing and the read
    }
    const v = Number(text.slice(0, text.indexOf(' ')));
    if (!Number.isFinite(v)) return null;
    ns += v;
    read++;
  }
  return read > 0 ? ns / 1e6 : null;
}

/** CPU share (1 = one core) between two samples `wallMs` apart. */
export function cpuShare(a: ProcSample, b: ProcSample, wallMs: number): number {
  return wallMs > 0 ? (b.cpuMs - a.cpuMs) / wallMs : NaN;
}
