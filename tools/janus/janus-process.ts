/**
 * Janus (Debian's janus package) inside a bench namespace: a config directory with only the VideoRoom
 * plugin and the HTTP transport, ICE lite with half trickle on the namespace's veth, started in the
 * foreground and stopped by pid.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { insideNamespace, type BenchNamespace } from './janus-netns.ts';

export interface JanusStartOptions {
  /** Where Janus runs; its veth is the only interface ICE may use. */
  ns: Pick<BenchNamespace, 'name' | 'veth' | 'exec'>;
  /** HTTP API port on 127.0.0.1 inside the namespace. Default 8088. */
  httpPort?: number;
  /** Janus log level 0–7 (4 = info). Default 3: warnings and errors. */
  debugLevel?: number;
  /** "min-max" for Janus's RTP sockets; default: any port. */
  rtpPortRange?: string;
  /** Default 10 s. */
  startTimeoutMs?: number;
  /** Default: `janus` from PATH. */
  janusBin?: string;
  /** Folder holding plugins/, transports/, events/, loggers/; default: found under /usr/lib. */
  libDir?: string;
  /** Keep the config directory and the log after close(). Default false (kept anyway if Janus died on its own). */
  keepDir?: boolean;
  /** Extra lines for janus.jcfg's media: section (e.g. `min_nack_queue = 500`). */
  mediaConfig?: string[];
}

export interface JanusProcess {
  /** The janus process itself (`ip netns exec` execs into it). */
  pid: number;
  /** HTTP API root, valid inside the namespace: http://127.0.0.1:<port>/janus */
  url: string;
  /** Config directory (conf/) and janus.log live here. */
  dir: string;
  logPath: string;
  /** Spawn to the first answered `info` request. */
  startupMs: number;
  /** The `server_info` answer. */
  info: Record<string, unknown>;
  /** Settles when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `killAfterMs` (default 5000). Safe to call twice. */
  close(killAfterMs?: number): Promise<void>;
}

const LIB_CANDIDATES = ['/usr/lib/janus', '/usr/local/lib/janus', '/opt/janus/lib/janus'];

/** The Janus library folder holding plugins/libjanus_videoroom.so. */
export function findJanusLibDir(): string {
  const dirs: string[] = [];
  try {
    for (const d of readdirSync('/usr/lib')) if (d.includes('-linux-')) dirs.push(join('/usr/lib', d, 'janus'));
  } catch {
    // no /usr/lib: try the fixed places
  }
  dirs.push(...LIB_CANDIDATES);
  const hit = dirs.find((d) => existsSync(join(d, 'plugins', 'libjanus_videoroom.so')) && existsSync(join(d, 'transports', 'libjanus_http.so')));
  if (!hit) throw new Error(`Janus VideoRoom plugin not found (looked in ${dirs.join(', ')}): install Debian's janus package (apt-get install janus)`);
  return hit;
}

/** Absolute path of `bin` on PATH, or an error that says how to get it. */
function findBinary(bin: string): string {
  const paths = bin.includes('/') ? [bin] : (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).map((p) => join(p, bin));
  for (const p of paths) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error(`\`${bin}\` not found on PATH: install Debian's janus package (apt-get install janus)`);
}

/** Every module of a folder but `keep`: Janus loads all *.so it finds unless disabled by name. */
function disableAllBut(dir: string, keep: string[]): string {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.so'));
  } catch {
    // a missing folder loads nothing
  }
  return names.filter((n) => !keep.includes(n)).join(',');
}

const q = (s: string) => JSON.stringify(s);

