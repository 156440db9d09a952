/**
 * The shipped Grafana dashboard against a real Prometheus scraping a real server under load: every query
 * of every panel answers with data (at least one finite value), and the node picker finds the server. A
 * renamed metric, a wrong label or a histogram that never fills fails here, not on an operator's screen.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startProximaProcess, type ServerProcess } from '../../tools/loadgen/server-process.ts';
import { runLoad } from '../../tools/loadgen/run.ts';
import { startPrometheus, type PrometheusHandle } from '../testkit/prometheus.ts';

interface Panel {
  title: string;
  targets: Array<{ expr: string; refId: string }>;
}
const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/proxima-dashboard.json', import.meta.url), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; definition?: string }> };
};

/** Grafana's variables as an operator's default view has them: all nodes, a minute's rate window. */
const expand = (expr: string) => expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*');

describe('Grafana dashboard against Prometheus', () => {
  let server: ServerProcess;
  let prom: PrometheusHandle;

  before(async () => {
    server = await startProximaProcess();
    prom = await startPrometheus([new URL(server.url).host]);
    await prom.scrapes(2);
    // People join after scraping began, so the join and walk-in histograms move inside the rate window.
    const report = await runLoad({ url: server.url, scenario: 'mingle', people: 8, durationS: 6, warmupS: 2, space: 'dashboard', seed: 1, joinConcurrency: 2, freezeMs: 200, print: () => {} });
    assert.equal(report.errors.length, 0, JSON.stringify(report.errors.slice(0, 3)));
    await prom.scrapes(3);
  });

  after(async () => {
    await prom?.stop();
    await server?.close();
  });

  it('the node picker lists the server', async () => {
    const v = dashboard.templating.list.find((x) => x.name === 'instance')!;
    const m = /^label_values\((\w+), (\w+)\)$/.exec(v.definition ?? '');
    assert.ok(m, `unexpected variable query ${v.definition}`);
    assert.deepEqual(await prom.labelValues(m[2]!, m[1]!), [new URL(server.url).host]);
  });

  it('every panel query returns data', async () => {
    const empty: string[] = [];
    let queries = 0;
    for (const panel of dashboard.panels) {
      for (const t of panel.targets) {
        queries++;
        const result = await prom.query(expand(t.expr));
        if (!result.some((r) => Number.isFinite(Number(r.value[1])))) empty.push(`${panel.title} / ${t.refId}: ${t.expr} → ${JSON.stringify(result).slice(0, 200)}`);
      }
    }
    assert.ok(queries >= 20, `only ${queries} queries in the dashboard`);
    assert.deepEqual(empty, []);
  });
});
