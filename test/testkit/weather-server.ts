import { WeatherProxy } from '../../tools/weather/udp-proxy.ts';
import { startTestServer } from './proxima.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import type { ConfigInput } from '../../src/config/config.ts';

/**
 * A test server whose media port is announced as a weather proxy's (tools/weather): every client's media
 * crosses the proxy, where `proxy.linkOf(port)` impairs one person's link. Browsers on it need the loopback
 * flags (the proxy is on 127.0.0.1). `close` stops both.
 */
export async function startServerBehindWeather(seed: number, overrides: ConfigInput = {}): Promise<{ proxy: WeatherProxy; server: ProximaServer; close(): Promise<void> }> {
  const proxy = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: 9 }, seed });
  await proxy.start();
  const server = await startTestServer({ ...overrides, media: { ...overrides.media, announcedPort: proxy.port } });
  proxy.setTarget({ address: '127.0.0.1', port: server.media.port });
  return {
    proxy,
    server,
    close: async () => {
      await server.close();
      await proxy.close();
    },
  };
}
