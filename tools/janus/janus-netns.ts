/**
 * A network namespace for the Janus benchmark. Janus (libnice) skips loopback interfaces when it gathers
 * candidates, so the namespace puts 127.0.0.1/32 on one end of a veth pair: Janus sees a non-loopback
 * interface with that address, and everything in the namespace (Janus, Proxima, the load generator)
 * still talks over 127.0.0.1. Needs root and iproute2.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';

export interface BenchNamespace {
  name: string;
  /** The veth end inside the namespace, carrying 127.0.0.1/32 (Janus's ice_enforce_list). */
  veth: string;
  /** The veth end left in the root namespace (no address). */
  hostVeth: string;
  /** The address to use inside the namespace. */
  ip: '127.0.0.1';
  /** `spawn(file, args)` arguments that run `cmd args` inside the namespace (`ip netns exec` execs, so the pid is cmd's). */
  exec(cmd: string, args?: readonly string[]): { file: string; args: string[] };
  /** Spawns `cmd args` inside the namespace. */
  spawn(cmd: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Kills what still runs inside, deletes the namespace and the veth pair. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface IpResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ip args`; rejects with a message that says what is needed when ip is missing or not root. */
export function runIp(args: readonly string[], opts: { allowFail?: boolean } = {}): Promise<IpResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new Error(e.code === 'ENOENT' ? `\`ip\` not found: the Janus benchmark needs root and iproute2 (apt-get install iproute2)` : `ip ${args.join(' ')}: ${e.message}`));
    });
    child.on('close', (code) => {
      const r = { code: code ?? -1, stdout, stderr };
      if (r.code === 0 || opts.allowFail) return resolve(r);
      const denied = /Operation not permitted|Permission denied/i.test(stderr);
      reject(new Error(`ip ${args.join(' ')} failed (${r.code}): ${stderr.trim()}${denied ? ' — network namespaces need root (and iproute2)' : ''}`));
    });
  });
}

/** Interface names are at most 15 bytes (IFNAMSIZ − 1); derive them from the namespace name so a rerun finds its leftovers. */
function vethNames(name: string): { inside: string; host: string } {
  const h = createHash('sha1').update(name).digest('hex').slice(0, 8);
  return { inside: `pxj${h}n`, host: `pxj${h}h` };
}

/** Whether this process already runs inside namespace `name` (then its 127.0.0.1 is the namespace's). */
export function insideNamespace(name: string): boolean {
  try {
    const self = statSync('/proc/self/ns/net');
    const ns = statSync(`/run/netns/${name}`);
    return self.dev === ns.dev && self.ino === ns.ino;
  } catch {
    return false;
  }
}

async function namespaceExists(name: string): Promise<boolean> {
  const r = await runIp(['netns', 'list']);
  return r.stdout.split('\n').some((l) => l.split(/\s+/)[0] === name);
}

async function linkExists(dev: string): Promise<boolean> {
  return (await runIp(['link', 'show', 'dev', dev], { allowFail: true })).code === 0;
}

/**
 * Removes a namespace of this name and its veth pair. Processes still inside (a Janus left by a crashed run)
 * are killed by pid first: while one runs, the namespace and its interfaces outlive `ip netns del`.
 */
export async function destroyBenchNamespace(name: string): Promise<void> {
  const { host } = vethNames(name);
  if (await namespaceExists(name)) {
    const pids = (await runIp(['netns', 'pids', name], { allowFail: true })).stdout.split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) {
      if (pid > 1 && pid !== process.pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (pids.length) await waitGone(pids, 3000);
    await runIp(['netns', 'del', name]);
  }
  // The pair dies with the namespace's end; the host end can linger briefly, or alone after a partial setup.
  if (await linkExists(host)) await runIp(['link', 'del', 'dev', host], { allowFail: true });
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/**
 * Creates namespace `name` (default "proxima-janus") with lo up and 127.0.0.1/32 on a veth end inside.
 * Leftovers of a previous run under the same name are removed first.
 */
export async function createBenchNamespace(name = 'proxima-janus'): Promise<BenchNamespace> {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new TypeError(`bad namespace name ${JSON.stringify(name)}`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new Error('the Janus benchmark namespace needs root (and iproute2)');
  await destroyBenchNamespace(name);
  const { inside, host } = vethNames(name);
  const inNs = (args: string[]) => runIp(['-n', name, ...args]);
  try {
    await runIp(['netns', 'add', name]);
    await runIp(['link', 'add', host, 'type', 'veth', 'peer', 'name', inside]);
    await runIp(['link', 'set', inside, 'netns', name]);
    await inNs(['link', 'set', 'lo', 'up']);
    await inNs(['addr', 'add', '127.0.0.1/32', 'dev', inside]);
    await inNs(['link', 'set', inside, 'up']);
    // The host end up gives the pair carrier, so the inside end is RUNNING like a real NIC.
    await runIp(['link', 'set', host, 'up']);
  } catch (e) {
    await destroyBenchNamespace(name).catch(() => undefined);
    throw e;
  }
  let destroyed: Promise<void> | null = null;
  const exec = (cmd: string, args: readonly string[] = []) => ({ file: 'ip', args: ['netns', 'exec', name, cmd, ...args] });
  return {
    name,
    veth: inside,
    hostVeth: host,
    ip: '127.0.0.1',
    exec,
    spawn: (cmd, args = [], options = {}) => {
      const c = exec(cmd, args);
      return spawn(c.file, c.args, options);
    },
    destroy: () => (destroyed ??= destroyBenchNamespace(name)),
  };
}
