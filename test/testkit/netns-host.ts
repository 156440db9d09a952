/**
 * A user's machine on its own network: a network namespace joined to this host by a veth pair (host end
 * 10.77.N.1, inside end 10.77.N.2), with a default route through the host, and rules that block what a
 * corporate firewall blocks (all UDP, or everything but one TCP port). Chromium runs inside it through a
 * wrapper script, so its WebRTC sees only that network. Needs root, iproute2 and nftables.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIp } from '../../tools/janus/janus-netns.ts';
import { CHROMIUM_PATH } from './browser.ts';

let nextSubnet = 1 + (process.pid % 200);

function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'ENOENT' ? `${cmd} not found (apt-get install nftables iproute2)` : e.message)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.trim()}`))));
    child.stdin.end(input ?? '');
  });
}

export class NetnsHost {
  private constructor(
    readonly name: string,
    /** This host's address on the pair: where the namespace reaches the server. */
    readonly hostIp: string,
    /** The namespace's address (replaceAddress changes it). */
    public ip: string,
    private readonly subnet: number,
    private readonly inside: string,
    private readonly outside: string,
    private readonly dir: string,
    /** Launch Chromium with this executable: it runs /usr/bin/chromium inside the namespace. */
    readonly chromiumPath: string,
  ) {}

  static async create(label = 'user'): Promise<NetnsHost> {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new Error('network namespaces need root (and iproute2, nftables)');
    await removeOrphans();
    const subnet = nextSubnet++;
    const name = `pxu-${process.pid}-${label}`.slice(0, 40);
    const inside = `pxu${subnet}n`;
    const outside = `pxu${subnet}h`;
    const hostIp = `10.77.${subnet}.1`;
    const ip = `10.77.${subnet}.2`;
    await runIp(['netns', 'del', name], { allowFail: true });
    await runIp(['link', 'del', outside], { allowFail: true });
    const inNs = (args: string[]) => runIp(['-n', name, ...args]);
    await runIp(['netns', 'add', name]);
    try {
      await runIp(['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
      await runIp(['link', 'set', inside, 'netns', name]);
      await runIp(['addr', 'add', `${hostIp}/24`, 'dev', outside]);
      await runIp(['link', 'set', outside, 'up']);
      await inNs(['link', 'set', 'lo', 'up']);
      await inNs(['addr', 'add', `${ip}/24`, 'dev', inside]);
      await inNs(['link', 'set', inside, 'up']);
      await inNs(['route', 'add', 'default', 'via', hostIp]);
    } catch (e) {
      await runIp(['netns', 'del', name], { allowFail: true });
      await runIp(['link', 'del', outside], { allowFail: true });
      throw e;
    }
    const dir = mkdtempSync(join(tmpdir(), 'proxima-netns-'));
    const wrapper = join(dir, 'chromium');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM_PATH} "$@"\n`);
    chmodSync(wrapper, 0o755);
    return new NetnsHost(name, hostIp, ip, subnet, inside, outside, dir, wrapper);
  }

  /** nft rules inside the namespace, replacing earlier ones (an `inet` table of our own). */
  private async firewall(rules: string[]): Promise<void> {
    const script = [
      'table inet proxima_fw',
      'delete table inet proxima_fw',
      'table inet proxima_fw {',
      '  chain out { type filter hook output priority 0; policy accept;',
      ...rules.map((r) => `    ${r}`),
      '  }',
      '}',
    ].join('\n');
    await run('ip', ['netns', 'exec', this.name, 'nft', '-f', '-'], script + '\n');
  }

  /** A network that lets no UDP out (many corporate networks): ICE over UDP cannot work. */
  blockUdp(): Promise<void> {
    return this.firewall(['meta l4proto udp drop']);
  }

  /** Only TCP to these ports of the host gets out (the web page and a TURN server, say): no UDP, no ICE-TCP. */
  onlyTcpTo(ports: readonly number[]): Promise<void> {
    return this.firewall([
      'oif lo accept',
      'ct state established,related accept',
      ...ports.map((p) => `ip daddr ${this.hostIp} tcp dport ${p} accept`),
      'counter drop',
    ]);
  }

  /** Let everything out again. */
  clearFirewall(): Promise<void> {
    return this.firewall([]);
  }

  /**
   * The namespace moves to another address (a laptop switching networks): the old address disappears, a new
   * one takes its place, and the default route comes back through it.
   */
  async replaceAddress(): Promise<string> {
    const last = Number(this.ip.split('.')[3]) + 1;
    const next = `10.77.${this.subnet}.${last}`;
    const inNs = (args: string[]) => runIp(['-n', this.name, ...args]);
    // Make before break, like a laptop on the new network an instant before it leaves the old one (with no
    // address at all in between, Chromium may call itself offline and refuse new sockets for a while). With
    // promote_secondaries (off in a new namespace) deleting the old primary keeps the new secondary.
    await run('ip', ['netns', 'exec', this.name, 'sysctl', '-qw', `net.ipv4.conf.${this.inside}.promote_secondaries=1`]);
    await inNs(['addr', 'add', `${next}/24`, 'dev', this.inside]);
    await inNs(['addr', 'del', `${this.ip}/24`, 'dev', this.inside]);
    await inNs(['route', 'replace', 'default', 'via', this.hostIp, 'src', next]);
    this.ip = next;
    return next;
  }

  async destroy(): Promise<void> {
    const pids = (await runIp(['netns', 'pids', this.name], { allowFail: true })).stdout.split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await runIp(['netns', 'del', this.name], { allowFail: true });
    await runIp(['link', 'del', this.outside], { allowFail: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Namespaces left by test processes that died before their `destroy` (named pxu-<pid>-…). */
async function removeOrphans(): Promise<void> {
  const list = (await runIp(['netns', 'list'], { allowFail: true })).stdout;
  for (const m of list.matchAll(/^(pxu-(\d+)-\S+)/gm)) {
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) await runIp(['netns', 'del', m[1]], { allowFail: true });
  }
}
