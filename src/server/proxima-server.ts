import type { Server } from 'node:http';
import { SignalingGuard } from './signaling-limits.ts';
import { setSdpLimits } from '../signaling/sdp/parse-common.ts';
import type { IngressLimits } from '../media/ingress-gate.ts';
import type { WebSocketServer } from 'ws';
import type { Config } from '../config/config.ts';
import { createMetricsRegistry } from '../metrics/registry.ts';
import { createLogger, type Logger } from '../util/logger.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { MediaServer } from './media-server.ts';
import { turnCredentials } from './auth/turn-credentials.ts';
import type { TokenKeyring } from './auth/tokens.ts';
import { SpaceRegistry } from './space-registry.ts';
import { createHttpServer } from './http-server.ts';
import { loadWebAssets } from './web-assets.ts';
import { randomBytes } from 'node:crypto';
import { LocalMediaPlane } from './local-media.ts';
import { WorkerPool } from './workers/worker-pool.ts';
import { WorkerMediaPlane } from './workers/worker-media.ts';
import type { MediaPlane } from './participant-media.ts';
import type { MuxImpairment } from '../transport/media-mux.ts';
import { fileURLToPath } from 'node:url';
import { loadSpaceMap } from '../proximity/map.ts';
import { ClusterNode, type ClusterNodeOptions } from '../cascade/cluster-node.ts';
import { Recording } from '../recorder/recording.ts';

/** The built-in map: an office with desks, a private meeting room and a stage. */
export const DEFAULT_MAP = fileURLToPath(new URL('../proximity/maps/office.json', import.meta.url));

/** The composition root: one process, HTTP + signaling, and the media in this thread or on media workers. */
export class ProximaServer {
  private constructor(
    readonly config: Config,
    /** The media in this thread (media.workers 1), else null. */
    private readonly mainMedia: MediaServer | null,
    /** The media workers (media.workers > 1), else null. */
    readonly workers: WorkerPool | null,
    private readonly plane: MediaPlane,
    readonly spaces: SpaceRegistry,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly log: Logger,
    /** Cluster mode (config.cluster), null on a single process. */
    readonly cluster: ClusterNode | null,
    /** The flight recorder and its storage (docs/recorder.md). */
    readonly recording: Recording,
  ) {}

  static async start(
    config: Config,
    opts: {
      clock?: Clock;
      log?: Logger;
      relayAddressOf?: ClusterNodeOptions['relayAddressOf'];
      /** Tests: the media workers the next participants are placed on, in order (media.workers > 1). */
      workerPlacement?: number[];
    } = {},
  ): Promise<ProximaServer> {
    const clock = opts.clock ?? systemClock;
    const log = opts.log ?? createLogger(config.logLevel);
    const workers = config.media.workers;
    // Relays between nodes take tracks from producers in the main thread; across workers they would need
    // the worker rings and the node relay joined up (docs/workers.md, "What is left").
    if (config.cluster && workers > 1) throw new Error(`media.workers ${workers} with cluster mode: a cluster node runs its media in one thread for now (media.workers 1)`);
    const dtls = { ...config.limits.dtls, closeAfterMs: config.limits.ingress.closeAfterMs };
    let media: MediaServer | null = null;
    let pool: WorkerPool | null = null;
    let plane: MediaPlane;
    if (workers === 1) {
      media = await MediaServer.start({
        bindIp: config.media.bindIp,
        port: config.media.port,
        announcedIp: config.media.announcedIp,
        candidateIps: config.media.candidateIps ?? [config.media.announcedIp],
        announcedPort: config.media.announcedPort,
        tcpPort: config.media.iceTcp ? config.media.tcpPort : null,
        publishDtlsRole: config.media.publishDtlsRole,
        ingress: ingressLimits(config.limits.ingress),
        dtls,
        clock,
        log,
      });
      plane = new LocalMediaPlane(media, clock, log);
    } else {
      pool = await WorkerPool.start({
        workers,
        bindIp: config.media.bindIp,
        port: config.media.port,
        announcedIp: config.media.announcedIp,
        candidateIps: config.media.candidateIps ?? [config.media.announcedIp],
        tcpPort: config.media.iceTcp ? config.media.tcpPort : null,
        publishDtlsRole: config.media.publishDtlsRole,
        ingress: ingressLimits(config.limits.ingress),
        dtls,
        logLevel: log.level,
        log,
        ...(opts.workerPlacement ? { forcePlacement: opts.workerPlacement } : {}),
      });
      plane = new WorkerMediaPlane(pool, log);
      log.info('media workers started', { workers, ports: pool.ports.join(' '), tcpPorts: pool.tcpPorts.join(' ') });
    }
    const mediaPorts = () => (pool ? pool.ports : [media!.port]);
    const map = loadSpaceMap(config.space.map ?? DEFAULT_MAP);
    log.info('map loaded', { map: map.name, file: config.space.map ?? 'built-in office', width: map.width, height: map.height });
    const recording = await Recording.open(config.recorder, config.cluster?.nodeId, clock, log);
    const spaces = new SpaceRegistry(map, clock, config.space.walkSpeed, recording.recorder);
    const secret = config.auth.secret ?? randomBytes(32).toString('base64url');
    if (!config.auth.secret) log.warn('no auth.secret configured: using a random one, tokens die with this process');
    if (config.auth.guestTokens) log.info('issuing guest tokens at POST /api/token (embedded default; set auth.guestTokens=false in production)');
    const web = await loadWebAssets((m) => log.info(m));
    const keys: TokenKeyring = {
      current: { id: config.auth.keyId, secret },
      previous: config.auth.previousSecrets.map((k) => ({ id: k.keyId, secret: k.secret })),
      audience: config.auth.audience,
    };
    const a = config.auth;
    const auth = { keys, guestTokens: a.guestTokens, guestTokenTtlS: a.guestTokenTtlS, guestSpotlight: a.guestSpotlight, guestTokensPerMinute: a.guestTokensPerMinute };
    const clusterRef: { current: ClusterNode | null } = { current: null };
    const turn = config.turn;
    if (turn) log.info('TURN credentials with each join', { urls: turn.urls.join(' '), ttlS: turn.ttlS });
    const iceServersFor = turn ? (participantId: string) => [turnCredentials(turn, participantId, clock.wallNow())] : undefined;
    setSdpLimits(config.limits.sdp);
    const signaling = new SignalingGuard(config.limits.signaling, clock);
    const { server, wss } = createHttpServer({ spaces, auth, allowedOrigins: config.http.allowedOrigins, clusterMode: config.cluster !== undefined, plane, mediaPorts, ...(iceServersFor ? { iceServersFor } : {}), metrics: createMetricsRegistry(), web, clock, log, cluster: clusterRef, signaling, recording, recorderAccess: config.recorder.access ?? (config.auth.guestTokens ? 'open' : 'moderators') });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    let cluster: ClusterNode | null = null;
    if (config.cluster) {
      const port = (server.address() as { port: number }).port;
      try {
        cluster = await ClusterNode.start({
          cluster: config.cluster,
          signalingUrl: config.cluster.signalingUrl ?? `http://${config.media.announcedIp}:${port}`,
          spaces,
          clock,
          log,
          ...(opts.relayAddressOf ? { relayAddressOf: opts.relayAddressOf } : {}),
        });
      } catch (e) {
        server.close();
        await recording.close();
        await media?.close();
        await pool?.close();
        throw e;
      }
      clusterRef.current = cluster;
      await recording.joinCluster(cluster.bus.connection, cluster.registry);
    }
    const s = new ProximaServer(config, media, pool, plane, spaces, server, wss, log, cluster, recording);
    log.info('proxima listening', { http: `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${s.httpPort}/`, mediaPorts: mediaPorts().join(' ') });
    return s;
  }

