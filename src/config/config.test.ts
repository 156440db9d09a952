import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadConfig, ConfigError } from './config.ts';

test('defaults are sane and announced ip resolves', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.http.port, 8080);
  assert.equal(c.media.port, 40000);
  assert.match(c.media.announcedIp, /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(c.logLevel, 'info');
});

test('env overrides file, file overrides defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxima-cfg-'));
  const f = join(dir, 'c.json');
  writeFileSync(f, JSON.stringify({ http: { port: 9000 }, media: { port: 41000, announcedIp: '10.0.0.5' } }));
  const c = loadConfig({ file: f, env: { PROXIMA_MEDIA_PORT: '42000' } });
  assert.equal(c.http.port, 9000);
  assert.equal(c.media.port, 42000);
  assert.equal(c.media.announcedIp, '10.0.0.5');
});

test('the guest-token limit per address comes from the environment too (a load generator turns it off)', () => {
  assert.equal(loadConfig({ env: {} }).auth.guestTokensPerMinute, 60);
  assert.equal(loadConfig({ env: { PROXIMA_GUEST_TOKENS_PER_MINUTE: '0' } }).auth.guestTokensPerMinute, 0);
  assert.throws(() => loadConfig({ env: { PROXIMA_GUEST_TOKENS_PER_MINUTE: 'many' } }), /PROXIMA_GUEST_TOKENS_PER_MINUTE: expected an integer/);
});

const bad: Array<[string, () => unknown, RegExp]> = [
  ['non-integer env port', () => loadConfig({ env: { PROXIMA_HTTP_PORT: 'eighty' } }), /PROXIMA_HTTP_PORT: expected an integer/],
  ['port out of range', () => loadConfig({ env: { PROXIMA_MEDIA_PORT: '70000' } }), /media\.port/],
  ['unknown log level', () => loadConfig({ env: { PROXIMA_LOG_LEVEL: 'loud' } }), /logLevel/],
  ['unknown key in file', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'proxima-cfg-')), 'c.json');
    writeFileSync(f, JSON.stringify({ htpp: {} }));
    return loadConfig({ file: f, env: {} });
  }, /htpp|Unrecognized/i],
  ['missing file', () => loadConfig({ file: '/nonexistent/proxima.json', env: {} }), /cannot read config file/],
  ['file not json', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'proxima-cfg-')), 'c.json');
    writeFileSync(f, '{nope');
    return loadConfig({ file: f, env: {} });
  }, /not valid JSON/],
  ['a relay quiet check not shorter than the silence', () => loadConfig({
    env: {},
    overrides: { cluster: { natsUrl: 'nats://127.0.0.1:4222', nodeId: 'n1', secret: 'x'.repeat(32), relaySilentMs: 400, relayQuietMs: 400 } },
  }), /relayQuietMs must be shorter than cluster\.relaySilentMs/],
];
for (const [name, fn, re] of bad) {
  test(`rejects ${name} with a clear error`, () => {
    assert.throws(fn, (e: unknown) => e instanceof ConfigError && re.test((e as Error).message));
  });
}

test('only public IPv4 addresses are announced automatically', async () => {
  const { isPublicIpv4 } = await import('./config.ts');
  const table: Array<[string, boolean]> = [
    ['8.8.8.8', true],
    ['52.14.1.9', true],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.32.0.1', true],
    ['192.168.1.1', false],
    ['127.0.0.1', false],
    ['169.254.10.10', false],
    ['100.64.0.1', false],
    ['100.127.255.255', false],
    ['100.128.0.1', true],
    ['198.18.0.1', false],
    ['192.0.2.2', false],
    ['198.51.100.7', false],
    ['203.0.113.7', false],
  ];
  for (const [ip, want] of table) assert.equal(isPublicIpv4(ip), want, ip);
});
