import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { SignalingConnection } from './signaling-connection.ts';
import type { SignalingGuard } from './signaling-limits.ts';
import { signToken, type TokenKeyring } from './auth/tokens.ts';
import { TokenBucket } from '../util/rate-limit.ts';
import { limitStats } from '../metrics/registry.ts';
import type { SpaceRegistry } from './space-registry.ts';
import type { MediaPlane } from './participant-media.ts';
import type { IceServerInfo } from './auth/turn-credentials.ts';
import type { WebAssets } from './web-assets.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { Recording } from '../recorder/recording.ts';
import { recorderApi } from './recorder-api.ts';

export interface HttpServerDeps {
  spaces: SpaceRegistry;
  auth: { keys: TokenKeyring; guestTokens: boolean; guestTokenTtlS: number; guestSpotlight: boolean; guestTokensPerMinute: number };
  /** Origins allowed to open /ws besides the server's own (config http.allowedOrigins; `*` = any). */
  allowedOrigins: readonly string[];
  /** Where participants' media lives (this thread, or the media workers). */
  plane: MediaPlane;
  /** The UDP media ports (one, or one per media worker): the health check reports them. */
  mediaPorts: () => number[];
  /** TURN credentials for each join (config.turn), or none. */
  iceServersFor?: (participantId: string) => IceServerInfo[];
  metrics: Registry;
  web: WebAssets;
  clock: Clock;
  log: Logger;
  /** The server runs in cluster mode (config.cluster): not ready until `cluster.current` is set. */
  clusterMode?: boolean;
  /** Cluster mode: which nodes a client may connect to (set once the node has joined its cluster). */
  cluster: { current: ClusterDirectory | null };
  /** Signaling rate limits per connection and per IP, and the join deadline (config limits.signaling). */
  signaling: SignalingGuard;
  /** The flight recorder, read at /api/recorder/… (src/server/recorder-api.ts). */
  recording: Recording;
  /** Who may read it (config recorder.access, resolved). */
  recorderAccess: 'open' | 'moderators';
}

/** What the HTTP API needs of cluster mode (src/cascade/cluster-node.ts). */
export interface ClusterDirectory {
  readonly nodeId: string;
  nodesFor(hint: { region?: string }): Array<{ id: string; region: string; signalingUrl: string; load: number; draining: boolean; self: boolean }>;
}

/** HTTP: the web client, /metrics, /healthz; WebSocket signaling at /ws. */
export function createHttpServer(deps: HttpServerDeps): { server: Server; wss: WebSocketServer } {
  const server = createServer((req, res) => {
    route(req, res, deps).catch((e: unknown) => {
      deps.log.error('http handler failed', { url: req.url, err: e as Error });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, req.headers.host, deps)) {
      // A page of another site must not open a session with a visitor's browser (RFC 6455 §10.2).
      limitStats.wsOriginRefused++;
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\norigin not allowed\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const g = deps.signaling;
      const limits = {
        limiter: g.connection(req.socket.remoteAddress ?? 'unknown'),
        joinDeadlineMs: g.limits.joinDeadlineMs,
      };
      const ua = req.headers['user-agent'];
      new SignalingConnection(ws, deps.spaces, deps.plane, deps.auth.keys, deps.clock, deps.log, deps.iceServersFor, limits, ua ? ua.slice(0, 200) : null);
    });
  });
  return { server, wss };
}

async function route(req: IncomingMessage, res: ServerResponse, deps: HttpServerDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  if (await recorderApi(req, res, url, { recording: deps.recording, access: deps.recorderAccess, keys: deps.auth.keys, clock: deps.clock, map: deps.spaces.mapInfo })) return;
  if (path === '/api/token') {
    await guestToken(req, res, deps);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  switch (path) {
    case '/metrics':
      res.writeHead(200, { 'content-type': deps.metrics.contentType }).end(await deps.metrics.metrics());
      return;
    case '/api/cluster': {
      // Where to connect: every node, best first for the region hint (single process: just this one).
      const region = new URL(req.url ?? '/', 'http://x').searchParams.get('region') ?? undefined;
      const c = deps.cluster.current;
      const body = c ? { node: c.nodeId, nodes: c.nodesFor(region && /^[A-Za-z0-9_.-]{1,64}$/.test(region) ? { region } : {}) } : { node: null, nodes: [] };
      // Public and read-only: a page served by one node may ask any node (CORS), to pick the nearest.
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'access-control-allow-origin': '*' }).end(JSON.stringify(body));
      return;
    }
    case '/healthz':
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'access-control-allow-origin': '*' }).end(JSON.stringify({ ok: true, mediaPort: deps.mediaPorts()[0], mediaPorts: deps.mediaPorts() }));
      return;
    case '/readyz': {
      // Alive is /healthz; ready is "send people here": not draining or closing, and in cluster mode joined to it.
      const why = deps.spaces.closing ? 'closing' : deps.spaces.draining ? 'draining' : deps.clusterMode && deps.cluster.current === null ? 'not yet in its cluster' : null;
      res.writeHead(why === null ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(why === null ? { ready: true } : { ready: false, why }));
      return;
    }
    default: {
      const asset = deps.web.get(path);
      if (asset) res.writeHead(200, { 'content-type': asset.type, 'cache-control': path.startsWith('/assets/') ? 'max-age=31536000, immutable' : 'no-cache' }).end(asset.body);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }
}

