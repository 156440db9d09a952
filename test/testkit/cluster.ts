/**
 * A cluster on loopback for tests: one real nats-server, N Proxima nodes in this process, and (optionally)
 * an RTT matrix made real by one weather proxy per directed relay link (half the RTT each way).
 */
import { WeatherProxy } from '../../tools/weather/udp-proxy.ts';
import { ProximaServer } from '../../src/server/proxima-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { testConfig } from './proxima.ts';
import { startNatsServer, type NatsServerHandle } from './nats.ts';
import type { NodeInfo } from '../../src/cascade/control/messages.ts';

export const CLUSTER_SECRET = 'test-cluster-secret-0123456789abcdef';

export interface ClusterNodeSpec {
  id: string;
  region?: string;
}

export interface TestCluster {
  nats: NatsServerHandle;
  nodes: Map<string, ProximaServer>;
  /** from → to → the proxy on that directed relay link (with a matrix). */
  links: Map<string, Map<string, WeatherProxy>>;
  node(id: string): ProximaServer;
  /** Set a link's RTT (both directions, rtt/2 each way). */
  setRtt(a: string, b: string, rttMs: number): void;
  close(): Promise<void>;
}

/** Symmetric RTTs in ms, keyed "a|b" (either order). */
export type RttSpec = Record<string, number>;

export function rttOf(spec: RttSpec, a: string, b: string): number | undefined {
  return spec[`${a}|${b}`] ?? spec[`${b}|${a}`];
}

export async function startCluster(specs: ClusterNodeSpec[], opts: { rtt?: RttSpec; heartbeatMs?: number; deadAfterMs?: number } = {}): Promise<TestCluster> {
  const nats = await startNatsServer();
  const links = new Map<string, Map<string, WeatherProxy>>();
  const proxies: WeatherProxy[] = [];
  if (opts.rtt) {
    for (const a of specs) {
      const row = new Map<string, WeatherProxy>();
      links.set(a.id, row);
      for (const b of specs) {
        if (a.id === b.id) continue;
        const rtt = rttOf(opts.rtt, a.id, b.id) ?? 0;
        // Target set when the peer's relay port is known (relayAddressOf below).
        const p = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: 9 }, up: { delayMs: rtt / 2 }, idleTimeoutMs: 600_000 });
        await p.start();
        row.set(b.id, p);
        proxies.push(p);
      }
    }
  }
  const nodes = new Map<string, ProximaServer>();
  const level = (process.env.PROXIMA_TEST_LOG as 'debug' | 'info' | undefined) ?? 'warn';
  const closeAll = async () => {
    await Promise.allSettled([...nodes.values()].map((n) => n.close()));
    await Promise.allSettled(proxies.map((p) => p.close()));
    await nats.stop();
  };
  try {
    for (const s of specs) {
      const relayAddressOf = opts.rtt
        ? (peer: NodeInfo) => {
            const p = links.get(s.id)!.get(peer.id)!;
            p.setTarget({ address: '127.0.0.1', port: peer.relay.port });
            return { host: '127.0.0.1', port: p.port };
          }
        : undefined;
      const config = testConfig({
        // One token secret for the whole cluster: a token from any node is good on every node.
        auth: { secret: CLUSTER_SECRET },
        cluster: {
          natsUrl: nats.url,
          nodeId: s.id,
          region: s.region ?? 'default',
          secret: CLUSTER_SECRET,
          relayBindIp: '127.0.0.1',
          relayPort: 0,
          relayAnnouncedIp: '127.0.0.1',
          ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
          ...(opts.deadAfterMs ? { deadAfterMs: opts.deadAfterMs } : {}),
        },
      });
      const server = await ProximaServer.start(config, { log: createLogger(level, { node: s.id }), ...(relayAddressOf ? { relayAddressOf } : {}) });
      nodes.set(s.id, server);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return {
    nats,
    nodes,
    links,
    node(id) {
      const n = nodes.get(id);
      if (!n) throw new Error(`no node ${id}`);
      return n;
    },
    setRtt(a, b, rttMs) {
      links.get(a)?.get(b)?.up.setConfig({ delayMs: rttMs / 2 });
      links.get(b)?.get(a)?.up.setConfig({ delayMs: rttMs / 2 });
    },
    close: closeAll,
  };
}

/** The path a track of `origin` takes to `to`, as the nodes chose it: each node's upstream, hop by hop (null: none or a loop). */
export function chosenPath(cluster: TestCluster, origin: string, to: string): string[] | null {
  const path = [to];
  let at = to;
  while (at !== origin) {
    const up = cluster.node(at).cluster!.upstreamOf(origin);
    if (up === null || path.includes(up)) return null;
    path.unshift(up);
    at = up;
  }
  return path;
}
