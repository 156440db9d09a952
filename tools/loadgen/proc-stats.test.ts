import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpuShare, sampleProcess } from './proc-stats.ts';

describe('sampleProcess', () => {
  it('reads this process: CPU time grows with work, RSS matches process.memoryUsage within 20%', () => {
    const a = sampleProcess(process.pid)!;
    const t0 = Date.now();
    let x = 0;
    while (Date.now() - t0 < 200) x += Math.sqrt(x + 1);
    const b = sampleProcess(process.pid)!;
    assert.ok(x > 0);
    assert.ok(b.cpuMs - a.cpuMs >= 100, `cpu ${b.cpuMs - a.cpuMs} ms for 200 ms of spinning`);
    const share = cpuShare(a, b, Date.now() - t0);
    assert.ok(share > 0.5 && share < 1.6, `share ${share}`);
    const rss = process.memoryUsage().rss;
    assert.ok(Math.abs(b.rssBytes - rss) / rss < 0.2, `${b.rssBytes} vs ${rss}`);
  });

  it('measures CPU finer than stat\'s 10 ms ticks, and agrees with them over a longer stretch', () => {
    const a = sampleProcess(process.pid)!;
    const t0 = process.hrtime.bigint();
    let x = 0;
    while (process.hrtime.bigint() - t0 < 3_000_000n) x += Math.sqrt(x + 1); // 3 ms, under one tick
    const b = sampleProcess(process.pid)!;
    assert.ok(x > 0);
    assert.ok(b.cpuMs - a.cpuMs > 0, `3 ms of spinning read as ${b.cpuMs - a.cpuMs} ms`);
    assert.notEqual((b.cpuMs - a.cpuMs) % 10, 0, 'cpuMs moves in whole ticks: schedstat was not read');
    assert.ok(Math.abs(b.cpuMs - b.ticksCpuMs) < 0.2 * b.ticksCpuMs + 50, `schedstat ${b.cpuMs} ms against stat ${b.ticksCpuMs} ms`);
  });

  it('is null for a process that does not exist', () => {
    assert.equal(sampleProcess(2 ** 22 + 12345), null);
  });
});
