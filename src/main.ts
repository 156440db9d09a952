import { loadConfig, ConfigError } from './config/config.ts';
import { ProximaServer } from './server/proxima-server.ts';
import { createLogger } from './util/logger.ts';
import { MapError } from './proximity/map.ts';
import { ClusterStartError } from './cascade/cluster-node.ts';

function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

let config;
try {
  const argv = process.argv.slice(2);
  const map = argValue(argv, '--map');
  config = loadConfig({ file: argValue(argv, '--config'), overrides: map ? { space: { map } } : {} });
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`proxima: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
const log = createLogger(config.logLevel);
// A bug must surface, not vanish: log it; the process keeps serving other people's media.
process.on('unhandledRejection', (e) => log.error('unhandled rejection', { err: e as Error }));

let server: ProximaServer;
try {
  server = await ProximaServer.start(config, { log });
} catch (e) {
  // Problems a person can fix get one clear message, not a stack trace.
  const err = e as NodeJS.ErrnoException;
  if (e instanceof ClusterStartError) process.stderr.write(`proxima: cluster mode: ${e.message}\n`);
  else if (e instanceof MapError) process.stderr.write(`proxima: the map ${config.space.map} is not valid:\n  ${e.issues.join('\n  ')}\n`);
  else if (err.code === 'EADDRINUSE') process.stderr.write(`proxima: address in use: ${err.message} (set PROXIMA_HTTP_PORT / PROXIMA_MEDIA_PORT)\n`);
  else if (err.code === 'ENOENT' && config.space.map) process.stderr.write(`proxima: cannot read the map file: ${err.message}\n`);
  else throw e;
  process.exit(2);
}
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal: sig });
    // In a cluster, people move to other nodes first (a planned stop costs them a reconnect, not the call).
    const drained = sig === 'SIGTERM' && server.cluster ? server.drain() : Promise.resolve(0);
    drained.then(() => server.close()).then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('shutdown failed', { err: e as Error });
        process.exit(1);
      },
    );
  });
}
