import type { ConfigInput } from '../../../src/config/config.ts';
import { testConfig } from '../proxima.ts';
import { ProximaServer } from '../../../src/server/proxima-server.ts';
import { createLogger } from '../../../src/util/logger.ts';

/** One parsed log line of the server's structured logger. */
export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  [k: string]: unknown;
}

/**
 * What a hostile test must be able to say afterwards: the server never logged an error and the
 * process saw no uncaught exception or unhandled rejection (the server shares this process).
 */
export interface ServerWatch {
  readonly logs: LogRecord[];
  readonly uncaught: unknown[];
  errors(): LogRecord[];
  /** Stop listening on the process (call in `after`). */
  dispose(): void;
}

/**
 * A real server on loopback like `startTestServer`, but its logger writes into memory so tests can
 * read what it said (stderr too when PROXIMA_TEST_LOG is set).
 */
export async function startWatchedServer(overrides: ConfigInput = {}): Promise<{ server: ProximaServer; watch: ServerWatch }> {
  const logs: LogRecord[] = [];
  const uncaught: unknown[] = [];
  const echo = process.env.PROXIMA_TEST_LOG !== undefined;
  const out = (line: string) => {
    if (echo) process.stderr.write(line + '\n');
    try {
      logs.push(JSON.parse(line) as LogRecord);
    } catch {
      logs.push({ level: 'error', msg: `unparseable log line: ${line}` });
    }
  };
  // info: state changes and close reasons are logged there; nothing per packet is.
  const log = createLogger((process.env.PROXIMA_TEST_LOG as 'debug' | undefined) ?? 'info', {}, out);
  const config = testConfig(overrides);
  const onUncaught = (e: unknown) => {
    uncaught.push(e);
    process.stderr.write(`[uncaught in test process] ${(e as Error)?.stack ?? String(e)}\n`);
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const server = await ProximaServer.start(config, { log });
  return {
    server,
    watch: {
      logs,
      uncaught,
      errors: () => logs.filter((l) => l.level === 'error'),
      dispose: () => {
        process.off('uncaughtException', onUncaught);
        process.off('unhandledRejection', onUncaught);
      },
    },
  };
}

/** Prometheus text → value by series (`name{labels}` exactly as exposed, or bare `name`). */
export async function scrapeMetrics(server: ProximaServer): Promise<Map<string, number>> {
  const res = await fetch(`${server.url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

export const dropSeries = (reason: string) => `proxima_packets_dropped_total{reason="${reason}"}`;
