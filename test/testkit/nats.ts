/**
 * A real nats-server for tests: loopback, a port the server picks itself (`-p -1`, so no race between
 * choosing a free port and binding it), JetStream in a temporary store directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerHandle {
  /** nats://127.0.0.1:port */
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory (null without JetStream). */
  readonly storeDir: string | null;
  /** Graceful shutdown (SIGTERM), then the temporary store is removed. Idempotent. */
  stop(): Promise<void>;
  /** kill -9: a crash, no goodbye to clients. The temporary store is removed afterwards. Idempotent. */
  kill(): Promise<void>;
}

export interface NatsServerOptions {
  jetstream?: boolean;
  /** The server binary; default $PROXIMA_NATS_SERVER, else `nats-server` from PATH. */
  binary?: string;
  /** Milliseconds to wait until the server accepts connections. */
  startTimeoutMs?: number;
  /** Require this user and password of every client. */
  auth?: { user: string; pass: string };
}

const running = new Set<ChildProcess>();
// A test process that dies must not leave servers behind.
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

function findBinary(explicit?: string): string {
  const bin = explicit ?? process.env.PROXIMA_NATS_SERVER ?? 'nats-server';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `nats-server not found (tried "${bin}"): install it with \`apt-get install nats-server\` ` +
        '(or `bash scripts/setup.sh test` as root), or point PROXIMA_NATS_SERVER at the binary',
    );
  }
  return bin;
}

export async function startNatsServer({ jetstream = true, binary, startTimeoutMs = 10_000, auth }: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = findBinary(binary);
  const storeDir = jetstream ? mkdtempSync(join(tmpdir(), 'proxima-nats-')) : null;
  const args = ['-a', '127.0.0.1', '-p', '-1'];
  if (auth) args.push('--user', auth.user, '--pass', auth.pass);
  if (storeDir) args.push('-js', '-sd', storeDir);
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));

  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not become ready within ${startTimeoutMs} ms`), startTimeoutMs);
    let found = 0;
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (storeDir) rmSync(storeDir, { recursive: true, force: true });
      reject(new Error(`nats-server ${why}; its log:\n${log.slice(-4000)}`));
    };
    child.once('error', (e) => fail(`failed to start: ${e.message}`));
    child.once('exit', (code, sig) => fail(`exited early (code ${code}, signal ${sig})`));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      log += chunk;
      if (log.length > 64_000) log = log.slice(-32_000);
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      if (m) found = Number(m[1]);
      // "Server is ready" comes after JetStream is up; the TCP probe confirms clients get an INFO.
      if (found && !settled && /Server is ready/.test(log)) {
        settled = true;
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  await waitForInfo(port, startTimeoutMs);

  let done: Promise<void> | null = null;
  const end = (signal: NodeJS.Signals) => {
    done ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      if (storeDir) rmSync(storeDir, { recursive: true, force: true });
    })();
    return done;
  };
  return { url: `nats://127.0.0.1:${port}`, port, storeDir, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}

/** Connects until the server greets with INFO (the NATS protocol's first line). */
async function waitForInfo(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect({ host: '127.0.0.1', port });
      s.setTimeout(1000, () => { s.destroy(); resolve(false); });
      s.once('error', () => resolve(false));
      s.once('data', (d) => { s.destroy(); resolve(d.toString('latin1').startsWith('INFO ')); });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server on port ${port} accepts no client connections`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