const GuestTokenRequest = z.object({
  space: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'space must be 1..64 of [A-Za-z0-9_-]'),
  name: z.string().min(1).max(64).regex(/^[^\p{Cc}]+$/u, 'name must not contain control characters'),
});

/** Guest tokens minted per address: a bucket each, forgotten once full again (the map stays small). */
const mintBuckets = new Map<string, TokenBucket>();

function mayMint(address: string, perMinute: number, nowMs: number): boolean {
  if (perMinute === 0) return true;
  let b = mintBuckets.get(address);
  if (!b) {
    if (mintBuckets.size >= 10_000) for (const [a, old] of mintBuckets) if (old.available(nowMs) >= old.burst) mintBuckets.delete(a);
    mintBuckets.set(address, (b = new TokenBucket(perMinute / 60, perMinute)));
  }
  return b.take(nowMs);
}

/** The page's origin is this server (same host), one of the cluster's nodes, or listed in http.allowedOrigins. */
function originAllowed(origin: string, host: string | undefined, deps: HttpServerDeps): boolean {
  if (deps.allowedOrigins.includes('*') || deps.allowedOrigins.includes(origin)) return true;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (host !== undefined && o.host === host) return true;
  // Cluster mode: a page served by one node reconnects to another after a failover.
  for (const n of deps.cluster.current?.nodesFor({}) ?? []) {
    try {
      if (new URL(n.signalingUrl).host === o.host) return true;
    } catch {
      // a node with an unparsable URL allows nothing
    }
  }
  return false;
}

/** The request body up to `max` bytes; null when it was larger (the answer is sent) or the client went away. */
async function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<string | null> {
  let raw = '';
  try {
    for await (const chunk of req) {
      raw += chunk;
      if (raw.length > max) {
        res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'request too large' }));
        return null;
      }
    }
  } catch {
    // Aborted mid-body: nobody is left to answer, and nothing to log (a client that gave up is not our error).
    return null;
  }
  return raw;
}

/** POST /api/token {space, name} → {token}: guest tokens of the embedded default (publish; spotlight of oneself unless auth.guestSpotlight is off). */
async function guestToken(req: IncomingMessage, res: ServerResponse, deps: HttpServerDeps): Promise<void> {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  if (!deps.auth.guestTokens) {
    json(403, { error: 'guest tokens are disabled on this server' });
    return;
  }
  if (!mayMint(req.socket.remoteAddress ?? 'unknown', deps.auth.guestTokensPerMinute, deps.clock.now())) {
    limitStats.guestTokensRefused++;
    json(429, { error: `more than ${deps.auth.guestTokensPerMinute} guest tokens a minute from this address` }, { 'retry-after': String(Math.ceil(60 / Math.max(1, deps.auth.guestTokensPerMinute))) });
    return;
  }
  const raw = await readBody(req, res, 4096);
  if (raw === null) return;
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    json(400, { error: 'body must be JSON: {"space": "...", "name": "..."}' });
    return;
  }
  const parsed = GuestTokenRequest.safeParse(body);
  if (!parsed.success) {
    json(400, { error: `${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` });
    return;
  }
  const exp = Math.floor(Date.now() / 1000) + deps.auth.guestTokenTtlS;
  json(200, { token: signToken({ space: parsed.data.space, name: parsed.data.name, publish: true, spotlight: deps.auth.guestSpotlight, moderator: false, exp }, deps.auth.keys) });
}
