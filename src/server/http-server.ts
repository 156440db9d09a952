import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import type { Registry } from 'prom-client';
import { SignalingConnection } from './signaling-connection.ts';
import type { SpaceRegistry } from './space-registry.ts';
import type { MediaServer } from './media-server.ts';
import type { WebAssets } from './web-assets.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

export interface HttpServerDeps {
  spaces: SpaceRegistry;
  media: MediaServer;
  metrics: Registry;
  web: WebAssets;
  clock: Clock;
  log: Logger;
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
      new SignalingConnection(ws, deps.spaces, deps.media, deps.clock, deps.log);
    });
  });
  return { server, wss };
}

async function route(req: IncomingMessage, res: ServerResponse, deps: HttpServerDeps): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  switch (path) {
    case '/':
    case '/index.html':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(deps.web.indexHtml);
      return;
    case '/app.js':
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }).end(deps.web.appJs);
      return;
    case '/metrics':
      res.writeHead(200, { 'content-type': deps.metrics.contentType }).end(await deps.metrics.metrics());
      return;
    case '/healthz':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, mediaPort: deps.media.port }));
      return;
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}
