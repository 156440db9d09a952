import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseNode, type NodeCandidate, type NodeHint } from './node-choice.ts';
import { seededRandom } from '../../util/prng.ts';

const node = (id: string, region: string, load: number, more: Partial<NodeCandidate> = {}): NodeCandidate => ({ id, region, load, draining: false, alive: true, ...more });

const CLUSTER: NodeCandidate[] = [
  node('use-1', 'us-east', 0.7),
  node('use-2', 'us-east', 0.3),
  node('use-3', 'us-east', 0.1, { draining: true }),
  node('usw-1', 'us-west', 0.2),
  node('euw-1', 'eu-west', 0.9),
  node('euw-2', 'eu-west', 0.5, { alive: false }),
  node('aps-1', 'ap-south', 0.05),
];

test('chooseNode: table', () => {
  const rtt = (o: Record<string, number>) => new Map(Object.entries(o));
  const cases: Array<{ name: string; candidates?: NodeCandidate[]; hint: NodeHint; want: string | null }> = [
    { name: 'region match: lowest load there, draining skipped', hint: { region: 'us-east' }, want: 'use-2' },
    { name: 'region match beats a lower RTT elsewhere', hint: { region: 'us-east', rttMs: rtt({ 'usw-1': 5, 'use-2': 80 }) }, want: 'use-2' },
    { name: 'region match even when loaded', hint: { region: 'eu-west' }, want: 'euw-1' },
    { name: 'region with only a dead node: lowest RTT', hint: { region: 'eu-west-dead', rttMs: rtt({ 'euw-1': 20, 'use-1': 90 }) }, want: 'euw-1' },
    { name: 'no region: lowest RTT', hint: { rttMs: rtt({ 'usw-1': 40, 'use-1': 30, 'aps-1': 200 }) }, want: 'use-1' },
    { name: 'RTT to dead/draining nodes ignored', hint: { rttMs: rtt({ 'euw-2': 1, 'use-3': 2, 'usw-1': 40 }) }, want: 'usw-1' },
    { name: 'RTT tie: lower load', hint: { rttMs: rtt({ 'use-1': 30, 'use-2': 30 }) }, want: 'use-2' },
    { name: 'invalid RTTs ignored', hint: { rttMs: rtt({ 'use-1': NaN, 'use-2': -5, 'usw-1': 70 }) }, want: 'usw-1' },
    { name: 'unknown region, no RTT: lowest load', hint: { region: 'mars' }, want: 'aps-1' },
    { name: 'no hint: lowest load', hint: {}, want: 'aps-1' },
    {
      name: 'load tie: smaller id, whatever the order',
      candidates: [node('b', 'r', 0.4), node('c', 'r', 0.4), node('a', 'r', 0.4)],
      hint: { region: 'r' },
      want: 'a',
    },
    { name: 'unknown load counts as full', candidates: [node('a', 'r', NaN), node('b', 'r', 0.95)], hint: {}, want: 'b' },
    { name: 'nobody alive', candidates: [node('a', 'r', 0, { alive: false }), node('b', 'r', 0, { draining: true })], hint: { region: 'r' }, want: null },
    { name: 'no candidates', candidates: [], hint: {}, want: null },
  ];
  for (const c of cases) assert.equal(chooseNode(c.candidates ?? CLUSTER, c.hint)?.id ?? null, c.want, c.name);
});

test('chooseNode sweep: never a dead or draining node; the answer does not depend on candidate order', () => {
  const rand = seededRandom(31337);
  const regions = ['us-east', 'us-west', 'eu-west', 'ap-south', 'ap-northeast'];
  for (let round = 0; round < 500; round++) {
    const cs = Array.from({ length: Math.floor(rand() * 8) }, (_, i) =>
      node(`n${i}`, regions[Math.floor(rand() * regions.length)], Math.round(rand() * 4) / 4, { alive: rand() > 0.2, draining: rand() < 0.2 }),
    );
    const hint: NodeHint = {
      region: rand() < 0.7 ? regions[Math.floor(rand() * regions.length)] : undefined,
      rttMs: new Map(cs.filter(() => rand() < 0.5).map((c) => [c.id, Math.round(rand() * 5) * 20])),
    };
    const got = chooseNode(cs, hint);
    const open = cs.filter((c) => c.alive && !c.draining);
    if (open.length === 0) {
      assert.equal(got, null);
      continue;
    }
    assert.ok(got && got.alive && !got.draining, `round ${round}`);
    if (hint.region && open.some((c) => c.region === hint.region)) {
      assert.equal(got.region, hint.region, `round ${round}: region match available`);
      assert.equal(got.load, Math.min(...open.filter((c) => c.region === hint.region).map((c) => c.load)));
    }
    assert.equal(chooseNode([...cs].reverse(), hint), got, `round ${round}: order-dependent`);
  }
});
