/**
 * Connection quality over the real protocol: every participant gets a `quality` push once a second; on a
 * clean loopback both directions are excellent and each linked publisher's sending level is listed; loss on
 * the server's sends makes the receivers' score poor and blames their downlink while the senders' stays
 * high; a browser that reports an encoder held back by its CPU is told it is its device; the score
 * recovers when the loss ends. The same with the two people's media on two different media workers.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, testConfig } from '../testkit/proxima.ts';
import { ProximaServer } from '../../src/server/proxima-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { NodeClient } from '../../tools/client/node-client.ts';
import { pumpMedia } from '../testkit/media-pump.ts';
import { waitFor } from '../testkit/browser.ts';
import { feedbackReceiver } from '../testkit/feedback-receiver.ts';
import { createMetricsRegistry } from '../../src/metrics/registry.ts';

const SPACE = 'quality';
type Score = { score: number; level: string; cause: string | null };
type Quality = { down: Score | null; up: Score | null; peers: Record<string, string> };

describe('connection quality score', () => {
  let server: ProximaServer;
  const clients: NodeClient[] = [];
  const stops: (() => void)[] = [];
  after(async () => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    await server?.close();
  });

  it('is sent each second, excellent when clean, poor and blaming the downlink under loss, the device when its CPU limits', async () => {
    server = await startTestServer();
    await scenario(server);
  });

  it('reaches people whose media runs on two different media workers', async () => {
    await server?.close();
    for (const s of stops.splice(0)) s();
    for (const c of clients.splice(0)) c.close();
    // A on worker 0, B on worker 1: each one's sample crosses from its worker, each sees the other's level.
    server = await ProximaServer.start(testConfig({ media: { workers: 2 } }), { workerPlacement: [0, 1], log: createLogger('warn') });
    await scenario(server);
  });

  async function scenario(server: ProximaServer): Promise<void> {
    const latest = new Map<string, Quality>();
    const join = async (name: string, x: number) => {
      // Each subscriber answers like a browser (NACK, PLI, transport-wide feedback), so its estimate is real.
      const feedback = feedbackReceiver();
      stops.push(() => feedback.close());
      const c = await NodeClient.join(server.url, SPACE, name, {
        x,
        y: 21,
        beforeJoin: (nc) => {
          feedback.wire(nc);
          nc.onPush = (m) => {
            if (m.type === 'quality') latest.set(name, m as unknown as Quality);
          };
        },
      });
      clients.push(c);
      const { peer } = await c.publish();
      stops.push(pumpMedia(peer));
      return c;
    };
    const a = await join('A', 20);
    const b = await join('B', 22);
    await a.subscriberReady();
    await b.subscriberReady();
    const workers = [server.mediaWorkerOf(a.participantId), server.mediaWorkerOf(b.participantId)];
    if (workers[0] !== null) assert.notEqual(workers[0], workers[1], 'A and B on different workers');

    const q = (name: string) => latest.get(name);
    await waitFor('both directions scored excellent for both', () => ['A', 'B'].every((n) => q(n)?.down?.level === 'excellent' && q(n)?.up?.level === 'excellent'), 10_000);
    // Each sees the other's sending level (as of the other's last score: up to a second behind).
    await waitFor('A sees how B sends, B how A sends', () => q('A')?.peers[b.participantId] === 'excellent' && q('B')?.peers[a.participantId] === 'excellent', 3_000);
    assert.equal(q('A')!.down!.cause, null);

    // 15 % of the server's media sends lost: what everyone receives suffers, what they send does not.
    await server.setMediaImpairment({ receiveLoss: 0, sendLoss: 0.15, seed: 3 });
    await waitFor('receiving scored poor, blaming the downlink', () => q('A')?.down?.level === 'poor' && q('A')?.down?.cause === 'your_downlink', 6_000);
    assert.notEqual(q('A')!.up!.level, 'poor', `sending is unaffected: ${JSON.stringify(q('A')!.up)}`);
    await server.setMediaImpairment(null);
    await waitFor('receiving recovered', () => q('A')?.down?.level === 'excellent' || q('A')?.down?.level === 'good', 8_000);

    // The browser says its encoder is held back by the CPU: the sending score blames the device.
    a.notify('report', { publish: { qualityLimitationReason: 'cpu' } });
    await waitFor('sending blames the device', () => q('A')?.up?.cause === 'your_device', 3_000);

    const text = await createMetricsRegistry().metrics();
    const count = (name: string) => Number(new RegExp(`^${name}_count (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    assert.ok(count('proxima_quality_score_receiving') >= 4, 'receiving scores observed');
    assert.ok(count('proxima_quality_score_sending') >= 4, 'sending scores observed');
  }
});
