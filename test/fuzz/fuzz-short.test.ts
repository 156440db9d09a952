/**
 * The short fuzz run inside npm test: every target (tools/fuzz/targets.ts) gets its saved regressions, its
 * corpus and at least 20,000 mutated inputs with a fixed seed, and no exception may escape. Per-call time is
 * checked against a generous bound here (a busy machine must not fail the suite; the time is the call's own
 * CPU time, best of three): `npm run fuzz` holds every call to 10 ms and saves any slower input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzTarget } from '../../tools/fuzz/runner.ts';
import { TARGET_NAMES, makeTarget } from '../../tools/fuzz/targets.ts';

const INPUTS = 20_000;
const SEED = 15;
/** Ten times the CLI's limit: only a gross cost fails the suite. */
const GENEROUS_MS = 100;

for (const name of TARGET_NAMES) {
  test(`fuzz ${name}: ${INPUTS} inputs, no escaped exception, regressions replay cleanly`, async () => {
    const target = makeTarget(name);
    const st = await fuzzTarget(target, { seed: SEED, goal: INPUTS, writeRegressions: false });
    const escapes = st.findings.filter((f) => f.kind === 'escape').map((f) => `${f.what}\n  input (base64): ${f.inputB64.slice(0, 2000)}`);
    assert.equal(st.replayEscapes, 0, `a saved regression input escapes again:\n${escapes.join('\n')}`);
    assert.equal(st.escapes, 0, `escaped exceptions:\n${escapes.join('\n')}`);
    assert.ok(st.inputs >= INPUTS, `only ${st.inputs} inputs`);
    // Known slow inputs (issue 15 findings that other work fixes) get their own, larger bound.
    const bound = Math.max(GENEROUS_MS, target.known?.knownSlowMs ?? 0);
    assert.ok(st.slowestUs < bound * 1000, `slowest call ${st.slowestUs} µs ≥ ${bound} ms (input base64: ${st.slowestInputB64.slice(0, 2000)})`);
  });
}