/** Writes janus.jcfg, the HTTP transport and VideoRoom configs into `confDir`. */
export function writeJanusConfig(confDir: string, o: { libDir: string; veth: string; httpPort: number; debugLevel: number; rtpPortRange?: string; mediaConfig?: string[] }): void {
  const lib = (sub: string) => join(o.libDir, sub);
  const media = [...(o.rtpPortRange ? [`rtp_port_range = ${q(o.rtpPortRange)}`] : []), ...(o.mediaConfig ?? [])];
  const janus = `general: {
\tconfigs_folder = ${q(confDir)}
\tplugins_folder = ${q(lib('plugins'))}
\ttransports_folder = ${q(lib('transports'))}
\tevents_folder = ${q(lib('events'))}
\tloggers_folder = ${q(lib('loggers'))}
\tdebug_level = ${o.debugLevel}
\tdebug_timestamps = true
\tdebug_colors = false
\tinterface = "127.0.0.1"
\tserver_name = "proxima-bench-janus"
}
certificates: {
}
media: {
${media.map((l) => `\t${l}`).join('\n')}
}
nat: {
\tnice_debug = false
\tice_lite = true
\tfull_trickle = false
\tice_enforce_list = ${q(o.veth)}
\tignore_mdns = true
}
plugins: {
\tdisable = ${q(disableAllBut(lib('plugins'), ['libjanus_videoroom.so']))}
}
transports: {
\tdisable = ${q(disableAllBut(lib('transports'), ['libjanus_http.so']))}
}
loggers: {
\tdisable = ${q(disableAllBut(lib('loggers'), []))}
}
events: {
\tbroadcast = false
}
`;
  // No admin API: the bench needs only the Janus API.
  const http = `general: {
\tjson = "plain"
\tbase_path = "/janus"
\thttp = true
\tport = ${o.httpPort}
\tip = "127.0.0.1"
\thttps = false
}
admin: {
\tadmin_http = false
\tadmin_https = false
}
cors: {
}
`;
  // Rooms are created over the API (JanusVideoRoomClient.createRoom); none from config.
  const videoroom = `general: {
\tevents = false
}
`;
  writeFileSync(join(confDir, 'janus.jcfg'), janus);
  writeFileSync(join(confDir, 'janus.transport.http.jcfg'), http);
  writeFileSync(join(confDir, 'janus.plugin.videoroom.jcfg'), videoroom);
}

/**
 * The probe run inside the namespace when we are not in it: says it is polling (Janus is spawned only
 * then, so node's own start-up is not counted), polls `info`, prints when and what answered.
 */
const PROBE = `
const [url, deadline] = [process.argv[1], Number(process.argv[2])];
console.log('polling');
for (;;) {
  try {
    const r = await fetch(url, { method: 'POST', body: JSON.stringify({ janus: 'info', transaction: 'probe' }), signal: AbortSignal.timeout(1000) });
    const info = await r.json();
    if (info.janus === 'server_info') { console.log(JSON.stringify({ readyAt: Date.now(), info })); process.exit(0); }
  } catch {}
  if (Date.now() > deadline) process.exit(3);
  await new Promise((r) => setTimeout(r, 5));
}`;

type Ready = { readyAt: number; info: Record<string, unknown> };

async function probeInfo(url: string, deadline: number, signal: AbortSignal): Promise<Ready | null> {
  while (!signal.aborted) {
    try {
      const r = await fetch(url, { method: 'POST', body: JSON.stringify({ janus: 'info', transaction: 'probe' }), signal: AbortSignal.timeout(1000) });
      const info = (await r.json()) as Record<string, unknown>;
      if (info.janus === 'server_info') return { readyAt: Date.now(), info };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 5));
  }
  return null;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited between our check and the signal
  }
}

