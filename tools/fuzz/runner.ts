/**
 * Runs one fuzz target: regressions first, then the valid corpus, then seeded mutations until the goal.
 * Counts inputs, escaped exceptions and the slowest call; an escape or a call at or over the time limit
 * is saved under test/fuzz/regressions/<target>/<hash>. State (PRNG, counts, inputs that showed a new
 * outcome) can be saved and resumed. Used by the CLI (cli.ts) and by test/fuzz/fuzz-short.test.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { Rng, mutate, type MutationContext } from './engine.ts';
import type { FuzzTarget } from './target.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const CORPUS_DIR = join(ROOT, 'test/fuzz/corpus');
export const REGRESSIONS_DIR = join(ROOT, 'test/fuzz/regressions');
/** A call at or over this is a finding (issue 15: no call over 10 ms). */
export const DEFAULT_LIMIT_MS = 10;

const BATCH = 128;
/** Inputs that showed a new outcome are kept for mutation, up to this many per target. */
const MAX_DISCOVERED = 512;
/** …and saved in the resume state when no larger than this. */
const MAX_SAVED_INPUT = 16_384;
/** Distinct escapes (by message and place) saved per target and run. */
const MAX_ESCAPE_KINDS = 16;
/** Slow inputs saved per target and run (one cause shows in many inputs; each may be 64 KiB). */
const MAX_SLOW_SAVED = 3;

export interface Finding {
  kind: 'escape' | 'slow';
  /** Error name and message (escape) or the confirmed time (slow). */
  what: string;
  /** The regression file (relative to the project), or null when not written. */
  file: string | null;
  /** The input, base64 (for a report when files are not written). */
  inputB64: string;
}

export interface TargetState {
  target: string;
  seed: number;
  rng: number[];
  inputs: number;
  escapes: number;
  slowCalls: number;
  slowestUs: number;
  slowestInputB64: string;
  elapsedMs: number;
  labels: number;
  discovered: string[];
  findings: Finding[];
  replayed: number;
  replayEscapes: number;
}

export interface RunOptions {
  seed: number;
  /** Mutated inputs to reach (regressions and corpus entries are counted too). */
  goal: number;
  limitMs?: number;
  /** Write escapes and slow inputs under test/fuzz/regressions (the CLI does; the test reports them). */
  writeRegressions?: boolean;
  /** Continue from this (same target). */
  resume?: TargetState;
  /** Called about once a second. */
  onProgress?(s: TargetState): void;
  /** Called every few seconds with a snapshot to persist. */
  onCheckpoint?(s: TargetState): void;
  /** Asked between batches; true stops the run early (SIGINT), state intact. */
  shouldStop?(): boolean;
}

/** FNV-1a 32 of the seed and the name: each target's own stream, the same whichever targets run. */
export function targetSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const ch of Buffer.from(`${seed}:${name}`)) h = Math.imul(h ^ ch, 0x01000193);
  // The seed went in twice (xor and text), which cancels for some pairs (1 and 2): spread seeds apart.
  return (h ^ Math.imul(seed - 1, 0x9e3779b1)) >>> 0;
}

export function loadDir(dir: string): Array<{ name: string; data: Buffer }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && n !== 'README.md')
    .sort()
    .map((name) => ({ name, data: readFileSync(join(dir, name)) }));
}

function errorSignature(e: unknown): string {
  if (e instanceof Error) {
    const at = (e.stack ?? '').split('\n').find((l) => l.includes('/src/') || l.includes('node_modules')) ?? '';
    return `${e.name}: ${e.message.slice(0, 160)}${at ? ` ${at.trim().replace(ROOT, '')}` : ''}`;
  }
  return `thrown ${typeof e}: ${String(e).slice(0, 160)}`;
}

