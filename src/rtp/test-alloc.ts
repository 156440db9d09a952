/** Test helper: bytes allocated in V8's young generation while running `fn` (the minimum over many runs). */
import v8 from 'node:v8';

function newSpaceUsed(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_used_size;
  return 0;
}

/**
 * The minimum over several runs is reported: code that allocates per call does so in every run, while a
 * run that happened to execute before the JIT optimised it (slow on a loaded machine: the interpreter boxes
 * numbers) does not hide a later clean run. A scavenge during a run makes its delta negative: such runs
 * are discarded.
 */
export function youngBytesAllocated(fn: () => void, runs = 24): number {
  // Warm up the JIT. On busy cores the optimizing compiler (a background thread) finishes late, and until
  // then baseline code boxes numbers; the minimum over many runs sees the optimized code.
  for (let w = 0; w < 6; w++) fn();
  let min = Infinity;
  for (let r = 0; r < runs; r++) {
    const before = newSpaceUsed();
    fn();
    const d = newSpaceUsed() - before;
    if (d >= 0) min = Math.min(min, d);
  }
  // Every run saw a scavenge: that much garbage means the code allocates.
  return min;
}
