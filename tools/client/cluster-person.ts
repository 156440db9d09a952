/**
 * A headless person in a cluster who keeps their place when their node dies: they ask any node for the
 * cluster's nodes (GET /api/cluster?region=…, best first), join the best one, and when its signaling
 * closes they rejoin the next live one at the same position, publishing again. Subscriptions follow the
 * position, so nothing else has to be restored. Times are recorded for the failover figures.
 */
import { NodeClient } from './node-client.ts';
import type { NodePeer } from './node-peer.ts';
import type { RtpView } from '../../src/rtp/rtp-packet.ts';

export interface ClusterPersonOptions {
  /** Any node's HTTP URL: asked for the cluster's nodes. */
  entry: string;
  region?: string;
  space: string;
  name: string;
  x: number;
  y: number;
  /** Publish and keep it flowing (e.g. the test kit's pumpMedia); returns a stop function. */
  publish?: (peer: NodePeer) => () => void;
  /** What to publish (default audio and video). */
  publishKinds?: { audio?: boolean; video?: boolean };
  /** Every RTP packet received (any node, any connection). */
  onRtp?: (v: RtpView, person: ClusterPerson) => void;
  /** Give up on a node that does not answer the join within this long (default 2000 ms). */
  joinTimeoutMs?: number;
  /** Join this node first (tests place people); later failovers go by the cluster's order. */
  prefer?: string;
}

export interface FailoverRecord {
  /** When the signaling of the node we were on closed (performance.now()). */
  lostAt: number;
  /** When the join on the next node succeeded, and the first packet we received after it. */
  rejoinedAt: number;
  mediaAt: number;
  from: string;
  to: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClusterPerson {
  client: NodeClient | null = null;
  url = '';
  nodes: string[] = [];
  readonly failovers: FailoverRecord[] = [];
  private stopPump: (() => void) | null = null;
  private closed = false;
  private pendingFailover: FailoverRecord | null = null;

  private constructor(readonly o: ClusterPersonOptions) {}

  static async start(o: ClusterPersonOptions): Promise<ClusterPerson> {
    const p = new ClusterPerson(o);
    p.nodes = await p.fetchNodes(o.entry);
    if (p.nodes.length === 0) p.nodes = [o.entry];
    if (o.prefer) p.nodes = [o.prefer, ...p.nodes.filter((u) => u !== o.prefer)];
    await p.connectAny(null);
    return p;
  }

  get participantId(): string {
    return this.client?.participantId ?? '';
  }

  private async fetchNodes(from: string): Promise<string[]> {
    const q = this.o.region ? `?region=${encodeURIComponent(this.o.region)}` : '';
    const r = await fetch(`${from}/api/cluster${q}`);
    if (!r.ok) throw new Error(`GET /api/cluster: ${r.status}`);
    const body = (await r.json()) as { nodes: Array<{ signalingUrl: string; draining: boolean }> };
    return body.nodes.filter((n) => !n.draining).map((n) => n.signalingUrl.replace(/\/$/, ''));
  }

  /** Join the first node (in preference order) that answers, skipping `failed`. */
  private async connectAny(failed: string | null): Promise<void> {
    for (let round = 0; !this.closed; round++) {
      for (const url of this.nodes) {
        if (url === failed && round === 0) continue;
        try {
          await this.connect(url);
          return;
        } catch {
          /* next node */
        }
      }
      await sleep(100);
    }
  }

  private async connect(url: string): Promise<void> {
    const o = this.o;
    const timeout = o.joinTimeoutMs ?? 2000;
    const joining = NodeClient.join(url, o.space, o.name, {
      x: o.x,
      y: o.y,
      beforeJoin: (c) => {
        c.retainPushes = false;
        c.onSubscriberPeer = (peer) => {
          peer.onRtp = (v) => {
            const f = this.pendingFailover;
            if (f && f.mediaAt === 0) f.mediaAt = performance.now();
            o.onRtp?.(v, this);
          };
        };
      },
    });
    const c = await Promise.race([joining, sleep(timeout).then(() => Promise.reject(new Error(`join at ${url} timed out`)))]);
    this.client = c;
    this.url = url;
    c.onClose = () => void this.onLost(url, c);
    if (o.publish) {
      const { peer } = await c.publish(o.publishKinds ?? {});
      this.stopPump?.();
      this.stopPump = o.publish(peer);
    }
  }

  private async onLost(url: string, c: NodeClient): Promise<void> {
    if (this.closed || this.client !== c) return;
    this.stopPump?.();
    this.stopPump = null;
    const rec: FailoverRecord = { lostAt: performance.now(), rejoinedAt: 0, mediaAt: 0, from: url, to: '' };
    this.pendingFailover = rec;
    c.close();
    await this.connectAny(url);
    rec.rejoinedAt = performance.now();
    rec.to = this.url;
    this.failovers.push(rec);
  }

  close(): void {
    this.closed = true;
    this.stopPump?.();
    this.client?.close();
  }
}
