/**
 * A real TURN server (Debian's coturn) for tests: TURN REST authentication with a shared secret (what
 * Proxima's config.turn mints credentials for), plain TURN on one port (UDP and TCP), relays on one address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Coturn {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly ip: string,
    readonly port: number,
    readonly secret: string,
    readonly log: () => string,
  ) {}

  /** `ip`: where it listens and relays from; `port`: its TURN port. */
  static async start(ip: string, port: number, secret: string): Promise<Coturn> {
    const dir = mkdtempSync(join(tmpdir(), 'proxima-coturn-'));
    const args = [
      '-n',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--fingerprint',
      `--listening-ip=${ip}`,
      `--listening-port=${port}`,
      `--relay-ip=${ip}`,
      '--min-port=49300',
      '--max-port=49400',
      '--realm=proxima.test',
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      `--userdb=${join(dir, 'turndb')}`,
      `--pidfile=${join(dir, 'turn.pid')}`,
      '--log-file=stdout',
      '--simple-log',
      '--no-software-attribute',
    ];
    const child = spawn(process.env.PROXIMA_TURNSERVER ?? 'turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (e) => reject(new Error(`turnserver did not start: ${e.message} (apt-get install coturn)`)));
      child.once('exit', (code) => reject(new Error(`turnserver exited (${code}): ${log.slice(-2000)}`)));
    });
    const end = Date.now() + 10_000;
    for (;;) {
      const up = await Promise.race([exited, canConnect(ip, port)]);
      if (up) break;
      if (Date.now() > end) {
        child.kill('SIGKILL');
        throw new Error(`turnserver not listening on ${ip}:${port} after 10 s: ${log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    exited.catch(() => undefined);
    return new Coturn(child, dir, ip, port, secret, () => log);
  }

  /** What Proxima's config.turn needs to hand this server to clients (TCP only: the tests' firewalls allow that). */
  turnConfig(): { secret: string; urls: string[] } {
    return { secret: this.secret, urls: [`turn:${this.ip}:${this.port}?transport=tcp`, `turn:${this.ip}:${this.port}?transport=udp`] };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: ip, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
