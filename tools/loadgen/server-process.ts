/**
 * The embedded Proxima server as a child process of the load generator, so that its CPU and memory are
 * measured apart from the load's. Same entry point and defaults as `npm start`, on free loopback ports.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerProcess {
  url: string;
  pid: number;
  mediaPort: number;
  logFile: string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it exited. Safe to call twice. */
  close(): Promise<void>;
}

export interface ServerProcessOptions {
  /** Extra PROXIMA_* environment (e.g. PROXIMA_ANNOUNCED_PORT for a weather proxy). */
  env?: Record<string, string>;
  logFile?: string;
  host?: string;
  startTimeoutMs?: number;
  /** Extra node flags for the server (e.g. --cpu-prof); PROXIMA_SERVER_NODE_ARGS adds more. */
  nodeArgs?: string[];
  /** The checkout whose server runs (default: this one), e.g. another commit's work tree for a before/after. */
  root?: string;
  /**
   * Run the TypeScript sources through tsx (default: what the tests run) or the compiled JavaScript that
   * `npm start` runs (build/main.js, compiled first when a source is newer).
   */
  runtime?: ServerRuntime;
}

export type ServerRuntime = 'tsx' | 'compiled';

/** Compile `root`'s server to build/ unless it is up to date (scripts/build-server.mjs decides). */
export function ensureBuilt(root: string = ROOT): void {
  const script = join(root, 'scripts', 'build-server.mjs');
  if (!existsSync(script)) {
    if (existsSync(join(root, 'build', 'main.js'))) return;
    throw new Error(`${root}: no build/main.js and no scripts/build-server.mjs to make it`);
  }
  execFileSync(process.execPath, [script], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

export async function startProximaProcess(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const host = opts.host ?? '127.0.0.1';
  const httpPort = await freeTcpPort(host);
  // Media worker i binds mediaPort + i (media.workers, docs/workers.md): take a block that is free.
  const mediaPort = await freeUdpPortBlock(host, MEDIA_PORT_BLOCK);
  const nodeArgs = [...(opts.nodeArgs ?? []), ...(process.env.PROXIMA_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [])];
  const logFile = opts.logFile ?? join(ROOT, '.cache', 'loadgen', `proxima-${process.pid}-${httpPort}.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  const root = opts.root ?? ROOT;
  if (opts.runtime === 'compiled') ensureBuilt(root);
  const entry = opts.runtime === 'compiled' ? [join(root, 'build/main.js')] : ['--import', 'tsx', join(root, 'src/main.ts')];
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: root,
    env: {
      ...process.env,
      PROXIMA_HTTP_HOST: host,
      PROXIMA_HTTP_PORT: String(httpPort),
      PROXIMA_MEDIA_BIND_IP: host,
      PROXIMA_MEDIA_PORT: String(mediaPort),
      PROXIMA_MEDIA_TCP_PORT: '0',
      PROXIMA_ANNOUNCED_IP: host,
      PROXIMA_LOG_LEVEL: 'warn',
      // A load generator is many people behind one address: no per-address guest-token limit.
      PROXIMA_GUEST_TOKENS_PER_MINUTE: '0',
      // Recorded in memory: a load run or a test must not write into the checkout's data/ (nor share a file).
      PROXIMA_RECORDER_PATH: ':memory:',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://${host}:${httpPort}`;
  try {
    await waitHealthy(url, child, opts.startTimeoutMs ?? 60_000, logFile);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  let closing: Promise<void> | null = null;
  return {
    url,
    pid: child.pid!,
    mediaPort,
    logFile,
    close: () => (closing ??= stopChild(child, exited)),
  };
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`the Proxima server exited with code ${child.exitCode} while starting; see ${logFile}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the Proxima server did not answer ${url}/healthz within ${timeoutMs} ms; see ${logFile}`);
}

export function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Consecutive media ports kept free for the server: as many workers as a 16-core machine's default. */
const MEDIA_PORT_BLOCK = 16;

/**
 * The first of `count` consecutive UDP ports that were all free a moment ago (bound, then released),
 * from random starts below Linux's default ephemeral range (32768–60999), where the load side's own sockets
 * do not land once they are released; a plain free port when count is 1.
 */
export async function freeUdpPortBlock(host: string, count: number, attempts = 50): Promise<number> {
  if (count <= 1) return freeUdpPort(host);
  for (let i = 0; i < attempts; i++) {
    const base = 20_000 + Math.floor(Math.random() * (32_768 - 20_000 - count));
    const held: Socket[] = [];
    try {
      for (let p = base; p < base + count; p++) held.push(await bindUdp(host, p));
      return base;
    } catch {
      // taken: try another block
    } finally {
      await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
    }
  }
  throw new Error(`no ${count} consecutive free UDP ports on ${host} after ${attempts} tries`);
}

function bindUdp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.bind(port, host, () => resolve(s));
  });
}

export async function freeUdpPort(host: string): Promise<number> {
  const s = await bindUdp(host, 0);
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