  /** The media in this thread; with media workers there is none here (tests reach into it). */
  get media(): MediaServer {
    if (!this.mainMedia) throw new Error('the media runs on media workers (media.workers > 1): no media server in the main thread');
    return this.mainMedia;
  }

  /** The media worker a participant's media is on; null in one thread or before it has media. */
  mediaWorkerOf(participantId: string): number | null {
    return this.plane instanceof WorkerMediaPlane ? this.plane.workerOf(participantId) : null;
  }

  /** Tests: user-space impairment on every media socket (this thread's, or each worker's). */
  async setMediaImpairment(impairment: MuxImpairment | null): Promise<void> {
    if (this.mainMedia) return this.mainMedia.mux.setImpairment(impairment);
    const pool = this.workers!;
    await Promise.all(pool.ports.map((_, i) => (pool.isAlive(i) ? pool.ask(i, { t: 'impair', impairment }) : null)));
  }

  get httpPort(): number {
    const a = this.http.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /**
   * Cluster mode: drain before a planned shutdown. The node stops being offered to newcomers, the other
   * nodes hear it (two heartbeats), then every client here is told to move (WebSocket close 4002); the
   * SDK rejoins another node at the same place. Resolves with how many were moved once they are gone
   * (or after `timeoutMs`). On a single node there is nowhere to go: 0.
   */
  async drain(timeoutMs = 5000): Promise<number> {
    const cluster = this.cluster;
    if (!cluster) return 0;
    cluster.setDraining(true);
    this.spaces.draining = true;
    this.recording.draining();
    await new Promise((r) => setTimeout(r, 2 * cluster.registry.heartbeatMs));
    const clients = [...this.wss.clients];
    for (const ws of clients) ws.close(4002, 'node draining: move to another node');
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && [...this.spaces.all()].some((s) => s.participants.size > 0)) await new Promise((r) => setTimeout(r, 50));
    this.log.info('drained', { moved: clients.length });
    return clients.length;
  }

  async close(): Promise<void> {
    this.spaces.closing = true; // sockets we cut are no sessions to keep for a resume
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    // close() waits for every connection to end: idle keep-alive ones are cut now, requests in flight get a
    // second to finish, then everything still open is cut (a page's keep-alive socket must not hold us open).
    const closed = new Promise<void>((r) => this.http.close(() => r()));
    this.http.closeIdleConnections();
    const grace = setTimeout(() => this.http.closeAllConnections(), 1000);
    await closed;
    clearTimeout(grace);
    this.spaces.closeAll();
    // After everyone left: their leaves are in the recording.
    await this.recording.close();
    await this.cluster?.close();
    await this.mainMedia?.close();
    await this.workers?.close();
  }
}

/** Publisher and subscriber ingress limits from config limits.ingress. */
function ingressLimits(l: Config['limits']['ingress']): { publisher: IngressLimits; subscriber: IngressLimits } {
  return {
    publisher: { bitsPerS: l.publisherBitsPerS, packetsPerS: l.publisherPacketsPerS, windowMs: l.windowMs, closeAfterMs: l.closeAfterMs },
    subscriber: { bitsPerS: l.subscriberBitsPerS, packetsPerS: l.subscriberPacketsPerS, windowMs: l.windowMs, closeAfterMs: l.closeAfterMs },
  };
}
