/**
 * One cluster node in its own process (so a test can kill -9 it). Configuration comes as JSON in
 * PROXIMA_TEST_NODE: { config: ConfigInput overrides, relayVia: { peerId: port } } — relay datagrams for
 * a listed peer go to 127.0.0.1:port (a weather proxy the parent runs). Prints one line
 * `{"ready":true,"url":…,"relayPort":…}` on stdout once it serves.
 */
import { ProximaServer } from '../../src/server/proxima-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { testConfig } from './proxima.ts';
import type { ConfigInput } from '../../src/config/config.ts';

const spec = JSON.parse(process.env.PROXIMA_TEST_NODE ?? '{}') as { config: ConfigInput; relayVia?: Record<string, number> };
const level = (process.env.PROXIMA_TEST_LOG as 'debug' | 'info' | undefined) ?? 'warn';
const via = spec.relayVia ?? {};
const server = await ProximaServer.start(testConfig(spec.config), {
  log: createLogger(level, { node: spec.config.cluster?.nodeId }),
  relayAddressOf: (peer) => (via[peer.id] ? { host: '127.0.0.1', port: via[peer.id]! } : peer.relay),
});
process.stdout.write(JSON.stringify({ ready: true, url: server.url, relayPort: server.cluster!.endpoint.port }) + '\n');
const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
