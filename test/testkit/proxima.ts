import { loadConfig, type Config, type ConfigInput } from '../../src/config/config.ts';
import { ProximaServer } from '../../src/server/proxima-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { dropCounts } from '../../src/metrics/drop-reasons.ts';
import { packetStats } from '../../src/metrics/registry.ts';

export { guestToken } from '../../tools/client/guest-token.ts';

/**
 * Configuration for a test server: loopback only, free ports (UDP and ICE-TCP), no environment, the recorder in
 * memory, and the media
 * in the main thread (tests reach into its transports) unless a test asks for media workers.
 */
export function testConfig(overrides: ConfigInput = {}): Config {
  return loadConfig({
    env: {},
    overrides: {
      ...overrides,
      http: { host: '127.0.0.1', port: 0, ...overrides.http },
      media: { bindIp: '127.0.0.1', port: 0, announcedIp: '127.0.0.1', tcpPort: 0, workers: 1, ...overrides.media },
      // Every test server records, in memory (nothing left behind, no file shared between parallel tests).
      recorder: { path: ':memory:', ...overrides.recorder },
    },
  });
}

/**
 * Media settings of a default start (bind on every interface, host candidates on every interface address),
 * for tests whose browsers run without the loopback test flag, as users' do.
 */
export const USER_MEDIA = { bindIp: '0.0.0.0', announcedIp: 'auto' } as const;

/** A real server on loopback with free ports, logging only warnings unless PROXIMA_TEST_LOG is set. */
export async function startTestServer(overrides: ConfigInput = {}): Promise<ProximaServer> {
  const level = (process.env.PROXIMA_TEST_LOG as 'debug' | 'info' | undefined) ?? 'warn';
  return ProximaServer.start(testConfig(overrides), { log: createLogger(level) });
}

/** The in-process server's counters, for failure messages: non-zero drops by reason and packet totals. */
export function serverDiagnostics(): string {
  const drops = dropCounts().filter(([, n]) => n > 0).map(([r, n]) => `${r}=${n}`).join(' ');
  const stats = Object.entries(packetStats).map(([k, v]) => `${k}=${v}`).join(' ');
  return `drops: ${drops || 'none'}; ${stats}`;
}