function logTail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts Janus in `opts.ns` and waits until its HTTP API answers `info`. */
export async function startJanus(opts: JanusStartOptions): Promise<JanusProcess> {
  const bin = findBinary(opts.janusBin ?? 'janus');
  const libDir = opts.libDir ?? findJanusLibDir();
  const httpPort = opts.httpPort ?? 8088;
  const dir = mkdtempSync(join(tmpdir(), 'proxima-janus-'));
  // conf/ apart from the log: Janus reads every *.jcfg of its config folder.
  const confDir = join(dir, 'conf');
  mkdirSync(confDir);
  writeJanusConfig(confDir, { libDir, veth: opts.ns.veth, httpPort, debugLevel: opts.debugLevel ?? 3, ...(opts.rtpPortRange ? { rtpPortRange: opts.rtpPortRange } : {}), ...(opts.mediaConfig ? { mediaConfig: opts.mediaConfig } : {}) });
  const logPath = join(dir, 'janus.log');
  const url = `http://127.0.0.1:${httpPort}/janus`;
  const timeoutMs = opts.startTimeoutMs ?? 10_000;

  const probe = new AbortController();
  const { result: ready } = await startProbe(opts.ns, url, Date.now() + timeoutMs + 1000, probe.signal);
  const fd = openSync(logPath, 'a');
  const cmd = opts.ns.exec(bin, ['-F', confDir, '-o']);
  const t0 = Date.now();
  const child = spawn(cmd.file, cmd.args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve((exitInfo = { code, signal })));
    child.on('error', () => resolve((exitInfo = { code: null, signal: null })));
  });
  const pid = child.pid;
  const fail = (why: string) => new Error(`Janus ${why}; log: ${logPath}\n${logTail(logPath)}`);
  if (pid === undefined) {
    probe.abort();
    throw fail('did not start (spawn failed: is iproute2 installed?)');
  }

  let stop: Promise<void> | null = null;
  let keep = opts.keepDir ?? false;
  const close = (killAfterMs = 5000): Promise<void> =>
    (stop ??= (async () => {
      if (!exitInfo) {
        signal(pid, 'SIGTERM');
        const timer = setTimeout(() => !exitInfo && signal(pid, 'SIGKILL'), killAfterMs);
        await exited;
        clearTimeout(timer);
      } else keep = true; // it exited before we asked: a crash, keep its log
      if (!keep) rmSync(dir, { recursive: true, force: true });
    })());

  try {
    const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs).unref());
    const up = await Promise.race([
      ready,
      timeout,
      exited.then((e) => {
        throw fail(`exited during startup (code ${e.code}, signal ${e.signal})`);
      }),
    ]);
    if (!up) throw fail(`HTTP API at ${url} did not answer within ${timeoutMs} ms`);
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm !== 'janus') throw fail(`pid ${pid} is "${comm}", not janus`);
    return { pid, url, dir, logPath, startupMs: up.readyAt - t0, info: up.info, exited, close };
  } catch (e) {
    probe.abort();
    keep = true;
    await close(1000);
    throw e;
  }
}

/**
 * Starts polling Janus's `info`: directly when we are inside the namespace, else from a probe process in
 * it. Resolves once polling runs, with the promise of the first answer (null past the deadline).
 */
async function startProbe(ns: JanusStartOptions['ns'], url: string, deadline: number, signal: AbortSignal): Promise<{ result: Promise<Ready | null> }> {
  // Wrapped: an async function would flatten a returned promise and wait for the answer itself.
  if (insideNamespace(ns.name)) return { result: probeInfo(url, deadline, signal) };
  const cmd = ns.exec(process.execPath, ['--input-type=module', '-e', PROBE, url, String(deadline)]);
  const probe = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'ignore'] });
  signal.addEventListener('abort', () => probe.exitCode === null && probe.kill('SIGKILL'), { once: true });
  let out = '';
  let polling: () => void = () => {};
  const started = new Promise<void>((resolve) => (polling = resolve));
  probe.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('polling\n')) polling();
  });
  const result = new Promise<Ready | null>((resolve) => {
    probe.on('close', (code) => {
      polling();
      resolve(code === 0 ? (JSON.parse(out.trim().split('\n').at(-1)!) as Ready) : null);
    });
    probe.on('error', () => {
      polling();
      resolve(null);
    });
  });
  await started;
  return { result };
}
