import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startWatchedServer, type ServerWatch } from '../testkit/hostile/watched-server.ts';
import { WsProbe } from '../testkit/hostile/ws-probe.ts';
import { signToken } from '../../src/server/auth/tokens.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

const SECRET = 'edge-hygiene-secret-that-is-long-enough-0123';
const SPACE = 'edge';

const mint = async (server: ProximaServer, name: string) => {
  const res = await fetch(`${server.url}/api/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ space: SPACE, name }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { token?: string; error?: string } };
};

/** What a stranger with the space's link can do at the edges: tokens, grants, origins, half-sent requests. */
describe('the edges a stranger reaches', () => {
  let server: ProximaServer;
  let watch: ServerWatch;
  const probes: WsProbe[] = [];
  before(async () => {
    ({ server, watch } = await startWatchedServer({ auth: { secret: SECRET, guestTokensPerMinute: 5 }, http: { allowedOrigins: ['https://app.example.com'] } }));
  });
  after(async () => {
    for (const p of probes) p.terminate();
    await server?.close();
    watch?.dispose();
  });
  const join = async (name: string, token: string, x: number, y: number) => {
    const p = await WsProbe.open(server.url);
    probes.push(p);
    const j = await p.request('join', { space: SPACE, name, token, x, y });
    assert.equal(j.type, 'joined', JSON.stringify(j));
    return { p, id: String(j.participantId), grants: j.grants as { spotlight: boolean; moderator: boolean } };
  };

  it('a guest may spotlight itself but nobody else; a moderator may spotlight anyone', async () => {
    const far = await join('Far', (await mint(server, 'Far')).body.token!, 30, 20);
    await far.p.request('setMode', { mode: 'quiet' });
    const guest = await join('Guest', (await mint(server, 'Guest')).body.token!, 10, 27);
    assert.deepEqual(guest.grants, { publish: true, spotlight: true, moderator: false });
    const other = await guest.p.request('spotlight', { on: true, participantId: far.id });
    assert.deepEqual([other.type, other.code], ['error', 'forbidden']);
    assert.match(String(other.message), /moderator/);
    assert.equal(server.spaces.get(SPACE)!.participants.get(far.id)!.spotlit, false, 'the quiet person stays out of the spotlight');
    assert.equal((await guest.p.request('spotlight', { on: true })).type, 'spotlightSet', 'oneself is fine');
    await guest.p.request('spotlight', { on: false });

    const mod = await join('Mod', signToken({ space: SPACE, name: 'Mod', spotlight: true, moderator: true, exp: Math.floor(Date.now() / 1000) + 60 }, SECRET), 12, 27);
    assert.equal((await mod.p.request('spotlight', { on: true, participantId: far.id })).type, 'spotlightSet');
    assert.equal(server.spaces.get(SPACE)!.participants.get(far.id)!.spotlit, true);
  });

  it('guest tokens per address are limited: past the burst a 429 with Retry-After, counted', async () => {
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await mint(server, `M${i}`));
    const refused = results.filter((r) => r.status === 429);
    assert.ok(refused.length >= 3, `the burst of 5 (3 spent above) ran out: ${results.map((r) => r.status).join(',')}`);
    assert.match(refused[0]!.body.error!, /guest tokens a minute/);
    assert.ok(Number(refused[0]!.retryAfter) >= 1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^proxima_guest_tokens_refused_total [1-9]/m);
  });

  it('/ws from another site’s page is refused; the same origin, a listed origin and non-browser clients are let in', async () => {
    await assert.rejects(WsProbe.open(server.url, 'https://evil.example.net'), /403/);
    const host = new URL(server.url).host;
    for (const origin of [`http://${host}`, 'https://app.example.com', undefined]) {
      const p = await WsProbe.open(server.url, origin);
      probes.push(p);
      assert.equal((await p.request('ping')).type, 'pong', String(origin));
    }
    assert.match(await (await fetch(`${server.url}/metrics`)).text(), /^proxima_ws_origin_refused_total [1-9]/m);
  });

  it('a token request cut off mid-body logs nothing and the server answers the next one', async () => {
    const u = new URL(`${server.url}/api/token`);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '500' } });
        req.on('error', () => resolve());
        req.write('{"space": "edge", "na');
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(watch.errors(), [], 'no error logged');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  it('the web client’s source maps are not served', async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(js, 'the page names its script');
    const body = await (await fetch(`${server.url}${js}`)).text();
    assert.doesNotMatch(body, /sourceMappingURL/);
    assert.equal((await fetch(`${server.url}${js}.map`)).status, 404);
  });

  it('/readyz says whether to send people here; /healthz only that the process is alive', async () => {
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });
    server.spaces.draining = true;
    try {
      const r = await fetch(`${server.url}/readyz`);
      assert.equal(r.status, 503);
      assert.deepEqual(await r.json(), { ready: false, why: 'draining' });
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      server.spaces.draining = false;
    }
  });
});
