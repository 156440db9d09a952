import { loadConfig, type ConfigInput } from '../../src/config/config.ts';
import { ProximaServer } from '../../src/server/proxima-server.ts';
import { createLogger } from '../../src/util/logger.ts';

/** A real server on loopback with free ports, logging only warnings unless PROXIMA_TEST_LOG is set. */
export async function startTestServer(overrides: ConfigInput = {}): Promise<ProximaServer> {
  const config = loadConfig({
    env: {},
    overrides: {
      ...overrides,
      http: { host: '127.0.0.1', port: 0, ...overrides.http },
      media: { bindIp: '127.0.0.1', port: 0, announcedIp: '127.0.0.1', ...overrides.media },
    },
  });
  const level = (process.env.PROXIMA_TEST_LOG as 'debug' | 'info' | undefined) ?? 'warn';
  return ProximaServer.start(config, { log: createLogger(level) });
}
