/**
 * A cluster of node processes on loopback (each node a child process, so it can be killed -9), one real
 * nats-server, and an RTT matrix made by weather proxies on the relay links (in this process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WeatherProxy } from '../../tools/weather/udp-proxy.ts';
import { startNatsServer, type NatsServerHandle } from './nats.ts';
import { CLUSTER_SECRET, rttOf, type ClusterNodeSpec, type RttSpec } from './cluster.ts';

const MAIN = fileURLToPath(new URL('./cluster-node-main.ts', import.meta.url));

export interface NodeProcess {
  id: string;
  url: string;
  relayPort: number;
  proc: ChildProcess;
  /** kill -9, resolved when the process is gone. */
  kill(): Promise<void>;
}

export interface ProcessCluster {
  nats: NatsServerHandle;
  nodes: Map<string, NodeProcess>;
  node(id: string): NodeProcess;
  close(): Promise<void>;
}

export async function startProcessCluster(specs: ClusterNodeSpec[], opts: { rtt?: RttSpec } = {}): Promise<ProcessCluster> {
  const nats = await startNatsServer();
  const proxies = new Map<string, Map<string, WeatherProxy>>();
  for (const a of specs) {
    const row = new Map<string, WeatherProxy>();
    proxies.set(a.id, row);
    for (const b of specs) {
      if (a.id === b.id) continue;
      const rtt = opts.rtt ? (rttOf(opts.rtt, a.id, b.id) ?? 0) : 0;
      const p = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: 9 }, up: { delayMs: rtt / 2 }, idleTimeoutMs: 600_000 });
      await p.start();
      row.set(b.id, p);
    }
  }
  const nodes = new Map<string, NodeProcess>();
  const close = async () => {
    for (const n of nodes.values()) n.proc.kill('SIGKILL');
    await Promise.allSettled([...nodes.values()].map((n) => n.kill()));
    await Promise.allSettled([...proxies.values()].flatMap((r) => [...r.values()].map((p) => p.close())));
    await nats.stop();
  };
  try {
    for (const s of specs) {
      const relayVia = Object.fromEntries([...proxies.get(s.id)!].map(([peer, p]) => [peer, p.port]));
      const config = {
        auth: { secret: CLUSTER_SECRET },
        cluster: { natsUrl: nats.url, nodeId: s.id, region: s.region ?? 'default', secret: CLUSTER_SECRET, relayBindIp: '127.0.0.1', relayPort: 0, relayAnnouncedIp: '127.0.0.1' },
      };
      const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
        env: { ...process.env, PROXIMA_TEST_NODE: JSON.stringify({ config, relayVia }) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const ready = await new Promise<{ url: string; relayPort: number }>((resolve, reject) => {
        const lines = createInterface({ input: proc.stdout! });
        const t = setTimeout(() => reject(new Error(`node ${s.id} did not start in 20 s`)), 20_000);
        lines.on('line', (l) => {
          try {
            const m = JSON.parse(l) as { ready?: boolean; url: string; relayPort: number };
            if (m.ready) {
              clearTimeout(t);
              resolve(m);
            }
          } catch {
            /* a log line */
          }
        });
        proc.once('exit', (code) => reject(new Error(`node ${s.id} exited (${code}) before it was ready`)));
      });
      // Everyone's link towards this node now reaches it.
      for (const row of proxies.values()) row.get(s.id)?.setTarget({ address: '127.0.0.1', port: ready.relayPort });
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      nodes.set(s.id, {
        id: s.id,
        url: ready.url,
        relayPort: ready.relayPort,
        proc,
        kill: async () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
          await exited;
        },
      });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    nats,
    nodes,
    node(id) {
      const n = nodes.get(id);
      if (!n) throw new Error(`no node ${id}`);
      return n;
    },
    close,
  };
}
