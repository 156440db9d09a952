/** Test helper: bytes allocated in V8's young generation while running `fn` (max over a few runs). */
import v8 from 'node:v8';

function newSpaceUsed(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_used_size;
  return 0;
}

/**
 * A scavenge during a run makes its delta negative, so the maximum over several runs is reported;
 * escaping per-call allocations show up as ~object size x iterations.
 */
export function youngBytesAllocated(fn: () => void, runs = 4): number {
  fn(); // warm up the JIT
  let max = -Infinity;
  for (let r = 0; r < runs; r++) {
    const before = newSpaceUsed();
    fn();
    max = Math.max(max, newSpaceUsed() - before);
  }
  // Every run saw a scavenge: that much garbage means the code allocates.
  return max < 0 ? Infinity : max;
}
