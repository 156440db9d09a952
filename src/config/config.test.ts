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
];
for (const [name, fn, re] of bad) {
  test(`rejects ${name} with a clear error`, () => {
    assert.throws(fn, (e: unknown) => e instanceof ConfigError && re.test((e as Error).message));
  });
}