function hashOf(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

/** Fuzz one target to the goal. Never throws for what the target does; returns the final state. */
export async function fuzzTarget(t: FuzzTarget, opts: RunOptions): Promise<TargetState> {
  const limitMs = opts.limitMs ?? DEFAULT_LIMIT_MS;
  const seed = targetSeed(opts.seed, t.name);
  const st: TargetState = opts.resume ?? {
    target: t.name,
    seed,
    rng: new Rng(seed).state(),
    inputs: 0,
    escapes: 0,
    slowCalls: 0,
    slowestUs: 0,
    slowestInputB64: '',
    elapsedMs: 0,
    labels: 0,
    discovered: [],
    findings: [],
    replayed: 0,
    replayEscapes: 0,
  };
  const rng = new Rng(st.rng);
  const seen = new Set<string>();
  const escapeKinds = new Set(st.findings.filter((f) => f.kind === 'escape').map((f) => f.what));
  const corpus = loadDir(join(CORPUS_DIR, t.name)).map((f) => f.data);
  if (corpus.length === 0) throw new Error(`no corpus for fuzz target ${t.name} (tools/fuzz/make-corpus.ts writes it)`);
  const discovered = st.discovered.map((b) => Buffer.from(b, 'base64'));
  // Huge inputs are made afresh by the mutators; kept in the pool they would slow every later try.
  const poolMaxLen = Math.max(16_384, 4 * Math.max(...corpus.map((c) => c.length)));
  const pool: Buffer[] = [...corpus, ...discovered];
  const ctx: MutationContext = { rng, corpus: pool, maxLen: t.maxLen, kind: t.kind, headerBytes: t.headerBytes };

  // Exceptions that leave the call asynchronously (a rejected promise inside a library) belong to this target.
  const asyncErrors: unknown[] = [];
  const onAsync = (e: unknown) => asyncErrors.push(e);
  process.on('unhandledRejection', onAsync);
  process.on('uncaughtException', onAsync);

  const record = (kind: 'escape' | 'slow', what: string, input: Buffer) => {
    if (kind === 'escape') {
      if (escapeKinds.has(what) || escapeKinds.size >= MAX_ESCAPE_KINDS) return;
      escapeKinds.add(what);
    } else if (st.findings.filter((f) => f.kind === 'slow').length >= MAX_SLOW_SAVED) return;
    let file: string | null = null;
    if (opts.writeRegressions) {
      const dir = join(REGRESSIONS_DIR, t.name);
      mkdirSync(dir, { recursive: true });
      file = join(dir, hashOf(input));
      if (!existsSync(file)) writeFileSync(file, input);
      file = file.replace(ROOT, '');
    }
    st.findings.push({ kind, what, file, inputB64: input.toString('base64') });
  };

  /** One timed call; returns its label, or null when it escaped. */
  const once = (input: Buffer): string | null => {
    const t0 = performance.now();
    let label: string | null;
    try {
      label = t.run(input);
    } catch (e) {
      label = t.expected?.(e) ? `expected:${String((e as Error)?.message).slice(0, 32)}` : null;
      if (label === null) {
        st.escapes++;
        record('escape', errorSignature(e), input);
      }
    }
    const dt = performance.now() - t0;
    if (dt * 1000 > st.slowestUs && dt > 1) {
      // A new slowest candidate: time it again by the process's CPU time, best of three, so that a busy
      // machine (our process waiting for a core) or a GC pause elsewhere is not counted as the input's cost.
      let best = Infinity;
      for (let k = 0; k < 3 && best > 1; k++) {
        const c0 = process.cpuUsage();
        try {
          t.run(input);
        } catch {
          /* counted above */
        }
        const c = process.cpuUsage(c0);
        best = Math.min(best, (c.user + c.system) / 1000);
      }
      best = Math.min(best, dt);
      if (best * 1000 > st.slowestUs) {
        st.slowestUs = Math.round(best * 1000);
        st.slowestInputB64 = input.toString('base64');
      }
      if (best >= limitMs) {
        st.slowCalls++;
        record('slow', `${best.toFixed(1)} ms`, input);
      }
    } else if (dt * 1000 > st.slowestUs) {
      st.slowestUs = Math.round(dt * 1000);
      st.slowestInputB64 = input.toString('base64');
    }
    return label;
  };

  const settle = async (batch: readonly Buffer[]) => {
    await yieldLoop();
    if (asyncErrors.length === 0) return;
    const errs = asyncErrors.splice(0);
    st.escapes += errs.length;
    // Find the input: replay the batch one by one, letting the loop turn after each.
    let culprit: Buffer | null = null;
    for (const b of batch) {
      try {
        t.run(b);
      } catch {
        /* a synchronous escape was counted already */
      }
      await yieldLoop();
      if (asyncErrors.length > 0) {
        asyncErrors.length = 0;
        culprit = b;
        break;
      }
    }
    record('escape', `async ${errorSignature(errs[0])}`, culprit ?? batch[batch.length - 1] ?? Buffer.alloc(0));
  };

  try {
    await t.setup?.();
    const started = performance.now() - st.elapsedMs;
    // Regressions first, on every run (resumed too): every saved crash or slow input must now pass.
    const regs = loadDir(join(REGRESSIONS_DIR, t.name));
    st.replayed = 0;
    st.replayEscapes = 0;
    for (const r of regs) {
      const before = st.escapes;
      once(r.data);
      await settle([r.data]);
      st.replayed++;
      st.replayEscapes += st.escapes - before;
    }
    if (st.inputs === 0) {
      for (const c of corpus) {
        const label = once(c);
        if (label !== null && !seen.has(label)) seen.add(label);
        st.inputs++;
      }
      await settle(corpus);
    }
    let lastProgress = performance.now();
    let lastCheckpoint = lastProgress;
    const batch: Buffer[] = [];
    while (st.inputs < opts.goal) {
      batch.length = 0;
      const n = Math.min(BATCH, opts.goal - st.inputs);
      for (let i = 0; i < n; i++) {
        const base = pool.length > corpus.length && rng.chance(0.6) ? pool[corpus.length + rng.below(pool.length - corpus.length)] : corpus[rng.below(corpus.length)];
        const input = mutate(base, ctx);
        batch.push(input);
        const label = once(input);
        st.inputs++;
        if (label !== null && !seen.has(label)) {
          seen.add(label);
          st.labels = seen.size;
          if (pool.length - corpus.length < MAX_DISCOVERED && input.length <= poolMaxLen) {
            pool.push(input);
            if (input.length <= MAX_SAVED_INPUT) st.discovered.push(input.toString('base64'));
          }
        }
      }
      t.maintain?.(st.inputs);
      await settle(batch);
      const now = performance.now();
      st.elapsedMs = now - started;
      st.rng = rng.state();
      if (now - lastProgress >= 1000) {
        lastProgress = now;
        opts.onProgress?.(st);
      }
      if (now - lastCheckpoint >= 5000) {
        lastCheckpoint = now;
        opts.onCheckpoint?.(st);
      }
      if (opts.shouldStop?.()) break;
    }
    st.elapsedMs = performance.now() - started;
    st.rng = rng.state();
    st.labels = Math.max(st.labels, seen.size);
    if (process.env.FUZZ_LABELS) console.log(`[fuzz] ${t.name} outcomes: ${[...seen].sort().join(' ')}`);
  } finally {
    try {
      t.close?.();
    } catch {
      /* closing is best effort */
    }
    // Late async errors of this target (timers inside libraries) still count.
    await yieldLoop();
    if (asyncErrors.length > 0) {
      st.escapes += asyncErrors.length;
      record('escape', `async after close: ${errorSignature(asyncErrors[0])}`, Buffer.alloc(0));
    }
    process.off('unhandledRejection', onAsync);
    process.off('uncaughtException', onAsync);
  }
  return st;
}
