/** A forced full GC for heap measurements, with or without `node --expose-gc`. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function forcedGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  // The flag only affects contexts created after it is set, hence the fresh context.
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
