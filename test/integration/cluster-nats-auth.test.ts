import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNatsServer, type NatsServerHandle } from '../testkit/nats.ts';
import { testConfig } from '../testkit/proxima.ts';
import { ControlBus } from '../../src/cascade/control/control-bus.ts';
import { ProximaServer } from '../../src/server/proxima-server.ts';
import { createLogger } from '../../src/util/logger.ts';

const AUTH = { user: 'proxima-node', pass: 'a-nats-password-for-the-cluster' };
const SECRET = 'cluster-secret-that-is-long-enough-0123456789';
const quiet = createLogger('silent');

/** A NATS server that requires credentials: nodes without them cannot join the control plane. */
describe('cluster mode against an authenticated NATS server', () => {
  let nats: NatsServerHandle;
  before(async () => {
    nats = await startNatsServer({ auth: AUTH });
  });
  after(async () => {
    await nats?.stop();
  });

  it('the control bus is refused without credentials or with a wrong password, and connects with them', async () => {
    await assert.rejects(ControlBus.connect(nats.url, { name: 'anon', log: quiet, connectTimeoutMs: 2000 }), /authorization|auth/i);
    await assert.rejects(ControlBus.connect(nats.url, { name: 'wrong', log: quiet, connectTimeoutMs: 2000, auth: { user: AUTH.user, pass: 'nope' } }), /authorization|auth/i);
    const bus = await ControlBus.connect(nats.url, { name: 'ok', log: quiet, auth: AUTH });
    assert.equal(bus.closed, false);
    await bus.close();
  });

  it('a node configured with cluster.nats credentials joins the cluster; one without them does not start', async () => {
    const cluster = (id: string, nats2?: typeof AUTH) =>
      testConfig({
        auth: { secret: SECRET },
        cluster: { natsUrl: nats.url, nodeId: id, secret: SECRET, relayBindIp: '127.0.0.1', relayPort: 0, relayAnnouncedIp: '127.0.0.1', ...(nats2 ? { nats: nats2 } : {}) },
      });
    const node = await ProximaServer.start(cluster('a', AUTH), { log: quiet });
    try {
      const ready = await fetch(`${node.url}/readyz`);
      assert.equal(ready.status, 200, 'ready once in its cluster');
      assert.equal(((await (await fetch(`${node.url}/api/cluster`)).json()) as { node: string }).node, 'a');
    } finally {
      await node.close();
    }
    await assert.rejects(ProximaServer.start(cluster('b'), { log: quiet }), /authorization|auth/i);
  });
});
