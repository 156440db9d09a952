/**
 * A real Prometheus (Debian's) for tests: loopback, a temporary TSDB, scraping the given targets every
 * second. Queries go through its HTTP API (/api/v1/query).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from '../../tools/loadgen/server-process.ts';

export interface PrometheusHandle {
  readonly url: string;
  /** Instant query; the API's `data.result`. Throws on an error answer (a bad expression). */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Values of a label over the series matching `match`. */
  labelValues(label: string, match: string): Promise<string[]>;
  /** Resolves once every target has been scraped successfully at least `n` times since the call. */
  scrapes(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export async function startPrometheus(targets: string[], { startTimeoutMs = 20_000 } = {}): Promise<PrometheusHandle> {
  const bin = process.env.PROXIMA_PROMETHEUS ?? 'prometheus';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`prometheus not found (tried "${bin}"): install it with \`apt-get install prometheus\` (or \`bash scripts/setup.sh test\` as root), or point PROXIMA_PROMETHEUS at the binary`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'proxima-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: proxima\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`);
  const port = await freeTcpPort('127.0.0.1');
  const child = spawn(bin, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
    const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within ${startTimeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = async <T>(path: string): Promise<T> => {
    const body = (await (await fetch(`${url}${path}`)).json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? body.status}`);
    return body.data;
  };
  const scrapeCounts = async () => {
    const r = await api<{ result: Array<{ metric: { instance: string }; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent('count_over_time(up[1h])')}`);
    const ok = await api<{ result: Array<{ value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent('sum_over_time(up[1h])')}`);
    return { targets: r.result.length, min: Math.min(...ok.result.map((x) => Number(x.value[1]))) };
  };
  return {
    url,
    query: async (expr) => (await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    labelValues: (label, match) => api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(match)}`),
    async scrapes(n, timeoutMs = 30_000) {
      const start = await scrapeCounts();
      const base = Number.isFinite(start.min) ? start.min : 0;
      const until = Date.now() + timeoutMs;
      for (;;) {
        const c = await scrapeCounts();
        if (c.targets === targets.length && c.min >= base + n) return;
        if (Date.now() > until) throw new Error(`prometheus: fewer than ${n} good scrapes of ${targets.join(', ')} within ${timeoutMs} ms (${JSON.stringify(c)})`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    stop,
  };
}
