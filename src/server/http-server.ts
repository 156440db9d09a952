import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { SignalingConnection } from './signaling-connection.ts';
import type { SignalingGuard } from './signaling-limits.ts';
import { signToken } from './auth/tokens.ts';
import type { SpaceRegistry } from './space-registry.ts';
import type { MediaServer } from './media-server.ts';
import type { IceServerInfo } from './auth/turn-credentials.ts';
import type { WebAssets } from './web-assets.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

export interface HttpServerDeps {
  spaces: SpaceRegistry;
  auth: { secret: string; guestTokens: boolean; guestTokenTtlS: number };
  media: MediaServer;
  /** TURN credentials for each join (config.turn), or none. */
  iceServersFor?: (participantId: string) => IceServerInfo[];
  metrics: Registry;
  web: WebAssets;
  clock: Clock;
  log: Logger;
  /** Cluster mode: which nodes a client may connect to (set once the node has joined its cluster). */
  cluster: { current: ClusterDirectory | null };
  /** Signaling rate limits per connection and per IP, and the join deadline (config limits.signaling). */
  signaling: SignalingGuard;
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
    wss.handleUpgrade(req, socket, head, (ws) => {
      const g = deps.signaling;
      const limits = {
        limiter: g.connection(req.socket.remoteAddress ?? 'unknown'),
        joinDeadlineMs: g.limits.joinDeadlineMs,
      };
      new SignalingConnection(ws, deps.spaces, deps.media, deps.auth.secret, deps.clock, deps.log, deps.iceServersFor, limits);
    });
  });
  return { server, wss };
}

async function route(req: IncomingMessage, res: ServerResponse, deps: HttpServerDeps): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
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
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'access-control-allow-origin': '*' }).end(JSON.stringify({ ok: true, mediaPort: deps.media.port }));
      return;
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

/** POST /api/token {space, name} → {token}: guest tokens of the embedded default (publish and spotlight). */
async function guestToken(req: IncomingMessage, res: ServerResponse, deps: HttpServerDeps): Promise<void> {
  const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  if (!deps.auth.guestTokens) {
    json(403, { error: 'guest tokens are disabled on this server' });
    return;
  }
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 4096) {
      json(413, { error: 'request too large' });
      return;
    }
  }
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
  json(200, { token: signToken({ space: parsed.data.space, name: parsed.data.name, publish: true, spotlight: true, exp }, deps.auth.secret) });
}
