import { loadConfig, ConfigError } from './config/config.ts';
import { ProximaServer } from './server/proxima-server.ts';
import { createLogger } from './util/logger.ts';

function configFileFromArgs(argv: string[]): string | undefined {
  const i = argv.indexOf('--config');
  return i >= 0 ? argv[i + 1] : undefined;
}

let config;
try {
  config = loadConfig({ file: configFileFromArgs(process.argv.slice(2)) });
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

const server = await ProximaServer.start(config, { log });
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal: sig });
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('shutdown failed', { err: e as Error });
        process.exit(1);
      },
    );
  });
}
